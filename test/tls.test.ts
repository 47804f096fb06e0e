/**
 * Secure links, for real: Debian's nginx terminates TLS in front of the Temporal dev server, verifies client
 * certificates against a private CA (mTLS) and requires an API key ("Authorization: Bearer"), as a Temporal
 * Cloud namespace or a company's gateway would. A study runs through it with the orchestrator in process and a
 * device worker started from the CLI with the Temporal CLI's environment variables; a worker without a valid
 * certificate, and a client without the key, are refused with a clear error; the key appears in no log, history
 * or stored artifact. The S3 store reaches MinIO through an HTTPS proxy signed by the same private CA.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveLookupTable } from '../activities/devices/lookup-table.js';
import { S3ArtifactStore, StoreConfigError, storeConfigFromEnv } from '../activities/storage/index.js';
import { planStudy } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { connectTemporalClient, TemporalConnectionError, type TemporalConnectionSettings } from '../workers/connection.js';
import { startOrchestratorWorker, type RunningWorker } from '../workers/runtime.js';
import { startStudy } from '../workers/study-client.js';
import { startMinio, type MinioServer } from './helpers/minio.js';
import { TEST_TIMEOUTS, smallSpec, startTestTemporal, tempDir, type TestTemporal } from './helpers/study.js';
import { additiveAccuracy, kernelBoundTable } from './helpers/synthetic-device.js';
import { SERVER_NAME, makeCertificates, startNginx, type Certificates, type Nginx } from './helpers/tls.js';

const BIN = resolve(import.meta.dirname, '../bin/blockscope.mjs');
const DEVICE = 'tls-lut';
const API_KEY = 'bsk-test-7f3a9c1e5d2b8064';

/** Runs `blockscope ARGS` to its end, with `env` added, and returns its exit code and output. */
function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Every file under `dir`, as text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path, 'latin1') }];
  });
}

describe('secure links to Temporal (mTLS and an API key through a TLS-terminating gRPC proxy)', () => {
  let dir: string;
  let temporal: TestTemporal;
  let certs: Certificates;
  let proxy: Nginx;
  let address: string;
  let devicesFile: string;
  let secure: TemporalConnectionSettings;
  const cliEnv = (overrides: Record<string, string> = {}): Record<string, string> => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_CA_PATH: certs.ca,
    TEMPORAL_TLS_CERT_PATH: certs.clientCert,
    TEMPORAL_TLS_KEY_PATH: certs.clientKey,
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    TEMPORAL_API_KEY: API_KEY,
    BLOCKSCOPE_STORE: `fs://${join(dir, 'store')}`,
    BLOCKSCOPE_DEVICES: devicesFile,
    ...overrides,
  });

  beforeAll(async () => {
    dir = tempDir('tls');
    certs = makeCertificates(join(dir, 'certs'));
    temporal = await startTestTemporal(join(dir, 'temporal.db'));
    proxy = await startNginx(
      join(dir, 'nginx'),
      (port) => `server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${certs.serverCert};
    ssl_certificate_key ${certs.serverKey};
    ssl_client_certificate ${certs.ca};
    ssl_verify_client on;
    location / {
      if ($http_authorization != "Bearer ${API_KEY}") { return 401; }
      grpc_pass grpc://${temporal.server.address};
      grpc_read_timeout 300s;
      grpc_send_timeout 300s;
    }
  }`,
    );
    address = `127.0.0.1:${proxy.port}`;
    secure = { address, tls: { caPath: certs.ca, certPath: certs.clientCert, keyPath: certs.clientKey, serverName: SERVER_NAME }, apiKey: API_KEY };
    await saveLookupTable(join(dir, 'lut.yaml'), kernelBoundTable(160, DEVICE));
    devicesFile = join(dir, 'devices.yaml');
    writeFileSync(devicesFile, `devices:\n  - id: ${DEVICE}\n    backend: lookup-table\n    table: lut.yaml\n`);
  });

  afterAll(async () => {
    await proxy?.stop();
    await temporal?.close();
  });

  it('runs a study through the proxy: orchestrator in process, device worker from the CLI; the key is in no log, history or artifact', async () => {
    const spec = smallSpec('tls', { devices: [DEVICE], accuracy: { source: 'table', table: join(dir, 'accuracy.csv'), batchSize: 5 }, search: { objectives: [] } });
    const plan = planStudy(parseStudySpec(spec));
    writeFileSync(join(dir, 'accuracy.csv'), ['hash,top1', ...plan.architectures.map(({ hash, arch }) => `${hash},${additiveAccuracy(arch).toFixed(4)}`), ''].join('\n'));

    const orchestrator: RunningWorker = await startOrchestratorWorker({ ...secure, namespace: 'default', store: { kind: 'fs', root: join(dir, 'store') }, devicesFile });
    const device: ChildProcess = spawn(process.execPath, [BIN, 'worker', '--device', DEVICE], { env: { ...process.env, ...cliEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let deviceLog = '';
    device.stdout!.on('data', (chunk: Buffer) => (deviceLog += chunk.toString()));
    device.stderr!.on('data', (chunk: Buffer) => (deviceLog += chunk.toString()));
    const connection = await connectTemporalClient(secure);
    try {
      const client = new Client({ connection, namespace: 'default' });
      const started = await startStudy(client, spec, { timeouts: TEST_TIMEOUTS });
      const result = await started.handle.result();
      expect(result.profiles).toHaveLength(1);
      // The CLI reaches the study through the proxy too: TLS from its flags, the key from the environment.
      const tlsFlags = ['--address', address, '--tls-ca-path', certs.ca, '--tls-cert-path', certs.clientCert, '--tls-key-path', certs.clientKey, '--tls-server-name', SERVER_NAME];
      const status = await runCli(['study', 'status', started.workflowId, ...tlsFlags], { TEMPORAL_API_KEY: API_KEY });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout + status.stderr).toMatch(/completed|done/);
      expect(deviceLog).toContain(`polling ${address} over TLS (CA ${certs.ca}, client certificate ${certs.clientCert}, server name ${SERVER_NAME}), with an API key`);

      const histories: string[] = [];
      for await (const execution of client.workflow.list({ query: `WorkflowId STARTS_WITH '${started.workflowId}'` })) {
        histories.push(JSON.stringify(await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory()));
      }
      expect(histories.length).toBeGreaterThan(2);
      const key = readFileSync(certs.clientKey, 'utf8').split('\n')[1]!;
      for (const text of [deviceLog, status.stdout, status.stderr, ...histories, ...filesUnder(join(dir, 'store')).map((f) => f.text)]) {
        expect(text).not.toContain(API_KEY);
        expect(text).not.toContain(key);
      }
      expect(filesUnder(join(dir, 'store')).some((f) => f.path.endsWith('report.html'))).toBe(true);
    } finally {
      device.kill('SIGTERM');
      await orchestrator.close();
      await connection.close();
    }
  }, 240_000);

  it('refuses a worker without a valid client certificate, with a clear error and no secret', async () => {
    for (const overrides of [
      { TEMPORAL_TLS_CERT_PATH: '', TEMPORAL_TLS_KEY_PATH: '' },
      { TEMPORAL_TLS_CERT_PATH: certs.rogueCert, TEMPORAL_TLS_KEY_PATH: certs.rogueKey },
    ]) {
      const refused = await runCli(['worker', '--device', DEVICE], cliEnv(overrides));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(`^blockscope: cannot reach Temporal at 127\\.0\\.0\\.1:${proxy.port} over TLS \\(CA [^)]*\\), with an API key: .+; check the TLS settings`, 'm'),
      );
      // The proxy's answer to a missing or untrusted client certificate is in the message.
      expect(refused.stderr).toContain('400 Bad Request');
      expect(refused.stderr).not.toMatch(/^\s+at /m);
      expect(refused.stderr).not.toContain(API_KEY);
    }
  }, 120_000);

  it('refuses a client without the API key or with a wrong one, naming neither key', async () => {
    await expect(connectTemporalClient({ address, tls: secure.tls! })).rejects.toThrow(/UNAUTHENTICATED: Received HTTP status code 401/);
    const wrong = 'bsk-wrong-000000000000';
    const error = await connectTemporalClient({ ...secure, apiKey: wrong }).then(
      () => new Error('connected'),
      (failure: unknown) => failure as Error,
    );
    expect(error).toBeInstanceOf(TemporalConnectionError);
    expect(error.message).toMatch(/^cannot reach Temporal at .+ over TLS .+, with an API key: .*UNAUTHENTICATED/);
    expect(error.message).not.toContain(wrong);
    // Plaintext to a TLS port fails too, and says how to reach the server.
    await expect(connectTemporalClient({ address })).rejects.toThrow(/cannot reach Temporal at 127\.0\.0\.1:\d+: /);
  });

  it('names the missing half of a client certificate pair and an unreadable file', async () => {
    await expect(connectTemporalClient({ address, tls: { certPath: certs.clientCert } })).rejects.toThrow(
      /--tls-cert-path and --tls-key-path .* go together for mTLS; only --tls-cert-path is set/,
    );
    await expect(connectTemporalClient({ address, tls: { caPath: join(dir, 'missing.pem') } })).rejects.toThrow(`--tls-ca-path: cannot read ${join(dir, 'missing.pem')} (ENOENT)`);
    const refused = await runCli(['study', 'list'], cliEnv({ TEMPORAL_TLS: 'maybe' }));
    expect(refused.stderr).toContain('blockscope: TEMPORAL_TLS must be true or false, got "maybe"');
  });
});

describe('the S3 store over HTTPS with a private CA (AWS_CA_BUNDLE)', () => {
  let dir: string;
  let minio: MinioServer;
  let proxy: Nginx;
  let certs: Certificates;

  beforeAll(async () => {
    dir = tempDir('s3-tls');
    certs = makeCertificates(join(dir, 'certs'));
    minio = await startMinio();
    proxy = await startNginx(
      join(dir, 'nginx'),
      (port) => `server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certs.serverCert};
    ssl_certificate_key ${certs.serverKey};
    client_max_body_size 0;
    location / {
      proxy_pass ${minio.endpoint};
      proxy_set_header Host $http_host;
      proxy_http_version 1.1;
      proxy_request_buffering off;
    }
  }`,
    );
  });

  afterAll(async () => {
    await proxy?.stop();
    await minio?.stop();
  });

  const env = (caBundle?: string) => ({
    BLOCKSCOPE_STORE: 's3://tls-bucket/studies',
    BLOCKSCOPE_S3_ENDPOINT: `https://127.0.0.1:${proxy.port}`,
    AWS_ACCESS_KEY_ID: minio.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    ...(caBundle ? { AWS_CA_BUNDLE: caBundle } : {}),
  });

  it('stores and reads artifacts through the HTTPS endpoint with the CA bundle, and fails without it', async () => {
    const config = storeConfigFromEnv(env(certs.ca));
    expect(config).toMatchObject({ kind: 's3', caBundle: certs.ca });
    const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
    const trusted = new S3ArtifactStore({ region: 'us-east-1', bucket: 'tls-bucket', endpoint: `https://127.0.0.1:${proxy.port}`, credentials, caBundle: certs.ca });
    await trusted.ensureBucket();
    await trusted.putJson('a/b.json', { over: 'tls' });
    expect(await trusted.getJson('a/b.json')).toEqual({ over: 'tls' });
    expect(await trusted.list('a/')).toEqual(['a/b.json']);

    const untrusted = new S3ArtifactStore({ region: 'us-east-1', bucket: 'tls-bucket', endpoint: `https://127.0.0.1:${proxy.port}`, credentials });
    await expect(untrusted.getJson('a/b.json')).rejects.toThrow(/certificate/i);
    trusted.close();
    untrusted.close();
  });

  it('names AWS_CA_BUNDLE when its path is relative or unreadable', () => {
    expect(() => storeConfigFromEnv(env('certs/ca.pem'))).toThrow(new StoreConfigError('AWS_CA_BUNDLE must be the absolute path of a PEM file, got "certs/ca.pem"'));
    expect(
      () =>
        new S3ArtifactStore({
          region: 'us-east-1',
          bucket: 'tls-bucket',
          endpoint: 'https://127.0.0.1:1',
          caBundle: join(dir, 'missing.pem'),
          credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        }),
    ).toThrow(`the S3 CA bundle (store.caBundle / AWS_CA_BUNDLE) cannot be read: ${join(dir, 'missing.pem')} (ENOENT)`);
  });
});
