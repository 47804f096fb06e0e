/**
 * The random-mutation search (§8.6 Pareto, §8.7 max accuracy) as a step-wise state machine, so that a
 * Temporal workflow can drive it with evaluation as an activity, and in-process callers can use runSearch.
 *
 * Step 0 evaluates the initial population; steps 1..iterations each mutate the current parents into a
 * batch. A step's randomness comes only from deriveSeed(seed, 'search', step), so nextBatch and
 * acceptResults are pure functions of the state: acceptResults recomputes the batch instead of storing it.
 * Evaluations are memoised by architecture hash: a child evaluated in an earlier step is not sent again.
 *
 * An evaluation that cannot be a point of the archive (an accuracy source that returned NaN, a latency
 * predictor that extrapolated to a negative latency) arrives as a rejection with its reason, or is turned
 * into one here: it is recorded, skipped and never retried. A search most of whose candidates are rejected
 * is broken, not unlucky: searchFailure says why, and the caller fails the search with that reason.
 */
import { Rng, deriveSeed, type Seed } from '../rng.js';
import { architectureCounts } from '../spaces/index.js';
import type { Architecture, SpaceDocument, SpaceId } from '../spaces/types.js';
import { architectureHash, validateSpaceDocument } from '../spaces/validate.js';
import { initialPopulation, mutateArchs } from './mutation.js';
import { paretoFront, paretoLayerIndices, sortByAccuracyThenLatencyDescending, type Objectives } from './pareto.js';
import { plausibleLatency, type LatencyPrediction, type LatencyPredictorModel } from './predictor.js';

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

/** An evaluation that produced no usable point, and why. */
export interface RejectedEvaluation {
  rejected: string;
}

/** What an evaluator returns for one architecture: a result, or a rejection with its reason. */
export type EvaluationOutcome = EvaluationResult | RejectedEvaluation;

export interface RejectedCandidate {
  hash: string;
  arch: Architecture;
  /** The step that proposed it. */
  step: number;
  reason: string;
}

/** A search fails when more than this share of the candidates it evaluated were rejected. */
export const MAX_REJECTED_SHARE = 0.5;

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
  /** Candidates already evaluated (or rejected) in an earlier step. */
  reused: number;
  /** New evaluations, rejected ones included. */
  evaluated: number;
  /** New evaluations that were rejected. */
  rejected: number;
}

/** The whole search as plain JSON data. */
export interface SearchState {
  kind: 'blockscope.search-state/v1';
  config: SearchConfig;
  /** 0: the initial population is next; k in 1..iterations: iteration k is next; iterations + 1: done. */
  step: number;
  /** Every evaluated architecture in evaluation order: the memo, and (feasible ones) the archive. */
  evaluations: EvaluatedArchitecture[];
  /** Candidates whose evaluation was rejected, in evaluation order; memoised like the evaluations. */
  rejections: RejectedCandidate[];
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
  /** Distinct architectures evaluated, rejected ones included: the search's cost. */
  evaluationCount: number;
  archiveSize: number;
  /** Candidates whose evaluation was rejected, with the reason (absent in results stored before it was recorded). */
  rejected?: RejectedCandidate[];
  trace: StepSummary[];
}

export type Evaluator = (archs: Architecture[]) => Promise<EvaluationOutcome[]>;

function requireInteger(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`search config: ${name} must be an integer >= ${min}, got ${value}`);
}

/** The configuration with its space document validated; throws a RangeError naming the first bad setting. */
export function validateSearchConfig(config: SearchConfig): SearchConfig {
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
  return { kind: 'blockscope.search-state/v1', config: validateSearchConfig(config), step: 0, evaluations: [], rejections: [], trace: [] };
}

export function isDone(state: SearchState): boolean {
  return state.step > state.config.iterations;
}

/** The constraint score when it is known without evaluating; undefined when it needs a measurement. */
function scoreBeforeEvaluation(constraint: SearchConstraint, arch: Architecture): number | undefined {
  if (constraint.metric === 'macs') return architectureCounts(arch).macs;
  if (!constraint.predictor) return undefined;
  const prediction = plausibleLatency(constraint.predictor, arch);
  // No plausible prediction: the candidate cannot be shown to meet the limit.
  return 'rejected' in prediction ? Infinity : prediction.latencyMs;
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
  const evaluated = new Set([...state.evaluations, ...state.rejections].map((e) => e.hash));
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

/** Why a result cannot be a point of the archive; undefined when it can. */
export function evaluationProblem(result: EvaluationResult): string | undefined {
  if (typeof result.accuracy !== 'number' || !Number.isFinite(result.accuracy)) return `accuracy must be a finite number, got ${JSON.stringify(result.accuracy) ?? 'nothing'}`;
  if (typeof result.latencyMs !== 'number' || !Number.isFinite(result.latencyMs) || result.latencyMs <= 0) {
    return `latency must be a positive number of ms, got ${JSON.stringify(result.latencyMs) ?? 'nothing'}`;
  }
  if (result.macs !== undefined && !(typeof result.macs === 'number' && result.macs >= 0)) return `macs must be >= 0, got ${JSON.stringify(result.macs)}`;
  return undefined;
}

/** A result where it is produced: the result when it is usable, else a rejection naming the bad value. */
export function checkedOutcome(outcome: EvaluationOutcome): EvaluationOutcome {
  if ('rejected' in outcome) return outcome;
  const problem = evaluationProblem(outcome);
  return problem ? { rejected: problem } : outcome;
}

/** An accuracy and a predicted latency as one checked outcome. */
export function predictedOutcome(accuracy: number, prediction: LatencyPrediction): EvaluationOutcome {
  return checkedOutcome('rejected' in prediction ? prediction : { accuracy, latencyMs: prediction.latencyMs });
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
export function acceptResults(state: SearchState, results: readonly EvaluationOutcome[]): SearchState {
  const plan = planStep(state);
  if (results.length !== plan.toEvaluate.length) {
    throw new RangeError(`step ${state.step}: expected ${plan.toEvaluate.length} results, got ${results.length}`);
  }
  const added: EvaluatedArchitecture[] = [];
  const rejected: RejectedCandidate[] = [];
  plan.toEvaluate.forEach((arch, i) => {
    const outcome = checkedOutcome(results[i]!);
    if ('rejected' in outcome) rejected.push({ hash: architectureHash(arch), arch, step: state.step, reason: outcome.rejected });
    else added.push(evaluatedArchitecture(arch, outcome, state.config.constraint));
  });
  const summary: StepSummary = {
    step: state.step,
    candidates: plan.candidates,
    skipped: plan.skipped,
    reused: plan.reused,
    evaluated: plan.toEvaluate.length,
    rejected: rejected.length,
  };
  return {
    ...state,
    step: state.step + 1,
    evaluations: [...state.evaluations, ...added],
    rejections: [...state.rejections, ...rejected],
    trace: [...state.trace, summary],
  };
}

/**
 * What one step added to a search: its new evaluations and rejections, and its summary. A search stored
 * step by step keeps one record per step (bounded by the step's budget), so no single object, and no
 * workflow payload, grows with the whole search.
 */
export interface SearchStepRecord {
  kind: 'blockscope.search-step/v1';
  step: number;
  evaluations: EvaluatedArchitecture[];
  rejections: RejectedCandidate[];
  summary: StepSummary;
}

/** The record of the step that took `before` to `after` (after = acceptResults(before, ...)). */
export function stepRecord(before: SearchState, after: SearchState): SearchStepRecord {
  if (after.step !== before.step + 1) throw new RangeError(`a step record spans one step: ${before.step} -> ${after.step}`);
  return {
    kind: 'blockscope.search-step/v1',
    step: before.step,
    evaluations: after.evaluations.slice(before.evaluations.length),
    rejections: after.rejections.slice(before.rejections.length),
    summary: after.trace.at(-1)!,
  };
}

/** The state after a stored step: `state` advanced by the record of its own step. */
export function applyStepRecord(state: SearchState, record: SearchStepRecord): SearchState {
  if (record.step !== state.step) throw new RangeError(`the record of step ${record.step} cannot follow a state at step ${state.step}`);
  return {
    ...state,
    step: state.step + 1,
    evaluations: [...state.evaluations, ...record.evaluations],
    rejections: [...state.rejections, ...record.rejections],
    trace: [...state.trace, record.summary],
  };
}

/** Where a search stands, small enough for a workflow to carry: the next step, its counts, and why it must stop. */
export interface SearchProgress {
  /** The next step (0: the initial population); iterations + 1 when done. */
  step: number;
  iterations: number;
  done: boolean;
  /** Distinct architectures evaluated so far, rejected ones included. */
  evaluations: number;
  rejected: number;
  /** The best feasible accuracy so far; null before any. */
  bestAccuracy: number | null;
  /** Why the search cannot go on (searchFailure); absent while it can. */
  failure?: string;
}

export function searchProgress(state: SearchState): SearchProgress {
  const best = archive(state).reduce<number | null>((top, e) => (top === null || e.accuracy > top ? e.accuracy : top), null);
  const failure = searchFailure(state);
  return {
    step: state.step,
    iterations: state.config.iterations,
    done: isDone(state),
    evaluations: state.evaluations.length + state.rejections.length,
    rejected: state.rejections.length,
    bestAccuracy: best,
    ...(failure ? { failure } : {}),
  };
}

/** Why the search cannot go on (most of its candidates were rejected), or undefined while it can. */
export function searchFailure(state: SearchState): string | undefined {
  const rejected = state.rejections.length;
  const tried = rejected + state.evaluations.length;
  if (rejected === 0 || rejected <= MAX_REJECTED_SHARE * tried) return undefined;
  const reasons = [...new Set(state.rejections.map((r) => r.reason))];
  return (
    `${rejected} of the ${tried} candidates evaluated by step ${state.step - 1} were rejected (more than ${MAX_REJECTED_SHARE * 100}%), ` +
    `so the evaluation itself is broken: ${reasons.slice(0, 3).join('; ')}${reasons.length > 3 ? ` (and ${reasons.length - 3} other reasons)` : ''}`
  );
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
    evaluationCount: state.evaluations.length + state.rejections.length,
    archiveSize: entries.length,
    rejected: state.rejections,
    trace: state.trace,
  };
  if (config.constraint) result.constraint = { metric: config.constraint.metric, limit: config.constraint.limit };
  return result;
}

/** The search failed: most of its candidates were rejected (searchFailure). */
export class SearchFailedError extends Error {
  override name = 'SearchFailedError';
  /** Its message says why, for the user (cli/errors.ts). */
  readonly userFacing = true;
}

/**
 * Runs the whole search in-process; `evaluate` is called once per step that has something new to evaluate.
 * Throws SearchFailedError when searchFailure reports one.
 */
export async function runSearch(config: SearchConfig, evaluate: Evaluator): Promise<SearchResult> {
  let state = startSearch(config);
  while (!isDone(state)) {
    const batch = nextBatch(state);
    state = acceptResults(state, batch.length > 0 ? await evaluate(batch) : []);
    const failure = searchFailure(state);
    if (failure) throw new SearchFailedError(failure);
  }
  return searchResult(state);
}
