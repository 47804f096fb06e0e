import { describe, expect, it } from 'vitest';
import { paperInsightSpaces } from '../pipelines/insights.js';
import { loadSpec } from '../cli/spec-file.js';
import { parseStudySpec, searchBudget } from '../pipelines/study/spec.js';
import { blockCounts } from '../pipelines/network/counts.js';
import { Rng } from '../pipelines/rng.js';
import {
  acceptResults,
  applyStepRecord,
  SEARCH_ARMS,
  architectureFeatures,
  armKey,
  armOfKey,
  armSpace,
  chooseUnitsToMutate,
  compareMaxAccuracyRuns,
  compareParetoRuns,
  comparisonArm,
  comparisonConfigs,
  dominates,
  paperArms,
  evaluateLatencyPredictor,
  fitLatencyPredictor,
  hypervolume,
  initialPopulation,
  isDone,
  MAX_ACCURACY_SEARCH_PRESET,
  mutateArchitecture,
  mutateArchs,
  nextBatch,
  PARETO_SEARCH_PRESET,
  paretoFront,
  paretoFrontIndices,
  paretoLayerIndices,
  plausibleLatency,
  predictLatency,
  runSearch,
  SearchFailedError,
  searchFailure,
  searchConfig,
  searchProgress,
  searchResult,
  sharedReferencePoint,
  sortByAccuracyThenLatencyDescending,
  startSearch,
  stepRecord,
  type EvaluationOutcome,
  type EvaluationResult,
  type LatencySample,
  type Objectives,
  type SearchConfig,
  type SearchResult,
  type SearchState,
  type SearchStepRecord,
} from '../pipelines/search/index.js';
import {
  architectureCounts,
  architectureHash,
  architectureKey,
  buildNetwork,
  originalSpace,
  parseMbBlock,
  validateArchitecture,
  type Architecture,
  type MbArchitecture,
  type BottleneckArchitecture,
  type SpaceDocument,
} from '../pipelines/spaces/index.js';
import { sampleArchitecture } from '../pipelines/sampling.js';

const point = (accuracy: number, latencyMs: number): Objectives => ({ accuracy, latencyMs });

/** §7: the NPU insight space (no k7, unit probabilities 0.25 0.25 0.25 0.5 0.5). */
function npuSpace(): SpaceDocument {
  const probabilities = [0.25, 0.25, 0.25, 0.5, 0.5];
  const original = originalSpace('ofa-mbv3');
  return {
    ...original,
    name: 'npu',
    units: original.units.map((u, i) => ({ ...u, blocks: ['e3k3', 'e3k5', 'e4k3', 'e4k5', 'e6k3', 'e6k5'], mutationProbability: probabilities[i]! })),
  };
}

/** §7: the GPU insight space for ProxylessNAS (its own blocks and depth caps 3 3 3 4 4 1). */
function proxylessGpuSpace(): SpaceDocument {
  const caps = [3, 3, 3, 4, 4, 1];
  const original = originalSpace('proxylessnas');
  return {
    ...original,
    name: 'gpu',
    units: original.units.map((u, i) => ({ ...u, blocks: ['e3k5', 'e4k5', 'e4k7', 'e6k3', 'e6k5', 'e6k7'], maxLayers: caps[i]! })),
  };
}

/** §7: the ResNet max-accuracy space (units 2 and 3 at full depth and widest). */
function resnetMaxAccSpace(): SpaceDocument {
  const original = originalSpace('resnet50');
  const minLayers = [2, 2, 6, 4];
  const widths = [[0, 1, 2], [0, 1, 2], [2], [2]];
  return { ...original, name: 'max_acc', units: original.units.map((u, i) => ({ ...u, minLayers: minLayers[i]!, widths: widths[i]! })) };
}

function expectValid(archs: readonly Architecture[], doc: SpaceDocument): void {
  for (const arch of archs) expect(validateArchitecture(arch, doc)).toEqual(arch);
}

describe('Pareto fronts and hypervolume', () => {
  // Hand-made: 1 and 3 are equal, 2 is dominated by 1, 5 by 0 (same latency), 6 by 4 (same accuracy).
  const points = [point(70, 10), point(75, 20), point(72, 25), point(75, 20), point(80, 40), point(65, 10), point(80, 45)];

  it('finds the non-dominated points, keeping only the first of equal ones', () => {
    expect(dominates(point(75, 20), point(72, 25))).toBe(true);
    expect(dominates(point(75, 20), point(75, 20))).toBe(false);
    expect(paretoFrontIndices(points)).toEqual([0, 1, 4]);
    expect(paretoFront(points)).toEqual([point(70, 10), point(75, 20), point(80, 40)]);
    expect(paretoFrontIndices([])).toEqual([]);
  });

  it('agrees with the pairwise definition on random points with many ties', () => {
    const rng = new Rng('front');
    for (let trial = 0; trial < 50; trial++) {
      const random = Array.from({ length: 40 }, () => point(rng.int(8), rng.int(8)));
      const bruteForce = random.flatMap((p, i) => {
        const beaten = random.some((q, j) => dominates(q, p) || (j < i && q.accuracy === p.accuracy && q.latencyMs === p.latencyMs));
        return beaten ? [] : [i];
      });
      expect(paretoFrontIndices(random)).toEqual(bruteForce);
    }
  });

  it('peels layers: a duplicate of a front point moves to the next layer', () => {
    expect(paretoLayerIndices(points, 5)).toEqual([[0, 1, 4], [3, 5, 6], [2]]);
    expect(paretoLayerIndices(points, 1)).toEqual([[0, 1, 4]]);
  });

  it('sorts the output by (accuracy, latency) descending', () => {
    expect(sortByAccuracyThenLatencyDescending([point(75, 20), point(80, 40), point(80, 45), point(70, 10)])).toEqual([point(80, 45), point(80, 40), point(75, 20), point(70, 10)]);
  });

  it('computes the 2-D hypervolume by hand', () => {
    const reference = { accuracyFloor: 60, latencyCeilingMs: 50 };
    // Strips: (70−60)·(20−10) + (75−60)·(40−20) + (80−60)·(50−40) = 100 + 300 + 200.
    expect(hypervolume(points, reference)).toBeCloseTo(600, 10);
    expect(hypervolume([point(70, 10)], reference)).toBeCloseTo(400, 10);
    // Points outside the reference box add nothing.
    expect(hypervolume([...points, point(90, 60), point(59, 5)], reference)).toBeCloseTo(600, 10);
    expect(hypervolume([], reference)).toBe(0);
    expect(() => hypervolume([point(Number.NaN, 1)], reference)).toThrow(RangeError);
  });

  it('derives one reference point from several fronts', () => {
    const reference = sharedReferencePoint([[point(70, 10), point(80, 40)], [point(60, 30)]], 0.1);
    expect(reference.accuracyFloor).toBeCloseTo(58, 10);
    expect(reference.latencyCeilingMs).toBeCloseTo(43, 10);
    expect(sharedReferencePoint([[point(70, 10)]], 0)).toEqual({ accuracyFloor: 70, latencyCeilingMs: 10 });
  });
});

describe('mutation', () => {
  it('samples a distinct initial population inside the space document', () => {
    for (const doc of [npuSpace(), proxylessGpuSpace(), resnetMaxAccSpace()]) {
      const population = initialPopulation(doc, { size: 100, resolution: 224, rng: new Rng(7) });
      expect(population).toHaveLength(100);
      expect(new Set(population.map(architectureKey)).size).toBe(100);
      expectValid(population, doc);
    }
  });

  it('respects candidates, layer caps, widths and stem rules over long random walks', () => {
    for (const doc of [npuSpace(), proxylessGpuSpace(), resnetMaxAccSpace(), originalSpace('resnet50')]) {
      const rng = new Rng(`walk-${doc.space}-${doc.name}`);
      let arch = sampleArchitecture(doc, rng);
      const depths = new Set<number>();
      for (let i = 0; i < 2000; i++) {
        const child = mutateArchitecture(arch, doc, rng);
        expect(architectureKey(child)).not.toBe(architectureKey(arch));
        expect(validateArchitecture(child, doc)).toEqual(child);
        depths.add(child.units[0]!.length);
        arch = child;
      }
      // The walk reaches every allowed depth of unit 0, and nothing beyond.
      expect([...depths].sort()).toEqual(Array.from({ length: doc.units[0]!.maxLayers - doc.units[0]!.minLayers + 1 }, (_, i) => doc.units[0]!.minLayers + i));
    }
  });

  it('does not modify its input', () => {
    const doc = originalSpace('resnet50');
    const arch = sampleArchitecture(doc, new Rng(1));
    const copy = structuredClone(arch);
    for (let i = 0; i < 50; i++) mutateArchitecture(arch, doc, new Rng(i));
    expect(arch).toEqual(copy);
  });

  it('touches each unit with probability p / P(at least one), the redraw taken into account', () => {
    const doc = npuSpace();
    // Depth 3 everywhere, so add, remove and swap are all valid and every touch changes the unit.
    const parent: MbArchitecture = { space: 'ofa-mbv3', resolution: 224, units: Array.from({ length: 5 }, () => ['e3k3', 'e4k5', 'e6k3']) };
    const probabilities = doc.units.map((u) => u.mutationProbability);
    const noneSelected = probabilities.reduce((acc, p) => acc * (1 - p), 1);
    const trials = 4000;
    const touched = Array<number>(5).fill(0);
    const rng = new Rng('touch');
    for (let i = 0; i < trials; i++) {
      const child = mutateArchitecture(parent, doc, rng) as MbArchitecture;
      child.units.forEach((blocks, u) => {
        if (JSON.stringify(blocks) !== JSON.stringify(parent.units[u])) touched[u]!++;
      });
    }
    probabilities.forEach((p, u) => expect(touched[u]! / trials).toBeCloseTo(p / (1 - noneSelected), 1));
    // Units 3 and 4 (p 0.5) are touched about twice as often as units 0..2 (p 0.25).
    expect(touched[3]! / touched[0]!).toBeGreaterThan(1.7);
  });

  it('touches the ResNet stem with its own probability (0.25)', () => {
    const doc = originalSpace('resnet50');
    const parent = sampleArchitecture(doc, new Rng(3)) as BottleneckArchitecture;
    const rng = new Rng('stem');
    const trials = 4000;
    let stemTouched = 0;
    for (let i = 0; i < trials; i++) {
      const child = mutateArchitecture(parent, doc, rng) as BottleneckArchitecture;
      if (JSON.stringify(child.stem) !== JSON.stringify(parent.stem)) stemTouched++;
    }
    const expected = 0.25 / (1 - 0.75 * 0.5 ** 4);
    expect(Math.abs(stemTouched / trials - expected)).toBeLessThan(0.03);
  });

  it('selects at least one unit, and never one with probability 0', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 500; i++) {
      const chosen = chooseUnitsToMutate([0.1, 0, 0.1], rng);
      expect(chosen.length).toBeGreaterThan(0);
      expect(chosen).not.toContain(1);
    }
    expect(chooseUnitsToMutate([0, 0], rng)).toEqual([]);
  });

  it('produces a batch of distinct valid children, deterministically per seed', () => {
    const doc = proxylessGpuSpace();
    const parents = initialPopulation(doc, { size: 5, resolution: 224, rng: new Rng(1) });
    for (const depth of [1, 3]) {
      const batch = mutateArchs(parents, doc, { budget: 60, depth, rng: new Rng(2) });
      expect(batch).toHaveLength(60);
      expect(new Set(batch.map(architectureKey)).size).toBe(60);
      expectValid(batch, doc);
      expect(mutateArchs(parents, doc, { budget: 60, depth, rng: new Rng(2) })).toEqual(batch);
      expect(mutateArchs(parents, doc, { budget: 60, depth, rng: new Rng(3) })).not.toEqual(batch);
    }
    expect(mutateArchs([], doc, { budget: 10, depth: 1, rng: new Rng(1) })).toEqual([]);
  });

  it('gives up when the space has no new children left instead of spinning forever', () => {
    // Four architectures in all: only unit 0 can change (two blocks, fixed depth 2).
    const original = originalSpace('ofa-mbv3');
    const tiny: SpaceDocument = {
      ...original,
      name: 'tiny',
      units: original.units.map((u, i) => ({ ...u, blocks: i === 0 ? ['e3k3', 'e6k7'] : ['e3k3'], maxLayers: 2 })),
    };
    const [parent] = initialPopulation(tiny, { size: 1, resolution: 224, rng: new Rng(1) });
    // One mutation swaps one of unit 0's two blocks: two children. Chains of two reach all four.
    const batch = mutateArchs([parent!], tiny, { budget: 50, depth: 1, rng: new Rng(1) });
    expect(batch).toHaveLength(2);
    expect(batch.map(architectureKey)).not.toContain(architectureKey(parent!));
    expect(mutateArchs([parent!], tiny, { budget: 50, depth: 2, rng: new Rng(1) })).toHaveLength(4);
    expect(initialPopulation(tiny, { size: 10, resolution: 224, rng: new Rng(1) })).toHaveLength(4);
  });
});

/** A per-block score with a unique best architecture: every unit at 3 layers of e6k7. */
const LADDER = ['e3k3', 'e4k5', 'e6k5', 'e6k7'];
function ladderSpace(): SpaceDocument {
  const original = originalSpace('ofa-mbv3');
  return { ...original, name: 'ladder', units: original.units.map((u) => ({ ...u, blocks: [...LADDER], maxLayers: 3, mutationProbability: 0.2 })) };
}
const ladderScore = (arch: Architecture) => arch.units.flat().reduce((acc, block) => acc + 1 + LADDER.indexOf(block), 0);

/** A synthetic device on which kernel 7 costs 3× kernel 3 but is no more accurate than kernel 5. */
const UNIT_COST = [1.0, 0.8, 0.6, 0.7, 0.5];
const KERNEL_LATENCY: Record<number, number> = { 3: 1, 5: 1.3, 7: 3 };
const KERNEL_ACCURACY: Record<number, number> = { 3: 0, 5: 0.4, 7: 0.35 };
function slowKernel7(arch: Architecture): EvaluationResult {
  let accuracy = 60;
  let latencyMs = 2;
  arch.units.forEach((blocks, u) =>
    blocks.forEach((block) => {
      const { expand, kernel } = parseMbBlock(block)!;
      accuracy += (0.3 * expand) / 3 + KERNEL_ACCURACY[kernel]!;
      latencyMs += UNIT_COST[u]! * (expand / 3) * KERNEL_LATENCY[kernel]!;
    }),
  );
  return { accuracy, latencyMs };
}

/** Evaluates synchronously, checks every architecture against the space and that none is evaluated twice. */
function checkingEvaluator(doc: SpaceDocument, objective: (arch: Architecture) => EvaluationResult) {
  const seen = new Set<string>();
  return async (archs: Architecture[]): Promise<EvaluationResult[]> =>
    archs.map((arch) => {
      expect(validateArchitecture(arch, doc)).toEqual(arch);
      const hash = architectureHash(arch);
      expect(seen.has(hash)).toBe(false);
      seen.add(hash);
      return objective(arch);
    });
}

describe('search', () => {
  const smallPareto = (doc: SpaceDocument, seed: number): SearchConfig => searchConfig(doc, 'pareto', { seed, initialSize: 30, iterations: 5, budgetPerIteration: 40 });

  it('provides the paper defaults as presets', () => {
    expect(PARETO_SEARCH_PRESET).toMatchObject({ initialSize: 100, iterations: 10, budgetPerIteration: 200, paretoLayers: 1, mutationDepth: 1, resolution: 224, seed: 12345 });
    expect(MAX_ACCURACY_SEARCH_PRESET).toMatchObject({ initialSize: 20, iterations: 4, budgetPerIteration: 50, topK: 10, mutationDepth: 1 });
    expect(searchConfig(npuSpace(), 'pareto', { seed: 1 })).toMatchObject({ ...PARETO_SEARCH_PRESET, seed: 1 });
  });

  it("compares the arms a study names: the original and derived spaces by default, the paper's spaces on request", () => {
    expect(parseStudySpec({ name: 'arms', space: 'ofa-mbv3' }).search.spaces).toEqual(['original', 'derived']);
    const fig8 = parseStudySpec({ name: 'arms', space: 'ofa-mbv3', search: { spaces: ['original', 'paper:npu', 'derived'] } });
    expect(fig8.search.spaces).toEqual(['original', 'paper:npu', 'derived']);
    expect(armSpace('ofa-mbv3', 'paper:npu')).toEqual(paperInsightSpaces('ofa-mbv3')['npu']);
    expect(armSpace('ofa-mbv3', 'original')).toEqual(originalSpace('ofa-mbv3'));
    expect(() => armSpace('ofa-mbv3', 'derived')).toThrow(/needs the space the insights derived/);
    // Keys: the derived arm keeps the name its results had before arms existed.
    expect(SEARCH_ARMS.map(armKey)).toEqual(['original', 'pruned', 'paper-npu', 'paper-gpu', 'paper-cpu', 'paper-n10', 'paper-max_acc']);
    for (const arm of SEARCH_ARMS) expect(armOfKey(armKey(arm))).toBe(arm);
    expect(armOfKey('remeasured')).toBeUndefined();
    const refuse = (space: string, spaces: unknown) => () => parseStudySpec({ name: 'arms', space, search: { spaces } });
    expect(refuse('ofa-mbv3', ['derived', 'paper:gpu'])).toThrow(/search.spaces: must include "original", the baseline/);
    expect(refuse('ofa-mbv3', ['original', 'derived', 'original'])).toThrow(/search.spaces: a space is listed twice/);
    expect(refuse('ofa-mbv3', ['original'])).toThrow(/search.spaces: /);
    expect(refuse('ofa-mbv3', ['original', 'paper:tpu'])).toThrow(/search.spaces\[1\]: got an invalid value; allowed: "original", "derived", "paper:npu"/);
    expect(refuse('proxylessnas', ['original', 'paper:n10'])).toThrow(
      /search.spaces\[1\]: the paper has no n10 space for proxylessnas; allowed paper spaces: "paper:npu", "paper:gpu", "paper:cpu", "paper:max_acc"/,
    );
    expect(refuse('resnet50', ['original', 'paper:npu'])).toThrow(/allowed paper spaces: "paper:max_acc"/);
    expect(paperArms('resnet50')).toEqual(['paper:max_acc']);
  });

  it("gives each objective of a study its own budget: the paper's by default, overridable per field", () => {
    const spec = parseStudySpec({ name: 'budgets', space: 'ofa-mbv3', search: { objectives: ['pareto', 'max-accuracy'] } });
    expect(searchBudget(spec.search, 'pareto')).toEqual({ initialSize: 100, iterations: 10, budgetPerIteration: 200 });
    expect(searchBudget(spec.search, 'max-accuracy')).toEqual({ initialSize: 20, iterations: 4, budgetPerIteration: 50, topK: 10 });
    const custom = parseStudySpec({ name: 'budgets', space: 'ofa-mbv3', search: { initialSize: 6, maxAccuracy: { iterations: 2, topK: 3 } } });
    expect(searchBudget(custom.search, 'pareto')).toEqual({ initialSize: 6, iterations: 10, budgetPerIteration: 200 });
    expect(searchBudget(custom.search, 'max-accuracy')).toEqual({ initialSize: 20, iterations: 2, budgetPerIteration: 50, topK: 3 });
    expect(searchConfig(npuSpace(), 'max-accuracy', searchBudget(custom.search, 'max-accuracy'))).toMatchObject({ objective: 'max-accuracy', iterations: 2, topK: 3 });
    expect(() => parseStudySpec({ name: 'b', space: 'ofa-mbv3', search: { maxAccuracy: { topk: 3 } } })).toThrow(/search.maxAccuracy.topk: unknown field/);
    expect(() => parseStudySpec({ name: 'b', space: 'ofa-mbv3', search: { maxAccuracy: { initialSize: 1 } } })).toThrow(/search.maxAccuracy.initialSize: /);
    // The paper presets spell both budgets out, and they are the paper's.
    for (const preset of ['paper-ofa-mbv3', 'paper-proxylessnas', 'paper-resnet50']) {
      const paper = loadSpec(preset);
      expect(paper.search.objectives.map((o) => searchBudget(paper.search, o))).toEqual([
        { initialSize: 100, iterations: 10, budgetPerIteration: 200 },
        { initialSize: 20, iterations: 4, budgetPerIteration: 50, topK: 10 },
      ]);
    }
  });

  it('finds the unique optimum of a synthetic objective within budget', async () => {
    const doc = ladderSpace();
    for (const seed of [1, 2, 3]) {
      const config = searchConfig(doc, 'max-accuracy', { seed, iterations: 25, topK: 2 });
      const result = await runSearch(
        config,
        checkingEvaluator(doc, (arch) => ({ accuracy: ladderScore(arch), latencyMs: 1 })),
      );
      expect(result.top[0]!.arch.units).toEqual(Array.from({ length: 5 }, () => ['e6k7', 'e6k7', 'e6k7']));
      expect(result.evaluationCount).toBeLessThanOrEqual(config.initialSize + config.iterations * config.budgetPerIteration);
    }
  });

  it('is deterministic per seed, and the seed matters', async () => {
    const doc = originalSpace('ofa-mbv3');
    const evaluate = async (archs: Architecture[]) => archs.map(slowKernel7);
    const first = await runSearch(smallPareto(doc, 1), evaluate);
    expect(await runSearch(smallPareto(doc, 1), evaluate)).toEqual(first);
    const other = await runSearch(smallPareto(doc, 2), evaluate);
    expect(other.front.map((e) => e.hash)).not.toEqual(first.front.map((e) => e.hash));
  });

  it('drives identically step by step (through JSON) and with runSearch, never re-evaluating', async () => {
    const doc = npuSpace();
    const config = searchConfig(doc, 'pareto', { seed: 4, initialSize: 20, iterations: 6, budgetPerIteration: 30, paretoLayers: 2, mutationDepth: 2 });
    const viaRun = await runSearch(config, checkingEvaluator(doc, slowKernel7));
    let state: SearchState = startSearch(config);
    while (!isDone(state)) {
      const batch = nextBatch(state);
      expect(nextBatch(state)).toEqual(batch);
      // A workflow would persist the state between steps: it must survive JSON unchanged.
      state = JSON.parse(JSON.stringify(acceptResults(state, batch.map(slowKernel7)))) as SearchState;
    }
    expect(searchResult(state)).toEqual(viaRun);
    expect(state.trace).toHaveLength(7);
    expect(state.trace.reduce((acc, s) => acc + s.reused, 0)).toBeGreaterThan(0);
    expect(viaRun.evaluationCount).toBe(state.trace.reduce((acc, s) => acc + s.evaluated, 0));
    expect(viaRun.front.length).toBeGreaterThan(0);
    const reported = sortByAccuracyThenLatencyDescending(paretoFront(state.evaluations));
    expect(viaRun.front.map((e) => e.hash)).toEqual(reported.map((e) => e.hash));
    expect(() => acceptResults(startSearch(config), [])).toThrow(/expected 20 results/);
    expect(() => nextBatch(state)).toThrow(/done/);
  });

  it('gives the pruned space (no kernel 7) a larger hypervolume on a device where kernel 7 is slow', async () => {
    const original = originalSpace('ofa-mbv3');
    const pruned: SpaceDocument = { ...original, name: 'no-k7', units: original.units.map((u) => ({ ...u, blocks: u.blocks.filter((b) => !b.endsWith('k7')) })) };
    const arms = comparisonConfigs(
      { ...PARETO_SEARCH_PRESET, initialSize: 30, iterations: 5, budgetPerIteration: 40 },
      [
        { arm: 'original', space: original },
        { arm: 'derived', space: pruned },
      ],
      [1, 2, 3],
    );
    expect(arms.map((a) => a.configs.map((c) => c.seed))).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    const evaluate = async (archs: Architecture[]) => archs.map(slowKernel7);
    const runs = { device: 'synthetic', arms: await Promise.all(arms.map(async ({ arm, configs }) => ({ arm, runs: await Promise.all(configs.map((c) => runSearch(c, evaluate))) }))) };
    const comparison = compareParetoRuns(runs);
    expect(comparison.seeds).toEqual([1, 2, 3]);
    expect(comparison.baseline).toBe('original');
    const [base, derived] = [comparisonArm(comparison, 'original'), comparisonArm(comparison, 'derived')];
    derived.hypervolume.values.forEach((hv, i) => expect(hv).toBeGreaterThan(base.hypervolume.values[i]!));
    expect(derived.ratio!).toBeGreaterThan(1.05);
    expect(base.ratio).toBe(1);
  });

  it('keeps a MACs constraint without evaluating the architectures over it', async () => {
    const doc = originalSpace('ofa-mbv3');
    const limit = 300e6;
    const evaluate = checkingEvaluator(doc, (arch) => {
      expect(architectureCounts(arch).macs).toBeLessThanOrEqual(limit);
      return { accuracy: ladderScore(arch), latencyMs: 1 };
    });
    const result = await runSearch(searchConfig(doc, 'max-accuracy', { seed: 1, constraint: { metric: 'macs', limit } }), evaluate);
    expect(result.trace.reduce((acc, s) => acc + s.skipped, 0)).toBeGreaterThan(0);
    expect(result.top).toHaveLength(10);
    for (const entry of result.top) expect(entry.macs).toBeLessThanOrEqual(limit);
    expect(result.constraint).toEqual({ metric: 'macs', limit });
  });

  it('keeps a measured-latency constraint out of the archive', async () => {
    const doc = originalSpace('ofa-mbv3');
    const config = searchConfig(doc, 'max-accuracy', { seed: 2, constraint: { metric: 'latency', limit: 30 } });
    let state = startSearch(config);
    while (!isDone(state)) state = acceptResults(state, nextBatch(state).map(slowKernel7));
    const result = searchResult(state);
    expect(state.evaluations.some((e) => !e.feasible)).toBe(true);
    expect(result.archiveSize).toBe(state.evaluations.filter((e) => e.latencyMs <= 30).length);
    for (const entry of [...result.top, ...result.front]) expect(entry.latencyMs).toBeLessThanOrEqual(30);
  });

  it('rejects invalid configurations', () => {
    const doc = originalSpace('ofa-mbv3');
    expect(() => startSearch({ ...searchConfig(doc, 'pareto'), resolution: 225 })).toThrow(/resolution/);
    expect(() => startSearch({ ...searchConfig(doc, 'pareto'), iterations: 1.5 })).toThrow(/iterations/);
    expect(() => startSearch(searchConfig(doc, 'pareto', { constraint: { metric: 'macs', limit: 1 } }))).toThrow(/max-accuracy/);
  });
});

/** Synthetic additive device: a cost per (unit, first/rest, block), 2% multiplicative noise. */
function additiveLatency(arch: Architecture, rng: Rng, noise = 0.02): number {
  let latency = 3;
  arch.units.forEach((blocks, u) =>
    blocks.forEach((block, l) => {
      const { expand, kernel } = parseMbBlock(block)!;
      latency += (l === 0 ? 1.5 : 1) * (0.2 + 0.1 * u) * (expand / 3) * (kernel / 3) ** 1.5;
    }),
  );
  return latency * (1 + noise * (2 * rng.next() - 1));
}

function samples(doc: SpaceDocument, count: number, seed: number, latency: (arch: Architecture, rng: Rng) => number, resolutions = [224]): LatencySample[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const arch = sampleArchitecture(doc, rng, rng.choice(resolutions));
    return { arch, latencyMs: latency(arch, rng) };
  });
}

describe('latency predictor', () => {
  const doc = originalSpace('ofa-mbv3');

  it('fits additive latencies with noise: small MAPE, high tau on held-out data', () => {
    const model = fitLatencyPredictor(samples(doc, 600, 1, additiveLatency));
    const heldOut = evaluateLatencyPredictor(model, samples(doc, 200, 2, additiveLatency));
    expect(heldOut.n).toBe(200);
    expect(heldOut.mape).toBeLessThan(0.02);
    expect(heldOut.kendallTau).toBeGreaterThan(0.9);
    // The model is plain JSON.
    const restored = JSON.parse(JSON.stringify(model)) as typeof model;
    const arch = sampleArchitecture(doc, new Rng(9));
    expect(predictLatency(restored, arch)).toBeCloseTo(predictLatency(model, arch), 9);
  });

  it('recovers noise-free additive latencies almost exactly', () => {
    const exact = (arch: Architecture, rng: Rng) => additiveLatency(arch, rng, 0);
    // An additive truth is what the latency target models exactly.
    const model = fitLatencyPredictor(samples(doc, 400, 3, exact), { lambda: 1e-6, target: 'latency' });
    expect(evaluateLatencyPredictor(model, samples(doc, 100, 4, exact)).mape).toBeLessThan(1e-4);
  });

  it('learns a per-block table across resolutions with block features', () => {
    // Latency proportional to each block's MACs plus a fixed per-block overhead.
    const perBlock = (arch: Architecture) => buildNetwork(arch).blocks.reduce((acc, block) => acc + 0.05 + blockCounts(block).macs / 2e7, 0);
    const train = samples(doc, 500, 5, perBlock, [160, 192, 224]);
    const test = samples(doc, 150, 6, perBlock, [160, 192, 224]);
    const blocks = evaluateLatencyPredictor(fitLatencyPredictor(train, { features: 'blocks', lambda: 1e-3, target: 'latency' }), test);
    expect(blocks.mape).toBeLessThan(0.005);
    expect(blocks.kendallTau).toBeGreaterThan(0.98);
    // Structure features ignore the shapes; fitting log latency makes resolution a factor, which helps.
    const linear = evaluateLatencyPredictor(fitLatencyPredictor(train, { target: 'latency' }), test);
    const log = evaluateLatencyPredictor(fitLatencyPredictor(train, { target: 'log-latency' }), test);
    expect(log.mape).toBeLessThan(linear.mape);
  });

  it('handles ResNet widths and stem', () => {
    const resnet = originalSpace('resnet50');
    const latency = (arch: Architecture, rng: Rng) => {
      const r = arch as BottleneckArchitecture;
      let total = 5 + (r.stem.skip ? 0 : 2) + r.stem.outWidth;
      r.units.forEach((blocks, u) => blocks.forEach((b) => (total += (1 + r.widths[u]!) * (u + 1) * Number(b.slice(1)) * 4)));
      return total * (1 + 0.01 * (2 * rng.next() - 1));
    };
    const model = fitLatencyPredictor(samples(resnet, 600, 7, latency), { target: 'latency' });
    const heldOut = evaluateLatencyPredictor(model, samples(resnet, 200, 8, latency));
    expect(heldOut.mape).toBeLessThan(0.02);
    expect(heldOut.kendallTau).toBeGreaterThan(0.9);
    expect(architectureFeatures(sampleArchitecture(resnet, new Rng(1)), 'structure').has('stem.skip')).toBe(true);
  });

  it('never predicts a non-positive or absurd latency from few noisy samples and many features', () => {
    // The shape that stalled a demo study: a few dozen measured architectures for ~100 structure features,
    // labels with the noise of a shared host (timed-run CVs up to 77% were seen; here ±80%), predictions
    // for thousands of unseen candidates.
    const noisy = (arch: Architecture, rng: Rng) => additiveLatency(arch, rng, 0.8);
    const train = samples(doc, 40, 11, noisy);
    const candidates = Array.from({ length: 3000 }, (_, i) => sampleArchitecture(doc, new Rng(1000 + i)));
    // The additive model (latency target, the former default) extrapolates below zero for some of them.
    const linear = fitLatencyPredictor(train, { target: 'latency' });
    const linearPredictions = candidates.map((arch) => predictLatency(linear, arch));
    expect(Math.min(...linearPredictions)).toBeLessThan(0);
    // ... and none of those reaches a search: plausibleLatency rejects each with the value and the range.
    for (const [i, arch] of candidates.entries()) {
      const prediction = plausibleLatency(linear, arch);
      if (linearPredictions[i]! <= 0) expect(prediction).toEqual({ rejected: expect.stringMatching(/extrapolated -[\d.e-]+ ms, outside the plausible range/) });
    }
    // The default model (log-latency target) predicts positive latencies by construction, within the range.
    const model = fitLatencyPredictor(train);
    expect(model.target).toBe('log-latency');
    const { min, max } = model.trainingRangeMs!;
    for (const arch of candidates) {
      const prediction = plausibleLatency(model, arch);
      expect('latencyMs' in prediction && prediction.latencyMs > min / 4 && prediction.latencyMs < max * 4).toBe(true);
    }
  });

  it('rejects predictions of a stored model without a training range only when they are not positive', () => {
    const model = fitLatencyPredictor(samples(doc, 50, 12, additiveLatency), { target: 'latency' });
    const { trainingRangeMs: _range, ...legacy } = model;
    const arch = sampleArchitecture(doc, new Rng(5));
    expect(plausibleLatency(legacy, arch)).toEqual({ latencyMs: predictLatency(model, arch) });
    expect(plausibleLatency({ ...legacy, intercept: legacy.intercept - 1e6 }, arch)).toEqual({ rejected: expect.stringMatching(/outside the positive latencies/) });
  });

  it('rejects unusable input', () => {
    expect(() => fitLatencyPredictor([])).toThrow(RangeError);
    expect(() => fitLatencyPredictor(samples(doc, 10, 1, additiveLatency), { lambda: 0 })).toThrow(/lambda/);
  });
});

describe('search with rejected candidates', () => {
  const doc = originalSpace('ofa-mbv3');
  const config = searchConfig(doc, 'pareto', { seed: 4, initialSize: 20, iterations: 3, budgetPerIteration: 20 });
  /** Rejects (or returns a bad value for) the architectures whose first unit has depth 2: about a third. */
  const sometimesBroken = (bad: (arch: Architecture) => EvaluationOutcome) => async (archs: Architecture[]) =>
    archs.map((arch): EvaluationOutcome => (arch.units[0]!.length === 2 ? bad(arch) : slowKernel7(arch)));

  it('records a candidate with a bad result or a rejection, skips it, never retries it, and goes on', async () => {
    const variants: [string, (arch: Architecture) => EvaluationOutcome, RegExp][] = [
      ['negative latency', (arch) => ({ ...slowKernel7(arch), latencyMs: -0.5 }), /latency must be a positive number of ms, got -0.5/],
      ['NaN accuracy', (arch) => ({ ...slowKernel7(arch), accuracy: Number.NaN }), /accuracy must be a finite number, got null/],
      ['rejection', () => ({ rejected: 'the predictor extrapolated' }), /the predictor extrapolated/],
    ];
    for (const [name, bad, reason] of variants) {
      const evaluated = new Set<string>();
      const result = await runSearch(config, async (archs) => {
        for (const arch of archs) {
          expect(evaluated.has(architectureHash(arch)), name).toBe(false);
          evaluated.add(architectureHash(arch));
        }
        return sometimesBroken(bad)(archs);
      });
      expect(result.rejected!.length, name).toBeGreaterThan(0);
      for (const r of result.rejected!) {
        expect(r.arch.units[0]).toHaveLength(2);
        expect(r.reason).toMatch(reason);
      }
      expect(result.front.concat(result.top).every((e) => e.arch.units[0]!.length > 2 && e.latencyMs > 0 && Number.isFinite(e.accuracy))).toBe(true);
      expect(result.evaluationCount).toBe(evaluated.size);
      expect(result.trace.reduce((n, step) => n + step.rejected, 0)).toBe(result.rejected!.length);
      expect(result.completedIterations).toBe(3);
    }
  });

  it('fails with the reasons when most candidates are rejected', async () => {
    const mostlyBroken = async (archs: Architecture[]) =>
      archs.map((arch): EvaluationOutcome => (arch.units[0]!.length === 4 ? slowKernel7(arch) : { ...slowKernel7(arch), latencyMs: -1 }));
    await expect(runSearch(config, mostlyBroken)).rejects.toThrow(SearchFailedError);
    await expect(runSearch(config, mostlyBroken)).rejects.toThrow(
      /of the 20 candidates evaluated by step 0 were rejected \(more than 50%\).*latency must be a positive number of ms, got -1/,
    );
    // One rejection among many is not a failure.
    let state = startSearch(config);
    const batch = nextBatch(state);
    state = acceptResults(
      state,
      batch.map((arch, i) => (i === 0 ? { rejected: 'one bad' } : slowKernel7(arch))),
    );
    expect(searchFailure(state)).toBeUndefined();
    expect(state.rejections).toEqual([{ hash: architectureHash(batch[0]!), arch: batch[0], step: 0, reason: 'one bad' }]);
  });
});

describe('a search stored step by step', () => {
  const doc = originalSpace('ofa-mbv3');
  const config = searchConfig(doc, 'pareto', { seed: 9, initialSize: 20, iterations: 4, budgetPerIteration: 20 });
  /** Rejects the architectures whose first unit has depth 2 (about a third, under the failure share). */
  const outcome = (arch: Architecture): EvaluationOutcome => (arch.units[0]!.length === 2 ? { rejected: 'depth 2' } : slowKernel7(arch));

  it('rebuilds from its step records (as stored, through JSON) exactly the state acceptResults produced', () => {
    let state = startSearch(config);
    const records: SearchStepRecord[] = [];
    while (!isDone(state)) {
      const after = acceptResults(state, nextBatch(state).map(outcome));
      records.push(JSON.parse(JSON.stringify(stepRecord(state, after))) as SearchStepRecord);
      state = after;
    }
    expect(records.map((r) => r.step)).toEqual([0, 1, 2, 3, 4]);
    // Each record holds only its own step's evaluations: together, every evaluation once.
    expect(records.reduce((n, r) => n + r.evaluations.length + r.rejections.length, 0)).toBe(state.evaluations.length + state.rejections.length);
    expect(records.every((r) => r.evaluations.length + r.rejections.length <= 20)).toBe(true);
    const rebuilt = records.reduce(applyStepRecord, startSearch(config));
    expect(rebuilt).toEqual(state);
    expect(searchResult(rebuilt)).toEqual(searchResult(state));
    // From a middle state (an old checkpoint) on, too.
    const middle = records.slice(0, 2).reduce(applyStepRecord, startSearch(config));
    expect(records.slice(2).reduce(applyStepRecord, JSON.parse(JSON.stringify(middle)) as SearchState)).toEqual(state);
    expect(() => applyStepRecord(startSearch(config), records[1]!)).toThrow(/the record of step 1 cannot follow a state at step 0/);
  });

  it('reports its progress in a few numbers: next step, evaluations, rejections, best accuracy, failure', () => {
    const first = acceptResults(startSearch(config), nextBatch(startSearch(config)).map(outcome));
    const progress = searchProgress(first);
    expect(progress).toEqual({
      step: 1,
      iterations: 4,
      done: false,
      evaluations: 20,
      rejected: first.rejections.length,
      bestAccuracy: Math.max(...first.evaluations.map((e) => e.accuracy)),
    });
    expect(progress.rejected).toBeGreaterThan(0);
    expect(searchProgress(startSearch(config)).bestAccuracy).toBeNull();
    const broken = acceptResults(
      startSearch(config),
      nextBatch(startSearch(config)).map(() => ({ rejected: 'broken' })),
    );
    expect(searchProgress(broken).failure).toMatch(/20 of the 20 candidates evaluated by step 0 were rejected/);
  });
});

describe('comparison', () => {
  const result = (spaceName: string, seed: number, front: Objectives[], best = { accuracy: 0, macs: 0 }): SearchResult => ({
    objective: 'pareto',
    space: 'ofa-mbv3',
    spaceName,
    seed,
    resolution: 224,
    budget: { initialSize: 10, iterations: 2, budgetPerIteration: 5 },
    completedIterations: 2,
    front: front.map((p, i) => ({ ...p, hash: `${spaceName}${seed}-${i}`, arch: { space: 'ofa-mbv3', resolution: 224, units: [] }, macs: 0, feasible: true })),
    top: [{ ...best, latencyMs: 1, hash: 'best', arch: { space: 'ofa-mbv3', resolution: 224, units: [] }, feasible: true }],
    evaluationCount: 20,
    archiveSize: 20,
    trace: [],
  });

  it('reports hypervolume per seed, mean ± std and the ratio against one reference point', () => {
    const reference = { accuracyFloor: 60, latencyCeilingMs: 50 };
    const comparison = compareParetoRuns(
      {
        device: 'npu',
        arms: [
          { arm: 'original', runs: [result('original', 1, [point(70, 10)]), result('original', 2, [point(70, 30)])] },
          { arm: 'derived', runs: [result('pruned', 1, [point(70, 10), point(80, 40)]), result('pruned', 2, [point(80, 10)])] },
          { arm: 'paper:npu', runs: [result('npu', 1, [point(75, 20)]), result('npu', 2, [point(75, 20)])] },
        ],
      },
      { reference },
    );
    // Original: 10·40 = 400 and 10·20 = 200. Derived: 10·30 + 20·10 = 500 and 20·40 = 800. Paper npu: 15·30 = 450 twice.
    const [original, derivedArm, npu] = comparison.arms;
    expect(comparison.arms.map((a) => a.arm)).toEqual(['original', 'derived', 'paper:npu']);
    expect(original!.hypervolume.values).toEqual([400, 200]);
    expect(derivedArm!.hypervolume.values).toEqual([500, 800]);
    expect(npu!.hypervolume).toEqual({ mean: 450, std: 0, values: [450, 450] });
    expect(original!.hypervolume.mean).toBe(300);
    expect(original!.hypervolume.std).toBe(100);
    expect(original!.ratio).toBe(1);
    expect(derivedArm!.ratio).toBeCloseTo(650 / 300, 12);
    expect(npu!.ratio).toBeCloseTo(450 / 300, 12);
    // Without a given reference, one is derived from all the arms' fronts.
    const derived = compareParetoRuns({
      device: 'npu',
      arms: [
        { arm: 'original', runs: [result('o', 1, [point(70, 10)])] },
        { arm: 'derived', runs: [result('p', 1, [point(80, 40)])] },
      ],
    });
    expect(derived.reference.accuracyFloor).toBeCloseTo(69, 10);
    expect(derived.reference.latencyCeilingMs).toBeCloseTo(43, 10);
  });

  it('summarises max-accuracy runs as Table 2 (best accuracy and its MACs)', () => {
    const asMaxAccuracy = (r: SearchResult): SearchResult => ({ ...r, objective: 'max-accuracy' });
    const comparison = compareMaxAccuracyRuns({
      device: 'gpu',
      arms: [
        { arm: 'original', runs: [result('o', 1, [], { accuracy: 76, macs: 300e6 }), result('o', 2, [], { accuracy: 78, macs: 500e6 })].map(asMaxAccuracy) },
        { arm: 'paper:max_acc', runs: [result('p', 1, [], { accuracy: 79, macs: 400e6 }), result('p', 2, [], { accuracy: 79, macs: 400e6 })].map(asMaxAccuracy) },
      ],
    });
    expect(comparison.baseline).toBe('original');
    expect(comparisonArm(comparison, 'original').accuracy).toEqual({ mean: 77, std: 1, values: [76, 78] });
    expect(comparisonArm(comparison, 'original').macs.mean).toBe(400e6);
    expect(comparisonArm(comparison, 'paper:max_acc').accuracy.std).toBe(0);
    expect(() => comparisonArm(comparison, 'derived')).toThrow(/no arm derived \(it has original, paper:max_acc\)/);
  });

  it('refuses runs that are not paired by seed and budget', () => {
    const original = { arm: 'original', runs: [result('o', 1, [point(70, 10)])] };
    const pair = (runs: SearchResult[]) => ({ device: 'x', arms: [original, { arm: 'derived', runs }] });
    expect(() => compareParetoRuns(pair([result('p', 2, [point(70, 10)])]))).toThrow(/seed/);
    const bigger = { ...result('p', 1, [point(70, 10)]), budget: { initialSize: 10, iterations: 3, budgetPerIteration: 5 } };
    expect(() => compareParetoRuns(pair([bigger]))).toThrow(/budget/);
    expect(() => compareParetoRuns(pair([]))).toThrow(RangeError);
    expect(() => compareParetoRuns({ device: 'x', arms: [original] })).toThrow(/at least two arms/);
    expect(() => compareParetoRuns({ device: 'x', arms: [original, original] })).toThrow(/listed twice/);
  });
});
