/** Connection and storage options shared by the commands that talk to Temporal or the store. */
import { resolve } from 'node:path';
import { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { storeConfigFromEnv, type StoreConfig } from '../activities/storage/index.js';
import { DEFAULT_HOME } from '../workers/embedded.js';
import { connectTemporalClient, type TemporalTls } from '../workers/connection.js';
import type { RuntimeConfig } from '../workers/runtime.js';
import { temporalSettingsFromEnv, type TemporalSettings } from '../workers/temporal.js';

export interface RuntimeFlags {
  address?: string;
  namespace?: string;
  devices?: string;
  tls?: boolean;
  tlsCaPath?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsServerName?: string;
  apiKey?: string;
}

export function addRuntimeOptions(command: Command): Command {
  return command
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS, default 127.0.0.1:7233)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE, default "default")')
    .option('--devices <file>', 'device config file, YAML or JSON (env BLOCKSCOPE_DEVICES; cpu-local is built in)')
    .option('--tls', 'connect to Temporal over TLS, checking its certificate against the system CAs (env TEMPORAL_TLS)')
    .option('--tls-ca-path <file>', "PEM of the CA that signed Temporal's certificate; implies --tls (env TEMPORAL_TLS_CA_PATH)")
    .option('--tls-cert-path <file>', "PEM of this client's certificate, for mTLS; with --tls-key-path (env TEMPORAL_TLS_CERT_PATH)")
    .option('--tls-key-path <file>', "PEM of this client's private key, for mTLS (env TEMPORAL_TLS_KEY_PATH)")
    .option('--tls-server-name <name>', "the name Temporal's certificate carries, when not the address's host (env TEMPORAL_TLS_SERVER_NAME)")
    .option('--api-key <key>', 'Temporal API key (Temporal Cloud); prefer env TEMPORAL_API_KEY, which stays out of the process list');
}

/** The environment's settings, each overridden by its flag. */
export function temporalSettings(flags: RuntimeFlags): TemporalSettings {
  const settings = temporalSettingsFromEnv();
  const tlsFlags: TemporalTls = {
    ...(flags.tlsCaPath ? { caPath: flags.tlsCaPath } : {}),
    ...(flags.tlsCertPath ? { certPath: flags.tlsCertPath } : {}),
    ...(flags.tlsKeyPath ? { keyPath: flags.tlsKeyPath } : {}),
    ...(flags.tlsServerName ? { serverName: flags.tlsServerName } : {}),
  };
  const tls = settings.tls || flags.tls || Object.keys(tlsFlags).length > 0 ? { ...settings.tls, ...tlsFlags } : undefined;
  const apiKey = flags.apiKey ?? settings.apiKey;
  return { address: flags.address ?? settings.address, namespace: flags.namespace ?? settings.namespace, uiUrl: settings.uiUrl, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}

/** BLOCKSCOPE_STORE when set, else the embedded default's filesystem store. */
export function storeConfig(): StoreConfig {
  return process.env.BLOCKSCOPE_STORE ? storeConfigFromEnv() : { kind: 'fs', root: resolve(DEFAULT_HOME, 'store') };
}

export function runtimeConfig(flags: RuntimeFlags): RuntimeConfig {
  const settings = temporalSettings(flags);
  const devicesFile = flags.devices ?? process.env.BLOCKSCOPE_DEVICES;
  const { address, namespace, tls, apiKey } = settings;
  return { address, namespace, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}), store: storeConfig(), ...(devicesFile ? { devicesFile } : {}) };
}

export async function connectClient(flags: RuntimeFlags): Promise<{ client: Client; settings: TemporalSettings; close: () => Promise<void> }> {
  const settings = temporalSettings(flags);
  const connection = await connectTemporalClient(settings);
  return { client: new Client({ connection, namespace: settings.namespace }), settings, close: () => connection.close() };
}
