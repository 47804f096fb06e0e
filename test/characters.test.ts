/**
 * The paper's device characters as ground truth. Each synthetic device below is built so that the paper's pruned
 * space for its character (design-spaces.md §7, paperInsightSpaces) IS the right answer; profiled at paper scale
 * (the paper-ofa-mbv3 plan: 180 specs and the baseline × 100 samples, with the block regression, uniform latency
 * noise ±3% relative and accuracy noise ±0.5 points), deriveInsights must derive exactly that space: block lists and
 * layer bounds. Mutation probabilities are not compared: they follow the units' sensitivities, which these
 * devices make about equal (the paper's NPU probabilities reflect its own device's units).
 *
 * Latency and accuracy are sums over the layers (layerSum), the regression's own form, so each character's
 * block and layer effects are exactly what its definition says. Where blocks trade accuracy for latency, two
 * blocks either tie exactly or differ by at least 0.59% of network latency per layer: a more accurate block
 * slower per layer by less than the latency margin (latencyTolerance 0.5% over the 1.67 layers an average network
 * holds a block in, 0.3%) counts as "no slower" and rightly drops the cheaper one.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { deriveInsights, paperInsightSpaces, type InsightObjective, type InsightReport } from '../pipelines/insights.js';
import { expectedSwaps } from '../pipelines/insights/pruning.js';
import type { BlockProfile } from '../pipelines/profile.js';
import { MB_BLOCKS, originalSpace, type Architecture, type SpaceDocument } from '../pipelines/spaces/index.js';
import { planStudy, type StudyPlan } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import {
  CHARACTER_DEVICES,
  centred,
  depthGain,
  expandOf,
  kernelBoundLatencyMs,
  kernelOf,
  layerSum,
  lineCost,
  syntheticProfile,
  unitScale,
  yieldToWorker,
} from './helpers/synthetic-device.js';

type CharacterName = 'npu' | 'gpu' | 'cpu' | 'n10' | 'expansion' | 'max_acc';

interface Character {
  objective: InsightObjective;
  latency: (arch: Architecture) => number;
  accuracy: (arch: Architecture) => number;
}

const CHARACTERS: Record<CharacterName, Character> = {
  // The NPU, GPU and CPU characters (test/helpers/synthetic-device.ts says what each one is).
  npu: { objective: 'pareto', ...CHARACTER_DEVICES['kernel-bound'] },
  gpu: { objective: 'pareto', ...CHARACTER_DEVICES.flat },
  cpu: { objective: 'pareto', ...CHARACTER_DEVICES['depth-bound'] },
  // Note10: the CPU's latency, but e3k7 and e4k7 are no more accurate than e3k5 and e4k5 (e6k7 still is); a 4th
  // layer buys accuracy everywhere but in unit 0.
  n10: (() => {
    const quality = centred((b) => lineCost(b === 'e3k7' || b === 'e4k7' ? b.replace('k7', 'k5') : b));
    return {
      objective: 'pareto',
      latency: layerSum(1, (u, _l, b) => 0.5 * unitScale(u) * lineCost(b)),
      accuracy: layerSum(70, (u, l, b) => depthGain(l, u !== 0) + 0.4 * quality(b)),
    };
  })(),
  // Expansion-bound: an expand-4 layer costs 1.8 and an expand-6 layer 3 times an expand-3 one (kernel 5: 1.25,
  // kernel 7: 1.5); accuracy follows the cost, but expand 6 adds nothing over expand 4; every layer adds accuracy.
  expansion: (() => {
    const expandCost: Record<number, number> = { 3: 1, 4: 1.8, 6: 3 };
    const kernelCost: Record<number, number> = { 3: 1, 5: 1.25, 7: 1.5 };
    const quality = centred((b) => expandCost[Math.min(expandOf(b), 4)]! * kernelCost[kernelOf(b)]!);
    return {
      objective: 'pareto',
      latency: layerSum(1, (u, _l, b) => 0.5 * unitScale(u) * expandCost[expandOf(b)]! * kernelCost[kernelOf(b)]!),
      accuracy: layerSum(70, (_u, l, b) => depthGain(l, true) + 0.4 * quality(b)),
    };
  })(),
  // Maximum accuracy: every expand-3 block and e4k3 0.4 points less accurate per layer, the other five equal;
  // depth adds no accuracy (the paper's MBv3 max_acc keeps the default depths); kernel-bound latency.
  max_acc: (() => {
    const quality = centred((b) => (expandOf(b) === 3 || b === 'e4k3' ? -0.4 : 0));
    return { objective: 'max-accuracy', latency: kernelBoundLatencyMs, accuracy: layerSum(70, (_u, _l, b) => quality(b)) };
  })(),
};

// A paper-scale profile takes seconds (mostly the regressions): one plan, one profile per character, shared.
let plan: StudyPlan | undefined;
const profiles = new Map<CharacterName, BlockProfile>();
function profileOf(name: CharacterName): BlockProfile {
  plan ??= planStudy(parseStudySpec({ name: 'characters', space: 'ofa-mbv3', samplesPerSpec: 100, seed: 5 }));
  let profile = profiles.get(name);
  if (!profile) {
    const { latency, accuracy } = CHARACTERS[name];
    profile = syntheticProfile(plan, { device: name, latency, accuracy, latencyNoise: 0.03, accuracyNoise: 0.5, seed: 2, regression: true });
    profiles.set(name, profile);
  }
  return profile;
}

/** Both forms of the derived space for a character's own objective. */
function derive(name: CharacterName): { paper: InsightReport; perUnit: InsightReport } {
  const profile = profileOf(name);
  const { objective } = CHARACTERS[name];
  return { paper: deriveInsights(profile, { objective }), perUnit: deriveInsights(profile, { objective, form: 'per-unit' }) };
}

/** What a space allows: the blocks and layer bounds of each unit. */
function allowed(doc: SpaceDocument): { blocks: string[]; minLayers: number; maxLayers: number }[] {
  return doc.units.map((u) => ({ blocks: [...u.blocks], minLayers: u.minLayers, maxLayers: u.maxLayers }));
}

const PAPER = paperInsightSpaces('ofa-mbv3');

function ids(report: InsightReport, kind: string): string[] {
  return report.insights
    .filter((i) => i.kind === kind)
    .map((i) => i.id)
    .sort();
}

/**
 * The per-unit form judges each unit on its own evidence, a fifth of the pooled one under a stricter Bonferroni
 * split: on these devices, whose block effects are the same in every unit, it may keep more but never less, and
 * its layer rule is the paper form's.
 */
function expectPerUnitKeepsAtLeast(perUnit: InsightReport, paper: InsightReport): void {
  expect(perUnit.form).toBe('per-unit');
  perUnit.prunedSpace.units.forEach((unit, u) => {
    const pooled = paper.prunedSpace.units[u]!;
    expect(unit.blocks, `unit ${u}`).toEqual(expect.arrayContaining(pooled.blocks));
    expect([unit.minLayers, unit.maxLayers], `unit ${u}`).toEqual([pooled.minLayers, pooled.maxLayers]);
  });
}

describe("the paper's device characters at paper scale", () => {
  // Each test computes for seconds without yielding; the worker must answer vitest's RPCs between them (they time
  // out after 60 s, which this file's synchronous work together exceeds under load).
  beforeEach(yieldToWorker);

  it('NPU, kernel-bound: every kernel-7 block dropped as a family in every unit, default depths', () => {
    const { paper, perUnit } = derive('npu');
    expect(paper.form).toBe('paper');
    expect(paper.estimates.map((e) => e.source)).toEqual(['regression', 'regression']);
    expect(allowed(paper.prunedSpace)).toEqual(allowed(PAPER['npu']!));
    expect(paper.kernelVsExpansion!.dominant).toBe('kernel');
    const families = paper.insights.filter((i) => i.kind === 'drop-family');
    expect(families.map((i) => i.id)).toEqual(['drop-family.kernel-7']);
    expect(families[0]!.sentence).toMatch(/^npu: kernel 7 instead of 5 adds .* latency per layer .* so kernel-7 blocks are dropped in every unit$/);
    // The six survivors trade accuracy for latency: none is dominated, no unit is capped.
    expect(ids(paper, 'drop-dominated')).toEqual([]);
    expect(ids(paper, 'layer-cap')).toEqual([]);
    expectPerUnitKeepsAtLeast(perUnit, paper);
    expect(allowed(perUnit.prunedSpace)).toEqual(allowed(PAPER['npu']!));
  });

  it('GPU: e3k3, e3k7 and e4k3 dropped as dominated on accuracy; depths [4, 3, 4, 3, 3]', () => {
    const { paper, perUnit } = derive('gpu');
    expect(paper.estimates.map((e) => e.source)).toEqual(['regression', 'regression']);
    expect(allowed(paper.prunedSpace)).toEqual(allowed(PAPER['gpu']!));
    // Latency does not follow the block: no position's block choice changes it beyond noise.
    expect(paper.sensitivity.units.filter((u) => u.metric === 'latency').every((u) => u.significantPositions === 0)).toBe(true);
    expect(paper.kernelVsExpansion!.significant).toBe(false);
    expect(ids(paper, 'drop-family')).toEqual([]);
    const dropped = paper.insights.filter((i) => i.kind === 'drop-dominated');
    expect(dropped.map((i) => i.id).sort()).toEqual(['e3k3', 'e3k7', 'e4k3'].map((b) => `drop-dominated.all.${b}`));
    expect(dropped.every((i) => /so it is dropped as dominated on accuracy$/.test(i.sentence))).toBe(true);
    expect(ids(paper, 'layer-cap')).toEqual(['layer-cap.u1.l3', 'layer-cap.u3.l3', 'layer-cap.u4.l3']);
    expectPerUnitKeepsAtLeast(perUnit, paper);
    expect(allowed(perUnit.prunedSpace)).toEqual(allowed(PAPER['gpu']!));
  });

  it('CPU, depth-bound: all 9 blocks kept on their trade-off line; depths [3, 3, 3, 4, 4]', () => {
    const { paper, perUnit } = derive('cpu');
    expect(allowed(paper.prunedSpace)).toEqual(allowed(PAPER['cpu']!));
    expect(paper.kernelVsExpansion!.dominant).toBe('expand');
    expect(paper.insights.filter((i) => ['drop-family', 'drop-dominated', 'keep-guard'].includes(i.kind))).toEqual([]);
    expect(ids(paper, 'layer-cap')).toEqual(['layer-cap.u0.l3', 'layer-cap.u1.l3', 'layer-cap.u2.l3']);
    expectPerUnitKeepsAtLeast(perUnit, paper);
    expect(allowed(perUnit.prunedSpace)).toEqual(allowed(PAPER['cpu']!));
  });

  it('a trade-off line denser than latencyTolerance is thinned to blocks a tolerance apart, not collapsed to its top', () => {
    // The CPU line's steps are 0.76% of network latency each: under a 2% margin per swapped layer each block is "no
    // slower" than the next two, but not than the third. Only kept blocks dominate, so from the top (e6k7) every
    // third survives; acting on every pairwise verdict would leave e6k7 alone, 6% slower than the line's fast end.
    const swaps = expectedSwaps('ofa-mbv3', 'block', [0, 1, 2, 3, 4]);
    const report = deriveInsights(profileOf('cpu'), { objective: 'pareto', rules: { latencyTolerance: 0.02 * swaps } });
    const kept = ['e3k7', 'e4k7', 'e6k7'];
    for (const unit of report.prunedSpace.units) expect(unit.blocks).toEqual(kept);
    const dropped = report.insights.filter((i) => i.kind === 'drop-dominated');
    expect(dropped).toHaveLength(6);
    for (const insight of dropped) expect(kept).toContain(/against (e\dk\d) /.exec(insight.sentence)?.[1]);
  });

  it('Note10: e3k7 and e4k7 dropped as dominated on latency, e6k7 kept; depths [3, 4, 4, 4, 4]', () => {
    const { paper, perUnit } = derive('n10');
    expect(allowed(paper.prunedSpace)).toEqual(allowed(PAPER['n10']!));
    // e6k7 still buys accuracy, so the kernel-7 family as a whole is not unfriendly.
    expect(ids(paper, 'drop-family')).toEqual([]);
    const dropped = paper.insights.filter((i) => i.kind === 'drop-dominated');
    expect(dropped.map((i) => i.id).sort()).toEqual(['drop-dominated.all.e3k7', 'drop-dominated.all.e4k7']);
    expect(dropped.every((i) => /so it is dropped as dominated on latency$/.test(i.sentence))).toBe(true);
    expect(ids(paper, 'layer-cap')).toEqual(['layer-cap.u0.l3']);
    expectPerUnitKeepsAtLeast(perUnit, paper);
    expect(allowed(perUnit.prunedSpace)).toEqual(allowed(PAPER['n10']!));
  });

  it('expansion-bound: every expand-6 block dropped as a family in every unit, kernel 7 kept', () => {
    const { paper, perUnit } = derive('expansion');
    const noExpand6 = MB_BLOCKS.filter((b) => expandOf(b) !== 6);
    expect(allowed(paper.prunedSpace)).toEqual(originalSpace('ofa-mbv3').units.map((u) => ({ blocks: noExpand6, minLayers: u.minLayers, maxLayers: u.maxLayers })));
    expect(paper.kernelVsExpansion!.dominant).toBe('expand');
    const families = paper.insights.filter((i) => i.kind === 'drop-family');
    expect(families.map((i) => i.id)).toEqual(['drop-family.expand-6']);
    expect(families[0]!.sentence).toMatch(/so expand-6 blocks are dropped in every unit$/);
    expect(ids(paper, 'drop-dominated')).toEqual([]);
    expectPerUnitKeepsAtLeast(perUnit, paper);
    expect(allowed(perUnit.prunedSpace)).toEqual(allowed(paper.prunedSpace));
  });

  it('maximum accuracy: every expand-3 block and e4k3 dropped for accuracy, default depths', () => {
    const { paper, perUnit } = derive('max_acc');
    expect(paper.objective).toBe('max-accuracy');
    expect(allowed(paper.prunedSpace)).toEqual(allowed(PAPER['max_acc']!));
    expect(ids(paper, 'drop-low-accuracy')).toEqual(['e3k3', 'e3k5', 'e3k7', 'e4k3'].map((b) => `drop-low-accuracy.all.${b}`));
    expect(ids(paper, 'layer-floor')).toEqual([]);
    expectPerUnitKeepsAtLeast(perUnit, paper);
    expect(allowed(perUnit.prunedSpace)).toEqual(allowed(PAPER['max_acc']!));
  });
});
