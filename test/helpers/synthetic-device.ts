/**
 * Synthetic devices and accuracy sources whose block effects are known, for the analyses' ground-truth tests.
 * Latency is multiplicative per layer (a kernel-bound device: k7 layers cost the most, early units more);
 * accuracy is additive per layer. Both take seeded noise, uniform by default (lognormal latency and gaussian
 * accuracy on request). layerSum builds other devices from per-layer terms (the paper's device characters,
 * test/characters.test.ts; CHARACTER_DEVICES for test/insights-noise.test.ts).
 */
import type { Counts } from '../../pipelines/network/counts.js';
import { distinctBlocks, type LookupTable } from '../../activities/devices/lookup-table.js';
import type { BlockProfile } from '../../pipelines/profile.js';
import { planProfile } from '../../pipelines/study/profiles.js';
import { Rng } from '../../pipelines/rng.js';
import { architectureCounts, MB_BLOCKS, parseMbBlock, type Architecture } from '../../pipelines/spaces/index.js';
import type { StudyPlan } from '../../pipelines/study/plan.js';
import type { ArchitectureMetrics } from '../../pipelines/records.js';

/** log of one layer's latency factor on the kernel-bound device. */
export function kernelBoundLogFactor(unit: number, layer: number, block: string): number {
  const { expand, kernel } = parseMbBlock(block)!;
  return (0.08 - 0.01 * unit) * (1 + 0.3 * (layer === 0 ? 1 : 0)) * (expand / 4) * (kernel / 3) ** 1.2;
}

export function kernelBoundLatencyMs(arch: Architecture): number {
  return 5 * Math.exp(arch.units.reduce((acc, blocks, u) => acc + blocks.reduce((a, b, l) => a + kernelBoundLogFactor(u, l, b), 0), 0));
}

/** Accuracy points one layer adds: wider and larger-kernel blocks a little more. */
export function additiveAccuracyGain(block: string): number {
  const { expand, kernel } = parseMbBlock(block)!;
  return 0.15 * expand + 0.1 * kernel;
}

export function additiveAccuracy(arch: Architecture): number {
  return 60 + arch.units.flat().reduce((acc, b) => acc + additiveAccuracyGain(b), 0) / 4;
}

/** What one layer (block `block` at `layer` of `unit`) adds to a metric. */
/**
 * A lookup table over every OFA-MobileNetV3 block at one resolution, kernel-bound by construction: an MBConv
 * block costs its output area times (kernel / 3)², times its expand ratio / 3; stem, first block and head a
 * fixed 0.5 ms. The lookup-table device sums it per architecture (the real lookup-table path).
 */
export function kernelBoundTable(resolution: number, device = 'kernel-bound-lut'): LookupTable {
  const entries = Object.fromEntries(
    distinctBlocks('ofa-mbv3', [resolution]).map(({ key, block }) => {
      const d = block.descriptor;
      const [, h, w] = d.outShape;
      const ms = d.type === 'mbconv' ? ((h! * w!) / 400) * (d.kernel! / 3) ** 2 * (d.expand! / 3) * 0.2 : 0.5;
      return [key, { ms }];
    }),
  );
  return { kind: 'blockscope.lut/v1', device, space: 'ofa-mbv3', resolutions: [resolution], source: 'synthetic kernel-bound table (test/helpers/synthetic-device.ts)', entries };
}

export type LayerTerm = (unit: number, layer: number, block: string) => number;

/**
 * A metric that is `base` plus one term per layer: the block regression's own form (pipelines/regression.ts), so
 * a device built from it has exactly the block and layer effects it is defined with.
 */
export function layerSum(base: number, term: LayerTerm): (arch: Architecture) => number {
  return (arch) => arch.units.reduce((acc, blocks, u) => acc + blocks.reduce((a, b, l) => a + term(u, l, b), 0), base);
}

/**
 * A block quality centred on the mean over the 9 MBConv blocks, so that a layer holding a random block adds
 * nothing on average and a character's depth effects are exactly what it says they are.
 */
export function centred(quality: (block: string) => number): (block: string) => number {
  const mean = MB_BLOCKS.reduce((acc, b) => acc + quality(b), 0) / MB_BLOCKS.length;
  return (block) => quality(block) - mean;
}

/** A synthetic device's noise-free latency (ms) and accuracy (points) of an architecture. */
export interface DeviceCharacter {
  latency: (arch: Architecture) => number;
  accuracy: (arch: Architecture) => number;
}

export const expandOf = (block: string) => parseMbBlock(block)!.expand;
export const kernelOf = (block: string) => parseMbBlock(block)!.kernel;
/** Early units run at higher resolution, so their layers cost more (as on every real device). */
export const unitScale = (unit: number) => 1 - 0.08 * unit;
/** Accuracy a unit's 3rd or 4th layer (with a random block) adds; the first two layers are always there. */
export const depthGain = (layer: number, buys: boolean) => (layer < 3 || buys ? 0.3 : 0);
/** The depth-bound device's trade-off line: rank in MB_BLOCKS order (e3k3 … e6k7), 0.25 of an e3k3 layer apart. */
export const lineCost = (block: string) => 1 + 0.25 * MB_BLOCKS.indexOf(block);
const NPU_KERNEL_COST: Record<number, number> = { 3: 1, 5: 4 / 3, 7: 2.5 };

/**
 * Three of the paper's device characters (the same definitions as test/characters.test.ts, whose comments say
 * why each one's right answer is the paper's pruned space) and a device on which nothing depends on the
 * architecture. Latency and accuracy are sums over the layers (layerSum), the block regression's own form.
 */
export const CHARACTER_DEVICES: Readonly<Record<'kernel-bound' | 'flat' | 'depth-bound' | 'noise', DeviceCharacter>> = {
  // The NPU: a k5 layer costs 4/3 and a k7 layer 2.5 times a k3 one (times expand/4); kernel 7 adds no accuracy
  // over kernel 5; every layer adds accuracy. Right answer: the paper's npu space (every k7 dropped, default depths).
  'kernel-bound': (() => {
    const quality = centred((b) => (expandOf(b) / 4) * NPU_KERNEL_COST[Math.min(kernelOf(b), 5)]!);
    return {
      latency: layerSum(1, (u, _l, b) => 0.5 * unitScale(u) * (expandOf(b) / 4) * NPU_KERNEL_COST[kernelOf(b)]!),
      accuracy: layerSum(70, (_u, l, b) => depthGain(l, true) + 0.6 * quality(b)),
    };
  })(),
  // The GPU: latency depends on depth only, not on the block; e3k3, e3k7 and e4k3 are 0.3 points less accurate
  // per layer; a 4th layer buys accuracy in units 0 and 2 only. Right answer: the paper's gpu space.
  flat: (() => {
    const quality = centred((b) => (['e3k3', 'e3k7', 'e4k3'].includes(b) ? -0.3 : 0));
    return {
      latency: layerSum(2, (u) => 0.5 * unitScale(u)),
      accuracy: layerSum(70, (u, l, b) => depthGain(l, u === 0 || u === 2) + quality(b)),
    };
  })(),
  // The CPU: the 9 blocks on a trade-off line with accuracy in proportion to cost; a 4th layer buys accuracy in
  // units 3 and 4 only. Right answer: the paper's cpu space (all 9 blocks, depths 3 3 3 4 4).
  'depth-bound': (() => {
    const quality = centred(lineCost);
    return {
      latency: layerSum(1, (u, _l, b) => 0.5 * unitScale(u) * lineCost(b)),
      accuracy: layerSum(70, (u, l, b) => depthGain(l, u >= 3) + 0.4 * quality(b)),
    };
  })(),
  // Neither latency nor accuracy depends on the architecture: every difference in its profile is noise.
  noise: { latency: () => 10, accuracy: () => 70 },
};

/** One device's profile of a plan measured on the synthetic device, with its regressions, as aggregateProfiles builds it. */
export interface SyntheticDevice {
  device: string;
  /** Noise-free latency and accuracy of an architecture (default: the kernel-bound device, additive accuracy). */
  latency?: (arch: Architecture) => number;
  accuracy?: (arch: Architecture) => number;
  /**
   * Latency noise, relative: the half-range of uniform noise (default), or for 'lognormal' the standard
   * deviation of log latency (0.1: about 10% of the mean), mean-preserving.
   */
  latencyNoise: number;
  /** Accuracy noise in points: the half-range of uniform noise (default), or the standard deviation for 'gaussian'. */
  accuracyNoise: number;
  /** The shape of the noise; default uniform for both (the draws, and so every existing test's numbers, unchanged). */
  noise?: { latency?: 'uniform' | 'lognormal'; accuracy?: 'uniform' | 'gaussian' };
  seed: number | string;
  regression: boolean;
}

/** A multiplicative noise factor with mean 1: lognormal with log-sd `sd`. */
export function lognormalFactor(rng: Rng, sd: number): number {
  return Math.exp(sd * rng.gaussian() - (sd * sd) / 2);
}

// MACs and parameters depend on the architecture alone: counted once per plan, not once per device (at paper
// scale the counts of 18,100 architectures take seconds).
const planCounts = new WeakMap<StudyPlan, Map<string, Counts>>();

function countsOf(plan: StudyPlan): Map<string, Counts> {
  let counts = planCounts.get(plan);
  if (!counts) {
    counts = new Map(plan.architectures.map(({ hash, arch }) => [hash, architectureCounts(arch)]));
    planCounts.set(plan, counts);
  }
  return counts;
}

/**
 * What the synthetic device measures for every architecture of the plan (one seeded stream in plan order:
 * latency then accuracy per architecture), with the plan's MACs and parameters.
 */
export function syntheticMetrics(plan: StudyPlan, options: SyntheticDevice): Map<string, ArchitectureMetrics> {
  const latencyOf = options.latency ?? kernelBoundLatencyMs;
  const accuracyOf = options.accuracy ?? additiveAccuracy;
  const rng = new Rng(options.seed);
  const counted = countsOf(plan);
  const latencyNoise = options.noise?.latency === 'lognormal' ? () => lognormalFactor(rng, options.latencyNoise) : () => 1 + options.latencyNoise * (2 * rng.next() - 1);
  const accuracyNoise = options.noise?.accuracy === 'gaussian' ? () => options.accuracyNoise * rng.gaussian() : () => options.accuracyNoise * (2 * rng.next() - 1);
  return new Map<string, ArchitectureMetrics>(
    plan.architectures.map(({ hash, arch }) => {
      const counts = counted.get(hash)!;
      const latency = latencyOf(arch) * latencyNoise();
      const accuracy = accuracyOf(arch) + accuracyNoise();
      return [hash, { hash, accuracy, macs: counts.macs, params: counts.params, latencyMs: { [options.device]: latency } }];
    }),
  );
}

/**
 * One device's profile of a plan from its measured metrics, as aggregateProfiles (activities/study/orchestrator.ts)
 * builds it: the plan's first resolution, depth-matched effects, and with `regression` the block regressions.
 */
export function profileFromMetrics(
  plan: StudyPlan,
  device: string,
  metrics: ReadonlyMap<string, ArchitectureMetrics>,
  regression: boolean,
  latencyCluster?: (hash: string) => number | undefined,
): BlockProfile {
  // The orchestrator's own wiring (aggregateProfiles), on the plan's first resolution.
  return planProfile({
    plan,
    device,
    resolution: plan.resolutions[0]!,
    accuracySource: 'table',
    metrics,
    depthRule: 'intended',
    regression,
    ...(latencyCluster ? { latencyCluster } : {}),
  });
}

export function syntheticProfile(plan: StudyPlan, options: SyntheticDevice): BlockProfile {
  return profileFromMetrics(plan, options.device, syntheticMetrics(plan, options), options.regression);
}

/**
 * Lets the vitest worker answer its RPCs between seconds of synchronous work: a ground-truth test that builds
 * several paper-scale profiles in one go must yield between them, or a loaded machine times the worker out.
 */
export const yieldToWorker = () => new Promise<void>((resolve) => setImmediate(resolve));
