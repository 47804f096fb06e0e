/**
 * One worker of the scale run (scripts/scale.ts), in its own process so that its memory is its own: the
 * orchestrator or one device, with a store that counts what every activity reads, or an accuracy evaluator
 * (`evaluateAccuracy` on its own task queue, docs/accuracy.md) that answers with the scale run's model. On
 * SIGTERM it shuts down and writes its reads and its peak resident memory (VmHWM) to --stats.
 *
 *   tsx scripts/scale-worker.ts --role orchestrator|device:<id>|evaluator:<queue> --address HOST:PORT --store URL --devices FILE --stats FILE
 *
 * --store is a BLOCKSCOPE_STORE URL (fs:///abs/path, or s3://bucket with BLOCKSCOPE_S3_ENDPOINT and AWS_* in the environment).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NativeConnection, Worker } from '@temporalio/worker';
import { CountingArtifactStore, storeConfigFromEnv, type ArtifactStore } from '../activities/storage/index.js';
import { activityReadLabel, startDeviceWorker, startOrchestratorWorker, type RuntimeConfig } from '../workers/runtime.js';
import { peakRssKiB } from './process-memory.js';
import { scaleEvaluator } from './scale-model.js';

export interface WorkerStats {
  role: string;
  /** Peak resident set size of the process, from /proc/self/status (kB). */
  peakRssKiB: number;
  reads: ReturnType<CountingArtifactStore['reads']>;
  /** The evaluator: evaluateAccuracy calls answered. */
  evaluations?: number;
}

let evaluations = 0;

/** An evaluator worker as a user would run one, answering every architecture with the scale run's model. */
async function startEvaluator(taskQueue: string): Promise<{ close(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: address! });
  const activities: typeof scaleEvaluator = {
    evaluateAccuracy: (input) => {
      evaluations += 1;
      return scaleEvaluator.evaluateAccuracy(input);
    },
  };
  const evaluator = await Worker.create({ connection, namespace: 'default', taskQueue, activities });
  const running = evaluator.run();
  return {
    async close() {
      evaluator.shutdown();
      await running;
      await connection.close();
    },
  };
}

const { values } = parseArgs({
  options: { role: { type: 'string' }, address: { type: 'string' }, store: { type: 'string' }, devices: { type: 'string' }, stats: { type: 'string' } },
});
const { role, address, store, devices, stats } = values;
if (!role || !address || !store || !devices || !stats)
  throw new Error('usage: scale-worker --role orchestrator|device:<id>|evaluator:<queue> --address A --store URL --devices FILE --stats FILE');

let counter: CountingArtifactStore | undefined;
const config: RuntimeConfig = {
  address,
  namespace: 'default',
  store: storeConfigFromEnv({ ...process.env, BLOCKSCOPE_STORE: store }),
  devicesFile: devices,
  wrapStore: (inner: ArtifactStore) => (counter = new CountingArtifactStore(inner, activityReadLabel)),
};
const worker =
  role === 'orchestrator'
    ? await startOrchestratorWorker(config)
    : role.startsWith('evaluator:')
      ? await startEvaluator(role.slice('evaluator:'.length))
      : await startDeviceWorker({ ...config, device: role.slice('device:'.length) });
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void worker.close().then(() => {
    const result: WorkerStats = { role, peakRssKiB: peakRssKiB(), reads: counter?.reads() ?? [], ...(role.startsWith('evaluator:') ? { evaluations } : {}) };
    writeFileSync(stats, JSON.stringify(result));
    process.exit(0);
  });
});
