/** Reading a campaign's workflow histories for repeated work: what the fault matrix (test/faults.test.ts, scripts/scale-faults.ts) checks. */
import type { Client } from '@temporalio/client';
import type { temporal as proto } from '@temporalio/proto';
import type { ArtifactStore } from '../../activities/storage/index.js';

export interface CampaignOutcome {
  /** Batch activities scheduled, and how many batch indices were scheduled more than once (never, or work repeats). */
  scheduled: number;
  rescheduled: number;
  /** Starts beyond each batch's first: each may recompute at most its batch's architectures (those in flight). */
  retries: number;
  runs: number;
}

const decoder = new TextDecoder();

/** The batch index each batch activity of a campaign was scheduled with, and the starts beyond the first, over every run. */
export function campaignOutcome(histories: proto.api.history.v1.IHistory[], activity: string): CampaignOutcome {
  const scheduled = new Map<number, number>();
  let retries = 0;
  for (const history of histories) {
    for (const event of history.events ?? []) {
      const attributes = event.activityTaskScheduledEventAttributes;
      if (attributes?.activityType?.name === activity) {
        const input = JSON.parse(decoder.decode(attributes.input!.payloads![0]!.data!)) as { batchIndex: number };
        scheduled.set(input.batchIndex, (scheduled.get(input.batchIndex) ?? 0) + 1);
      }
      const attempt = event.activityTaskStartedEventAttributes?.attempt ?? 1;
      if (
        attempt > 1 &&
        history.events!.some(
          (e) =>
            e.eventId?.toString() === event.activityTaskStartedEventAttributes!.scheduledEventId?.toString() && e.activityTaskScheduledEventAttributes?.activityType?.name === activity,
        )
      ) {
        retries += attempt - 1;
      }
    }
  }
  return { scheduled: [...scheduled.values()].reduce((a, b) => a + b, 0), rescheduled: [...scheduled.values()].filter((n) => n > 1).length, retries, runs: histories.length };
}

/** The histories of every run of a workflow (continued-as-new runs included). */
export async function everyRunsHistory(client: Client, workflowId: string): Promise<proto.api.history.v1.IHistory[]> {
  const runs: proto.api.history.v1.IHistory[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(await client.workflow.getHandle(workflowId, execution.runId).fetchHistory());
  return runs;
}

/** Every record's architecture hash in a campaign's batch files, and how many came from the measurement cache. */
export async function storedRecords(store: ArtifactStore, prefix: string, field: 'hash' | 'archHash'): Promise<{ files: number; hashes: string[]; fromCache: number }> {
  const files = await store.list(prefix);
  const hashes: string[] = [];
  let fromCache = 0;
  for (const file of files) {
    const records = await store.getJson<Record<string, string | boolean>[]>(file);
    hashes.push(...records.map((record) => record[field] as string));
    fromCache += records.filter((record) => record['fromCache'] === true).length;
  }
  return { files: files.length, hashes: hashes.sort(), fromCache };
}
