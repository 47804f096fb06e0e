/**
 * The embedded default (`blockscope dev`): a Temporal dev server with a persistent SQLite file and its
 * Web UI, the search attributes registered, retention raised so closed studies stay auditable, and the
 * orchestrator plus a worker for every configured device (cpu-local at least) running in this process on
 * a filesystem store.
 */
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadDevices } from '../activities/devices/index.js';
import { startDevServer, type DevServer } from './dev-server.js';
import { startDeviceWorker, startOrchestratorWorker, type RunningWorker, type RuntimeConfig } from './runtime.js';
import { ensureSearchAttributes, setNamespaceRetention } from './temporal.js';

export interface EmbeddedOptions {
  /** Folder for the SQLite file and the filesystem store (default .blockscope/). */
  home: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  devicesFile?: string;
  /** Device workers to run in-process (default: every device of the device config, cpu-local included). */
  devices?: string[];
  retentionDays?: number;
}

export interface Embedded {
  server: DevServer;
  client: Client;
  config: RuntimeConfig;
  workers: RunningWorker[];
  stop(): Promise<void>;
}

export const DEFAULT_HOME = '.blockscope';

export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  const home = resolve(options.home);
  const server = await startDevServer({
    dbFile: resolve(home, 'temporal.db'),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.uiPort !== undefined ? { uiPort: options.uiPort } : {}),
    ...(options.headless !== undefined ? { headless: options.headless } : {}),
  });
  const connection = await Connection.connect({ address: server.address });
  await ensureSearchAttributes(connection, server.namespace);
  await setNamespaceRetention(connection, server.namespace, options.retentionDays ?? 30);
  const client = new Client({ connection, namespace: server.namespace });
  const config: RuntimeConfig = {
    address: server.address,
    namespace: server.namespace,
    store: { kind: 'fs', root: resolve(home, 'store') },
    ...(options.devicesFile ? { devicesFile: options.devicesFile } : {}),
  };
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const workers = [await startOrchestratorWorker(config, workerConnection)];
  const devices = options.devices ?? (await loadDevices(options.devicesFile)).ids();
  for (const device of devices) workers.push(await startDeviceWorker({ ...config, device }, workerConnection));
  return {
    server,
    client,
    config,
    workers,
    async stop() {
      await Promise.all(workers.map((w) => w.close()));
      await workerConnection.close();
      await connection.close();
      await server.stop();
    },
  };
}
