/**
 * The insight rules at paper-like noise, as rates over seeds, and a host whose speed drifts during the campaign.
 *
 * Every profile is the paper's plan (paper-ofa-mbv3: 180 specs and the baseline × 100 samples, 18,100
 * architectures, with the block regression), measured on a synthetic device with multiplicative lognormal
 * latency noise of log-sd 0.1 (a standard deviation of about 10% of the mean, mean-preserving) and gaussian
 * accuracy noise of 0.5 points. Each seed draws its own noise; the architectures and their counts are shared
 * (they do not depend on the device or the seed).
 *
 * Part 1, device characters (test/helpers/synthetic-device.ts CHARACTER_DEVICES): the kernel-bound NPU, the
 * flat GPU (latency independent of the block), the depth-bound CPU and a pure-noise device. Each seed is judged
 * on whether its derived space is the character's right answer, and (flat and noise) whether any claim
 * contradicts the device's physics. The rates are printed and asserted against thresholds argued below.
 *
 * Part 2, drift: the kernel-bound device's host slows during the campaign (linearly by 30%, or by 30% in one
 * step halfway), measured as the product measures: the plan's architectures in its measurement order (the
 * default 'mixed', or plan order 'grouped'), in batches of 20 with a probe of the reference architecture at the
 * start of every batch and one at the end (activities/study/device.ts), each probe as noisy as any measurement,
 * and corrected as activities/study/latency.ts does (driftSeries + correctForDrift from pipelines/drift.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { correctForDrift, driftSeries, type DriftProbe } from '../pipelines/drift.js';
import { deriveInsights, paperInsightSpaces, type DerivedSpaceForm, type InsightObjective, type InsightReport } from '../pipelines/insights.js';
import type { BlockProfile } from '../pipelines/profile.js';
import type { ArchitectureMetrics } from '../pipelines/records.js';
import { Rng } from '../pipelines/rng.js';
import { fQuantile, oneWayAnova } from '../pipelines/stats.js';
import { referenceArchitecture } from '../pipelines/sampling.js';
import { architectureHash, originalSpace, type SpaceDocument } from '../pipelines/spaces/index.js';
import { measurementList, planStudy, type StudyPlan } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { CHARACTER_DEVICES, lognormalFactor, profileFromMetrics, syntheticMetrics, yieldToWorker } from './helpers/synthetic-device.js';

type DeviceName = keyof typeof CHARACTER_DEVICES;

/**
 * Seeds per device character; more give tighter rates, at about a second per seed and device (the thresholds
 * below scale with it): BLOCKSCOPE_INSIGHT_SEEDS=40 reproduces the 40-seed rates of docs/insights.md.
 */
const SEEDS = Number(process.env.BLOCKSCOPE_INSIGHT_SEEDS ?? 10);
/** Seeds per drift scenario (its figures vary little between seeds; each costs about 2.5 s). */
const DRIFT_SEEDS = 3;
const LATENCY_NOISE = 0.1;
const ACCURACY_NOISE = 0.5;
const DRIFT_DEVICE: DeviceName = 'kernel-bound';
/** The spec's default measurement batch (pipelines/study/spec.ts): one drift probe per batch. */
const BATCH_SIZE = 20;

let plan: StudyPlan | undefined;
function paperPlan(): StudyPlan {
  // The drift device is named so that the plan holds its seeded 'mixed' measurement order.
  plan ??= planStudy(parseStudySpec({ name: 'insights-noise', space: 'ofa-mbv3', samplesPerSpec: 100, seed: 5, devices: [DRIFT_DEVICE] }));
  return plan;
}

/** What the device measures for every architecture under seed `seed`'s noise (no drift). */
function measured(device: DeviceName, seed: number): Map<string, ArchitectureMetrics> {
  return syntheticMetrics(paperPlan(), {
    device,
    ...CHARACTER_DEVICES[device],
    latencyNoise: LATENCY_NOISE,
    accuracyNoise: ACCURACY_NOISE,
    noise: { latency: 'lognormal', accuracy: 'gaussian' },
    seed: `insights-noise/${device}/${seed}`,
    regression: false,
  });
}

// The undrifted profiles of the drift device are part 1's: kept for part 2 (same seeds, same noise).
const undrifted = new Map<number, BlockProfile>();
function profileOf(device: DeviceName, seed: number): BlockProfile {
  const cached = device === DRIFT_DEVICE ? undrifted.get(seed) : undefined;
  if (cached) return cached;
  const profile = profileFromMetrics(paperPlan(), device, measured(device, seed), true);
  if (device === DRIFT_DEVICE) undrifted.set(seed, profile);
  return profile;
}

const PAPER = paperInsightSpaces('ofa-mbv3');
const ORIGINAL = originalSpace('ofa-mbv3');

/** What a space allows: the blocks and layer bounds of each unit. */
function allowed(doc: SpaceDocument): string {
  return JSON.stringify(doc.units.map((u) => ({ blocks: u.blocks, minLayers: u.minLayers, maxLayers: u.maxLayers })));
}

/** The edits of a derived space (the mutation-probability insight is also there when nothing changes). */
const PRUNING_KINDS = ['drop-family', 'drop-dominated', 'drop-low-accuracy', 'layer-cap', 'layer-floor', 'keep-guard'];
const pruning = (report: InsightReport) => report.insights.filter((i) => PRUNING_KINDS.includes(i.kind));

/**
 * What a false claim says: that the space should lose something ('pruning'), that a block choice changes a metric
 * it does not change ('sensitivity'; changed mutation probabilities follow from it), that kernel or expansion
 * drives latency ('latency-factors'), or that accuracy and latency rank together ('correlation').
 */
type ClaimClass = 'pruning' | 'sensitivity' | 'latency-factors' | 'correlation';
const CLAIM_CLASSES: readonly ClaimClass[] = ['pruning', 'sensitivity', 'latency-factors', 'correlation'];

/** One seed's verdict: whether the character's right answer was derived, and every claim its physics rules out. */
interface Verdict {
  found: boolean;
  /** The flat device: all three less accurate blocks dropped (found allows fewer). */
  complete?: boolean;
  falseClaims: { class: ClaimClass; text: string }[];
}

/** The flat device's six equally accurate blocks: dropping any of them (for accuracy or latency) is false. */
const FLAT_GOOD_BLOCKS = ['e3k5', 'e4k5', 'e4k7', 'e6k3', 'e6k5', 'e6k7'];

function judge(device: DeviceName, profile: BlockProfile): Verdict {
  const derive = (objective: InsightObjective, form: DerivedSpaceForm) => deriveInsights(profile, { objective, form });
  const paper = derive('pareto', 'paper');
  const falseClaims: Verdict['falseClaims'] = [];
  const claim = (kind: ClaimClass, text: string) => falseClaims.push({ class: kind, text });
  /** Claims a device whose `metric` ignores the block must never make. */
  const sensitivityClaims = (metric: 'latency' | 'accuracy') => {
    const positions = paper.sensitivity.layers.filter((l) => l.metric === metric && l.significant).map((l) => `${l.unit}.${l.position}`);
    if (positions.length > 0) claim('sensitivity', `the block choice changes ${metric} at ${positions.join(', ')}`);
  };
  const latencyClaims = () => {
    sensitivityClaims('latency');
    if (paper.kernelVsExpansion!.significant) claim('latency-factors', `latency follows ${paper.kernelVsExpansion!.dominant ?? 'the blocks'}`);
  };
  switch (device) {
    case 'kernel-bound': {
      const families = pruning(paper)
        .filter((i) => i.kind === 'drop-family')
        .map((i) => i.id);
      return {
        found: allowed(paper.prunedSpace) === allowed(PAPER['npu']!) && families.join() === 'drop-family.kernel-7' && paper.kernelVsExpansion!.dominant === 'kernel',
        falseClaims,
      };
    }
    case 'depth-bound':
      return { found: allowed(paper.prunedSpace) === allowed(PAPER['cpu']!) && paper.kernelVsExpansion!.dominant === 'expand', falseClaims };
    case 'flat': {
      latencyClaims();
      for (const report of [paper, derive('pareto', 'per-unit')]) {
        for (const insight of pruning(report)) {
          const [, where, what] = insight.id.split('.');
          const text = `${report.form}: ${insight.id}`;
          // Nothing about a block changes latency: no family is latency-unfriendly, no block slower than another.
          if (insight.kind === 'drop-family') claim('pruning', text);
          else if (insight.kind === 'drop-dominated' && /dominated on latency$/.test(insight.sentence)) claim('pruning', `${text} (on latency)`);
          else if (insight.kind === 'drop-dominated' && FLAT_GOOD_BLOCKS.includes(what!)) claim('pruning', `${text} (as accurate as the best)`);
          // A 3rd layer buys accuracy everywhere and a 4th in units 0 and 2: no cap may remove them.
          else if (insight.kind === 'layer-cap' && (where === 'u0' || where === 'u2' || what === 'l2')) claim('pruning', text);
        }
      }
      // Dropping the three less accurate blocks needs their latency shown equal within the margin (0.30% of the
      // network per layer) while this noise resolves a layer to about ±0.31%: at the edge of what 100 samples per
      // spec show, so the right answer here is the GPU's depths with at most those three blocks dropped, and how
      // often all three go (the equivalence test's power) is counted apart.
      const gpu = PAPER['gpu']!;
      const kept = paper.prunedSpace.units.every(
        (u, i) => u.maxLayers === gpu.units[i]!.maxLayers && u.minLayers === gpu.units[i]!.minLayers && gpu.units[i]!.blocks.every((b) => u.blocks.includes(b)),
      );
      return { found: kept, complete: allowed(paper.prunedSpace) === allowed(gpu), falseClaims };
    }
    case 'noise': {
      latencyClaims();
      sensitivityClaims('accuracy');
      if (Math.abs(paper.accuracyLatencyCorrelation.spearman) >= 0.2) claim('correlation', `Spearman ${paper.accuracyLatencyCorrelation.spearman.toFixed(2)}`);
      for (const objective of ['pareto', 'max-accuracy'] as const) {
        for (const form of ['paper', 'per-unit'] as const) {
          const report = objective === 'pareto' && form === 'paper' ? paper : derive(objective, form);
          for (const insight of pruning(report)) claim('pruning', `${objective}/${form}: ${insight.id}`);
        }
      }
      // Its right answer: nothing pruned (its blocks and layer bounds) under either objective and form.
      return { found: !falseClaims.some((c) => c.class === 'pruning') && allowed(paper.prunedSpace) === allowed(ORIGINAL), falseClaims };
    }
  }
}

/** How many seeds made at least one false claim of a class. */
const seedsWith = (list: readonly Verdict[], kind: ClaimClass) => list.filter((v) => v.falseClaims.some((c) => c.class === kind)).length;

const rates = new Map<DeviceName, Verdict[]>();
async function verdicts(device: DeviceName): Promise<Verdict[]> {
  const cached = rates.get(device);
  if (cached) return cached;
  const list: Verdict[] = [];
  for (let seed = 0; seed < SEEDS; seed++) {
    list.push(judge(device, profileOf(device, seed)));
    await yieldToWorker();
  }
  rates.set(device, list);
  const found = list.filter((v) => v.found).length;
  const byClass = CLAIM_CLASSES.map((kind) => `${kind} ${seedsWith(list, kind)}/${SEEDS}`).join(', ');
  const claims = list.flatMap((v, seed) => v.falseClaims.map((c) => `seed ${seed}: ${c.class}: ${c.text}`));
  const complete = list.some((v) => v.complete !== undefined) ? ` (complete in ${list.filter((v) => v.complete).length})` : '';
  console.info(`${device}: right answer in ${found}/${SEEDS} seeds${complete}; seeds with a false claim: ${byClass}${claims.length ? `\n  ${claims.join('\n  ')}` : ''}`);
  return list;
}

/*
 * Thresholds. At this scale every true effect lies many intervals beyond its rule's threshold (the regression
 * resolves a block's latency to about ±0.3% of the network and its accuracy to ±0.015 points, pooled over
 * units), so the method misses a character only when a rule adds a false edit on top of the right ones. What
 * it promises is a false-positive rate: each pruning rule holds its family-wise error at alpha = 0.05
 * (Bonferroni over its comparisons), and so does each descriptive test, per metric (the sensitivity F tests) or
 * once (the latency-factor chi-square). So per seed a class of false claim should appear with probability about
 * p = 0.05, false sensitivity with 1 - 0.95² ≈ 0.10 on the noise device (both its metrics are noise), and a
 * character is missed with about the pruning class's 0.05. A class may then appear in at most c of n seeds,
 * c the smallest count that Binomial(n, p) exceeds with probability under 1%: beyond it the rate is above what
 * the method promises, not unlucky. For 10 seeds: a character found in at least 7; false pruning, false latency
 * factors and false correlation in at most 3; false sensitivity in at most 3 (flat) or 4 (noise).
 * Measured over 40 seeds (docs/insights.md): every character found in 38-40 of 40; false pruning in 2 of 40 on
 * the flat and on the noise device, false sensitivity in 3 (flat) and 7 (noise), a false latency factor in 4
 * and 1, no correlation claim. Seeds 0-9 hold 4 of the noise device's 7 sensitivity claims: at its limit.
 */
function binomialTail(n: number, p: number, c: number): number {
  // P(X > c) for X ~ Binomial(n, p).
  let below = 0;
  let term = (1 - p) ** n;
  for (let k = 0; k <= c; k++) {
    below += term;
    term *= ((n - k) / (k + 1)) * (p / (1 - p));
  }
  return 1 - below;
}

/** The most seeds out of n that a claim of per-seed probability p may appear in (exceeded with under 1%). */
function allowed1pct(n: number, p: number): number {
  let c = 0;
  while (binomialTail(n, p, c) >= 0.01) c++;
  return c;
}

const ALPHA = 0.05;
/** How many of a device's metrics are pure noise (as far as blocks go), each tested for sensitivity at ALPHA. */
const NOISE_METRICS: Record<DeviceName, number> = { 'kernel-bound': 0, 'depth-bound': 0, flat: 1, noise: 2 };

function expectRates(device: DeviceName, list: readonly Verdict[]): void {
  const n = list.length;
  expect(list.filter((v) => v.found).length, 'seeds with the right answer').toBeGreaterThanOrEqual(n - allowed1pct(n, ALPHA));
  for (const kind of CLAIM_CLASSES) {
    const p = kind === 'sensitivity' ? 1 - (1 - ALPHA) ** Math.max(1, NOISE_METRICS[device]) : ALPHA;
    expect(seedsWith(list, kind), `seeds with a false ${kind} claim`).toBeLessThanOrEqual(allowed1pct(n, p));
  }
}

/** Per-test limit: the profiles take about a second per seed, more under load. */
const RATE_TIMEOUT = Math.max(120_000, SEEDS * 6_000);

describe('insights at paper-like noise (10% latency, 100 samples per spec), as rates over seeds', () => {
  beforeEach(yieldToWorker);

  it(
    'kernel-bound NPU: every kernel-7 block dropped as one family, kernel the dominant latency factor',
    async () => {
      expectRates('kernel-bound', await verdicts('kernel-bound'));
    },
    RATE_TIMEOUT,
  );

  it(
    'depth-bound CPU: all nine blocks kept, units 0-2 capped at 3 layers, expansion the dominant latency factor',
    async () => {
      expectRates('depth-bound', await verdicts('depth-bound'));
    },
    RATE_TIMEOUT,
  );

  it(
    'flat GPU: depths 4 3 4 3 3, no accurate block dropped, the three less accurate ones where their equal latency is shown; rarely a latency claim about blocks',
    async () => {
      const list = await verdicts('flat');
      expectRates('flat', list);
      // The equivalence test's power at this noise is about a half: all three dropped in at least 3 of 10 seeds
      // (Binomial(10, 0.5) falls below 3 with 5.5%; measured 6 of 10).
      expect(list.filter((v) => v.complete).length).toBeGreaterThanOrEqual(Math.ceil(0.3 * list.length));
    },
    RATE_TIMEOUT,
  );

  it(
    'pure noise: the original space under either objective and form; rarely a sensitivity, factor or correlation claim',
    async () => {
      expectRates('noise', await verdicts('noise'));
    },
    RATE_TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Part 2: a host whose speed drifts during the campaign.
// ---------------------------------------------------------------------------------------------------------

type Drift = 'linear' | 'step';
type Order = 'grouped' | 'mixed';

/** How much slower the host is at fraction f of the campaign: 30% by the end, linearly or from halfway. */
const slowdown: Record<Drift, (f: number) => number> = {
  linear: (f) => 1 + 0.3 * f,
  step: (f) => (f < 0.5 ? 1 : 1.3),
};

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

interface Campaign {
  /** The profile from the raw medians, as a study with drift.correct false makes it (without the regression, which only the insights read). */
  raw: BlockProfile;
  /** The profile from the corrected medians, as a study makes it by default (with the regression). */
  corrected: BlockProfile;
  /** Slowest over fastest probe: what the series saw. */
  range: number;
}

/**
 * One campaign on the drifting host: every architecture and probe takes one second of device time, in the
 * order the device measures them, and its raw median is the undrifted measurement (the same seed's noise)
 * times the host's slowdown at its midpoint. Probes measure the reference architecture with their own noise.
 */
function campaign(drift: Drift, order: Order, seed: number): Campaign {
  const p = paperPlan();
  const device = DRIFT_DEVICE;
  const latencyOf = CHARACTER_DEVICES[device].latency;
  const base = measured(device, seed);
  const list = order === 'mixed' ? measurementList(p, device) : p.architectures;
  const reference = referenceArchitecture(p.space, p.resolutions[0]!);
  const probeNoise = new Rng(`insights-noise/probes/${drift}/${order}/${seed}`);
  const batches = Math.ceil(list.length / BATCH_SIZE);
  const slots = list.length + batches + 1;
  const factor = (slot: number) => slowdown[drift]((slot + 0.5) / slots);
  let slot = 0;
  const probes: DriftProbe[] = [];
  const probe = (batchIndex: number, position: number) => {
    probes.push({ batchIndex, position, at: at(slot + 0.5), medianMs: latencyOf(reference) * factor(slot) * lognormalFactor(probeNoise, LATENCY_NOISE) });
    slot += 1;
  };
  const measurements = list.map(({ hash }, i) => {
    if (i % BATCH_SIZE === 0) probe(i / BATCH_SIZE, i);
    const m = { archHash: hash, medianMs: base.get(hash)!.latencyMs[device]! * factor(slot), startedAt: at(slot + 0.1), measuredAt: at(slot + 0.9) };
    slot += 1;
    return m;
  });
  probe(batches - 1, list.length);
  // activities/study/latency.ts deviceLatencies: one series per device, every measurement corrected by it.
  const series = driftSeries(device, architectureHash(reference), p.resolutions[0]!, probes);
  const corrections = measurements.map((m) => correctForDrift(series, m));
  expect(corrections.every((c) => c.factor !== null)).toBe(true);
  const segments = new Map(corrections.flatMap((c) => (c.segment === null ? [] : [[c.archHash, c.segment] as const])));
  const withLatency = (latency: ReadonlyMap<string, number>) =>
    new Map([...base].map(([hash, record]): [string, ArchitectureMetrics] => [hash, { ...record, latencyMs: { [device]: latency.get(hash)! } }]));
  return {
    raw: profileFromMetrics(p, device, withLatency(new Map(measurements.map((m) => [m.archHash, m.medianMs]))), false),
    // As aggregateProfiles does: the measurements of one interval between probes share its probes' noise.
    corrected: profileFromMetrics(p, device, withLatency(new Map(corrections.map((c) => [c.archHash, c.correctedMs]))), true, (hash) => segments.get(hash)),
    range: series.range,
  };
}

/**
 * How a profile's spec latency effects (relative to the baseline) deviate from the undrifted profile of the same
 * seed: `lateMinusEarly`, the mean deviation of unit 4's specs minus unit 0's (in plan order unit 0 is measured
 * first and unit 4 last), and `rms`, the spread of the deviations about their mean.
 */
function deviation(profile: BlockProfile, truth: BlockProfile): { lateMinusEarly: number; rms: number } {
  const own = new Map(truth.specs.map((s) => [s.specId, s.effect.latency!.relative]));
  const deviations = profile.specs.map((s) => ({ unit: s.unit, d: s.effect.latency!.relative - own.get(s.specId)! }));
  const meanOf = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const centre = meanOf(deviations.map((x) => x.d));
  const unitMean = (unit: string) => meanOf(deviations.filter((x) => x.unit === unit).map((x) => x.d));
  return { lateMinusEarly: unitMean('u4') - unitMean('u0'), rms: Math.sqrt(meanOf(deviations.map((x) => (x.d - centre) ** 2))) };
}

/** The derived space and its pruning insights, the part of a report a drift must not change. */
function pruned(report: InsightReport): { allowed: string; insights: string[]; mutation: number[] } {
  return { allowed: allowed(report.prunedSpace), insights: pruning(report).map((i) => i.id), mutation: report.prunedSpace.units.map((u) => u.mutationProbability) };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

describe("the sensitivity rule's F test", () => {
  it('holds its nominal size on noise: one-way ANOVA of 9 blocks x 100 samples at 10% lognormal noise, at alpha and at alpha / 20', () => {
    // The rule (pipelines/insights/analysis.ts) tests each position's choices with oneWayAnova on the specs' summary
    // statistics and fQuantile, at alpha over the positions (Bonferroni). With no effect, the rejections must be alpha's.
    const rng = new Rng('anova-size');
    const [groups, n, reps] = [9, 100, 2000];
    const critical = (level: number) => fQuantile(1 - level, groups - 1, groups * n - groups);
    let atAlpha = 0;
    let atBonferroni = 0;
    for (let rep = 0; rep < reps; rep++) {
      const stats = Array.from({ length: groups }, () => {
        const xs = Array.from({ length: n }, () => 10 * lognormalFactor(rng, 0.1));
        const mean = xs.reduce((a, b) => a + b, 0) / n;
        return { n, mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) };
      });
      const f = oneWayAnova(stats).fStatistic;
      if (f > critical(0.05)) atAlpha++;
      if (f > critical(0.05 / 20)) atBonferroni++;
    }
    // Binomial(2000, 0.05) has a standard deviation of 0.49 points: 3.5% to 6.5% is within 3 of them.
    expect(atAlpha / reps).toBeGreaterThan(0.035);
    expect(atAlpha / reps).toBeLessThan(0.065);
    expect(atBonferroni / reps).toBeLessThan(0.006);
  });
});

describe('a host that slows by 30% during a paper-scale campaign', () => {
  beforeEach(yieldToWorker);

  /*
   * Tolerances. Corrected, a spec's latency effect deviates from the undrifted one only by the probes' noise:
   * in plan order the 100 samples of a spec share about 5 batches, so one probe's 10% noise lands on 20 of them
   * (about 4% rms per spec); unit 4's 36 specs against unit 0's average that to about 0.9% (sd), so 3% is over
   * 3 sd. Raw, plan order puts unit 4 about 0.8 of the campaign after unit 0: 24% (linear) or 30% (step).
   */
  const LATE_TOLERANCE = 0.03;

  for (const drift of ['linear', 'step'] as const) {
    it(`${drift} slowdown: the corrected profile and insights are the undrifted ones; raw, in plan order, blocks measured late look slower`, async () => {
      for (let seed = 0; seed < DRIFT_SEEDS; seed++) {
        const truth = profileOf(DRIFT_DEVICE, seed);
        const expected = pruned(deriveInsights(truth, { objective: 'pareto' }));
        for (const order of ['grouped', 'mixed'] as const) {
          const run = campaign(drift, order, seed);
          await yieldToWorker();
          expect(run.range).toBeGreaterThan(1.2);
          const raw = deviation(run.raw, truth);
          const corrected = deviation(run.corrected, truth);
          const derived = pruned(deriveInsights(run.corrected, { objective: 'pareto' }));
          console.info(
            `${drift} drift, ${order} order, seed ${seed}: late-minus-early deviation raw ${pct(raw.lateMinusEarly)} (rms ${pct(raw.rms)}), ` +
              `corrected ${pct(corrected.lateMinusEarly)} (rms ${pct(corrected.rms)}); corrected insights ${JSON.stringify(derived) === JSON.stringify(expected) ? 'equal' : 'differ from'} the undrifted`,
          );
          // With the correction: no trace of when a block was measured, and the undrifted space and insights.
          expect(Math.abs(corrected.lateMinusEarly)).toBeLessThan(LATE_TOLERANCE);
          expect(derived.allowed).toBe(expected.allowed);
          expect(derived.insights).toEqual(expected.insights);
          derived.mutation.forEach((p, u) => expect(Math.abs(p - expected.mutation[u]!)).toBeLessThanOrEqual(0.02));
          if (order === 'grouped') {
            // Without it, in plan order, unit 4's blocks look about a quarter slower than unit 0's.
            expect(raw.lateMinusEarly).toBeGreaterThan(0.2);
          } else {
            // The mixed order (the default) spreads the drift over every spec: raw effects are unbiased too.
            expect(Math.abs(raw.lateMinusEarly)).toBeLessThan(LATE_TOLERANCE);
          }
        }
      }
    }, 180_000);
  }
});
