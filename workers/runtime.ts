/**
 * The composition root: builds the orchestrator and device workers from configuration. Entry points
 * (`blockscope worker`, `blockscope dev`, tests) call these; nothing else wires dependencies.
 */
import { hostname } from 'node:os';
import { asyncLocalStorage } from '@temporalio/activity';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createAccuracyStudyScorers } from '../activities/accuracy/study-scorers.js';
import { createMeasurer, loadDevices, type DeviceRegistry } from '../activities/devices/index.js';
import { S3ArtifactStore, openArtifactStore, type ArtifactStore, type StoreConfig } from '../activities/storage/index.js';
import { createDeviceActivities } from '../activities/study/device.js';
import { createOrchestratorActivities } from '../activities/study/orchestrator.js';
import { ORCHESTRATOR_QUEUE, deviceQueue } from '../workflows/definitions.js';
import { connectTemporalWorker, type TemporalConnectionSettings } from './connection.js';
import { workflowBundle } from './temporal.js';

export interface RuntimeConfig extends TemporalConnectionSettings {
  namespace: string;
  store: StoreConfig;
  /** Device config file (YAML/JSON); the built-in cpu-local device is always known. */
  devicesFile?: string;
  /** Seconds in-flight activities get to finish on shutdown before they are cancelled. */
  shutdownGraceSeconds?: number;
  /** Wraps the opened store, e.g. in a CountingArtifactStore to measure what the activities read. */
  wrapStore?: (store: ArtifactStore) => ArtifactStore;
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has shut down (after worker.shutdown() or a shutdown signal). */
  run: Promise<void>;
  close(): Promise<void>;
}

/** Labels a store read by the activity making it (workflow id, run id, activity id, type), or '' outside one. */
export function activityReadLabel(): string {
  const info = asyncLocalStorage.getStore()?.info;
  return info ? [info.workflowExecution?.workflowId, info.workflowExecution?.runId, info.activityId, info.activityType].join(' ') : '';
}

async function openStore(config: RuntimeConfig): Promise<ArtifactStore> {
  const store = openArtifactStore(config.store);
  if (store instanceof S3ArtifactStore) await store.ensureBucket();
  return config.wrapStore ? config.wrapStore(store) : store;
}

function startRunning(worker: Worker, cleanup: () => Promise<void>): RunningWorker {
  const run = worker.run().finally(cleanup);
  return {
    worker,
    run,
    async close() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run;
    },
  };
}

export async function startOrchestratorWorker(config: RuntimeConfig, connection?: NativeConnection): Promise<RunningWorker> {
  const ownConnection = connection ?? (await connectTemporalWorker(config));
  const store = await openStore(config);
  const registry: DeviceRegistry = await loadDevices(config.devicesFile);
  const scorers = createAccuracyStudyScorers(store);
  const worker = await Worker.create({
    connection: ownConnection,
    namespace: config.namespace,
    taskQueue: ORCHESTRATOR_QUEUE,
    identity: `orchestrator@${hostname()}/${process.pid}`,
    workflowBundle: await workflowBundle(),
    activities: createOrchestratorActivities({
      store,
      knownDevices: async () => registry.ids().map((id) => ({ id, backend: registry.get(id).backend })),
      accuracyScorers: scorers.forSpec,
    }),
    shutdownGraceTime: `${config.shutdownGraceSeconds ?? 10} seconds`,
  });
  return startRunning(worker, async () => {
    await scorers.close();
    if (!connection) await ownConnection.close();
  });
}

export async function startDeviceWorker(config: RuntimeConfig & { device: string }, connection?: NativeConnection): Promise<RunningWorker> {
  const registry = await loadDevices(config.devicesFile);
  const device = registry.get(config.device);
  const ownConnection = connection ?? (await connectTemporalWorker(config));
  const store = await openStore(config);
  const measurer = createMeasurer(device, { cache: store });
  const worker = await Worker.create({
    connection: ownConnection,
    namespace: config.namespace,
    taskQueue: deviceQueue(device.id),
    identity: `device:${device.id}@${hostname()}/${process.pid}`,
    activities: createDeviceActivities({ store, device: device.id, measurer }),
    // One measurement at a time on a device: concurrent runs would distort each other's timing.
    maxConcurrentActivityTaskExecutions: 1,
    shutdownGraceTime: `${config.shutdownGraceSeconds ?? 10} seconds`,
  });
  return startRunning(worker, async () => {
    await measurer.close();
    if (!connection) await ownConnection.close();
  });
}
