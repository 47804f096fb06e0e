/**
 * The embedded Temporal: `temporal server start-dev` with a persistent SQLite file and the Web UI,
 * started as a child process. Used by `blockscope dev` and by the tests (a real server, not a fake).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export class DevServerError extends Error {
  readonly userFacing = true;
}

/** The Temporal CLI: $TEMPORAL_CLI, then the project's .tools/bin/temporal, then `temporal` on PATH. */
export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI) return env.TEMPORAL_CLI;
  const local = resolve(PROJECT_ROOT, '.tools/bin/temporal');
  if (existsSync(local)) return local;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir && existsSync(resolve(dir, 'temporal'))) return resolve(dir, 'temporal');
  }
  throw new DevServerError('no Temporal CLI found: run `bash scripts/install-tools.sh` (installs it into .tools/bin), or put `temporal` on PATH, or set TEMPORAL_CLI');
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface DevServerOptions {
  dbFile: string;
  /** The address the frontend listens on (default 127.0.0.1); workers on another host need one they can reach. */
  ip?: string;
  port?: number;
  uiPort?: number;
  /** Without the UI (tests). */
  headless?: boolean;
  namespace?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const SERVER_START_TIMEOUT_MS = 60_000;
/** Starts tried before giving up when the server exits while starting (e.g. a port of the previous run not yet free). */
const SERVER_START_ATTEMPTS = 3;

/** Keeps the head (where a Go panic names its cause) and the tail of a process's output. */
class OutputExcerpt {
  private head = '';
  private tail = '';
  private whole: string | undefined = '';
  add(chunk: Buffer): void {
    const text = chunk.toString();
    if (this.head.length < 2000) this.head += text.slice(0, 2000 - this.head.length);
    this.tail = (this.tail + text).slice(-2000);
    this.whole = this.whole !== undefined && this.whole.length + text.length <= 4000 ? this.whole + text : undefined;
  }
  toString(): string {
    return this.whole ?? `${this.head}\n[…]\n${this.tail}`;
  }
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(options);
    } catch (error) {
      if (!(error instanceof DevServerExitedError) || attempt >= SERVER_START_ATTEMPTS) throw error;
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
}

class DevServerExitedError extends DevServerError {}

async function startDevServerOnce(options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  mkdirSync(dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    options.dbFile,
    '--ip',
    options.ip ?? '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'error',
    ...Object.values(SEARCH_ATTRIBUTES).flatMap((key) => ['--search-attribute', `${key.name}=${key.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`]),
    ...(options.headless ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-ip', '127.0.0.1', '--ui-disable-news-fetch']),
  ];
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new OutputExcerpt();
  const collect = (chunk: Buffer) => output.add(chunk);
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const address = `${options.ip ?? '127.0.0.1'}:${port}`;
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new DevServerExitedError(`the Temporal dev server exited with code ${child.exitCode}:\n${output.toString()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new DevServerError(`the Temporal dev server did not answer on ${address} within ${SERVER_START_TIMEOUT_MS / 1000}s:\n${output.toString()}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    namespace,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
