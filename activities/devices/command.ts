/**
 * The `command` backend: an external benchmark command per model (an `adb shell` or `ssh` line that pushes
 * the model and runs the vendor's tool), whose output is parsed for the latency.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { exportNetwork } from '../../pipelines/onnx/index.js';
import { architectureHash } from '../../pipelines/spaces/index.js';
import { LATENCY_UNITS, type CommandDevice, type LatencyUnit } from './config.js';
import { BenchmarkCommandError, outputTail } from './errors.js';
import { commandFingerprint, type DeviceFingerprint } from './fingerprint.js';
import type { MeasurementEngine } from './measure.js';
import { summarizeTimings } from './protocol.js';

export interface ShellResult {
  stdout: string;
  stderr: string;
  /** null when the process was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
}

/** Output beyond this is dropped from the front; latency lines come last. */
const maxOutputChars = 1_000_000;
/** After SIGTERM on timeout, the process group gets this long before SIGKILL. */
const killGraceMs = 2_000;

/** Single-quotes a value for /bin/sh. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Substitutes {model}, {resolution}, {device} and {threads}, each shell-quoted. */
export function renderCommand(template: string, values: Partial<Record<'model' | 'resolution' | 'device' | 'threads', string | number>>): string {
  return template.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
    const value = values[name as keyof typeof values];
    if (value === undefined) throw new BenchmarkCommandError(`command template ${JSON.stringify(template)}: no value for ${whole}`);
    return shellQuote(String(value));
  });
}

/**
 * Runs a shell command in its own process group, so a timeout or an abort ends it and everything it started
 * (an adb or ssh client, a benchmark tool).
 */
export function runShellCommand(command: string, options: { timeoutMs: number; cwd?: string; signal?: AbortSignal }): Promise<ShellResult> {
  options.signal?.throwIfAborted();
  const started = performance.now();
  return new Promise<ShellResult>((resolve, reject) => {
    const child = spawn(command, { shell: true, detached: true, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-maxOutputChars)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-maxOutputChars)));
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), killGraceMs).unref();
    }, options.timeoutMs);
    const onAbort = () => killGroup('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanUp = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error) => {
      cleanUp();
      reject(new BenchmarkCommandError(`cannot start ${JSON.stringify(command)}: ${error.message}`));
    });
    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      cleanUp();
      if (options.signal?.aborted) {
        reject(options.signal.reason instanceof Error ? options.signal.reason : new DOMException('command aborted', 'AbortError'));
        return;
      }
      resolve({ stdout, stderr, exitCode, signal, timedOut, durationMs: performance.now() - started });
    };
    child.on('close', finish);
    // A process that left the group (setsid) may keep the pipes open forever; the shell's exit is enough then.
    child.on('exit', (exitCode, signal) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(exitCode, signal);
      }, killGraceMs).unref();
    });
  });
}

/**
 * Latencies (ms) in the output: the pattern's named group `ms`, `us` or `s` gives the number and its unit.
 * stdout is searched first, then stderr (some tools log there). 'last' takes the last match, 'all' every match.
 */
export function parseLatencies(result: Pick<ShellResult, 'stdout' | 'stderr'>, pattern: string, match: 'last' | 'all'): number[] {
  for (const text of [result.stdout, result.stderr]) {
    const values = [...text.matchAll(new RegExp(pattern, 'gm'))].map(toMilliseconds);
    if (values.length > 0) return match === 'last' ? [values.at(-1)!] : values;
  }
  return [];
}

function toMilliseconds(found: RegExpMatchArray): number {
  const unit = (Object.keys(LATENCY_UNITS) as LatencyUnit[]).find((u) => found.groups?.[u] !== undefined);
  const text = unit ? found.groups![unit]! : '';
  const value = Number(text);
  if (!unit || !Number.isFinite(value) || value <= 0) {
    throw new BenchmarkCommandError(`the latency pattern matched ${JSON.stringify(found[0])}, but ${JSON.stringify(text)} is not a positive number`);
  }
  return value * LATENCY_UNITS[unit];
}

/** Runs the device's command on one model file and returns the latencies it reported (ms). */
export async function runBenchmarkCommand(
  device: CommandDevice,
  model: { path: string; resolution: number },
  signal?: AbortSignal,
): Promise<{ timingsMs: number[]; durationMs: number }> {
  const command = renderCommand(device.command, { model: model.path, resolution: model.resolution, device: device.id, threads: device.threads });
  const result = await runShellCommand(command, { timeoutMs: device.timeoutSeconds * 1000, cwd: device.cwd, signal });
  const describe = (headline: string, output: string) =>
    new BenchmarkCommandError(`command device ${device.id}: ${headline}\n  command: ${command}\n  output tail:\n${indent(outputTail(output))}`);
  if (result.timedOut) throw describe(`benchmark command timed out after ${device.timeoutSeconds} s and was killed`, result.stdout + result.stderr);
  if (result.exitCode !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    throw describe(`benchmark command ${how}`, result.stderr.trim() ? result.stderr : result.stdout);
  }
  const timingsMs = parseLatencies(result, device.pattern, device.match);
  if (timingsMs.length === 0) throw describe(`no latency in the benchmark output: /${device.pattern}/ matched nothing`, result.stdout + result.stderr);
  return { timingsMs, durationMs: result.durationMs };
}

/** The command backend as a measurement engine: the model goes to a temporary file the command reads. */
export function createCommandEngine(device: CommandDevice): MeasurementEngine {
  const protocol = { repeats: device.repeats, match: device.match };
  let fingerprint: Promise<DeviceFingerprint> | undefined;
  return {
    measuresDevice: true,
    async identity() {
      // Probed once; a failed probe is tried again on the next call.
      fingerprint ??= probeFingerprint(device).catch((error: unknown) => {
        fingerprint = undefined;
        throw error;
      });
      return { fingerprint: await fingerprint, protocol };
    },
    async run(arch, network, { signal, onProgress }) {
      if (device.resolutions && !device.resolutions.includes(arch.resolution)) {
        throw new BenchmarkCommandError(`command device ${device.id} accepts resolutions ${device.resolutions.join(', ')}; the architecture is at ${arch.resolution}`);
      }
      onProgress?.({ device: device.id, phase: 'exporting' });
      const exportStarted = performance.now();
      const bytes = exportNetwork(network);
      const exportMs = performance.now() - exportStarted;
      const directory = await mkdtemp(join(os.tmpdir(), 'blockscope-model-'));
      try {
        const path = join(directory, `${arch.space}-${architectureHash(arch).slice(0, 12)}-r${arch.resolution}.onnx`);
        await writeFile(path, bytes);
        const timingsMs: number[] = [];
        let timedMs = 0;
        for (let repeat = 0; repeat < device.repeats; repeat++) {
          onProgress?.({ device: device.id, phase: 'running-command', runs: timingsMs.length });
          const result = await runBenchmarkCommand(device, { path, resolution: arch.resolution }, signal);
          timingsMs.push(...result.timingsMs);
          timedMs += result.durationMs;
        }
        return {
          summary: summarizeTimings(timingsMs),
          runs: timingsMs.length,
          timingsMs,
          stopReason: 'command',
          breakdown: { exportMs, sessionCreateMs: 0, warmupMs: 0, timedMs },
        };
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
    close: () => Promise.resolve(),
  };
}

async function probeFingerprint(device: CommandDevice): Promise<DeviceFingerprint> {
  if (device.probe === undefined) return commandFingerprint(device, undefined);
  const result = await runShellCommand(device.probe, { timeoutMs: device.timeoutSeconds * 1000, cwd: device.cwd });
  if (result.timedOut || result.exitCode !== 0) {
    const how = result.timedOut ? `timed out after ${device.timeoutSeconds} s` : `exited with code ${result.exitCode}`;
    throw new BenchmarkCommandError(`command device ${device.id}: probe ${JSON.stringify(device.probe)} ${how}; output tail:\n${indent(outputTail(result.stderr + result.stdout))}`);
  }
  return commandFingerprint(device, result.stdout.trim().slice(0, 500));
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
