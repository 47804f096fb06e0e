/**
 * The shipped implementation of the `evaluateAccuracy` contract (contracts.ts, docs/accuracy.md): top-1
 * of an ONNX model over a labelled dataset stored as tensors (dataset.ts), in onnxruntime-node.
 *
 * The model of an architecture is `<models>/<archHash>.onnx` when a models directory is given (trained
 * weights exported by the user), else blockscope's seeded export, whose untrained weights score at chance:
 * useful to check the pipeline end to end, not as an accuracy.
 */
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { asyncLocalStorage } from '@temporalio/activity';
import * as ort from 'onnxruntime-node';
import { exportNetwork } from '../../pipelines/onnx/export.js';
import type { Seed } from '../../pipelines/rng.js';
import { architectureHash, buildNetwork, parseSpaceDefinition, registerSpace, validateArchitecture, type Architecture } from '../../pipelines/spaces/index.js';
import type { EvaluateAccuracyInput, EvaluateAccuracyResult, EvaluatorActivities } from './contracts.js';
import { readTensorDataset } from './dataset.js';
import { AccuracyInputError } from './errors.js';
import { OnnxThread, throwIfCancelled } from './onnx-pool.js';

export interface EvaluationRequest {
  /** The architecture at the resolution evaluated. */
  arch: Architecture;
  /** Path of the dataset's JSON header. */
  dataset: string;
  /** An .onnx file to evaluate instead of the seeded export of `arch`. */
  model?: string;
  seed: Seed;
  /** Images per run; a model with a fixed batch dimension uses its own. */
  batchSize: number;
  intraOpThreads: number;
}

export interface TopOneMeasurement {
  top1: number;
  samples: number;
  correct: number;
  datasetSha256: string;
}

/**
 * Runs the evaluation in the calling thread; onnxruntime blocks it, so the evaluator calls this in an
 * OnnxThread, which may set `cancel` to stop it between batches.
 */
export async function computeTopOne(request: EvaluationRequest, cancel?: Int32Array): Promise<TopOneMeasurement> {
  const arch = validateArchitecture(request.arch);
  const dataset = await readTensorDataset(request.dataset);
  const expectedShape = [3, arch.resolution, arch.resolution];
  if (dataset.shape.some((size, i) => size !== expectedShape[i])) {
    throw new AccuracyInputError(
      `dataset ${request.dataset} holds images of shape [${dataset.shape.join(', ')}]; evaluating at resolution ${arch.resolution} needs [${expectedShape.join(', ')}]`,
    );
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: request.intraOpThreads, interOpNumThreads: 1, executionMode: 'sequential' };
  const session = request.model
    ? await ort.InferenceSession.create(request.model, sessionOptions)
    : await ort.InferenceSession.create(exportNetwork(buildNetwork(arch), { seed: request.seed, batch: request.batchSize }), sessionOptions);
  try {
    const inputName = session.inputNames[0];
    const outputName = session.outputNames[0];
    if (session.inputNames.length !== 1 || !inputName || !outputName) {
      throw new AccuracyInputError(`model ${request.model ?? '(seeded export)'} must have one image input and a logits output first, has inputs [${session.inputNames.join(', ')}]`);
    }
    const inputMetadata = session.inputMetadata[0];
    const declaredBatch = inputMetadata?.isTensor ? inputMetadata.shape[0] : undefined;
    // A fixed batch dimension must be filled; the last run is padded with zero images.
    const fixedBatch = typeof declaredBatch === 'number' && declaredBatch > 0 ? declaredBatch : undefined;
    const perImage = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
    const n = dataset.labels.length;
    let correct = 0;
    for (let first = 0; first < n; first += fixedBatch ?? request.batchSize) {
      if (cancel) throwIfCancelled(cancel);
      const count = Math.min(fixedBatch ?? request.batchSize, n - first);
      const runBatch = fixedBatch ?? count;
      const images = new Float32Array(runBatch * perImage);
      images.set(dataset.images.subarray(first * perImage, (first + count) * perImage));
      const outputs = await session.run({ [inputName]: new ort.Tensor('float32', images, [runBatch, ...dataset.shape]) });
      const logits = outputs[outputName];
      if (!logits || !(logits.data instanceof Float32Array) || logits.dims.length !== 2 || logits.dims[0] !== runBatch) {
        throw new AccuracyInputError(`model ${request.model ?? '(seeded export)'}: output ${outputName} must be float32 logits [batch, classes], got [${logits?.dims.join(', ')}]`);
      }
      const classes = logits.dims[1]!;
      for (let i = 0; i < count; i++) {
        const label = dataset.labels[first + i]!;
        if (label >= classes) throw new AccuracyInputError(`dataset ${request.dataset}: labels[${first + i}] = ${label} but the model has ${classes} classes`);
        if (argmax(logits.data, i * classes, classes) === label) correct += 1;
      }
    }
    return { top1: (100 * correct) / n, samples: n, correct, datasetSha256: dataset.sha256 };
  } finally {
    await session.release();
  }
}

/** Index of the largest of `count` values from `offset`; the first one wins ties, as numpy's argmax. */
function argmax(values: Float32Array, offset: number, count: number): number {
  let best = 0;
  for (let k = 1; k < count; k++) if (values[offset + k]! > values[offset + best]!) best = k;
  return best;
}

export interface TensorDatasetEvaluatorOptions {
  /** Path of the dataset's JSON header. */
  dataset: string;
  /** Directory of trained models, one `<archHash>.onnx` per architecture (hash at the evaluated resolution). */
  models?: string;
  /** Seed of the seeded export used without `models`; default 0. */
  seed?: Seed;
  /** Images per onnxruntime run; default 16. */
  batchSize?: number;
  /** onnxruntime intra-op threads; default 1. */
  intraOpThreads?: number;
  /** A thread to share with other scorers; by default the evaluator owns one. */
  thread?: OnnxThread;
}

/**
 * The `evaluateAccuracy` activity over a tensor dataset. Register it on the study's evaluator task queue
 * (`Worker.create({ taskQueue, activities: evaluator })`); inside an activity it heartbeats every second
 * and stops when the activity is cancelled.
 */
export function createTensorDatasetEvaluator(options: TensorDatasetEvaluatorOptions): EvaluatorActivities & { close(): Promise<void> } {
  const thread = options.thread ?? new OnnxThread();
  const seed = options.seed ?? 0;
  const modelSource = options.models ? `onnx-dir:${basename(options.models)}` : `seeded-export:${String(seed)}`;

  async function evaluateAccuracy(input: EvaluateAccuracyInput): Promise<EvaluateAccuracyResult> {
    if (input.space) registerSpace(parseSpaceDefinition(input.space, 'space'));
    const arch = validateArchitecture({ ...input.arch, resolution: input.resolution });
    let model: string | undefined;
    if (options.models) {
      const hash = architectureHash(arch);
      model = join(options.models, `${hash}.onnx`);
      try {
        await access(model);
      } catch {
        throw new AccuracyInputError(`no model for architecture ${hash} at resolution ${arch.resolution}: ${model} does not exist`);
      }
    }
    const activity = asyncLocalStorage.getStore();
    const ticker = activity ? setInterval(() => activity.heartbeat(), 1000) : undefined;
    try {
      const request: EvaluationRequest = { arch, dataset: options.dataset, seed, batchSize: options.batchSize ?? 16, intraOpThreads: options.intraOpThreads ?? 1 };
      if (model) request.model = model;
      const measured = await thread.run('evaluate', request, activity?.cancellationSignal);
      return { top1: measured.top1, samples: measured.samples, evaluator: `tensor-dataset:${basename(options.dataset)}@${measured.datasetSha256.slice(0, 12)} ${modelSource}` };
    } finally {
      clearInterval(ticker);
    }
  }

  return {
    evaluateAccuracy,
    async close() {
      if (!options.thread) await thread.close();
    },
  };
}
