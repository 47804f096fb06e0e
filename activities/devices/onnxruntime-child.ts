/**
 * The onnxruntime child process. onnxruntime-node's run() blocks its thread for the whole inference, so
 * models are exported and run here, away from the device worker's event loop (heartbeats, polling), and nothing
 * else in this process competes with the timed runs. It holds the model's session (and, for devices that normalise by a
 * reference model, the reference's) and answers one request at a time.
 */
import * as ort from 'onnxruntime-node';
import type { Shape } from '../../pipelines/network/ir.js';
import { exportBlocks, exportNetwork } from '../../pipelines/onnx/index.js';
import type { ModelSource, RunnerRequest, RunnerResponse, RunnerResult, SessionSettings } from './runner-protocol.js';

interface LoadedModel {
  session: ort.InferenceSession;
  feeds: Record<string, ort.Tensor>;
}

let model: LoadedModel | undefined;
/** The reference model stays loaded across models, so normalising costs its runs, not an export per model. */
let reference: (LoadedModel & { key: string }) | undefined;
let queue: Promise<void> = Promise.resolve();

// Without the parent there is nobody to answer to.
process.on('disconnect', () => process.exit(0));
process.on('message', (request: RunnerRequest) => {
  queue = queue.then(() => answer(request));
});

async function answer(request: RunnerRequest): Promise<void> {
  let response: RunnerResponse;
  try {
    response = { id: request.id, ok: true, ...(await handle(request)) };
  } catch (error) {
    response = { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  process.send?.(response);
}

async function handle(request: RunnerRequest): Promise<RunnerResult> {
  switch (request.type) {
    case 'load':
      return load(request);
    case 'run':
      return request.paired ? pairedRuns(request.count) : { type: 'timings', timingsMs: await timedRuns(request.count) };
    case 'unload':
      await unload();
      return { type: 'unloaded' };
  }
}

async function load(request: Extract<RunnerRequest, { type: 'load' }>): Promise<RunnerResult> {
  await unload();
  const loaded = await createModel(request.source, request.settings);
  model = loaded.model;
  let { exportMs, sessionCreateMs } = loaded;
  if (request.reference && request.reference.key !== reference?.key) {
    await reference?.session.release();
    reference = undefined;
    const built = await createModel(request.reference.source, request.settings);
    reference = { ...built.model, key: request.reference.key };
    exportMs += built.exportMs;
    sessionCreateMs += built.sessionCreateMs;
  }
  return { type: 'loaded', exportMs, sessionCreateMs };
}

async function createModel(source: ModelSource, settings: SessionSettings): Promise<{ model: LoadedModel; exportMs: number; sessionCreateMs: number }> {
  const exportStarted = process.hrtime.bigint();
  const onnx = source.kind === 'network' ? exportNetwork(source.network) : exportBlocks(source.blocks, source.inputShape);
  const inputShape: Shape = source.kind === 'network' ? source.network.inputShape : source.inputShape;
  const exportMs = elapsedMs(exportStarted);
  const spinning = settings.allowSpinning ? '1' : '0';
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [settings.executionProvider],
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: settings.interOpThreads,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
    // String values are required; the typings call this WASM-only, but the Node binding honours it.
    extra: { session: { intra_op: { allow_spinning: spinning }, inter_op: { allow_spinning: spinning } } },
  };
  const started = process.hrtime.bigint();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnx, options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = settings.executionProvider === 'cuda' ? ' (the CUDA provider needs the onnxruntime-node CUDA libraries, installed with --onnxruntime-node-install=cuda12)' : '';
    throw new Error(`cannot create an onnxruntime session with execution provider ${settings.executionProvider}${hint}: ${reason}`);
  }
  const sessionCreateMs = elapsedMs(started);
  if (session.inputNames.length !== 1) {
    await session.release();
    throw new Error(`expected a model with one input, got ${session.inputNames.length}`);
  }
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', deterministicInput(inputShape), [1, ...inputShape]) };
  return { model: { session, feeds }, exportMs, sessionCreateMs };
}

async function timedRun(loaded: LoadedModel): Promise<number> {
  const started = process.hrtime.bigint();
  await loaded.session.run(loaded.feeds);
  return elapsedMs(started);
}

async function timedRuns(count: number): Promise<number[]> {
  if (!model) throw new Error('no model loaded');
  const timingsMs: number[] = [];
  for (let i = 0; i < count; i++) timingsMs.push(await timedRun(model));
  return timingsMs;
}

async function pairedRuns(count: number): Promise<RunnerResult> {
  if (!model) throw new Error('no model loaded');
  if (!reference) throw new Error('paired runs need a reference model, and none is loaded');
  const timingsMs: number[] = [];
  const referenceTimingsMs: number[] = [];
  for (let i = 0; i < count; i++) {
    timingsMs.push(await timedRun(model));
    referenceTimingsMs.push(await timedRun(reference));
  }
  return { type: 'timings', timingsMs, referenceTimingsMs };
}

/** Releases the model; the reference stays loaded for the next one. */
async function unload(): Promise<void> {
  const current = model;
  model = undefined;
  await current?.session.release();
}

/** The same input everywhere: a fixed pattern in [-1, 1] (image-like values, no denormals, no zeros to skip). */
function deterministicInput(shape: Shape): Float32Array {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 2001) / 1000 - 1;
  return data;
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
