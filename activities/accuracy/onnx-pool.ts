/**
 * A pool of one worker thread for onnxruntime jobs. A session's run (and the export before it) blocks its
 * thread for seconds; in a Temporal worker that would stall heartbeats, so jobs run in a worker thread,
 * one at a time.
 *
 * Cancelling is cooperative: terminating a thread inside onnxruntime aborts the whole process, so an
 * aborted job's caller is rejected at once and the job stops at its next forward pass.
 */
import { Worker } from 'node:worker_threads';
import type { EvaluationRequest, TopOneMeasurement } from './evaluator.js';
import { AccuracyInputError } from './errors.js';
import type { NaswotMeasurement, NaswotRequest } from './naswot-scorer.js';
import { designSpace, type SpaceDefinition } from '../../pipelines/spaces/index.js';

/** The jobs a thread runs: request in, result out (both structured-cloneable). */
export interface OnnxJobs {
  naswot: { request: NaswotRequest; result: NaswotMeasurement };
  evaluate: { request: EvaluationRequest; result: TopOneMeasurement };
}
export type OnnxJobKind = keyof OnnxJobs;

/** `cancel` is a shared flag: the pool sets element 0 to 1 to ask the job to stop. */
/** `space`: the definition of the request's space, which the thread's own registry does not know unless it is built in. */
export type OnnxJobMessage = { [K in OnnxJobKind]: { id: number; kind: K; request: OnnxJobs[K]['request']; cancel: Int32Array; space: SpaceDefinition } }[OnnxJobKind];

export type OnnxReplyMessage = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; message: string; stack?: string } };

/** What a job throws when it stops because its caller aborted. */
export class OnnxJobCancelledError extends Error {
  constructor() {
    super('onnxruntime job cancelled');
    this.name = 'OnnxJobCancelledError';
  }
}

/** For jobs: throws OnnxJobCancelledError once the pool has set the job's cancel flag. */
export function throwIfCancelled(cancel: Int32Array): void {
  if (Atomics.load(cancel, 0) === 1) throw new OnnxJobCancelledError();
}

// A JavaScript entry that registers tsx inside the thread: worker threads do not inherit a TypeScript loader.
const THREAD_ENTRY = new URL('./onnx-thread.mjs', import.meta.url);

export class OnnxThread {
  private worker: Worker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;
  private runningCancel: Int32Array | undefined;

  /** Runs one job after the ones already queued; an abort rejects at once and stops the job soon after. */
  run<K extends OnnxJobKind>(kind: K, request: OnnxJobs[K]['request'], signal?: AbortSignal): Promise<OnnxJobs[K]['result']> {
    if (this.closed) return Promise.reject(new Error('OnnxThread is closed'));
    const completion = this.queue.then(() => this.execute(kind, request, signal));
    this.queue = completion.catch(() => undefined);
    return signal ? rejectOnAbort(completion, signal) : completion;
  }

  /** Stops the running job, lets it return, and ends the thread; jobs not yet started fail. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.runningCancel) Atomics.store(this.runningCancel, 0, 1);
    await this.queue;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private async execute<K extends OnnxJobKind>(kind: K, request: OnnxJobs[K]['request'], signal?: AbortSignal): Promise<OnnxJobs[K]['result']> {
    if (this.closed) throw new Error('OnnxThread is closed');
    signal?.throwIfAborted();
    this.worker ??= new Worker(THREAD_ENTRY);
    const worker = this.worker;
    const id = this.nextId++;
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => Atomics.store(cancel, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.runningCancel = cancel;
    worker.ref();
    try {
      return await new Promise<OnnxJobs[K]['result']>((resolve, reject) => {
        const cleanup = () => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        };
        const onMessage = (reply: OnnxReplyMessage) => {
          if (reply.id !== id) return;
          cleanup();
          // The thread replies with what the job's function returned for this kind.
          if (reply.ok) resolve(reply.result as OnnxJobs[K]['result']);
          else reject(rebuildError(reply.error));
        };
        const onError = (error: Error) => {
          cleanup();
          this.forgetWorker(worker);
          reject(error);
        };
        const onExit = (code: number) => {
          cleanup();
          this.forgetWorker(worker);
          reject(new Error(`onnxruntime worker thread exited with code ${code} during a ${kind} job`));
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        // TypeScript cannot correlate the generic kind with its request type inside the union.
        worker.postMessage({ id, kind, request, cancel, space: designSpace(request.arch.space).definition } as OnnxJobMessage);
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.runningCancel = undefined;
      // An idle thread must not keep the process alive.
      worker.unref();
    }
  }

  private forgetWorker(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
  }
}

function rejectOnAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error('aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function rebuildError(error: { name: string; message: string; stack?: string }): Error {
  const rebuilt = error.name === 'InvalidInputError' ? new AccuracyInputError(error.message) : new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack) rebuilt.stack = error.stack;
  return rebuilt;
}
