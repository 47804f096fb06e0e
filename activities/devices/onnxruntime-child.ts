/**
 * The onnxruntime child process. onnxruntime-node's run() blocks its thread for the whole inference, so
 * models are exported and run here, away from the device worker's event loop (heartbeats, polling), and nothing
 * else in this process competes with the timed runs. It holds at most one session and answers one request at a time.
 */
import * as ort from 'onnxruntime-node';
import type { Shape } from '../../pipelines/network/ir.js';
import { exportBlocks, exportNetwork } from '../../pipelines/onnx/index.js';
import type { ModelSource, RunnerRequest, RunnerResponse, RunnerResult, SessionSettings } from './runner-protocol.js';

let session: ort.InferenceSession | undefined;
let feeds: Record<string, ort.Tensor> = {};
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
      return load(request.source, request.settings);
    case 'run':
      return { type: 'timings', timingsMs: await timedRuns(request.count) };
    case 'unload':
      await unload();
      return { type: 'unloaded' };
  }
}

async function load(source: ModelSource, settings: SessionSettings): Promise<RunnerResult> {
  await unload();
  const exportStarted = process.hrtime.bigint();
  const model = source.kind === 'network' ? exportNetwork(source.network) : exportBlocks(source.blocks, source.inputShape);
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
  try {
    session = await ort.InferenceSession.create(model, options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = settings.executionProvider === 'cuda' ? ' (the CUDA provider needs the onnxruntime-node CUDA libraries, installed with --onnxruntime-node-install=cuda12)' : '';
    throw new Error(`cannot create an onnxruntime session with execution provider ${settings.executionProvider}${hint}: ${reason}`);
  }
  const sessionCreateMs = elapsedMs(started);
  if (session.inputNames.length !== 1) throw new Error(`expected a model with one input, got ${session.inputNames.length}`);
  feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', deterministicInput(inputShape), [1, ...inputShape]) };
  return { type: 'loaded', exportMs, sessionCreateMs };
}

async function timedRuns(count: number): Promise<number[]> {
  if (!session) throw new Error('no model loaded');
  const timingsMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await session.run(feeds);
    timingsMs.push(elapsedMs(started));
  }
  return timingsMs;
}

async function unload(): Promise<void> {
  const current = session;
  session = undefined;
  feeds = {};
  await current?.release();
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
