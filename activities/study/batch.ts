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

/** Every array stored under a prefix (a campaign's batch files), concatenated in key order. */
export async function readBatches<T>(store: ArtifactStore, prefix: string): Promise<T[]> {
  const keys = await store.list(prefix);
  return (await Promise.all(keys.map((key) => store.getJson<T[]>(key)))).flat();
}
