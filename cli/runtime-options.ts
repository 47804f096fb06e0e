/** Connection and storage options shared by the commands that talk to Temporal or the store. */
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { storeConfigFromEnv, type StoreConfig } from '../activities/storage/index.js';
import { DEFAULT_HOME } from '../workers/embedded.js';
import type { RuntimeConfig } from '../workers/runtime.js';
import { temporalSettingsFromEnv, type TemporalSettings } from '../workers/temporal.js';

export interface RuntimeFlags {
  address?: string;
  namespace?: string;
  devices?: string;
}

export function addRuntimeOptions(command: Command): Command {
  return command
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS, default 127.0.0.1:7233)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE, default "default")')
    .option('--devices <file>', 'device config file, YAML or JSON (env BLOCKSCOPE_DEVICES; cpu-local is built in)');
}

export function temporalSettings(flags: RuntimeFlags): TemporalSettings {
  const settings = temporalSettingsFromEnv();
  return { ...settings, address: flags.address ?? settings.address, namespace: flags.namespace ?? settings.namespace };
}

/** BLOCKSCOPE_STORE when set, else the embedded default's filesystem store. */
export function storeConfig(): StoreConfig {
  return process.env.BLOCKSCOPE_STORE ? storeConfigFromEnv() : { kind: 'fs', root: resolve(DEFAULT_HOME, 'store') };
}

export function runtimeConfig(flags: RuntimeFlags): RuntimeConfig {
  const settings = temporalSettings(flags);
  const devicesFile = flags.devices ?? process.env.BLOCKSCOPE_DEVICES;
  return { address: settings.address, namespace: settings.namespace, store: storeConfig(), ...(devicesFile ? { devicesFile } : {}) };
}

export async function connectClient(flags: RuntimeFlags): Promise<{ client: Client; settings: TemporalSettings; close(): Promise<void> }> {
  const settings = temporalSettings(flags);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: 5000 });
  } catch (error) {
    const message = `cannot reach Temporal at ${settings.address} (${(error as Error).message}); start it with \`npx blockscope dev\` or set --address / TEMPORAL_ADDRESS`;
    throw Object.assign(new Error(message), { userFacing: true });
  }
  return { client: new Client({ connection, namespace: settings.namespace }), settings, close: () => connection.close() };
}
