/**
 * What the scale runs share (scripts/scale.ts, scripts/scale-faults.ts): the lookup-table device built with
 * `blockscope lut build`, and the workers as processes of their own (scripts/scale-worker.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { WorkerStats } from './scale-worker.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const DEVICE = 'scale-lut';
const LUT_DIR = resolve(ROOT, '.blockscope/scale');

export const log = (line: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** The lookup table of a space at 224, built once with `blockscope lut build` on cpu-local. */
export function lookupTable(space: string): { path: string; builtSeconds: number | null } {
  const path = join(LUT_DIR, `lut-${space}-224.json`);
  if (existsSync(path)) return { path, builtSeconds: null };
  mkdirSync(LUT_DIR, { recursive: true });
  log(`building the ${space} lookup table on cpu-local (every distinct block at 224, measured once)`);
  const started = performance.now();
  execFileSync(process.execPath, [resolve(ROOT, 'bin/blockscope.mjs'), 'lut', 'build', '--device', 'cpu-local', '--space', space, '--resolution', '224', '--out', path], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { path, builtSeconds: (performance.now() - started) / 1000 };
}

/**
 * A scale worker in its own process, resolved once it polls. `store` is a BLOCKSCOPE_STORE URL (fs:///… or
 * s3://…, with the S3 endpoint and credentials in `env`).
 */
export function startWorker(role: string, options: { address: string; store: string; devices: string; stats: string; env?: Record<string, string> }): Promise<ChildProcess> {
  const args = ['--role', role, '--address', options.address, '--store', options.store, '--devices', options.devices, '--stats', options.stats];
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'scripts/scale-worker.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`scale worker ${role} exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) ready(child);
    });
  });
}

/** Stops a scale worker (SIGTERM: it shuts down and writes its stats) and reads what it wrote. */
export async function stopWorker(child: ChildProcess, stats: string): Promise<WorkerStats> {
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
  return JSON.parse(readFileSync(stats, 'utf8')) as WorkerStats;
}

/** Replaces the README's section between `<!-- MARKER:start -->` and `<!-- MARKER:end -->`. */
export function updateReadme(marker: string, section: string): void {
  const readme = resolve(ROOT, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const [start, end] = [`<!-- ${marker}:start -->`, `<!-- ${marker}:end -->`];
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} ... ${end} section`);
  writeFileSync(readme, `${text.slice(0, from + start.length)}\n${section}\n${text.slice(to)}`);
}
