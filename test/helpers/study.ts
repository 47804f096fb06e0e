/** Real services for study tests: a Temporal dev server on a temp SQLite file, workers, a fast device. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { FsArtifactStore } from '../../activities/storage/index.js';
import { startDevServer, type DevServer } from '../../workers/dev-server.js';
import { startDeviceWorker, startOrchestratorWorker, type RunningWorker, type RuntimeConfig } from '../../workers/runtime.js';
import { ensureSearchAttributes } from '../../workers/temporal.js';
import type { StudyTimeouts } from '../../workflows/definitions.js';

export const TEST_DEVICE = 'cpu-test';
/** The same quick protocol, normalised by the reference model (protocol.reference 'interleaved'). */
export const TEST_REFERENCE_DEVICE = 'cpu-test-reference';
/** Shorter heartbeats so a killed worker's batch is retried within seconds. */
export const TEST_TIMEOUTS: StudyTimeouts = { batchStartToCloseMinutes: 30, heartbeatSeconds: 5 };

/** A devices file with a quick measurement protocol (tests check behaviour, not precision); optionally its normalised twin. */
export function writeTestDevicesFile(dir: string, options: { referenceDevice?: boolean } = {}): string {
  const file = join(dir, 'devices.yaml');
  const device = (id: string, reference: string) => [
    `  - id: ${id}`,
    '    backend: onnxruntime',
    '    threads: { intraOp: 1, interOp: 1 }',
    `    protocol: { warmupRuns: 1, minRuns: 3, maxRuns: 5, maxSeconds: 5, reference: ${reference} }`,
  ];
  const lines = ['devices:', ...device(TEST_DEVICE, 'none'), ...(options.referenceDevice ? device(TEST_REFERENCE_DEVICE, 'interleaved') : []), ''];
  writeFileSync(file, lines.join('\n'));
  return file;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `blockscope-${prefix}-`));
}

export interface TestTemporal {
  server: DevServer;
  client: Client;
  close(): Promise<void>;
}

export async function startTestTemporal(dbFile: string, port?: number, ip?: string): Promise<TestTemporal> {
  const server = await startDevServer({ dbFile, headless: true, ...(port ? { port } : {}), ...(ip ? { ip } : {}) });
  const connection = await Connection.connect({ address: server.address });
  await ensureSearchAttributes(connection, server.namespace);
  return {
    server,
    client: new Client({ connection, namespace: server.namespace }),
    async close() {
      await connection.close();
      await server.stop();
    },
  };
}

/** A dev server, an orchestrator worker and one device worker on a filesystem store, all under `dir`. */
export interface TestStack {
  temporal: TestTemporal;
  workers: RunningWorker[];
  store: FsArtifactStore;
  /** Stops the workers and the server and removes `dir`. */
  close(): Promise<void>;
}

export async function startTestStack(dir: string, options: { devicesFile: string; device: string; wrapStore?: RuntimeConfig['wrapStore'] }): Promise<TestStack> {
  const temporal = await startTestTemporal(join(dir, 'temporal.db'));
  const store = new FsArtifactStore(join(dir, 'store'));
  const config: RuntimeConfig = {
    address: temporal.server.address,
    namespace: temporal.server.namespace,
    store: { kind: 'fs', root: store.root },
    devicesFile: options.devicesFile,
    ...(options.wrapStore ? { wrapStore: options.wrapStore } : {}),
  };
  const workers = [await startOrchestratorWorker(config), await startDeviceWorker({ ...config, device: options.device })];
  return {
    temporal,
    workers,
    store,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await temporal.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small study spec: three block specs, a handful of architectures at 160. */
export function smallSpec(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    space: 'ofa-mbv3',
    resolutions: [160],
    blocks: ['u0.l0.e3k3', 'u4.l3.e6k7', 'u2.l1.e6k5'],
    samplesPerSpec: 2,
    baselineSamples: 3,
    seed: 7,
    devices: [TEST_DEVICE],
    accuracy: { source: 'naswot-proxy', proxyBatch: 8, batchSize: 5 },
    measurement: { batchSize: 3 },
    search: { objectives: ['pareto'], seeds: 1, initialSize: 6, iterations: 1, budgetPerIteration: 4, remeasureFront: true },
    ...overrides,
  };
}

/** `blockscope worker ROLE...` (`--orchestrator`, or `--device ID`) as a separate process, with its own registry of spaces. */
export function spawnWorker(role: string[], options: { address: string; devicesFile: string; storeUrl: string }): ChildProcess {
  const bin = resolve(import.meta.dirname, '../../bin/blockscope.mjs');
  return spawn(process.execPath, [bin, 'worker', ...role, '--address', options.address, '--devices', options.devicesFile], {
    env: { ...process.env, BLOCKSCOPE_STORE: options.storeUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** `blockscope worker --device ID` as a separate process, so a test can SIGKILL it. */
export function spawnDeviceWorker(options: { address: string; devicesFile: string; storeUrl: string; device?: string }): ChildProcess {
  return spawnWorker(['--device', options.device ?? TEST_DEVICE], options);
}
