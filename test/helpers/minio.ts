/**
 * Starts a throwaway MinIO server for tests: loopback only, free ports, generated credentials, temp data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../workers/dev-server.js';

export interface MinioServer {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stops the server (SIGTERM) for `ms`, then starts it again on the same port with the same data: an outage. */
  outage(ms: number): Promise<void>;
  stop(): Promise<void>;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const minioBinaryPath = join(repoRoot, '.tools', 'bin', 'minio');

const startTimeoutMs = 30_000;
const logTailChars = 4_000;

/** `ip`: the address the S3 API listens on (default 127.0.0.1), e.g. a veth address for a worker in its own network namespace. */
export async function startMinio(ip = '127.0.0.1'): Promise<MinioServer> {
  if (!existsSync(minioBinaryPath)) {
    throw new Error(`MinIO binary not found at ${minioBinaryPath}; run \`bash scripts/install-minio.sh\` from the repo root`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'blockscope-minio-'));
  const freePorts = async () => {
    const api = await freePort();
    let console = await freePort();
    while (console === api) console = await freePort();
    return { api, console };
  };
  let { api: apiPort, console: consolePort } = await freePorts();

  const accessKeyId = `test-${randomBytes(4).toString('hex')}`;
  const secretAccessKey = randomBytes(18).toString('base64url');
  let endpoint = `http://${ip}:${apiPort}`;

  let log = '';
  const appendLog = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-logTailChars);
  };
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(minioBinaryPath, ['server', dataDir, '--address', `${ip}:${apiPort}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
      env: {
        ...process.env,
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        // No phoning home from tests.
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', appendLog);
    child.stderr?.on('data', appendLog);
    let exitDescription: string | undefined;
    child.once('exit', (code, signal) => {
      exitDescription = `exited with code ${code ?? 'null'}, signal ${signal ?? 'none'}`;
    });
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    spawnError.catch(() => undefined);
    try {
      await Promise.race([waitUntilLive(endpoint, () => exitDescription), spawnError]);
    } catch (error) {
      await killAndWait(child);
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`MinIO did not start at ${endpoint}: ${reason}\n--- minio log tail ---\n${log}`);
    }
    return child;
  };

  /** The first start: the ports were free when chosen, but a server of a test file running beside this one may take one first. */
  const launchOnFreePorts = async (): Promise<ChildProcess> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch();
      } catch (error) {
        if (attempt >= 3 || !/port is already in use/i.test(log)) throw error;
        ({ api: apiPort, console: consolePort } = await freePorts());
        endpoint = `http://${ip}:${apiPort}`;
        log = '';
      }
    }
  };
  let child: ChildProcess;
  try {
    child = await launchOnFreePorts();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const stop = async (): Promise<void> => {
    await killAndWait(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  const outage = async (ms: number): Promise<void> => {
    await killAndWait(child);
    await new Promise((r) => setTimeout(r, ms));
    child = await launch();
  };
  return { endpoint, accessKeyId, secretAccessKey, outage, stop };
}

async function waitUntilLive(endpoint: string, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const exit = exited();
    if (exit !== undefined) throw new Error(`process ${exit}`);
    try {
      const response = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not live after ${startTimeoutMs / 1000} s`);
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(forced);
}
