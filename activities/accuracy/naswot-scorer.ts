/**
 * The default accuracy source: the NASWOT training-free proxy (pipelines/proxy/naswot.ts) computed from
 * real forward passes of the untrained network in onnxruntime-node. It is a proxy, never an accuracy.
 *
 * Inputs: N images of i.i.d. standard normal pixels ([3, R, R], R = the architecture's resolution), image i
 * drawn from its own stream deriveSeed(seed, 'naswot-input', R, i), so every architecture at a resolution
 * sees the same images and the first 16 images of a batch of 32 are those of a batch of 16. Weights: the
 * seeded export with seed deriveSeed(seed, 'naswot-weights'). Smooth random images (low-frequency cosine
 * fields) ranked architectures about the same with a larger spread over weight seeds, so plain noise is used.
 */
import * as ort from 'onnxruntime-node';
import { codeActivations, exportNetwork } from '../../pipelines/onnx/export.js';
import { BinaryCodes, naswotScoreOfKernel } from '../../pipelines/proxy/naswot.js';
import { Rng, deriveSeed, type Seed } from '../../pipelines/rng.js';
import { architectureHash, buildNetwork, validateArchitecture, type Architecture } from '../../pipelines/spaces/index.js';
import type { ProxyScore } from './contracts.js';
import { throwIfCancelled, type OnnxThread } from './onnx-pool.js';

/** Names the input design; part of the cache settings, so changing the design must change it. */
export const NASWOT_INPUTS = 'normal-noise/v1';
/**
 * Images per forward pass: a batch of N runs as ceil(N / 8) passes, which bounds the memory the exposed
 * activations take (an OFA-ResNet50 at 224 has ~8 M code units per image, 32 MB of float32 each).
 */
export const NASWOT_MAX_RUN_BATCH = 8;

export interface NaswotRequest {
  arch: Architecture;
  seed: Seed;
  /** Images in the mini-batch (N). */
  batch: number;
  intraOpThreads: number;
}

export interface NaswotMeasurement {
  score: number;
  layers: number;
  units: number;
}

/** The input design and the runtime that computed the score: a different one may give different scores. */
export function naswotMethod(): string {
  return `${NASWOT_INPUTS} onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`;
}

/** Images [first, first + count) of the NASWOT mini-batch at a resolution, as one [count, 3, R, R] buffer. */
export function naswotInputImages(seed: Seed, resolution: number, first: number, count: number): Float32Array {
  const perImage = 3 * resolution * resolution;
  const images = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) {
    const rng = new Rng(deriveSeed(seed, 'naswot-input', resolution, first + i));
    const offset = i * perImage;
    // Box-Muller: two uniforms give two independent standard normal values.
    for (let p = 0; p < perImage; p += 2) {
      const radius = Math.sqrt(-2 * Math.log(1 - rng.next()));
      const angle = 2 * Math.PI * rng.next();
      images[offset + p] = radius * Math.cos(angle);
      if (p + 1 < perImage) images[offset + p + 1] = radius * Math.sin(angle);
    }
  }
  return images;
}

/**
 * Runs NASWOT in the calling thread; onnxruntime blocks it, so the scorer calls this in an OnnxThread,
 * which may set `cancel` to stop it between forward passes.
 */
export async function computeNaswot(request: NaswotRequest, cancel?: Int32Array): Promise<NaswotMeasurement> {
  const arch = validateArchitecture(request.arch);
  if (!Number.isSafeInteger(request.batch) || request.batch < 2) throw new RangeError(`NASWOT needs a batch of at least 2 images, got ${request.batch}`);
  const network = buildNetwork(arch);
  const activations = codeActivations(network.blocks);
  const runs = Math.ceil(request.batch / NASWOT_MAX_RUN_BATCH);
  const runBatch = Math.ceil(request.batch / runs);
  const model = exportNetwork(network, { seed: deriveSeed(request.seed, 'naswot-weights'), batch: runBatch, exposeActivations: true });
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: request.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  try {
    const codes = new BinaryCodes(
      request.batch,
      activations.map(({ shape }) => shape[0] * shape[1] * shape[2]),
    );
    const fetches = activations.map((a) => a.tensor);
    for (let first = 0; first < request.batch; first += runBatch) {
      if (cancel) throwIfCancelled(cancel);
      // The last pass may hold a few extra images (the model's batch is fixed); their codes are not used.
      const images = naswotInputImages(request.seed, arch.resolution, first, runBatch);
      const outputs = await session.run({ [network.input]: new ort.Tensor('float32', images, [runBatch, ...network.inputShape]) }, fetches);
      const count = Math.min(runBatch, request.batch - first);
      activations.forEach(({ tensor }, layer) => {
        const values = outputs[tensor]?.data;
        if (!(values instanceof Float32Array)) throw new Error(`internal: activation output ${tensor} missing or not float32`);
        codes.setLayer(layer, values, first, count);
      });
    }
    return { score: naswotScoreOfKernel(codes.kernel(), request.batch), layers: activations.length, units: codes.units };
  } finally {
    await session.release();
  }
}

export interface NaswotSettings {
  seed: Seed;
  batch: number;
  /** onnxruntime intra-op threads; default 1 (the machines are small and shared). */
  intraOpThreads?: number;
}

/** The NASWOT proxy score of one architecture, computed off the event loop in `thread`. */
export async function scoreNaswotProxy(arch: Architecture, settings: NaswotSettings, thread: OnnxThread, signal?: AbortSignal): Promise<ProxyScore> {
  const canonical = validateArchitecture(arch);
  const measured = await thread.run('naswot', { arch: canonical, seed: settings.seed, batch: settings.batch, intraOpThreads: settings.intraOpThreads ?? 1 }, signal);
  return {
    hash: architectureHash(canonical),
    source: 'naswot-proxy',
    score: measured.score,
    batch: settings.batch,
    seed: settings.seed,
    resolution: canonical.resolution,
    layers: measured.layers,
    units: measured.units,
    method: naswotMethod(),
  };
}
