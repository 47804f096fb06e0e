/**
 * The parent side of the onnxruntime child process: one long-lived child per runner, started on first use,
 * sent models and asked for raw timings. The adaptive protocol (how many runs) and all statistics live here,
 * so the child only ever runs a session.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { OnnxRuntimeDevice, OnnxRuntimeProtocol } from './config.js';
import { RunnerError, outputTail } from './errors.js';
import { nextBatchSize, stopReason, type StopReason } from './protocol.js';
import type { ModelSource, ReferenceModel, RunnerRequest, RunnerResponse, RunnerResult, SessionSettings } from './runner-protocol.js';

/** What one model's measurement produced, before any statistics. */
export interface ModelTiming {
  exportMs: number;
  sessionCreateMs: number;
  warmupTimingsMs: number[];
  timingsMs: number[];
  /** With protocol.reference 'interleaved': the reference's run after each warm-up and timed run. */
  referenceWarmupTimingsMs?: number[];
  referenceTimingsMs?: number[];
  stopReason: StopReason;
}

export interface ModelTimingOptions {
  signal?: AbortSignal;
  /** Called after the warm-up and after every batch of timed runs, with the statistic the protocol stops on. */
  onRuns?: (phase: 'warmup' | 'timing', values: readonly number[]) => void;
  /** The model each run is paired with; required when protocol.reference is 'interleaved'. */
  reference?: ReferenceModel;
}

interface RunTimings {
  timingsMs: number[];
  referenceTimingsMs: number[];
}

/** A request without its id (Omit applied to each member of the union). */
type RequestBody<R = RunnerRequest> = R extends RunnerRequest ? Omit<R, 'id'> : never;

interface Pending {
  resolve: (result: RunnerResult) => void;
  reject: (error: Error) => void;
  what: string;
}

const stderrTailChars = 4_000;

export function sessionSettings(device: OnnxRuntimeDevice): SessionSettings {
  return {
    executionProvider: device.executionProvider,
    intraOpThreads: device.threads.intraOp,
    interOpThreads: device.threads.interOp,
    allowSpinning: device.allowSpinning,
  };
}

export class OnnxRuntimeRunner {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = '';
  private closing = false;
  /** How many child processes this runner has started (0 until the first model is measured). */
  childStarts = 0;

  constructor(
    readonly deviceId: string,
    private readonly settings: SessionSettings,
  ) {}

  /** The child's process id while one runs (for diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Loads the model, runs the warm-up, then timed runs until the protocol stops, and unloads it. With
   * protocol.reference 'interleaved' every run is followed by one of the reference, and the protocol stops on
   * the precision of the median model/reference ratio.
   */
  async measureModel(source: ModelSource, protocol: OnnxRuntimeProtocol, options: ModelTimingOptions = {}): Promise<ModelTiming> {
    const { signal, onRuns, reference } = options;
    const paired = protocol.reference === 'interleaved';
    if (paired && !reference) {
      throw new RunnerError(`device ${this.deviceId}: protocol.reference is 'interleaved', so every measurement needs a reference model, and this one was given none`);
    }
    signal?.throwIfAborted();
    // An abort kills the child at once (a run cannot be interrupted otherwise); the next call starts a new one.
    const onAbort = () => this.stopChild(abortReason(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const load = { type: 'load' as const, source, settings: this.settings, ...(paired ? { reference } : {}) };
      const loaded = await this.request(load, 'exporting the model and creating its session', signal);
      if (loaded.type !== 'loaded') throw new RunnerError(`unexpected runner answer ${loaded.type} to load`);
      const started = performance.now();
      const elapsedSeconds = () => (performance.now() - started) / 1000;
      const warmup = protocol.warmupRuns > 0 ? await this.runs(protocol.warmupRuns, paired, 'warm-up runs', signal) : { timingsMs: [], referenceTimingsMs: [] };
      onRuns?.('warmup', warmup.timingsMs);
      const timed: RunTimings = { timingsMs: [], referenceTimingsMs: [] };
      // The statistic the protocol stops on, and the time one step (a run, or a run and its reference) takes.
      const statistic = () => (paired ? timed.timingsMs.map((ms, i) => ms / timed.referenceTimingsMs[i]!) : timed.timingsMs);
      const stepMs = () => (paired ? timed.timingsMs.map((ms, i) => ms + timed.referenceTimingsMs[i]!) : timed.timingsMs);
      let reason = stopReason(statistic(), protocol, elapsedSeconds());
      while (reason === undefined) {
        const batch = await this.runs(nextBatchSize(stepMs(), protocol, elapsedSeconds()), paired, 'timed runs', signal);
        timed.timingsMs.push(...batch.timingsMs);
        timed.referenceTimingsMs.push(...batch.referenceTimingsMs);
        onRuns?.('timing', statistic());
        reason = stopReason(statistic(), protocol, elapsedSeconds());
      }
      await this.request({ type: 'unload' }, 'releasing the session', signal);
      const timing: ModelTiming = {
        exportMs: loaded.exportMs,
        sessionCreateMs: loaded.sessionCreateMs,
        warmupTimingsMs: warmup.timingsMs,
        timingsMs: timed.timingsMs,
        stopReason: reason,
      };
      return paired ? { ...timing, referenceWarmupTimingsMs: warmup.referenceTimingsMs, referenceTimingsMs: timed.referenceTimingsMs } : timing;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Ends the child process; the runner can still be used (it starts a new child). */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.closing = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.stopChild(new RunnerError(`onnxruntime runner for device ${this.deviceId} was closed`));
    await exited;
    this.closing = false;
  }

  private async runs(count: number, paired: boolean, what: string, signal: AbortSignal | undefined): Promise<RunTimings> {
    const result = await this.request({ type: 'run', count, paired }, what, signal);
    if (result.type !== 'timings') throw new RunnerError(`unexpected runner answer ${result.type} to run`);
    return { timingsMs: result.timingsMs, referenceTimingsMs: result.referenceTimingsMs ?? [] };
  }

  private request(body: RequestBody, what: string, signal?: AbortSignal): Promise<RunnerResult> {
    // Checked before every request: an abort between requests must not start a fresh child.
    signal?.throwIfAborted();
    const child = this.ensureChild();
    const id = this.nextId++;
    return new Promise<RunnerResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what });
      child.send({ ...body, id } as RunnerRequest, (error) => {
        if (error) this.settle(id, new RunnerError(`cannot send ${what} to the onnxruntime runner of device ${this.deviceId}: ${error.message}`));
      });
    });
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    const { entry, execArgv } = childEntry();
    const child = fork(entry, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.childStarts += 1;
    this.stderrTail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-stderrTailChars);
    });
    child.on('message', (response: RunnerResponse) => {
      this.settle(response.id, response.ok ? response : new RunnerError(`onnxruntime on device ${this.deviceId}: ${response.error}`));
    });
    child.on('error', (error) => this.failAll(child, new RunnerError(`onnxruntime runner process for device ${this.deviceId} failed: ${error.message}`)));
    child.on('exit', (code, signal) => {
      if (this.closing) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const stderr = outputTail(this.stderrTail);
      this.failAll(child, new RunnerError(`onnxruntime runner process for device ${this.deviceId} ${how} while ${this.activity()}${stderr ? `; stderr: ${stderr}` : ''}`));
    });
    this.child = child;
    return child;
  }

  private activity(): string {
    const first = this.pending.values().next();
    return first.done ? 'idle' : first.value.what;
  }

  private settle(id: number, outcome: RunnerResult | Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  /** Rejects everything in flight on this child and forgets it. */
  private failAll(child: ChildProcess, error: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, error);
  }

  private stopChild(reason: Error): void {
    const child = this.child;
    if (!child) return;
    this.failAll(child, reason);
    child.kill('SIGKILL');
  }
}

/** The child's entry next to this file; TypeScript sources run through the tsx loader the project uses. */
function childEntry(): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) return { entry: join(dirname(here), 'onnxruntime-child.js'), execArgv: [] };
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { entry: join(dirname(here), 'onnxruntime-child.ts'), execArgv: ['--import', tsxLoader] };
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('measurement aborted', 'AbortError');
}
