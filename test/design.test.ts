/**
 * The two study designs and the estimates the insights judge by, on a synthetic kernel-bound device whose
 * block effects are known (test/helpers/synthetic-device.ts): the paper's block-fixed design at a few
 * samples per spec sees no block effect through its spec means; the block regression over the same
 * architectures, or over a shared-random design, recovers the device's character.
 */
import { describe, expect, it } from 'vitest';
import { deriveInsights } from '../pipelines/insights.js';
import { insightEstimates } from '../pipelines/insights/estimates.js';
import { profileCells } from '../pipelines/insights/grid.js';
import { layerStep } from '../pipelines/insights/pruning.js';
import type { BlockProfile } from '../pipelines/profile.js';
import { architectureHasBlock, parseMbBlock } from '../pipelines/spaces/index.js';
import { parseStudySpec, StudySpecError } from '../pipelines/study/spec.js';
import { planStudy } from '../pipelines/study/plan.js';
import { syntheticProfile } from './helpers/synthetic-device.js';

const sharedSpec = (architectures: number, extra: Record<string, unknown> = {}) =>
  parseStudySpec({ name: 'shared', space: 'ofa-mbv3', resolutions: [160], seed: 3, design: { kind: 'shared-random', architectures }, ...extra });

/** Pairs (position, expand) whose k7 spec is faster than its k3 spec beyond both intervals, and those slower. */
function kernelOrderings(profile: BlockProfile): { impossible: number; resolved: number } {
  let impossible = 0;
  let resolved = 0;
  for (const k7 of profile.specs.filter((s) => parseMbBlock(s.block)?.kernel === 7)) {
    const k3 = profile.specs.find((s) => s.unit === k7.unit && s.layer === k7.layer && s.block === k7.block.replace('k7', 'k3'))!;
    const [a, b] = [k7.metrics['latency']!, k3.metrics['latency']!];
    if (a.ciHigh < b.ciLow) impossible++;
    if (a.ciLow > b.ciHigh) resolved++;
  }
  return { impossible, resolved };
}

describe('the shared-random design', () => {
  it('measures N random architectures and gives every spec those that hold its block', () => {
    const plan = planStudy(sharedSpec(400));
    expect(plan.design).toBe('shared-random');
    expect(plan.architectures).toHaveLength(400);
    expect(plan.baseline[0]!.archHashes).toHaveLength(400);
    const byHash = new Map(plan.architectures.map((a) => [a.hash, a.arch]));
    const held = new Set<string>();
    for (const spec of plan.specs) {
      expect(spec.archHashes.length).toBeGreaterThanOrEqual(2);
      expect(spec.present).toBe(spec.archHashes.length);
      for (const hash of spec.archHashes) expect(architectureHasBlock(byHash.get(hash)!, spec.spec)).toBe(true);
      spec.archHashes.forEach((hash) => held.add(hash));
      // Every random architecture that holds the block is the spec's sample.
      expect(plan.baseline[0]!.archHashes.filter((hash) => architectureHasBlock(byHash.get(hash)!, spec.spec))).toEqual(spec.archHashes);
    }
    // Each architecture informs one spec per layer it has, not one.
    const layers = plan.architectures.reduce((acc, a) => acc + a.arch.units.flat().length, 0);
    expect(plan.specs.reduce((acc, s) => acc + s.archHashes.length, 0)).toBe(layers);
    expect(planStudy(sharedSpec(400))).toEqual(plan);
  });

  it('refuses a spec that could not estimate every effect, naming the field', () => {
    expect(() => sharedSpec(100)).toThrow(StudySpecError);
    expect(() => sharedSpec(100)).toThrow(
      /design.architectures: 100 random architectures at 160px are too few for the block regression \(100 architectures cannot identify 170 parameters/,
    );
    expect(() => sharedSpec(100)).toThrow(/design.architectures: at 160px, \d+ spec\(s\) are held by fewer than 2 of the random architectures/);
    expect(() => sharedSpec(400, { samplesPerSpec: 5 })).toThrow(/samplesPerSpec: not used by design shared-random/);
    expect(() => parseStudySpec({ name: 'x', space: 'ofa-mbv3', design: { kind: 'random' } })).toThrow(
      /design.kind: Invalid discriminator value. Expected 'block-fixed' \| 'shared-random'/,
    );
    // Absent, the design is the paper's; the spec (and its hash) of existing studies is unchanged.
    expect(parseStudySpec({ name: 'x', space: 'ofa-mbv3' }).design).toBeUndefined();
  });
});

describe('the estimates the insights judge by', () => {
  const device = 'kernel-bound';
  const options = { device, latencyNoise: 0.1, accuracyNoise: 1, seed: 1 };

  it('at 4 samples per spec, the spec means see no block effect; the regression over the same architectures finds the kernel-bound character', () => {
    const plan = planStudy(parseStudySpec({ name: 'fixed', space: 'ofa-mbv3', resolutions: [160], samplesPerSpec: 4, seed: 3 }));
    const means = deriveInsights(syntheticProfile(plan, { ...options, regression: false }), { objective: 'pareto' });
    expect(means.estimates.map((e) => [e.metric, e.source, e.reason])).toEqual([
      ['latency', 'spec-means', 'no regression was fitted for it'],
      ['accuracy', 'spec-means', 'no regression was fitted for it'],
    ]);
    expect(means.kernelVsExpansion!.significant).toBe(false);

    const profile = syntheticProfile(plan, { ...options, regression: true });
    const report = deriveInsights(profile, { objective: 'pareto' });
    const latency = report.estimates.find((e) => e.metric === 'latency')!;
    expect(latency.source).toBe('regression');
    expect(latency.covered).toBe(180);
    expect(latency.medianHalfWidth!.specMeans / latency.medianHalfWidth!.regression).toBeGreaterThan(5);
    expect(report.kernelVsExpansion!.significant).toBe(true);
    // Kernel 7 costs latency but buys accuracy here (0.05 points per layer over kernel 5, additiveAccuracyGain):
    // no family is dropped, as none is shown to buy less than the accuracy margin.
    expect(report.insights.filter((i) => i.kind === 'drop-family')).toEqual([]);
    // The profile itself is stored as measured; only the insights' view of it changes.
    expect(profile.specs[0]!.metrics['latency']!.n).toBe(4);
    const view = insightEstimates(profile).profile;
    expect(view.specs[0]!.metrics['latency']!.n).toBe((profile.regression!.latency as { df: number }).df + 1);
    const orderings = kernelOrderings(view);
    expect(orderings.impossible).toBe(0);
    expect(orderings.resolved).toBeGreaterThan(30);
    expect(kernelOrderings(profile).resolved).toBeLessThan(5);
  });

  it('a shared-random study of 400 architectures resolves the block effects a block-fixed one needs 724 for', () => {
    const shared = deriveInsights(syntheticProfile(planStudy(sharedSpec(400)), { ...options, regression: true }), { objective: 'pareto' });
    expect(shared.estimates.find((e) => e.metric === 'latency')!.source).toBe('regression');
    expect(shared.kernelVsExpansion!.dominant).toBe('kernel');
    // Every larger block buys accuracy here (additiveAccuracyGain), so nothing is dropped for latency.
    expect(shared.insights.filter((i) => i.kind === 'drop-family' || /dominated on latency$/.test(i.sentence))).toEqual([]);
    expect(kernelOrderings(insightEstimates(syntheticProfile(planStudy(sharedSpec(400)), { ...options, regression: true })).profile).impossible).toBe(0);
  });

  it('keeps the spec means where their intervals are narrower, and says why', () => {
    // Spec means made (artificially) exact: their intervals are narrower than any model's.
    const plan = planStudy(sharedSpec(400));
    const profile = syntheticProfile(plan, { ...options, regression: true });
    const widened: BlockProfile = {
      ...profile,
      specs: profile.specs.map((s) => ({
        ...s,
        metrics: { ...s.metrics, latency: { ...s.metrics['latency']!, ciLow: s.metrics['latency']!.mean - 1e-6, ciHigh: s.metrics['latency']!.mean + 1e-6 } },
      })),
    };
    const choice = insightEstimates(widened).choices.find((c) => c.metric === 'latency')!;
    expect(choice.source).toBe('spec-means');
    expect(choice.reason).toMatch(/the spec means' intervals are narrower/);
    expect(insightEstimates(widened).profile.specs[0]!.metrics['latency']).toEqual(widened.specs[0]!.metrics['latency']);
    const skipped: BlockProfile = { ...profile, regression: { latency: { skipped: 'too few' } } };
    expect(insightEstimates(skipped).choices.map((c) => c.reason)).toEqual(['the regression was skipped: too few', 'no regression was fitted for it']);
    expect(insightEstimates(skipped).profile).toBe(skipped);
  });
});

describe('the layer rule in a shared-random study', () => {
  it('reads one more layer from the regression: a unit-0 layer costs its true 6 ms, not the 9 that moving a held spec a layer up suggests', () => {
    // Layers of unit 0 cost 6 ms each and buy nothing; elsewhere depth is free. Blocks change nothing.
    const depthCost = [6, 0, 0, 0, 0];
    const profile = syntheticProfile(planStudy(sharedSpec(2000)), {
      device: 'depth',
      latency: (arch) => 5 + arch.units.reduce((s, blocks, u) => s + blocks.length * depthCost[u]!, 0),
      accuracy: () => 70,
      latencyNoise: 0.02,
      accuracyNoise: 0.2,
      seed: 4,
      regression: true,
    });
    expect(profile.depthRule).toBe('held');
    const cells = profileCells(insightEstimates(profile).profile);
    for (const layer of [2, 3]) {
      const step = layerStep(profile, cells, 0, layer)!;
      const half = 1.96 * step.latencyStep.se;
      expect(Math.abs(step.latencyStep.estimate - 6)).toBeLessThan(Math.max(half, 0.05 * 6));
      expect(step.share).toBe(1);
    }
    // The report's insight caps unit 0 at 2 layers, with the 3rd layer's cost as the truth.
    const report = deriveInsights(profile, { objective: 'pareto' });
    expect(report.prunedSpace.units[0]!.maxLayers).toBe(2);
    const third = report.insights.find((i) => i.id === 'layer-cap.u0.l2')!;
    expect(third.numbers['latencyStep']).toBeGreaterThan(5.5);
    expect(third.numbers['latencyStep']).toBeLessThan(6.5);
  });
});
