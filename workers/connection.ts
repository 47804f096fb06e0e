/**
 * How clients and workers reach Temporal: its address and, for a server on another host, TLS (the CA that
 * signed the server's certificate, a client certificate and key for mTLS, the name the server's certificate
 * carries) and an API key (Temporal Cloud). The flags and environment variables are the Temporal CLI's
 * (docs/architecture.md, "Secure links"). Secrets never leave this module: errors and descriptions name the
 * files and say whether a key is set, never the key or a file's content.
 */
import { readFileSync } from 'node:fs';
import { Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export interface TemporalTls {
  /** PEM file of the CA that signed the server's certificate (default: the system's CAs). */
  caPath?: string;
  /** PEM files of this client's certificate and key, for a server that verifies clients (mTLS). */
  certPath?: string;
  keyPath?: string;
  /** The name the server's certificate is checked against, when it is not the address's host. */
  serverName?: string;
}

export interface TemporalConnectionSettings {
  address: string;
  /** Present: connect over TLS (an empty object uses the system's CAs). */
  tls?: TemporalTls;
  /** Sent as "Authorization: Bearer <key>"; implies TLS. */
  apiKey?: string;
}

export class TemporalConnectionError extends Error {
  readonly userFacing = true;

  constructor(message: string) {
    super(message);
    this.name = 'TemporalConnectionError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/** TEMPORAL_TLS, TEMPORAL_TLS_CA_PATH, TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY. */
export function connectionSecurityFromEnv(env: Env = process.env): Pick<TemporalConnectionSettings, 'tls' | 'apiKey'> {
  const tls: TemporalTls = {};
  const fields = { caPath: 'TEMPORAL_TLS_CA_PATH', certPath: 'TEMPORAL_TLS_CERT_PATH', keyPath: 'TEMPORAL_TLS_KEY_PATH', serverName: 'TEMPORAL_TLS_SERVER_NAME' } as const;
  for (const [field, variable] of Object.entries(fields) as [keyof TemporalTls, string][]) {
    const value = nonEmpty(env[variable]);
    if (value !== undefined) tls[field] = value;
  }
  const flag = nonEmpty(env['TEMPORAL_TLS'])?.toLowerCase();
  if (flag !== undefined && !['true', '1', 'false', '0'].includes(flag))
    throw new TemporalConnectionError(`TEMPORAL_TLS must be true or false, got ${JSON.stringify(env['TEMPORAL_TLS'])}`);
  const enabled = flag === 'true' || flag === '1' || Object.keys(tls).length > 0;
  const apiKey = nonEmpty(env['TEMPORAL_API_KEY']);
  return { ...(enabled ? { tls } : {}), ...(apiKey !== undefined ? { apiKey } : {}) };
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TemporalConnectionError(`${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** The SDK's connection options, with the PEM files read; the same for a client's and a worker's connection. */
export function connectionOptions(settings: TemporalConnectionSettings): { address: string; tls?: TLSConfig; apiKey?: string } {
  const { tls, apiKey } = settings;
  if (tls && Boolean(tls.certPath) !== Boolean(tls.keyPath)) {
    throw new TemporalConnectionError(
      `--tls-cert-path and --tls-key-path (TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH) go together for mTLS; only ${tls.certPath ? '--tls-cert-path' : '--tls-key-path'} is set`,
    );
  }
  const config: TLSConfig | undefined = tls
    ? {
        ...(tls.caPath ? { serverRootCACertificate: readPem(tls.caPath, '--tls-ca-path') } : {}),
        ...(tls.certPath && tls.keyPath ? { clientCertPair: { crt: readPem(tls.certPath, '--tls-cert-path'), key: readPem(tls.keyPath, '--tls-key-path') } } : {}),
        ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      }
    : undefined;
  return { address: settings.address, ...(config ? { tls: config } : {}), ...(apiKey ? { apiKey } : {}) };
}

/** "HOST:PORT over TLS (CA ca.pem, client certificate cert.pem, server name x), with an API key", never the key. */
export function describeConnection(settings: TemporalConnectionSettings): string {
  const { tls } = settings;
  const details = tls ? [tls.caPath && `CA ${tls.caPath}`, tls.certPath && `client certificate ${tls.certPath}`, tls.serverName && `server name ${tls.serverName}`].filter(Boolean) : [];
  const secured = tls || settings.apiKey ? ` over TLS${details.length > 0 ? ` (${details.join(', ')})` : ''}` : '';
  return `${settings.address}${secured}${settings.apiKey ? ', with an API key' : ''}`;
}

/** What the SDK said, with the API key blanked out should it ever echo it. */
function failure(settings: TemporalConnectionSettings, error: unknown): TemporalConnectionError {
  // The client's error says that it failed; its causes say why (a status from a proxy, a handshake alert).
  const messages: string[] = [];
  for (let cause: unknown = error; cause !== undefined && messages.length < 4; cause = cause instanceof Error ? cause.cause : undefined) {
    const text = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : JSON.stringify(cause);
    if (!messages.some((seen) => seen.includes(text))) messages.push(text);
  }
  let message = messages.join(': ');
  if (settings.apiKey) message = message.split(settings.apiKey).join('<api key>');
  const hint =
    settings.tls || settings.apiKey
      ? '; check the TLS settings (--tls-ca-path, --tls-cert-path, --tls-key-path, --tls-server-name) and the API key'
      : '; start it with `npx blockscope dev` or set --address / TEMPORAL_ADDRESS';
  return new TemporalConnectionError(`cannot reach Temporal at ${describeConnection(settings)}: ${message}${hint}`);
}

/** A client connection; a refused handshake or key fails here, with the reason. */
export async function connectTemporalClient(settings: TemporalConnectionSettings, connectTimeoutMs = 5000): Promise<Connection> {
  const options = connectionOptions(settings);
  try {
    const connection = await Connection.connect({ ...options, connectTimeout: connectTimeoutMs });
    // connect() checks reachability; one call checks that the server accepts this client (certificate, key).
    await connection.workflowService.getSystemInfo({});
    return connection;
  } catch (error) {
    throw failure(settings, error);
  }
}

/** A worker's connection; a refused handshake or key fails here, with the reason. */
export async function connectTemporalWorker(settings: TemporalConnectionSettings): Promise<NativeConnection> {
  const options = connectionOptions(settings);
  try {
    return await NativeConnection.connect(options);
  } catch (error) {
    throw failure(settings, error);
  }
}
