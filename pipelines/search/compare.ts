/**
 * The paper's proof of its insights: search the original and the pruned space with the same budget over
 * several seeds, then compare Pareto fronts (by hypervolume) or the best accuracy reached (Table 2).
 * Pure: it plans the runs and summarises their results; running them is the caller's business.
 */
import type { Seed } from '../rng.js';
import type { SpaceDocument } from '../spaces/types.js';
import { mean, std } from '../stats.js';
import { DEFAULT_REFERENCE_MARGIN, hypervolume, sharedReferencePoint, type ReferencePoint } from './pareto.js';
import type { SearchConfig, SearchObjective, SearchResult } from './search.js';

/** Five seeds, as the paper; which seeds it used is not recorded, so these are ours. */
export const COMPARISON_SEEDS: readonly Seed[] = [1, 2, 3, 4, 5];

/** Both spaces' runs, one per seed, for one device (its latency) and one objective. */
export interface ComparisonRuns {
  device: string;
  original: SearchResult[];
  pruned: SearchResult[];
}

/** Mean ± std (population, as numpy's default) over seeds, with the per-seed values in seed order. */
export interface MeanStd {
  mean: number;
  std: number;
  values: number[];
}

export interface ParetoComparison {
  objective: 'pareto';
  device: string;
  seeds: Seed[];
  /** Shared by every front of both spaces on this device. */
  reference: ReferencePoint;
  original: MeanStd;
  pruned: MeanStd;
  /** mean pruned hypervolume / mean original hypervolume (> 1: pruning helped); null if the original's is 0. */
  hypervolumeRatio: number | null;
}

/** The shape of the paper's Table 2. */
export interface MaxAccuracyComparison {
  objective: 'max-accuracy';
  device: string;
  seeds: Seed[];
  original: { accuracy: MeanStd; macs: MeanStd };
  pruned: { accuracy: MeanStd; macs: MeanStd };
}

export type SearchComparison = ParetoComparison | MaxAccuracyComparison;

/** One configuration per seed and space, identical except for the space: equal budgets by construction. */
export function comparisonConfigs(
  base: Omit<SearchConfig, 'space' | 'seed'>,
  spaces: { original: SpaceDocument; pruned: SpaceDocument },
  seeds: readonly Seed[] = COMPARISON_SEEDS,
): { original: SearchConfig[]; pruned: SearchConfig[] } {
  return {
    original: seeds.map((seed) => ({ ...base, space: spaces.original, seed })),
    pruned: seeds.map((seed) => ({ ...base, space: spaces.pruned, seed })),
  };
}

function meanStd(values: number[]): MeanStd {
  return { mean: mean(values), std: std(values), values };
}

/** Checks that both spaces ran the same seeds with the same objective and budget; returns the seeds. */
function pairedSeeds(runs: ComparisonRuns, objective: SearchObjective): Seed[] {
  const { original, pruned } = runs;
  if (original.length === 0 || original.length !== pruned.length) {
    throw new RangeError(`${runs.device}: expected the same, non-zero number of runs per space, got ${original.length} and ${pruned.length}`);
  }
  const budget = JSON.stringify(original[0]!.budget);
  [...original, ...pruned].forEach((r) => {
    if (r.objective !== objective) throw new RangeError(`${runs.device}: expected ${objective} runs, got a ${r.objective} run`);
    if (JSON.stringify(r.budget) !== budget) throw new RangeError(`${runs.device}: budgets differ (${budget} vs ${JSON.stringify(r.budget)})`);
    if (r.space !== original[0]!.space) throw new RangeError(`${runs.device}: runs mix spaces ${original[0]!.space} and ${r.space}`);
  });
  return original.map((r, i) => {
    if (String(r.seed) !== String(pruned[i]!.seed)) throw new RangeError(`${runs.device}: run ${i} has seed ${r.seed} in the original and ${pruned[i]!.seed} in the pruned space`);
    return r.seed;
  });
}

/**
 * Hypervolume per seed of both spaces' fronts against one reference point (given, or derived from all
 * the fronts with `margin`), their mean ± std and the ratio pruned/original.
 */
export function compareParetoRuns(runs: ComparisonRuns, options: { reference?: ReferencePoint; margin?: number } = {}): ParetoComparison {
  const seeds = pairedSeeds(runs, 'pareto');
  const fronts = [...runs.original, ...runs.pruned].map((r) => r.front);
  const reference = options.reference ?? sharedReferencePoint(fronts, options.margin ?? DEFAULT_REFERENCE_MARGIN);
  const original = meanStd(runs.original.map((r) => hypervolume(r.front, reference)));
  const pruned = meanStd(runs.pruned.map((r) => hypervolume(r.front, reference)));
  return { objective: 'pareto', device: runs.device, seeds, reference, original, pruned, hypervolumeRatio: original.mean > 0 ? pruned.mean / original.mean : null };
}

function bestOf(result: SearchResult): { accuracy: number; macs: number } {
  const best = result.top[0];
  if (!best) throw new RangeError(`the ${result.spaceName} run with seed ${result.seed} found no feasible architecture`);
  return best;
}

/** Mean ± std over seeds of the best accuracy and of that architecture's MACs. */
export function compareMaxAccuracyRuns(runs: ComparisonRuns): MaxAccuracyComparison {
  const seeds = pairedSeeds(runs, 'max-accuracy');
  const summarise = (results: SearchResult[]) => {
    const best = results.map(bestOf);
    return { accuracy: meanStd(best.map((b) => b.accuracy)), macs: meanStd(best.map((b) => b.macs)) };
  };
  return { objective: 'max-accuracy', device: runs.device, seeds, original: summarise(runs.original), pruned: summarise(runs.pruned) };
}

/** Compares every device's runs by their objective. */
export function compareSearches(devices: readonly ComparisonRuns[], options: { margin?: number } = {}): SearchComparison[] {
  return devices.map((runs) => {
    const objective = runs.original[0]?.objective;
    return objective === 'max-accuracy' ? compareMaxAccuracyRuns(runs) : compareParetoRuns(runs, options);
  });
}
