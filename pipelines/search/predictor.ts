/**
 * A latency predictor fitted on the study's own measurements: ridge regression on additive architecture
 * features. It stands in for the original's per-device GRU predictor (§8.8), whose weights are not public.
 *
 * Two feature sets:
 * - 'structure': per unit, the block at the first layer (one-hot) and the counts of each block in the
 *   later layers (the first layer has the unit's stride and width change, so it costs differently), the
 *   unit's depth and the resolution; for ResNet these block features are keyed by the unit's width, plus
 *   width one-hots and the stem (skip, hidden and output width).
 * - 'blocks': a per-block additive model: the count of every distinct block descriptor of the built
 *   network (type, kernel, expand, stride, SE, activation, shapes), i.e. a lookup table learned by regression.
 *
 * The target is log latency (the default: 'log-latency'), which makes the model multiplicative and every
 * prediction positive, or plain latency ('latency'), an additive model that extrapolates linearly: fitted on
 * a few noisy measurements with many features it can predict a negative latency for an unseen candidate.
 * Either way a prediction far outside the latencies the model was fitted on is not a latency but an
 * extrapolation artefact: plausibleLatency() turns it into a rejection with the reason, never a number.
 */
import { canonicalJson } from '../hash.js';
import type { ArchitectureRecord } from '../records.js';
import { architectureHash, buildNetwork, designSpace } from '../spaces/index.js';
import type { Architecture, SpaceId } from '../spaces/types.js';
import { kendallTau, mean, meanAbsolutePercentageError } from '../stats.js';

export type PredictorFeatures = 'structure' | 'blocks';
export type PredictorTarget = 'latency' | 'log-latency';

export interface PredictorOptions {
  /** Ridge penalty on the centred problem (absolute, not scaled by the sample count). Must be > 0. */
  lambda?: number;
  features?: PredictorFeatures;
  target?: PredictorTarget;
}

export const DEFAULT_PREDICTOR_OPTIONS: Required<PredictorOptions> = { lambda: 1, features: 'structure', target: 'log-latency' };

/**
 * A prediction is plausible within this factor of the fitted latencies: [fastest / 4, slowest × 4]. Random
 * architectures of one space span about 3x in latency; a candidate predicted 4x beyond the extremes of a
 * training sample of that space is an extrapolation artefact, not a network.
 */
export const PLAUSIBLE_LATENCY_FACTOR = 4;

/** A fitted predictor as plain JSON: prediction = intercept + Σ weights[i] · feature[featureNames[i]]. */
export interface LatencyPredictorModel {
  kind: 'blockscope.latency-predictor/v1';
  space: SpaceId;
  features: PredictorFeatures;
  target: PredictorTarget;
  lambda: number;
  featureNames: string[];
  weights: number[];
  intercept: number;
  trainingSize: number;
  /** Fastest and slowest training latency (ms); absent in models stored before it was recorded. */
  trainingRangeMs?: { min: number; max: number };
}

/** A usable latency prediction, or why there is none. */
export type LatencyPrediction = { latencyMs: number } | { rejected: string };

export interface LatencySample {
  arch: Architecture;
  latencyMs: number;
}

/**
 * The held-out split every predictor check uses (the study's search stage, the benchmark): every fifth
 * architecture by hash order is held out, so the split is deterministic and independent of sampling order.
 */
export function splitHeldOut<T extends LatencySample>(samples: readonly T[]): { train: T[]; test: T[] } {
  const order = samples.map((s, i) => [architectureHash(s.arch), i] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const heldOut = new Set(order.filter((_, rank) => rank % 5 === 0).map(([, i]) => i));
  return { train: samples.filter((_, i) => !heldOut.has(i)), test: samples.filter((_, i) => heldOut.has(i)) };
}

export interface PredictorEvaluation {
  /** Mean absolute percentage error as a fraction (0.05 = 5%). */
  mape: number;
  kendallTau: number;
  n: number;
}

/** The latency samples of one device from profiling records; records without that device are left out. */
export function latencySamples(records: readonly ArchitectureRecord[], device: string): LatencySample[] {
  return records.flatMap((r) => {
    const latencyMs = r.latencyMs[device];
    return latencyMs === undefined ? [] : [{ arch: r.arch, latencyMs }];
  });
}

/** The named feature values of one architecture (features absent from the map are 0). */
export function architectureFeatures(arch: Architecture, kind: PredictorFeatures): Map<string, number> {
  const features = new Map<string, number>();
  const add = (name: string, value = 1) => features.set(name, (features.get(name) ?? 0) + value);
  if (kind === 'blocks') {
    for (const block of buildNetwork(arch).blocks) add(canonicalJson(block.descriptor));
    return features;
  }
  add(`res${arch.resolution}`);
  designSpace(arch.space).structureFeatures(arch, add);
  return features;
}

function toTarget(latencyMs: number, target: PredictorTarget): number {
  return target === 'log-latency' ? Math.log(latencyMs) : latencyMs;
}

/**
 * Fits ridge regression: features and targets are centred (so the intercept is not penalised), then
 * (XᵀX + λI) w = Xᵀy is solved by Cholesky; the penalty keeps the system positive definite even though
 * one-hot groups and depths are collinear.
 */
export function fitLatencyPredictor(samples: readonly LatencySample[], options: PredictorOptions = {}): LatencyPredictorModel {
  const { lambda, features: kind, target } = { ...DEFAULT_PREDICTOR_OPTIONS, ...options };
  if (samples.length === 0) throw new RangeError('fitLatencyPredictor: no samples');
  if (!(lambda > 0)) throw new RangeError(`fitLatencyPredictor: lambda must be > 0, got ${lambda}`);
  const space = samples[0]!.arch.space;
  samples.forEach((s, i) => {
    if (s.arch.space !== space) throw new RangeError(`sample ${i}: space ${s.arch.space} differs from ${space}`);
    if (!(s.latencyMs > 0) || !Number.isFinite(s.latencyMs)) throw new RangeError(`sample ${i}: latency must be a positive number, got ${s.latencyMs}`);
  });

  const featureMaps = samples.map((s) => architectureFeatures(s.arch, kind));
  const featureNames = [...new Set(featureMaps.flatMap((m) => [...m.keys()]))].sort();
  const d = featureNames.length;
  const rows = featureMaps.map((m) => featureNames.map((name) => m.get(name) ?? 0));
  const y = samples.map((s) => toTarget(s.latencyMs, target));
  const featureMeans = featureNames.map((_, j) => mean(rows.map((row) => row[j]!)));
  const yMean = mean(y);

  const normal = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  const centred = new Float64Array(d);
  rows.forEach((row, i) => {
    for (let j = 0; j < d; j++) centred[j] = row[j]! - featureMeans[j]!;
    const yc = y[i]! - yMean;
    for (let j = 0; j < d; j++) {
      const xj = centred[j]!;
      if (xj === 0) continue;
      rhs[j] = rhs[j]! + xj * yc;
      for (let k = 0; k <= j; k++) normal[j * d + k] = normal[j * d + k]! + xj * centred[k]!;
    }
  });
  for (let j = 0; j < d; j++) normal[j * d + j] = normal[j * d + j]! + lambda;

  const weights = [...choleskySolve(normal, rhs, d)];
  const intercept = yMean - weights.reduce((acc, w, j) => acc + w * featureMeans[j]!, 0);
  const latencies = samples.map((s) => s.latencyMs);
  return {
    kind: 'blockscope.latency-predictor/v1',
    space,
    features: kind,
    target,
    lambda,
    featureNames,
    weights,
    intercept,
    trainingSize: samples.length,
    trainingRangeMs: { min: Math.min(...latencies), max: Math.max(...latencies) },
  };
}

/**
 * Solves A x = b for a symmetric positive definite A given by its lower triangle (row-major, d×d).
 * Throws if A is not positive definite.
 */
function choleskySolve(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let diagonal = a[j * d + j]!;
    for (let k = 0; k < j; k++) diagonal -= l[j * d + k]! ** 2;
    if (!(diagonal > 0)) throw new RangeError('ridge system is not positive definite (lambda too small?)');
    const ljj = Math.sqrt(diagonal);
    l[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let sum = a[i * d + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * d + k]! * l[j * d + k]!;
      l[i * d + j] = sum / ljj;
    }
  }
  // L z = b, then Lᵀ x = z.
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * d + k]! * z[k]!;
    z[i] = sum / l[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let sum = z[i]!;
    for (let k = i + 1; k < d; k++) sum -= l[k * d + i]! * x[k]!;
    x[i] = sum / l[i * d + i]!;
  }
  return x;
}

/**
 * Predicted latency in ms, as the model computes it (possibly negative or absurd for a linear target, see
 * plausibleLatency). Features the model never saw in training contribute nothing.
 */
export function predictLatency(model: LatencyPredictorModel, arch: Architecture): number {
  if (arch.space !== model.space) throw new RangeError(`predictor for ${model.space} cannot predict a ${arch.space} architecture`);
  const features = architectureFeatures(arch, model.features);
  const value = model.featureNames.reduce((acc, name, j) => acc + model.weights[j]! * (features.get(name) ?? 0), model.intercept);
  return model.target === 'log-latency' ? Math.exp(value) : value;
}

/** The plausible range of a model's predictions; models without a recorded range only exclude non-positive values. */
export function plausibleLatencyRange(model: LatencyPredictorModel): { min: number; max: number } {
  const range = model.trainingRangeMs;
  return range ? { min: range.min / PLAUSIBLE_LATENCY_FACTOR, max: range.max * PLAUSIBLE_LATENCY_FACTOR } : { min: Number.MIN_VALUE, max: Number.MAX_VALUE };
}

/** The prediction when it is a plausible latency; otherwise a rejection that names the value and the range. */
export function plausibleLatency(model: LatencyPredictorModel, arch: Architecture): LatencyPrediction {
  const latencyMs = predictLatency(model, arch);
  const { min, max } = plausibleLatencyRange(model);
  if (Number.isFinite(latencyMs) && latencyMs >= min && latencyMs <= max) return { latencyMs };
  const range = model.trainingRangeMs
    ? `the plausible range ${min.toPrecision(3)}..${max.toPrecision(3)} ms (${PLAUSIBLE_LATENCY_FACTOR}x beyond the ${model.trainingSize} fitted latencies, ${model.trainingRangeMs.min.toPrecision(3)}..${model.trainingRangeMs.max.toPrecision(3)} ms)`
    : 'the positive latencies';
  return { rejected: `the latency predictor (${model.target} target, ${model.trainingSize} fitted) extrapolated ${latencyMs} ms, outside ${range}` };
}

/** Accuracy of the predictor on measurements it was not fitted on. */
export function evaluateLatencyPredictor(model: LatencyPredictorModel, heldOut: readonly LatencySample[]): PredictorEvaluation {
  if (heldOut.length === 0) throw new RangeError('evaluateLatencyPredictor: no samples');
  const measured = heldOut.map((s) => s.latencyMs);
  const predicted = heldOut.map((s) => predictLatency(model, s.arch));
  return { mape: meanAbsolutePercentageError(measured, predicted), kendallTau: kendallTau(measured, predicted), n: heldOut.length };
}
