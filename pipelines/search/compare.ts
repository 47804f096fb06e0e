/**
 * The paper's proof of its insights: search the original space and pruned ones (the study's arms) with the same
 * budget over several seeds, then compare Pareto fronts (by hypervolume) or the best accuracy reached (Table 2).
 * Pure: it plans the runs and summarises their results; running them is the caller's business.
 */
import type { Seed } from '../rng.js';
import type { SpaceDocument } from '../spaces/types.js';
import { mean, std } from '../stats.js';
import { DEFAULT_REFERENCE_MARGIN, hypervolume, sharedReferencePoint, type ReferencePoint } from './pareto.js';
import type { SearchConfig, SearchObjective, SearchResult } from './search.js';

/** Five seeds, as the paper; which seeds it used is not recorded, so these are ours. */
export const COMPARISON_SEEDS: readonly Seed[] = [1, 2, 3, 4, 5];

/** One arm's runs (one space, one run per seed), named as the study names it ('original', 'derived', 'paper:npu'). */
export interface ArmRuns {
  arm: string;
  runs: SearchResult[];
}

/** Every arm's runs for one device (its latency) and one objective; `arms[0]` is the baseline the others are compared to. */
export interface ComparisonRuns {
  device: string;
  arms: ArmRuns[];
}

/** Mean ± std (population, as numpy's default) over seeds, with the per-seed values in seed order. */
export interface MeanStd {
  mean: number;
  std: number;
  values: number[];
}

export interface ArmHypervolume {
  arm: string;
  hypervolume: MeanStd;
  /** mean hypervolume / the baseline's (> 1: the arm's space helped); null if the baseline's is 0. */
  ratio: number | null;
}

export interface ParetoComparison {
  objective: 'pareto';
  device: string;
  seeds: Seed[];
  /** Shared by every front of every arm on this device. */
  reference: ReferencePoint;
  baseline: string;
  arms: ArmHypervolume[];
}

/** One arm's row of the paper's Table 2: the best accuracy each run reached, and that architecture's MACs. */
export interface ArmBest {
  arm: string;
  accuracy: MeanStd;
  macs: MeanStd;
}

export interface MaxAccuracyComparison {
  objective: 'max-accuracy';
  device: string;
  seeds: Seed[];
  baseline: string;
  arms: ArmBest[];
}

export type SearchComparison = ParetoComparison | MaxAccuracyComparison;

/** One configuration per arm and seed, identical except for the space: equal budgets by construction. */
export function comparisonConfigs(
  base: Omit<SearchConfig, 'space' | 'seed'>,
  arms: readonly { arm: string; space: SpaceDocument }[],
  seeds: readonly Seed[] = COMPARISON_SEEDS,
): { arm: string; configs: SearchConfig[] }[] {
  return arms.map(({ arm, space }) => ({ arm, configs: seeds.map((seed) => ({ ...base, space, seed })) }));
}

function meanStd(values: number[]): MeanStd {
  return { mean: mean(values), std: std(values), values };
}

/** Checks that every arm ran the same seeds with the same objective and budget, each on one space; returns the seeds. */
function pairedSeeds(runs: ComparisonRuns, objective: SearchObjective): Seed[] {
  const [baseline, ...others] = runs.arms;
  if (!baseline || others.length === 0) throw new RangeError(`${runs.device}: a comparison needs at least two arms, got ${runs.arms.length}`);
  if (new Set(runs.arms.map((a) => a.arm)).size !== runs.arms.length) throw new RangeError(`${runs.device}: an arm is listed twice (${runs.arms.map((a) => a.arm).join(', ')})`);
  const budget = JSON.stringify(baseline.runs[0]?.budget);
  for (const { arm, runs: results } of runs.arms) {
    if (results.length === 0 || results.length !== baseline.runs.length) {
      throw new RangeError(`${runs.device}: expected the same, non-zero number of runs per arm, got ${baseline.runs.length} (${baseline.arm}) and ${results.length} (${arm})`);
    }
    results.forEach((r, i) => {
      if (r.objective !== objective) throw new RangeError(`${runs.device}: expected ${objective} runs, got a ${r.objective} run in ${arm}`);
      if (JSON.stringify(r.budget) !== budget) throw new RangeError(`${runs.device}: budgets differ (${budget} vs ${JSON.stringify(r.budget)} in ${arm})`);
      if (r.space !== results[0]!.space) throw new RangeError(`${runs.device}: the runs of ${arm} mix spaces ${results[0]!.space} and ${r.space}`);
      const expected = baseline.runs[i]!.seed;
      if (String(r.seed) !== String(expected)) throw new RangeError(`${runs.device}: run ${i} has seed ${expected} in ${baseline.arm} and ${r.seed} in ${arm}`);
    });
  }
  return baseline.runs.map((r) => r.seed);
}

/**
 * Hypervolume per seed of every arm's fronts against one reference point (given, or derived from all the
 * fronts with `margin`), their mean ± std and each arm's ratio of means to the baseline's.
 */
export function compareParetoRuns(runs: ComparisonRuns, options: { reference?: ReferencePoint; margin?: number } = {}): ParetoComparison {
  const seeds = pairedSeeds(runs, 'pareto');
  const fronts = runs.arms.flatMap((a) => a.runs.map((r) => r.front));
  const reference = options.reference ?? sharedReferencePoint(fronts, options.margin ?? DEFAULT_REFERENCE_MARGIN);
  const volumes = runs.arms.map(({ arm, runs: results }) => ({ arm, hypervolume: meanStd(results.map((r) => hypervolume(r.front, reference))) }));
  const baseline = volumes[0]!.hypervolume.mean;
  return {
    objective: 'pareto',
    device: runs.device,
    seeds,
    reference,
    baseline: runs.arms[0]!.arm,
    arms: volumes.map((v) => ({ ...v, ratio: baseline > 0 ? v.hypervolume.mean / baseline : null })),
  };
}

function bestOf(result: SearchResult): { accuracy: number; macs: number } {
  const best = result.top[0];
  if (!best) throw new RangeError(`the ${result.spaceName} run with seed ${result.seed} found no feasible architecture`);
  return best;
}

/** Mean ± std over seeds of the best accuracy and of that architecture's MACs, per arm. */
export function compareMaxAccuracyRuns(runs: ComparisonRuns): MaxAccuracyComparison {
  const seeds = pairedSeeds(runs, 'max-accuracy');
  const arms = runs.arms.map(({ arm, runs: results }) => {
    const best = results.map(bestOf);
    return { arm, accuracy: meanStd(best.map((b) => b.accuracy)), macs: meanStd(best.map((b) => b.macs)) };
  });
  return { objective: 'max-accuracy', device: runs.device, seeds, baseline: runs.arms[0]!.arm, arms };
}

/** An arm's entry of a comparison; throws if the comparison has no such arm. */
export function comparisonArm<C extends SearchComparison>(comparison: C, arm: string): C['arms'][number] {
  const found = comparison.arms.find((a) => a.arm === arm);
  if (!found) throw new RangeError(`${comparison.device}: the comparison has no arm ${arm} (it has ${comparison.arms.map((a) => a.arm).join(', ')})`);
  return found;
}
