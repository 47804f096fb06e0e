/**
 * The search stage's activities: fit the device's latency predictor on the study's own measurements,
 * run the random-mutation search on every arm's space (the original, the derived, the paper's), re-measure
 * the final fronts on the device, and compare. The algorithms live in pipelines/search; these only load and store.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  BASELINE_ARM,
  acceptResults,
  armKey,
  armSpace,
  compareMaxAccuracyRuns,
  compareParetoRuns,
  evaluateLatencyPredictor,
  fitLatencyPredictor,
  plausibleLatency,
  nextBatch,
  predictedOutcome,
  searchConfig,
  searchProgress,
  searchResult,
  splitHeldOut,
  validateSearchConfig,
  type EvaluationOutcome,
  type LatencyPrediction,
  type LatencyPredictorModel,
  type PredictorEvaluation,
  type ComparisonRuns,
  type SearchArm,
  type SearchComparison,
  type SearchConfig,
  type SearchObjective,
  type SearchProgress,
  type SearchResult,
  type SearchState,
} from '../../pipelines/search/index.js';
import { validateSpaceDocument, type Architecture } from '../../pipelines/spaces/index.js';
import type { StudyPlan } from '../../pipelines/study/plan.js';
import { registerStudySpace, searchBudget, type StudySpec } from '../../pipelines/study/spec.js';
import { kendallTau, meanAbsolutePercentageError } from '../../pipelines/stats.js';
import type { LatencyMeasurement } from '../devices/index.js';
import type { ArtifactStore } from '../storage/index.js';
import type { AccuracyScorerFactory } from './contracts.js';
import type { StudyTimeouts } from '../../workflows/definitions.js';
import { studyKeys } from './keys.js';
import { deviceLatencies } from './latency.js';
import { StoredSearches, type SearchLocator, type SearchStepInput } from './search-state.js';
import { registerStoredStudySpace } from './spaces.js';

export interface PredictorArtifact {
  device: string;
  model: LatencyPredictorModel;
  /** Error of a model fitted on 80% of the measured architectures, on the other 20%. */
  heldOut: PredictorEvaluation;
  trainedOn: number;
}

/** One search of the comparison: a device, an objective, an arm (the space searched) and a seed. */
export interface SearchRequest {
  studyId: string;
  planKey: string;
  spec: StudySpec;
  device: string;
  objective: SearchObjective;
  arm: SearchArm;
  /** The derived arm's space: the insights' pruned space for this device and objective. */
  derivedSpaceKey?: string;
  seed: number;
  /** The study's activity timeouts and retries (absent in searches started before they were passed on: the defaults). */
  timeouts?: StudyTimeouts;
  /** Steps one run takes before continuing as new (default: as the history's size suggests); tests make it small. */
  stepsPerRun?: number;
  /** A whole state an earlier version stored when this search continued as new; the search goes on from it. */
  checkpointKey?: string;
  /** Where the previous run of this search stood when it continued as new (its state is in the store). */
  resume?: SearchProgress;
}

/** The searches of one device and objective, every arm and seed, and their re-measured fronts. */
export interface CompareSearchesRequest {
  studyId: string;
  planKey: string;
  device: string;
  objective: SearchObjective;
  searches: SearchRef[];
  remeasuredKey?: string;
}

export interface SearchRef {
  device: string;
  objective: SearchObjective;
  arm: SearchArm;
  seed: number;
  resultKey: string;
  evaluations: number;
}

export interface ComparisonRef {
  device: string;
  objective: SearchObjective;
  key: string;
  /** Pareto: each arm's mean hypervolume over the original's, with predicted and with re-measured latencies. */
  hypervolumeRatios: { arm: string; predicted: number | null; remeasured: number | null }[];
}

/** The architectures whose device latency the comparison reports: Pareto fronts, or max-accuracy top-k. */
export async function searchFinalArchitectures(store: ArtifactStore, refs: SearchRef[]): Promise<{ hash: string; arch: Architecture }[]> {
  const unique = new Map<string, Architecture>();
  for (const ref of refs) {
    const result = await store.getJson<SearchResult>(ref.resultKey);
    for (const e of result.objective === 'pareto' ? result.front : result.top) unique.set(e.hash, e.arch);
  }
  return [...unique].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([hash, arch]) => ({ hash, arch }));
}

/** A page of a step's candidates stays well inside the 64 KB that any payload of a study may take (docs/architecture.md). */
const CANDIDATE_PAGE_BYTES = 32 * 1024;

/** The search a request names, as its step activities find it. */
export function searchLocator(request: SearchRequest): SearchLocator {
  const { studyId, planKey, device, objective, arm, seed, checkpointKey } = request;
  return { studyId, planKey, device, objective, arm, seed, ...(checkpointKey ? { checkpointKey } : {}) };
}

export function createSearchActivities(deps: { store: ArtifactStore; accuracyScorers: AccuracyScorerFactory }) {
  const { store } = deps;
  const searches = new StoredSearches(store);

  async function devicePredictor(studyId: string, planKey: string, device: string): Promise<PredictorArtifact> {
    const key = studyKeys(studyId).predictor(device);
    if (await store.exists(key)) return store.getJson<PredictorArtifact>(key);
    const plan = await store.getJson<StudyPlan>(planKey);
    const spec = await store.getJson<StudySpec>(studyKeys(studyId).spec);
    const { latencyMs: latency } = await deviceLatencies(store, studyId, plan, device, spec);
    const measured = plan.architectures.filter((a) => latency.has(a.hash));
    const samples = measured.map((a) => ({ arch: a.arch, latencyMs: latency.get(a.hash)! }));
    const { train, test } = splitHeldOut(samples);
    const heldOut = evaluateLatencyPredictor(fitLatencyPredictor(train), test);
    const artifact: PredictorArtifact = { device, model: fitLatencyPredictor(samples), heldOut, trainedOn: samples.length };
    await store.putJson(key, artifact);
    return artifact;
  }

  /** What a search workflow needs before its first step: the space document and the search settings. */
  async function searchSetup(input: SearchRequest): Promise<SearchConfig> {
    if (input.arm === 'derived' && !input.derivedSpaceKey) {
      // Never search another space under the name "derived".
      throw ApplicationFailure.nonRetryable(`no derived space for objective ${input.objective} on ${input.device}: no insights were derived for it`, 'InvalidInputError');
    }
    const derived = input.derivedSpaceKey ? validateSpaceDocument(await store.getJson(input.derivedSpaceKey)) : undefined;
    const space = armSpace(input.spec.space, input.arm, derived);
    await devicePredictor(input.studyId, input.planKey, input.device);
    // Validated here, so the workflow never meets a bad configuration (a RangeError is not retried).
    return validateSearchConfig(searchConfig(space, input.objective, { seed: input.seed, resolution: input.spec.resolutions[0]!, ...searchBudget(input.spec.search, input.objective) }));
  }

  /**
   * Device latency of candidates from the predictor fitted on the study's own measurements; a prediction
   * outside the plausible range (e.g. a negative one from a model stored by an older version) is a rejection.
   */
  async function predictLatencies(input: { studyId: string; planKey: string; device: string; archs: Architecture[] }): Promise<LatencyPrediction[]> {
    await registerStoredStudySpace(store, input.studyId);
    const predictor = await devicePredictor(input.studyId, input.planKey, input.device);
    const predictions = input.archs.map((arch) => plausibleLatency(predictor.model, arch));
    const rejected = predictions.filter((p) => 'rejected' in p).length;
    if (rejected > 0) log.warn(`${rejected} of ${predictions.length} latency predictions on ${input.device} are implausible; those candidates are rejected`);
    return predictions;
  }

  /** Accuracy (or proxy) and predicted latency of candidates, each checked here. */
  async function scoreCandidates(input: { studyId: string; planKey: string; spec: StudySpec; device: string; archs: Architecture[] }): Promise<EvaluationOutcome[]> {
    const scorer = await deps.accuracyScorers(input.spec);
    const latencies = await predictLatencies(input);
    const context = Context.current();
    const out: EvaluationOutcome[] = [];
    for (const [i, arch] of input.archs.entries()) {
      const latency = latencies[i]!;
      // A candidate without a plausible latency is rejected before it costs an accuracy evaluation.
      out.push('rejected' in latency ? latency : predictedOutcome((await scorer.score(arch, context.cancellationSignal)).value.score, latency));
      context.heartbeat({ evaluated: out.length });
    }
    return out;
  }

  async function storeResult(search: SearchLocator, result: SearchResult): Promise<SearchRef> {
    const resultKey = studyKeys(search.studyId).searchResult(search.device, search.objective, armKey(search.arm), search.seed);
    await store.putJson(resultKey, result);
    return { device: search.device, objective: search.objective, arm: search.arm, seed: search.seed, resultKey, evaluations: result.evaluationCount };
  }

  // A search stored step by step (activities/study/search-state.ts): every input and result here is small.

  /** Stores a new search's configuration, or finds where a search resumed from an older version's checkpoint stands. */
  async function openSearch(input: SearchRequest): Promise<SearchProgress> {
    const search = searchLocator(input);
    if (input.checkpointKey) {
      const checkpoint = await store.getJson<SearchState>(input.checkpointKey);
      return searchProgress(await searches.load(search, checkpoint.step));
    }
    return searchProgress(await searches.create(search, await searchSetup(input)));
  }

  /** The candidates of a step from `offset` on, as many as fit in one small payload; the workflow asks until it has `total`. */
  async function searchCandidates(input: SearchStepInput & { offset: number }): Promise<{ archs: Architecture[]; total: number }> {
    await registerStoredStudySpace(store, input.search.studyId);
    const state = await searches.load(input.search, input.step);
    const batch = searches.batch(input.search, state, nextBatch);
    const archs: Architecture[] = [];
    let bytes = 0;
    for (const arch of batch.slice(input.offset)) {
      bytes += JSON.stringify(arch).length;
      if (archs.length > 0 && bytes > CANDIDATE_PAGE_BYTES) break;
      archs.push(arch);
    }
    return { archs, total: batch.length };
  }

  async function advance(search: SearchLocator, state: SearchState, outcomes: EvaluationOutcome[]): Promise<SearchProgress> {
    const after = acceptResults(state, outcomes);
    await searches.advance(search, state, after);
    return searchProgress(after);
  }

  /** One step with accuracy from a user's evaluator: the workflow brings the candidates' top-1 in their order. */
  async function acceptSearchStep(input: SearchStepInput & { accuracies: number[] }): Promise<SearchProgress> {
    await registerStoredStudySpace(store, input.search.studyId);
    const state = await searches.load(input.search, input.step);
    const archs = searches.batch(input.search, state, nextBatch);
    const latencies = await predictLatencies({ ...input.search, archs });
    if (input.accuracies.length !== archs.length)
      throw ApplicationFailure.nonRetryable(`step ${input.step}: ${archs.length} candidates, ${input.accuracies.length} accuracies`, 'InvalidInputError');
    // A user's evaluator is not ours to validate: a bad top-1 becomes a recorded rejection in acceptResults.
    return advance(
      input.search,
      state,
      input.accuracies.map((top1, i) => predictedOutcome(top1, latencies[i]!)),
    );
  }

  /** One whole step on this worker: candidates, their accuracy (or proxy) and predicted latency. */
  async function runSearchStep(input: SearchStepInput): Promise<SearchProgress> {
    const spec = await store.getJson<StudySpec>(studyKeys(input.search.studyId).spec);
    registerStudySpace(spec);
    const state = await searches.load(input.search, input.step);
    const archs = searches.batch(input.search, state, nextBatch);
    return advance(input.search, state, await scoreCandidates({ ...input.search, spec, archs }));
  }

  /** Stores the finished search's result (its fronts and top-k; the step records keep every evaluation). */
  async function finishSearch(input: SearchStepInput): Promise<SearchRef> {
    await registerStoredStudySpace(store, input.search.studyId);
    return storeResult(input.search, searchResult(await searches.load(input.search, input.step)));
  }

  // The activities of searches whose workflows started before their state moved to the store (workflows/search-legacy.ts).

  const evaluateCandidates = scoreCandidates;

  /** Stores a search's state so that its workflow can continue as new and pick it up by key. */
  async function checkpointSearch(input: SearchRequest & { state: SearchState }): Promise<string> {
    const key = studyKeys(input.studyId).searchCheckpoint(input.device, input.objective, armKey(input.arm), input.seed, input.state.step);
    await store.putJson(key, input.state);
    return key;
  }

  async function resumeSearch(input: { checkpointKey: string }): Promise<SearchState> {
    return store.getJson<SearchState>(input.checkpointKey);
  }

  async function storeSearchResult(input: SearchRequest & { result: SearchResult }): Promise<SearchRef> {
    return storeResult(searchLocator(input), input.result);
  }

  async function compareStudySearches(input: CompareSearchesRequest): Promise<ComparisonRef> {
    // The arms in the order the study lists them, the baseline first; each arm's runs in seed order.
    const arms = [...new Set([BASELINE_ARM, ...input.searches.map((s) => s.arm)])];
    const runs: ComparisonRuns = {
      device: input.device,
      arms: await Promise.all(
        arms.map(async (arm) => ({
          arm,
          runs: await Promise.all(
            input.searches
              .filter((s) => s.arm === arm)
              .sort((a, b) => a.seed - b.seed)
              .map((s) => store.getJson<SearchResult>(s.resultKey)),
          ),
        })),
      ),
    };
    const comparison: SearchComparison = input.objective === 'pareto' ? compareParetoRuns(runs) : compareMaxAccuracyRuns(runs);
    let remeasured: { predictorOnFronts: PredictorEvaluation; comparison: SearchComparison | null } | null = null;
    if (input.remeasuredKey) {
      const measuredMs = new Map((await store.getJson<LatencyMeasurement[]>(input.remeasuredKey)).map((m) => [m.archHash, m.medianMs]));
      const withMeasured = (r: SearchResult): SearchResult => {
        const swap = (list: SearchResult['front']) => list.map((e) => ({ ...e, latencyMs: measuredMs.get(e.hash) ?? e.latencyMs }));
        return { ...r, front: swap(r.front), top: swap(r.top) };
      };
      const predicted = runs.arms.flatMap((a) => a.runs.flatMap((r) => (r.objective === 'pareto' ? r.front : r.top)));
      const pairs = predicted.filter((e) => measuredMs.has(e.hash));
      remeasured = {
        predictorOnFronts: {
          n: pairs.length,
          mape: pairs.length
            ? meanAbsolutePercentageError(
                pairs.map((e) => measuredMs.get(e.hash)!),
                pairs.map((e) => e.latencyMs),
              )
            : 0,
          kendallTau:
            pairs.length > 1
              ? kendallTau(
                  pairs.map((e) => measuredMs.get(e.hash)!),
                  pairs.map((e) => e.latencyMs),
                )
              : 0,
        },
        comparison: input.objective === 'pareto' ? compareParetoRuns({ device: input.device, arms: runs.arms.map((a) => ({ arm: a.arm, runs: a.runs.map(withMeasured) })) }) : null,
      };
    }
    const predictor = await devicePredictor(input.studyId, input.planKey, input.device);
    const key = studyKeys(input.studyId).comparison(input.device, input.objective);
    await store.putJson(key, { device: input.device, objective: input.objective, predictor: { heldOut: predictor.heldOut, trainedOn: predictor.trainedOn }, comparison, remeasured });
    const ratio = (c: SearchComparison | null | undefined, arm: string) => (c?.objective === 'pareto' ? (c.arms.find((a) => a.arm === arm)?.ratio ?? null) : null);
    return {
      device: input.device,
      objective: input.objective,
      key,
      hypervolumeRatios: arms.slice(1).map((arm) => ({ arm, predicted: ratio(comparison, arm), remeasured: ratio(remeasured?.comparison, arm) })),
    };
  }

  return {
    openSearch,
    searchCandidates,
    acceptSearchStep,
    runSearchStep,
    finishSearch,
    searchSetup,
    predictLatencies,
    evaluateCandidates,
    checkpointSearch,
    resumeSearch,
    storeSearchResult,
    compareStudySearches,
  };
}
