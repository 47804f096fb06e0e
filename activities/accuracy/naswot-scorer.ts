/**
 * The default accuracy source: the NASWOT training-free proxy (pipelines/proxy/naswot.ts) computed from
 * real forward passes of the untrained network in onnxruntime-node. It is a proxy, never an accuracy.
 *
 * As published (Mellor et al. 2021): BatchNorm normalises by the statistics of the mini-batch itself
 * (the network is never in eval mode; gamma 1, beta 0), so the whole batch runs as one forward pass.
 * Inputs: N dead-leaves images at the architecture's resolution (pipelines/proxy/inputs.ts), the same for
 * every architecture at that resolution. Weights: the seeded export with seed deriveSeed(seed, 'naswot-weights').
 * scripts/naswot-study.ts measured the input designs and batch sizes (docs/accuracy.md).
 */
import * as ort from 'onnxruntime-node';
import { codeActivations, codeOutputName, exportNetwork, type ActivationTensor, type Normalization } from '../../pipelines/onnx/export.js';
import { proxyInputImages, type InputDesign } from '../../pipelines/proxy/inputs.js';
import { BinaryCodes, naswotScoreOfKernel } from '../../pipelines/proxy/naswot.js';
import { deriveSeed, type Seed } from '../../pipelines/rng.js';
import { architectureHash, buildNetwork, validateArchitecture, type Architecture } from '../../pipelines/spaces/index.js';
import type { NetworkIR } from '../../pipelines/network/ir.js';
import type { ProxyScore } from './contracts.js';
import { throwIfCancelled, type OnnxThread } from './onnx-pool.js';

/** What the score is computed from: how BN normalises, and the input design. */
export interface NaswotVariant {
  normalization: Normalization;
  inputs: InputDesign;
}

/** The published NASWOT: batch-statistics BN, on dead-leaves images (chosen by scripts/naswot-study.ts). */
export const NASWOT_VARIANT: NaswotVariant = { normalization: 'batch', inputs: 'dead-leaves' };

/** Names the input design; part of the cache settings, so changing the design must change it. */
export const NASWOT_INPUTS = `${NASWOT_VARIANT.inputs}/v1`;

export interface NaswotRequest {
  arch: Architecture;
  seed: Seed;
  /** Images in the mini-batch (N), all in one forward pass. */
  batch: number;
  intraOpThreads: number;
}

export interface NaswotMeasurement {
  score: number;
  layers: number;
  units: number;
}

/**
 * The normalisation, input design, single pass and runtime that computed the score: a different one may
 * give different scores, so it is part of the cache settings (the folded-BN, normal-noise scores of
 * earlier versions had 'normal-noise/v1 onnxruntime-node …').
 */
export function naswotMethod(): string {
  return `${NASWOT_VARIANT.normalization}-norm ${NASWOT_INPUTS} one-pass onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`;
}

/** Images [first, first + count) of the NASWOT mini-batch at a resolution, as one [count, 3, R, R] buffer. */
export function naswotInputImages(seed: Seed, resolution: number, first: number, count: number): Float32Array {
  return proxyInputImages(NASWOT_VARIANT.inputs, seed, resolution, first, count);
}

/**
 * One architecture's untrained network for a batch size, ready to score mini-batches. With batch
 * statistics an image's codes depend on the rest of its batch, so a batch is always one forward pass.
 */
export class NaswotSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly network: NetworkIR,
    private readonly activations: ActivationTensor[],
    private readonly batch: number,
  ) {}

  /** `seed`: the study seed; the weights come from deriveSeed(seed, 'naswot-weights'). */
  static async create(network: NetworkIR, options: { seed: Seed; batch: number; normalization: Normalization; intraOpThreads: number }): Promise<NaswotSession> {
    if (!Number.isSafeInteger(options.batch) || options.batch < 2) throw new RangeError(`NASWOT needs a batch of at least 2 images, got ${options.batch}`);
    const model = exportNetwork(network, {
      seed: deriveSeed(options.seed, 'naswot-weights'),
      batch: options.batch,
      exposeCodes: true,
      normalization: options.normalization,
    });
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    return new NaswotSession(session, network, codeActivations(network.blocks), options.batch);
  }

  /** The score of one mini-batch [batch, 3, R, R]. */
  async score(images: Float32Array): Promise<NaswotMeasurement> {
    const codes = new BinaryCodes(
      this.batch,
      this.activations.map(({ shape }) => shape[0] * shape[1] * shape[2]),
    );
    const fetches = this.activations.map((a) => codeOutputName(a.tensor));
    const outputs = await this.session.run({ [this.network.input]: new ort.Tensor('float32', images, [this.batch, ...this.network.inputShape]) }, fetches);
    fetches.forEach((name, layer) => {
      const values = outputs[name]?.data;
      if (!(values instanceof Uint8Array)) throw new Error(`internal: code output ${name} missing or not bool`);
      codes.setLayer(layer, values);
    });
    return { score: naswotScoreOfKernel(codes.kernel(), this.batch), layers: this.activations.length, units: codes.units };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Runs NASWOT in the calling thread; onnxruntime blocks it, so the scorer calls this in an OnnxThread,
 * which may set `cancel` to stop it before the model is built or run.
 */
export async function computeNaswot(request: NaswotRequest, cancel?: Int32Array): Promise<NaswotMeasurement> {
  const arch = validateArchitecture(request.arch);
  const checkCancel = () => cancel && throwIfCancelled(cancel);
  checkCancel();
  const session = await NaswotSession.create(buildNetwork(arch), {
    seed: request.seed,
    batch: request.batch,
    normalization: NASWOT_VARIANT.normalization,
    intraOpThreads: request.intraOpThreads,
  });
  try {
    checkCancel();
    return await session.score(naswotInputImages(request.seed, arch.resolution, 0, request.batch));
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
