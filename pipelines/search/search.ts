/**
 * The random-mutation search (§8.6 Pareto, §8.7 max accuracy) as a step-wise state machine, so that a
 * Temporal workflow can drive it with evaluation as an activity, and in-process callers can use runSearch.
 *
 * Step 0 evaluates the initial population; steps 1..iterations each mutate the current parents into a
 * batch. A step's randomness comes only from deriveSeed(seed, 'search', step), so nextBatch and
 * acceptResults are pure functions of the state: acceptResults recomputes the batch instead of storing it.
 * Evaluations are memoised by architecture hash: a child evaluated in an earlier step is not sent again.
 */
import { Rng, deriveSeed, type Seed } from '../rng.js';
import { architectureCounts } from '../spaces/index.js';
import type { Architecture, SpaceDocument, SpaceId } from '../spaces/types.js';
import { architectureHash, validateSpaceDocument } from '../spaces/validate.js';
import { initialPopulation, mutateArchs } from './mutation.js';
import { paretoFront, paretoLayerIndices, sortByAccuracyThenLatencyDescending, type Objectives } from './pareto.js';
import { predictLatency, type LatencyPredictorModel } from './predictor.js';

export type SearchObjective = 'pareto' | 'max-accuracy';

/**
 * An upper limit for the max-accuracy search (§8.7). MACs are counted analytically and a latency
 * predictor runs in-process, so children over the limit are skipped before evaluation, as in the
 * original. Without a predictor the measured latency is used: such children cost an evaluation but never
 * enter the archive.
 */
export type SearchConstraint = { metric: 'macs'; limit: number } | { metric: 'latency'; limit: number; predictor?: LatencyPredictorModel };

/** The original's tolerance: a score may exceed the limit by this much. */
const CONSTRAINT_TOLERANCE = 1e-5;

export interface SearchSettings {
  objective: SearchObjective;
  resolution: number;
  seed: Seed;
  /** Distinct architectures sampled and evaluated before the first iteration. */
  initialSize: number;
  iterations: number;
  /** Children produced per iteration (B); memoised ones cost no evaluation. */
  budgetPerIteration: number;
  /** Pareto search: parents are the union of this many non-dominated layers. */
  paretoLayers: number;
  /** Mutations chained per parent (D). */
  mutationDepth: number;
  /** Max-accuracy search: parents are the k most accurate; both searches report the top k. */
  topK: number;
}

export interface SearchConfig extends SearchSettings {
  space: SpaceDocument;
  constraint?: SearchConstraint;
}

/** The defaults of the original Pareto search (§8.9): at most 100 + 10 × 200 = 2,100 evaluations. */
export const PARETO_SEARCH_PRESET: Readonly<SearchSettings> = {
  objective: 'pareto',
  resolution: 224,
  seed: 12345,
  initialSize: 100,
  iterations: 10,
  budgetPerIteration: 200,
  paretoLayers: 1,
  mutationDepth: 1,
  topK: 10,
};

/**
 * The defaults of the original max-accuracy search (§8.9), for MBv3/PN and ResNet alike (ResNet's stem
 * probability and minimum depths live in its space document): at most 20 + 4 × 50 = 220 evaluations.
 */
export const MAX_ACCURACY_SEARCH_PRESET: Readonly<SearchSettings> = {
  objective: 'max-accuracy',
  resolution: 224,
  seed: 12345,
  initialSize: 20,
  iterations: 4,
  budgetPerIteration: 50,
  paretoLayers: 1,
  mutationDepth: 1,
  topK: 10,
};

export const SEARCH_PRESETS: Readonly<Record<SearchObjective, Readonly<SearchSettings>>> = {
  pareto: PARETO_SEARCH_PRESET,
  'max-accuracy': MAX_ACCURACY_SEARCH_PRESET,
};

/** A configuration from the objective's preset, with overrides. */
export function searchConfig(
  space: SpaceDocument,
  objective: SearchObjective,
  overrides: Partial<Omit<SearchSettings, 'objective'>> & { constraint?: SearchConstraint } = {},
): SearchConfig {
  return { ...SEARCH_PRESETS[objective], ...overrides, space };
}

/** What the evaluator returns for one architecture; MACs are counted analytically when left out. */
export interface EvaluationResult {
  accuracy: number;
  latencyMs: number;
  macs?: number;
}

export interface EvaluatedArchitecture extends Objectives {
  hash: string;
  arch: Architecture;
  macs: number;
  /** Meets the constraint (always true without one); only feasible architectures are in the archive. */
  feasible: boolean;
}

export interface StepSummary {
  step: number;
  /** Architectures the step proposed: the initial sample or the mutated batch. */
  candidates: number;
  /** Candidates over the constraint, dropped before evaluation. */
  skipped: number;
  /** Candidates already evaluated in an earlier step. */
  reused: number;
  /** New evaluations. */
  evaluated: number;
}

/** The whole search as plain JSON data. */
export interface SearchState {
  kind: 'blockscope.search-state/v1';
  config: SearchConfig;
  /** 0: the initial population is next; k in 1..iterations: iteration k is next; iterations + 1: done. */
  step: number;
  /** Every evaluated architecture in evaluation order: the memo, and (feasible ones) the archive. */
  evaluations: EvaluatedArchitecture[];
  trace: StepSummary[];
}

export interface SearchResult {
  objective: SearchObjective;
  space: SpaceId;
  spaceName: string;
  seed: Seed;
  resolution: number;
  budget: { initialSize: number; iterations: number; budgetPerIteration: number };
  constraint?: { metric: SearchConstraint['metric']; limit: number };
  completedIterations: number;
  /** The top-most Pareto front of the archive, by (accuracy, latency) descending. */
  front: EvaluatedArchitecture[];
  /** The k most accurate architectures of the archive; among equal accuracy the earlier evaluated first. */
  top: EvaluatedArchitecture[];
  /** Distinct architectures evaluated: the search's cost. */
  evaluationCount: number;
  archiveSize: number;
  trace: StepSummary[];
}

export type Evaluator = (archs: Architecture[]) => Promise<EvaluationResult[]>;

function requireInteger(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`search config: ${name} must be an integer >= ${min}, got ${value}`);
}

function checkedConfig(config: SearchConfig): SearchConfig {
  if (config.objective !== 'pareto' && config.objective !== 'max-accuracy') {
    throw new RangeError(`search config: objective must be 'pareto' or 'max-accuracy', got ${JSON.stringify(config.objective)}`);
  }
  const space = validateSpaceDocument(config.space);
  if (!space.resolutions.includes(config.resolution)) {
    throw new RangeError(`search config: resolution ${config.resolution} is not allowed; allowed: ${space.resolutions.join(', ')}`);
  }
  requireInteger(config.initialSize, 'initialSize', 1);
  requireInteger(config.iterations, 'iterations', 0);
  requireInteger(config.budgetPerIteration, 'budgetPerIteration', 1);
  requireInteger(config.paretoLayers, 'paretoLayers', 1);
  requireInteger(config.mutationDepth, 'mutationDepth', 1);
  requireInteger(config.topK, 'topK', 1);
  const { constraint } = config;
  if (constraint) {
    if (config.objective !== 'max-accuracy') throw new RangeError('search config: a constraint applies to the max-accuracy search only');
    if (!Number.isFinite(constraint.limit)) throw new RangeError(`search config: constraint limit must be finite, got ${constraint.limit}`);
    if (constraint.metric === 'latency' && constraint.predictor && constraint.predictor.space !== space.space) {
      throw new RangeError(`search config: the constraint's predictor is for ${constraint.predictor.space}, the space is ${space.space}`);
    }
  }
  return { ...config, space };
}

export function startSearch(config: SearchConfig): SearchState {
  return { kind: 'blockscope.search-state/v1', config: checkedConfig(config), step: 0, evaluations: [], trace: [] };
}

export function isDone(state: SearchState): boolean {
  return state.step > state.config.iterations;
}

/** The constraint score when it is known without evaluating; undefined when it needs a measurement. */
function scoreBeforeEvaluation(constraint: SearchConstraint, arch: Architecture): number | undefined {
  if (constraint.metric === 'macs') return architectureCounts(arch).macs;
  return constraint.predictor ? predictLatency(constraint.predictor, arch) : undefined;
}

function withinLimit(score: number, constraint: SearchConstraint): boolean {
  return score - constraint.limit <= CONSTRAINT_TOLERANCE;
}

function passesPreEvaluationCheck(constraint: SearchConstraint | undefined, arch: Architecture): boolean {
  if (!constraint) return true;
  const score = scoreBeforeEvaluation(constraint, arch);
  return score === undefined || withinLimit(score, constraint);
}

function archive(state: SearchState): EvaluatedArchitecture[] {
  return state.evaluations.filter((e) => e.feasible);
}

/** Most accurate first; Array.prototype.sort is stable, so equal accuracies keep evaluation order. */
function topByAccuracy(entries: readonly EvaluatedArchitecture[], k: number): EvaluatedArchitecture[] {
  return entries
    .slice()
    .sort((a, b) => b.accuracy - a.accuracy)
    .slice(0, k);
}

function parents(state: SearchState): Architecture[] {
  const entries = archive(state);
  if (state.config.objective === 'max-accuracy') return topByAccuracy(entries, state.config.topK).map((e) => e.arch);
  const layers = paretoLayerIndices(entries, state.config.paretoLayers);
  return layers
    .flat()
    .sort((a, b) => a - b)
    .map((i) => entries[i]!.arch);
}

interface StepPlan {
  candidates: number;
  skipped: number;
  reused: number;
  toEvaluate: Architecture[];
}

function planStep(state: SearchState): StepPlan {
  if (isDone(state)) throw new Error(`the search is done (step ${state.step} of ${state.config.iterations})`);
  const { config } = state;
  const rng = new Rng(deriveSeed(config.seed, 'search', state.step));
  const candidates =
    state.step === 0
      ? initialPopulation(config.space, {
          size: config.initialSize,
          resolution: config.resolution,
          rng,
          accept: (arch) => passesPreEvaluationCheck(config.constraint, arch),
        })
      : mutateArchs(parents(state), config.space, { budget: config.budgetPerIteration, depth: config.mutationDepth, rng });
  const evaluated = new Set(state.evaluations.map((e) => e.hash));
  const plan: StepPlan = { candidates: candidates.length, skipped: 0, reused: 0, toEvaluate: [] };
  for (const arch of candidates) {
    if (!passesPreEvaluationCheck(config.constraint, arch)) plan.skipped++;
    else if (evaluated.has(architectureHash(arch))) plan.reused++;
    else plan.toEvaluate.push(arch);
  }
  return plan;
}

/** The architectures the current step needs evaluated (possibly none), in the order results must follow. */
export function nextBatch(state: SearchState): Architecture[] {
  return planStep(state).toEvaluate;
}

function checkedResult(result: EvaluationResult | undefined, index: number): EvaluationResult {
  if (!result || !Number.isFinite(result.accuracy) || !Number.isFinite(result.latencyMs) || result.latencyMs < 0) {
    throw new RangeError(`result ${index}: expected finite accuracy and a non-negative latency, got ${JSON.stringify(result)}`);
  }
  if (result.macs !== undefined && !(result.macs >= 0)) throw new RangeError(`result ${index}: macs must be >= 0, got ${result.macs}`);
  return result;
}

function evaluatedArchitecture(arch: Architecture, result: EvaluationResult, constraint: SearchConstraint | undefined): EvaluatedArchitecture {
  const macs = result.macs ?? architectureCounts(arch).macs;
  let feasible = true;
  if (constraint) {
    const score = scoreBeforeEvaluation(constraint, arch) ?? result.latencyMs;
    feasible = withinLimit(score, constraint);
  }
  return { hash: architectureHash(arch), arch, accuracy: result.accuracy, latencyMs: result.latencyMs, macs, feasible };
}

/**
 * Merges the results of nextBatch(state) (same order) and advances one step. Returns a new state; the
 * input is not modified.
 */
export function acceptResults(state: SearchState, results: readonly EvaluationResult[]): SearchState {
  const plan = planStep(state);
  if (results.length !== plan.toEvaluate.length) {
    throw new RangeError(`step ${state.step}: expected ${plan.toEvaluate.length} results, got ${results.length}`);
  }
  const added = plan.toEvaluate.map((arch, i) => evaluatedArchitecture(arch, checkedResult(results[i], i), state.config.constraint));
  const summary: StepSummary = { step: state.step, candidates: plan.candidates, skipped: plan.skipped, reused: plan.reused, evaluated: added.length };
  return { ...state, step: state.step + 1, evaluations: [...state.evaluations, ...added], trace: [...state.trace, summary] };
}

/** The outcome so far (complete once isDone). */
export function searchResult(state: SearchState): SearchResult {
  const { config } = state;
  const entries = archive(state);
  const result: SearchResult = {
    objective: config.objective,
    space: config.space.space,
    spaceName: config.space.name,
    seed: config.seed,
    resolution: config.resolution,
    budget: { initialSize: config.initialSize, iterations: config.iterations, budgetPerIteration: config.budgetPerIteration },
    completedIterations: Math.max(0, Math.min(state.step - 1, config.iterations)),
    front: sortByAccuracyThenLatencyDescending(paretoFront(entries)),
    top: topByAccuracy(entries, config.topK),
    evaluationCount: state.evaluations.length,
    archiveSize: entries.length,
    trace: state.trace,
  };
  if (config.constraint) result.constraint = { metric: config.constraint.metric, limit: config.constraint.limit };
  return result;
}

/** Runs the whole search in-process; `evaluate` is called once per step that has something new to evaluate. */
export async function runSearch(config: SearchConfig, evaluate: Evaluator): Promise<SearchResult> {
  let state = startSearch(config);
  while (!isDone(state)) {
    const batch = nextBatch(state);
    state = acceptResults(state, batch.length > 0 ? await evaluate(batch) : []);
  }
  return searchResult(state);
}
