/**
 * One measurement at a time per device on a host, across processes: an exclusive lock file
 * `<lockDir>/<device>.lock` holding its owner's pid.
 *
 * The file is published with link(2), which fails when the name exists, so exactly one process wins and the
 * file is never seen half-written. A lock whose owner pid has exited on this host is stale; it is removed only
 * under a short-lived `.break` lock, after reading it again, so two processes cleaning up the same stale lock
 * cannot delete a fresh one. (A reused pid makes a stale lock look alive; remove the file by hand then.)
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockHolder {
  pid: number;
  hostname: string;
  token: string;
  acquiredAt: string;
}

export interface DeviceLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

export interface DeviceLockOptions {
  /** Default: `${os.tmpdir()}/blockscope-locks`. All processes that share a device must use the same directory. */
  lockDir?: string;
  signal?: AbortSignal;
  pollMs?: number;
  /** Called about once a second while another process holds the lock. */
  onWait?: (holder: LockHolder | undefined, waitedMs: number) => void;
}

/** A `.break` lock older than this was left by a process that died while removing a stale lock. */
const breakLockMaxAgeMs = 30_000;

export function defaultLockDir(): string {
  return join(os.tmpdir(), 'blockscope-locks');
}

export function deviceLockPath(deviceId: string, lockDir = defaultLockDir()): string {
  return join(lockDir, `${deviceId}.lock`);
}

/** Waits until the device is free (or the signal aborts) and takes its lock. */
export async function acquireDeviceLock(deviceId: string, options: DeviceLockOptions = {}): Promise<DeviceLock> {
  const lockDir = options.lockDir ?? defaultLockDir();
  const path = deviceLockPath(deviceId, lockDir);
  const pollMs = options.pollMs ?? 50;
  await mkdir(lockDir, { recursive: true });
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    options.signal?.throwIfAborted();
    const holder: LockHolder = { pid: process.pid, hostname: os.hostname(), token: randomBytes(8).toString('hex'), acquiredAt: new Date().toISOString() };
    if (await publishExclusive(path, JSON.stringify(holder))) return heldLock(path, holder);
    const current = await readHolder(path);
    if (current && (await isStale(current))) {
      await removeStaleLock(path, current);
      continue;
    }
    if (options.onWait && Date.now() - lastReport >= 1_000) {
      lastReport = Date.now();
      options.onWait(current, lastReport - started);
    }
    await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/** Runs `fn` while holding the device's lock. */
export async function withDeviceLock<T>(deviceId: string, options: DeviceLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireDeviceLock(deviceId, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

function heldLock(path: string, holder: LockHolder): DeviceLock {
  let released = false;
  return {
    path,
    holder,
    async release() {
      if (released) return;
      released = true;
      const current = await readHolder(path);
      if (current?.token === holder.token) await rm(path, { force: true });
    },
  };
}

/** Writes `content` to `path` only if no file is there; false if one is. */
async function publishExclusive(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.hostname !== 'string' || typeof parsed.token !== 'string') return undefined;
    return parsed as LockHolder;
  } catch (error) {
    // Gone (released meanwhile) or not ours to interpret: either way, try again.
    if (errorCode(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Only a lock of this host can be judged: it is stale when its owner has exited. */
async function isStale(holder: LockHolder): Promise<boolean> {
  return holder.hostname === os.hostname() && !(await processIsRunning(holder.pid));
}

/**
 * Whether a pid is a running process. On Linux an exited process stays a zombie until its parent reaps it,
 * which some container inits never do, and signal 0 still reaches a zombie: so /proc is asked first.
 */
export async function processIsRunning(pid: number): Promise<boolean> {
  if (process.platform === 'linux') {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // The state letter follows the parenthesised command name, which may itself contain spaces or parentheses.
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

async function removeStaleLock(path: string, stale: LockHolder): Promise<void> {
  const breakPath = `${path}.break`;
  const breaker = JSON.stringify({ pid: process.pid, hostname: os.hostname(), token: randomBytes(8).toString('hex'), acquiredAt: new Date().toISOString() });
  if (!(await publishExclusive(breakPath, breaker))) {
    await clearAbandonedBreakLock(breakPath);
    return;
  }
  try {
    // Re-read under the break lock: only the stale owner's file may go, never a lock taken since.
    const current = await readHolder(path);
    if (current?.token === stale.token) await unlink(path).catch(ignoreMissing);
  } finally {
    await rm(breakPath, { force: true });
  }
}

async function clearAbandonedBreakLock(breakPath: string): Promise<void> {
  try {
    const info = await stat(breakPath);
    if (Date.now() - info.mtimeMs > breakLockMaxAgeMs) await rm(breakPath, { force: true });
  } catch (error) {
    ignoreMissing(error);
  }
}

function ignoreMissing(error: unknown): void {
  if (errorCode(error) !== 'ENOENT') throw error;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
