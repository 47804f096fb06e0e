/**
 * The activity contracts of a study: what the workflows may call, with small inputs and outputs.
 * Large data (plans, measurements, profiles) stays in the artifact store; only keys travel through
 * workflow history.
 */
import type { AccuracySource } from '../../pipelines/records.js';
import type { LatencyPrediction } from '../../pipelines/search/predictor.js';
import type { EvaluationOutcome, SearchConfig, SearchObjective, SearchProgress, SearchResult, SearchState } from '../../pipelines/search/search.js';
import type { Architecture } from '../../pipelines/spaces/types.js';
import type { StudySpec } from '../../pipelines/study/spec.js';
import type { InsightRef } from './insights.js';
import type { RenderStudyReportInput, StudyReportRef } from './report.js';
import type { SearchLocator, SearchStepInput } from './search-state.js';
import type { CompareSearchesRequest, ComparisonRef, SearchRef, SearchRequest } from './search.js';

export type { CompareSearchesRequest, ComparisonRef, InsightRef, RenderStudyReportInput, SearchLocator, SearchRef, SearchRequest, SearchStepInput, StudyReportRef };

export interface PreparedStudy {
  studyId: string;
  specKey: string;
  planKey: string;
  architectures: number;
  specs: number;
  store: string;
  /** Whether the accuracy campaign runs while the devices measure (overlapsAccuracy); absent before it existed. */
  overlapAccuracy?: boolean;
}

export type CampaignKind = 'latency' | 'accuracy';

export interface BatchRequest {
  studyId: string;
  /** Read only by the batches of a study prepared before work lists existed (activities/study/work.ts). */
  planKey: string;
  batchIndex: number;
  batchSize: number;
}

export interface BatchSummary {
  batchIndex: number;
  key: string;
  count: number;
  /** Items computed now (the rest came from the measurement cache or an earlier attempt). */
  computed: number;
  cached: number;
}

export interface ProfileRef {
  device: string;
  resolution: number;
  jsonKey: string;
  csvKey: string;
}

export interface OrchestratorActivities {
  prepareStudy(input: { studyId: string; spec: StudySpec }): Promise<PreparedStudy>;
  scoreAccuracyBatch(input: BatchRequest & { spec: StudySpec }): Promise<BatchSummary>;
  aggregateProfiles(input: { studyId: string; planKey: string; spec: StudySpec }): Promise<ProfileRef[]>;
  /** The architectures of one accuracy batch, from its work list (for accuracy from a user's evaluator worker). */
  planBatch(input: BatchRequest): Promise<{ hash: string; arch: Architecture }[]>;
  /** Stores accuracies an evaluator worker returned for one batch. */
  storeAccuracyBatch(input: BatchRequest & { records: AccuracyRecord[] }): Promise<BatchSummary>;
  deriveStudyInsights(input: { studyId: string; spec: StudySpec; profiles: ProfileRef[] }): Promise<InsightRef[]>;
  /** Stores a new search's configuration (or finds an old checkpoint's step); the search's state stays in the store. */
  openSearch(input: SearchRequest): Promise<SearchProgress>;
  /** A page of a step's candidates (about 32 KB), for a user's evaluator; `total` is the step's count. */
  searchCandidates(input: SearchStepInput & { offset: number }): Promise<{ archs: Architecture[]; total: number }>;
  /** Advances a search by one step from its candidates' top-1, in candidate order, with predicted latencies. */
  acceptSearchStep(input: SearchStepInput & { accuracies: number[] }): Promise<SearchProgress>;
  /** Advances a search by one step, scoring its candidates on the orchestrator (proxy or table accuracy). */
  runSearchStep(input: SearchStepInput): Promise<SearchProgress>;
  /** Stores a finished search's result. */
  finishSearch(input: SearchStepInput): Promise<SearchRef>;
  // Searches started before their state moved to the store (workflows/search-legacy.ts) call these.
  searchSetup(input: SearchRequest): Promise<SearchConfig>;
  /** Plausible predicted latencies, or why a candidate has none (validated here, not in the workflow). */
  predictLatencies(input: { studyId: string; planKey: string; device: string; archs: Architecture[] }): Promise<LatencyPrediction[]>;
  /** Accuracy and predicted latency of candidates, each a checked result or a rejection with its reason. */
  evaluateCandidates(input: { studyId: string; planKey: string; spec: StudySpec; device: string; archs: Architecture[] }): Promise<EvaluationOutcome[]>;
  /** Stores a search's state (its workflow is about to continue as new) and returns its key. */
  checkpointSearch(input: SearchRequest & { state: SearchState }): Promise<string>;
  resumeSearch(input: { checkpointKey: string }): Promise<SearchState>;
  storeSearchResult(input: SearchRequest & { result: SearchResult }): Promise<SearchRef>;
  compareStudySearches(input: CompareSearchesRequest): Promise<ComparisonRef>;
  renderStudyReport(input: RenderStudyReportInput): Promise<StudyReportRef>;
}

export interface DeviceActivities {
  measureBatch(input: BatchRequest & { device: string }): Promise<BatchSummary>;
  /** Measures the final architectures of a set of searches (their Pareto fronts or top-k) on this device. */
  remeasureSearchResults(input: { studyId: string; device: string; objective: SearchObjective; searches: SearchRef[] }): Promise<BatchSummary>;
}

/** Heartbeat details of a batch activity: how far it got, so a retry resumes after the last item. */
export interface BatchHeartbeat {
  batchIndex: number;
  completed: number;
}

/** One architecture's accuracy figure as a study stores it. */
export interface AccuracyRecord {
  hash: string;
  /** Top-1 (%) for 'table'/'evaluator', the proxy score for 'naswot-proxy'. */
  score: number;
  source: AccuracySource;
}

/** Scores architectures for one study's accuracy settings; `fromCache` marks work not redone. */
export interface AccuracyScoring {
  score(arch: Architecture, signal: AbortSignal): Promise<{ value: AccuracyRecord; fromCache: boolean }>;
}

export type AccuracyScorerFactory = (spec: StudySpec) => Promise<AccuracyScoring>;
