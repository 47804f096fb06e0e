/**
 * Synthetic devices and accuracy sources whose block effects are known, for the analyses' ground-truth tests.
 * Latency is multiplicative per layer (a kernel-bound device: k7 layers cost the most, early units more);
 * accuracy is additive per layer. Both take seeded uniform noise. layerSum builds other devices from per-layer
 * terms (the paper's device characters, test/characters.test.ts).
 */
import type { Counts } from '../../pipelines/network/counts.js';
import { distinctBlocks, type LookupTable } from '../../activities/devices/lookup-table.js';
import { aggregateProfile, type BlockProfile } from '../../pipelines/profile.js';
import { profileRegressions } from '../../pipelines/regression.js';
import { Rng } from '../../pipelines/rng.js';
import { architectureCounts, MB_BLOCKS, originalSpace, parseMbBlock, type Architecture } from '../../pipelines/spaces/index.js';
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

/** One device's profile of a plan measured on the synthetic device, with its regressions, as aggregateProfiles builds it. */
export interface SyntheticDevice {
  device: string;
  /** Noise-free latency and accuracy of an architecture (default: the kernel-bound device, additive accuracy). */
  latency?: (arch: Architecture) => number;
  accuracy?: (arch: Architecture) => number;
  /** Relative (latency) and absolute (accuracy) half-range of the uniform noise. */
  latencyNoise: number;
  accuracyNoise: number;
  seed: number;
  regression: boolean;
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

export function syntheticProfile(plan: StudyPlan, options: SyntheticDevice): BlockProfile {
  const latencyOf = options.latency ?? kernelBoundLatencyMs;
  const accuracyOf = options.accuracy ?? additiveAccuracy;
  const rng = new Rng(options.seed);
  const counted = countsOf(plan);
  const metrics = new Map<string, ArchitectureMetrics>(
    plan.architectures.map(({ hash, arch }) => {
      const counts = counted.get(hash)!;
      const latency = latencyOf(arch) * (1 + options.latencyNoise * (2 * rng.next() - 1));
      const accuracy = accuracyOf(arch) + options.accuracyNoise * (2 * rng.next() - 1);
      return [hash, { hash, accuracy, macs: counts.macs, params: counts.params, latencyMs: { [options.device]: latency } }];
    }),
  );
  const resolution = plan.resolutions[0]!;
  const profile = aggregateProfile({
    space: plan.space,
    device: options.device,
    resolution,
    accuracySource: 'table',
    specs: plan.specs.filter((s) => s.resolution === resolution),
    baseline: plan.baseline.find((b) => b.resolution === resolution)!.archHashes,
    metrics,
    depthMatching: { baseline: new Map(plan.architectures.map(({ hash, arch }) => [hash, arch])), depthRule: plan.design === 'shared-random' ? 'held' : 'intended' },
  });
  profile.depthRule = plan.design === 'shared-random' ? 'held' : 'intended';
  if (options.regression) {
    profile.regression = profileRegressions(originalSpace(plan.space), {
      archs: plan.architectures,
      specs: plan.specs,
      depthRule: profile.depthRule,
      latencyMs: (hash) => metrics.get(hash)?.latencyMs[options.device],
      accuracy: (hash) => metrics.get(hash)?.accuracy,
    });
  }
  return profile;
}
