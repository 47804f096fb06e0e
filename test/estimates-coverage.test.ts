/**
 * Ground truth the block regression does not share (issue 25): do the intervals of the spec estimates the insights
 * read cover the true spec means? A spec's true mean is its expectation under its sampler's law, computed here
 * exactly (each device is a sum over units of independent terms, so the expectation factorises), never by the
 * model. Three devices:
 * - ResNet whose layers cost width² × (0.3 + 4·expand) × (unit + 1), noise-free: a product of width and expand that
 *   the model's separate width and expand indicators cannot represent (the issue measured 9 of 36 covered);
 * - OFA-MobileNetV3 whose consecutive kernel-7 layers cost more together (interacting layers), ±1% noise;
 * - OFA-MobileNetV3 with per-layer costs (the model's own form) and ±3% noise, proportional to latency.
 * The first must fail the model check, and its adjusted estimates (the model as a control variate) must cover the
 * truth where the model's own intervals do not; the last must pass the check, and the model's estimates, at the
 * design row of the sampler's law, must cover the truth. Then, over six studies per device and design (block-fixed
 * and shared-random), the intervals the insights actually read (insightEstimates: the adjusted estimates where
 * the check fails) must cover the true spec means and effects at their nominal 95%.
 */
import { describe, expect, it } from 'vitest';
import { deriveInsights, type InsightReport } from '../pipelines/insights.js';
import { insightEstimates } from '../pipelines/insights/estimates.js';
import { choiceGroups, matchedDifference, pooledOverUnits, profileCells, spaceFactors } from '../pipelines/insights/grid.js';
import { familyCells } from '../pipelines/insights/pruning.js';
import type { BlockProfile, MetricStats } from '../pipelines/profile.js';
import type { BlockRegression } from '../pipelines/regression.js';
import { specUnitDepths } from '../pipelines/sampling.js';
import { blockSpecId, blockSpecs, originalSpace, parseMbBlock, widthChoice, type Architecture, type BlockSpec, type SpaceId } from '../pipelines/spaces/index.js';
import { planStudy } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { mean, tCritical95 } from '../pipelines/stats.js';
import { syntheticProfile, yieldToWorker } from './helpers/synthetic-device.js';

/** ResNet width multipliers by width index. */
const WIDTH = [0.65, 0.8, 1.0];

interface Device {
  space: SpaceId;
  samplesPerSpec: number;
  noise: number;
  /** What one layer holding `block` in unit u adds, given the unit's width index (0 for MBConv). */
  term: (unit: number, block: string, width: number) => number;
  /** The unit's factor that multiplies all its layers (width² for ResNet). */
  unitFactor: (unit: number, width: number) => number;
  base: number;
  /** What two consecutive layers add together beyond their own terms (interacting layers); none by default. */
  pair?: (previous: string, next: string) => number;
}

const RESNET: Device = {
  space: 'resnet50',
  samplesPerSpec: 30,
  noise: 0,
  term: (u, block) => (u + 1) * (0.3 + 4 * Number(block.slice(1))),
  unitFactor: (_u, width) => WIDTH[width]! ** 2,
  base: 2,
};

const MBV3: Device = {
  space: 'ofa-mbv3',
  samplesPerSpec: 100,
  noise: 0.03,
  term: (u, block) => {
    const { expand, kernel } = parseMbBlock(block)!;
    return (1 + 0.2 * u) * ({ 3: 1, 4: 1.4, 6: 2 }[expand] ?? 0) * ({ 3: 1, 5: 1.2, 7: 1.5 }[kernel] ?? 0);
  },
  unitFactor: () => 1,
  base: 1,
};

/** MobileNetV3 whose consecutive kernel-7 layers cost 0.8 more together (e.g. a fused pair that spills the cache): interacting layers. */
const MBV3_INTERACTING: Device = { ...MBV3, noise: 0.01, pair: (a, b) => (a.endsWith('k7') && b.endsWith('k7') ? 0.8 : 0) };

function latencyOf(device: Device): (arch: Architecture) => number {
  return (arch) => {
    const widths = 'widths' in arch ? arch.widths : [];
    const pairs = (blocks: readonly string[]) => (device.pair ? blocks.slice(1).reduce((s, b, l) => s + device.pair!(blocks[l]!, b), 0) : 0);
    return (
      device.base +
      arch.units.reduce((sum, blocks, u) => sum + device.unitFactor(u, widths[u] ?? 0) * (blocks.reduce((s, b) => s + device.term(u, b, widths[u] ?? 0), 0) + pairs(blocks)), 0)
    );
  };
}

/**
 * E[latency | spec] under the spec's sampler's law: per unit, depth by the rule ('intended': the block-fixed sampler;
 * 'held': a random architecture that holds the block), uniform elsewhere; blocks and widths uniform.
 */
function trueSpecMean(device: Device, spec: Extract<BlockSpec, { unit: number }>, rule: 'intended' | 'held' = 'intended'): number {
  const doc = originalSpace(device.space);
  return doc.units.reduce((total, unit, u) => {
    const fixed = u === spec.unit;
    const range = Array.from({ length: unit.maxLayers - unit.minLayers + 1 }, (_, i) => unit.minLayers + i);
    const depths = fixed ? specUnitDepths(doc, spec, rule) : new Map(range.map((d) => [d, 1 / range.length]));
    const widths = fixed && 'width' in spec ? [spec.width] : (unit.widths ?? [0]);
    const perWidth = widths.map((w) => {
      let layers = 0;
      // The blocks a layer may hold: the spec's own at its position, any of the unit's (uniform) elsewhere.
      const choices = (l: number) => (fixed && l === spec.layer ? [spec.block] : unit.blocks);
      for (let l = 0; l < unit.maxLayers; l++) {
        const reach = [...depths].reduce((acc, [d, p]) => acc + (d > l ? p : 0), 0);
        layers += reach * mean(choices(l).map((b) => device.term(u, b, w)));
        if (device.pair && l > 0) layers += reach * mean(choices(l - 1).flatMap((a) => choices(l).map((b) => device.pair!(a, b))));
      }
      return device.unitFactor(u, w) * layers;
    });
    return total + mean(perWidth);
  }, device.base);
}

/** E[latency] of a random architecture: the baseline's truth. */
function truePopulation(device: Device): number {
  const doc = originalSpace(device.space);
  return doc.units.reduce((total, unit, u) => {
    const depths = unit.maxLayers - unit.minLayers + 1;
    const perWidth = (unit.widths ?? [0]).map((w) => {
      let layers = 0;
      for (let l = 0; l < unit.maxLayers; l++) {
        const reach = Math.min(depths, unit.maxLayers - l) / depths;
        layers += reach * mean(unit.blocks.map((b) => device.term(u, b, w)));
        if (device.pair && l > 0) layers += reach * mean(unit.blocks.flatMap((a) => unit.blocks.map((b) => device.pair!(a, b))));
      }
      return device.unitFactor(u, w) * layers;
    });
    return total + mean(perWidth);
  }, device.base);
}

type Design = 'block-fixed' | 'shared-random';

/** Study `seed` of a device in a design: its own architectures and noise, accuracy the same for every architecture. */
function seededProfile(device: Device, design: Design, seed: number): BlockProfile {
  const shape = design === 'block-fixed' ? { samplesPerSpec: device.samplesPerSpec } : { design: { kind: 'shared-random', architectures: 3000 } };
  const plan = planStudy(parseStudySpec({ name: 'coverage', space: device.space, seed, ...shape }));
  return syntheticProfile(plan, { device: 'truth', latency: latencyOf(device), accuracy: () => 70, latencyNoise: device.noise, accuracyNoise: 0.5, seed: seed * 11, regression: true });
}

/**
 * Over `seeds` studies (each its own architectures and noise), the share of the specs whose interval, as the
 * insights read it (insightEstimates), covers the true mean, and the share whose effect (spec − baseline, its
 * interval from both standard errors) covers the true effect; and which estimates the insights read.
 */
async function seedCoverage(device: Device, design: Design, seeds: number): Promise<{ sources: Set<string>; means: number; effects: number }> {
  const rule = design === 'block-fixed' ? 'intended' : 'held';
  const truths = new Map(blockSpecs(device.space).flatMap((spec) => ('unit' in spec ? [[blockSpecId(spec), trueSpecMean(device, spec, rule)] as const] : [])));
  const population = truePopulation(device);
  const se = (m: MetricStats) => (m.ciHigh - m.ciLow) / 2 / tCritical95(m.n - 1);
  const sources = new Set<string>();
  let [judged, means, effects] = [0, 0, 0];
  for (let seed = 1; seed <= seeds; seed++) {
    await yieldToWorker();
    const { profile: view, choices } = insightEstimates(seededProfile(device, design, seed));
    sources.add(choices.find((c) => c.metric === 'latency')!.source);
    const baseline = view.baseline.metrics['latency']!;
    for (const spec of view.specs) {
      const truth = truths.get(spec.specId);
      if (truth === undefined) continue;
      const m = spec.metrics['latency']!;
      judged += 1;
      if (m.ciLow <= truth && truth <= m.ciHigh) means += 1;
      if (Math.abs(m.mean - baseline.mean - (truth - population)) <= 1.96 * Math.hypot(se(m), se(baseline))) effects += 1;
    }
  }
  return { sources, means: means / judged, effects: effects / judged };
}

function study(device: Device): { profile: BlockProfile; fit: BlockRegression; truths: Map<string, number> } {
  const plan = planStudy(parseStudySpec({ name: 'coverage', space: device.space, samplesPerSpec: device.samplesPerSpec, seed: 7 }));
  const profile = syntheticProfile(plan, { device: 'truth', latency: latencyOf(device), accuracy: () => 70, latencyNoise: device.noise, accuracyNoise: 0.5, seed: 3, regression: true });
  const fit = profile.regression!.latency as BlockRegression;
  const truths = new Map(blockSpecs(device.space).flatMap((spec) => ('unit' in spec ? [[blockSpecId(spec), trueSpecMean(device, spec)] as const] : [])));
  return { profile, fit, truths };
}

/** Share of the specs whose interval covers the true mean. */
function coverage(intervals: { specId: string; low: number; high: number }[], truths: Map<string, number>): number {
  const judged = intervals.filter((i) => truths.has(i.specId));
  expect(judged.length).toBeGreaterThan(100);
  return judged.filter((i) => i.low <= truths.get(i.specId)! && truths.get(i.specId)! <= i.high).length / judged.length;
}

describe('spec estimates against a truth the model does not share', () => {
  it('ResNet with width × expand costs: the model fails its check, its intervals miss the truth, the adjusted estimates cover it', () => {
    const { profile, fit, truths } = study(RESNET);
    expect(fit.rSquared).toBeGreaterThan(0.9);
    expect(fit.lackOfFit!.fails).toBe(true);
    const model = coverage(
      fit.specs!.map((s) => ({ specId: s.specId, low: s.ciLow, high: s.ciHigh })),
      truths,
    );
    expect(model).toBeLessThan(0.6);
    const adjusted = coverage(
      fit.specs!.map((s) => ({ specId: s.specId, low: s.adjusted!.ciLow, high: s.adjusted!.ciHigh })),
      truths,
    );
    expect(adjusted).toBeGreaterThanOrEqual(0.9);
    expect(adjusted).toBeLessThanOrEqual(0.99);
    // Still far tighter than the spec means: the model removes most of the other layers' variance.
    const halfWidth = (low: number, high: number) => (high - low) / 2;
    const adjustedWidth = mean(fit.specs!.map((s) => halfWidth(s.adjusted!.ciLow, s.adjusted!.ciHigh)));
    const meansWidth = mean(profile.specs.filter((s) => truths.has(s.specId)).map((s) => halfWidth(s.metrics['latency']!.ciLow, s.metrics['latency']!.ciHigh)));
    expect(adjustedWidth).toBeLessThan(meansWidth / 2);
    // The insights say that the model they read failed its check, with the statistic.
    const latency = insightEstimates(profile).choices.find((c) => c.metric === 'latency')!;
    expect(latency.reason).toMatch(/lack of fit χ² \d+ on \d+ specs, 99% quantile \d+; it fails: the model's estimates are biased/);
  });

  it('MobileNetV3 with interacting neighbour layers: the sampler averages the interaction into the blocks, so the check holds; the adjusted estimates cover the truth', () => {
    const { fit, truths } = study(MBV3_INTERACTING);
    // A k7's extra cost next to a k7 is, in expectation over random neighbours, part of the k7's own effect: the
    // spec means see it as additive. What is left (depth-dependent edges) is small: 90% coverage, not 38%.
    expect(fit.lackOfFit!.fails).toBe(false);
    const model = coverage(
      fit.specs!.map((s) => ({ specId: s.specId, low: s.ciLow, high: s.ciHigh })),
      truths,
    );
    const adjusted = coverage(
      fit.specs!.map((s) => ({ specId: s.specId, low: s.adjusted!.ciLow, high: s.adjusted!.ciHigh })),
      truths,
    );
    expect(model).toBeGreaterThanOrEqual(0.85);
    expect(adjusted).toBeGreaterThanOrEqual(0.9);
    expect(adjusted).toBeLessThanOrEqual(0.99);
  });

  it('MobileNetV3 with per-layer costs: the model holds, and its estimates at the sampler-law design row cover the truth', () => {
    const { profile, fit, truths } = study(MBV3);
    expect(fit.lackOfFit!.fails).toBe(false);
    const { profile: view, choices } = insightEstimates(profile);
    expect(choices.find((c) => c.metric === 'latency')!.source).toBe('regression');
    const read = coverage(
      view.specs.map((s) => ({ specId: s.specId, low: s.metrics['latency']!.ciLow, high: s.metrics['latency']!.ciHigh })),
      truths,
    );
    expect(read).toBeGreaterThanOrEqual(0.9);
    expect(read).toBeLessThanOrEqual(0.99);
    // The baseline is the random design's mean: E = base + Σ_u P(layers) × mean term.
    const truthBaseline = originalSpace('ofa-mbv3').units.reduce((total, unit, u) => {
      const depthMean = (unit.minLayers + unit.maxLayers) / 2;
      return total + depthMean * mean(unit.blocks.map((b) => MBV3.term(u, b, 0)));
    }, MBV3.base);
    const baseline = view.baseline.metrics['latency']!;
    expect(baseline.ciLow).toBeLessThanOrEqual(truthBaseline);
    expect(baseline.ciHigh).toBeGreaterThanOrEqual(truthBaseline);
  });
});

describe('coverage over seeds of the estimates the insights read, spec means and effects (6 studies each)', () => {
  const SEEDS = 6;
  for (const design of ['block-fixed', 'shared-random'] as const) {
    it(`${design}: misspecified ResNet read by the adjusted estimates, additive MobileNetV3 by the model, both at nominal coverage`, async () => {
      const resnet = await seedCoverage(RESNET, design, SEEDS);
      expect([...resnet.sources]).toEqual(['adjusted']);
      const additive = await seedCoverage(MBV3, design, SEEDS);
      expect([...additive.sources]).toEqual(['regression']);
      console.info(
        `${design}: coverage of means / effects: ResNet ${resnet.means.toFixed(3)} / ${resnet.effects.toFixed(3)}, additive ${additive.means.toFixed(3)} / ${additive.effects.toFixed(3)}`,
      );
      for (const c of [resnet, additive]) {
        expect(c.means).toBeGreaterThanOrEqual(0.93);
        expect(c.means).toBeLessThanOrEqual(0.97);
        // An effect's interval adds the baseline's error to the spec's; the specs share that error: a little conservative.
        expect(c.effects).toBeGreaterThanOrEqual(0.93);
        expect(c.effects).toBeLessThanOrEqual(0.99);
      }
    }, 120_000);
  }

  it('interacting neighbour layers: the check cannot see a bias of one model standard error, so block-fixed coverage falls short', async () => {
    // The bias left by the averaged interaction is about one standard error of the model's estimates, which a
    // spec's own 100 samples (3.6x wider) cannot resolve: the check holds and the model is read. Shared-random
    // architectures put every block among random neighbours, so the model holds there.
    const fixed = await seedCoverage(MBV3_INTERACTING, 'block-fixed', SEEDS);
    expect([...fixed.sources]).toEqual(['regression']);
    expect(fixed.means).toBeGreaterThan(0.85);
    expect(fixed.means).toBeLessThan(0.93);
    const shared = await seedCoverage(MBV3_INTERACTING, 'shared-random', SEEDS);
    console.info(
      `interacting: coverage of means / effects: block-fixed ${fixed.means.toFixed(3)} / ${fixed.effects.toFixed(3)}, shared-random ${shared.means.toFixed(3)} / ${shared.effects.toFixed(3)}`,
    );
    expect(shared.means).toBeGreaterThanOrEqual(0.93);
    expect(shared.means).toBeLessThanOrEqual(0.97);
  }, 120_000);
});

/**
 * The pruning claims of a Pareto report (paper form) whose premise the device's truth contradicts. Accuracy is the
 * same for every architecture, so a claim that one choice is more accurate is false; a choice dropped as slower
 * than another, or a family step said to add latency beyond the threshold, is false when the exact spec means say
 * otherwise (the same matched cells the rules compare, read from a profile of the true means).
 */
function falseClaims(device: Device, profile: BlockProfile, report: InsightReport): string[] {
  // The devices ignore the ResNet stem: a stem spec's truth is the population's.
  const truths = new Map(blockSpecs(device.space).map((spec) => [blockSpecId(spec), 'unit' in spec ? trueSpecMean(device, spec) : truePopulation(device)] as const));
  const exact = (mean: number): MetricStats => ({ ...profile.baseline.metrics['latency']!, mean, ciLow: mean, ciHigh: mean, std: 0 });
  const truth: BlockProfile = {
    ...profile,
    specs: profile.specs.filter((s) => truths.has(s.specId)).map((s) => ({ ...s, metrics: { ...s.metrics, latency: exact(truths.get(s.specId)!) } })),
  };
  const cells = profileCells(truth);
  const groups = pooledOverUnits(choiceGroups(cells));
  const factors = spaceFactors(device.space);
  const threshold = report.rules.familyLatencyThreshold * truePopulation(device);
  const wrong: string[] = [];
  for (const insight of report.insights) {
    if (insight.id === 'sensitivity.accuracy' && !/no unit's block choice changes accuracy/.test(insight.sentence)) wrong.push(insight.sentence);
    if (insight.kind === 'drop-dominated') {
      if (!/dominated on latency$/.test(insight.sentence)) {
        wrong.push(insight.sentence);
        continue;
      }
      // drop-dominated.<unit>.<choice>, where a ResNet choice holds a dot (e0.25).
      const [unit, ...rest] = insight.id.slice('drop-dominated.'.length).split('.');
      const choice = rest.join('.');
      const label = /against (e[\d.]+k?\d*|width index \d|the full stem|stem skipping)/.exec(insight.sentence)![1]!;
      const other = label.startsWith('width index') ? widthChoice(Number(label.slice(-1))) : label === 'the full stem' ? 'skip-off' : label === 'stem skipping' ? 'skip-on' : label;
      const group = (c: string) => groups.find((g) => g.unit === unit && g.choice === c)!;
      if (!(matchedDifference(group(choice).cells, group(other).cells, 'latency')!.estimate > 0)) wrong.push(insight.sentence);
    }
    if (insight.kind === 'drop-family') {
      const [name, value] = insight.id.slice('drop-family.'.length).split('-') as [string, string];
      const factor = factors.find((f) => f.name === name)!;
      const previous = factor.values[factor.values.indexOf(Number(value)) - 1]!;
      const { upper, lower } = familyCells(cells, factors, factor, Number(value), previous);
      if (!(matchedDifference(upper, lower, 'latency')!.estimate > threshold)) wrong.push(insight.sentence);
    }
  }
  return wrong;
}

describe('false claims of the insights on devices the model does not fit (6 studies each, accuracy the same for every architecture)', () => {
  for (const [name, device] of [
    ['ResNet with width² × expand costs', RESNET],
    ['MobileNetV3 with interacting neighbour layers', MBV3_INTERACTING],
  ] as const) {
    it(`${name}: a false pruning premise or accuracy claim in at most 2 of 6 studies (Binomial(6, 0.05) exceeds 2 with 0.2%)`, async () => {
      const seeds: string[][] = [];
      let claims = 0;
      for (let seed = 1; seed <= 6; seed++) {
        await yieldToWorker();
        const profile = seededProfile(device, 'block-fixed', seed);
        const report = deriveInsights(profile, { objective: 'pareto' });
        claims += report.insights.filter((i) => i.kind === 'drop-dominated' || i.kind === 'drop-family').length;
        seeds.push(falseClaims(device, profile, report));
      }
      console.info(`${name}: ${claims} pruning claims over 6 studies; false: ${seeds.map((s, i) => `seed ${i + 1}: ${s.length ? s.join(' | ') : 'none'}`).join('; ')}`);
      expect(seeds.filter((s) => s.length > 0).length).toBeLessThanOrEqual(2);
    }, 120_000);
  }
});
