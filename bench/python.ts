/** The Python reference loop of figure 2: its venv (bench/setup.sh) and one call of bench/python/ort_loop.py. */
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = resolve(BENCH_DIR, '..');
const VENV_PYTHON = resolve(PROJECT_ROOT, '.tools/bench-venv/bin/python');
const LOOP_SCRIPT = resolve(BENCH_DIR, 'python/ort_loop.py');

/** Installs (once) the venv with pip's onnxruntime and returns the version it holds. */
export async function setupPython(): Promise<string> {
  await run('bash', [resolve(BENCH_DIR, 'setup.sh')], { cwd: PROJECT_ROOT });
  const { stdout } = await run(VENV_PYTHON, ['-c', 'import onnxruntime; print(onnxruntime.__version__)']);
  return stdout.trim();
}

export interface PythonModelTiming {
  path: string;
  sessionCreateMs: number;
  warmupMs: number[];
  timingsMs: number[];
}

export interface PythonLoopResult {
  onnxruntime: string;
  numpy: string;
  models: PythonModelTiming[];
}

export interface PythonLoopSettings {
  intraOp: number;
  interOp: number;
  allowSpinning: boolean;
  warmup: number;
  runs: number;
}

export async function runPythonLoop(models: readonly string[], settings: PythonLoopSettings): Promise<PythonLoopResult> {
  const args = [
    LOOP_SCRIPT,
    `--intra-op=${settings.intraOp}`,
    `--inter-op=${settings.interOp}`,
    `--allow-spinning=${settings.allowSpinning ? '1' : '0'}`,
    `--warmup=${settings.warmup}`,
    `--runs=${settings.runs}`,
    ...models,
  ];
  const { stdout } = await run(VENV_PYTHON, args, { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as PythonLoopResult;
}
