/**
 * The shared shape of a batch activity: compute one result per architecture of its work list, heartbeat
 * after every item, resume after the last heartbeated item on retry, and write the batch once under an
 * idempotent key. Items finished by an earlier attempt come back from the cache, never recomputed.
 */
import { Context } from '@temporalio/activity';
import type { ArtifactStore } from '../storage/index.js';
import type { Architecture } from '../../pipelines/spaces/types.js';
import type { BatchHeartbeat, BatchRequest, BatchSummary } from './contracts.js';

export interface ItemResult<T> {
  value: T;
  fromCache: boolean;
}

export async function runBatchActivity<T>(options: {
  store: ArtifactStore;
  request: BatchRequest;
  resultKey: string;
  /** The batch's own architectures, read only when the batch is not stored yet. */
  loadItems: () => Promise<{ hash: string; arch: Architecture }[]>;
  computeOne: (item: { hash: string; arch: Architecture }, signal: AbortSignal) => Promise<ItemResult<T>>;
  /** Runs before the batch's item `index` (0-based), and once more with index = the batch's length after the last item. */
  between?: (index: number, batchLength: number, signal: AbortSignal) => Promise<void>;
}): Promise<BatchSummary> {
  const { store, request, resultKey } = options;
  const context = Context.current();
  if (await store.exists(resultKey)) {
    const existing = await store.getJson<T[]>(resultKey);
    return { batchIndex: request.batchIndex, key: resultKey, count: existing.length, computed: 0, cached: existing.length };
  }
  const items = await options.loadItems();
  const resumed = context.info.heartbeatDetails as BatchHeartbeat | undefined;
  if (resumed && resumed.batchIndex === request.batchIndex) {
    context.log.info('resuming batch after the last heartbeated item', { batchIndex: request.batchIndex, completed: resumed.completed });
  }

  let details: BatchHeartbeat = { batchIndex: request.batchIndex, completed: 0 };
  // Keep heartbeating while one long item runs, so a dead worker is told apart from a slow model.
  const ticker = setInterval(() => context.heartbeat(details), 1000);
  const results: T[] = [];
  let computed = 0;
  let cached = 0;
  try {
    for (const [index, item] of items.entries()) {
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      await options.between?.(index, items.length, context.cancellationSignal);
      const result = await options.computeOne(item, context.cancellationSignal);
      results.push(result.value);
      if (result.fromCache) cached += 1;
      else computed += 1;
      details = { batchIndex: request.batchIndex, completed: results.length };
      context.heartbeat(details);
    }
    await options.between?.(items.length, items.length, context.cancellationSignal);
  } finally {
    clearInterval(ticker);
  }
  await store.putJson(resultKey, results);
  return { batchIndex: request.batchIndex, key: resultKey, count: results.length, computed, cached };
}

/** Batch files read at once by forEachRecord: enough to hide a remote store's latency, few enough to hold. */
export const BATCH_FILES_IN_FLIGHT = 8;

/**
 * Visits every record stored under a prefix (a campaign's batch files) in key order, reading at most
 * BATCH_FILES_IN_FLIGHT files at a time: memory holds what `visit` keeps, not every record of a campaign
 * (at paper scale 905 files whose measurements carry every timed run, the device's fingerprint and, on
 * lookup-table devices, every block's entry).
 */
export async function forEachRecord<T>(store: ArtifactStore, prefix: string, visit: (record: T) => void): Promise<void> {
  const keys = await store.list(prefix);
  for (let first = 0; first < keys.length; first += BATCH_FILES_IN_FLIGHT) {
    const files = await Promise.all(keys.slice(first, first + BATCH_FILES_IN_FLIGHT).map((key) => store.getJson<T[]>(key)));
    for (const records of files) for (const record of records) visit(record);
  }
}

/** Every record stored under a prefix, in key order, as `project` keeps it (the whole record by default). */
export async function readBatches<T, K = T>(store: ArtifactStore, prefix: string, project: (record: T) => K = (record) => record as unknown as K): Promise<K[]> {
  const kept: K[] = [];
  await forEachRecord<T>(store, prefix, (record) => kept.push(project(record)));
  return kept;
}
