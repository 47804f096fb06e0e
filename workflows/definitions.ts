/** Signals, queries, search attributes and shared types of the study workflows. */
import { defineSearchAttributeKey, SearchAttributeType, type RetryPolicy, type WorkflowDefinitionOptions } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import { defineQuery, defineSignal, workflowInfo } from '@temporalio/workflow';
import type { CampaignKind, ComparisonRef, InsightRef, PreparedStudy, ProfileRef, StudyReportRef } from '../activities/study/contracts.js';
import type { StudySpec } from '../pipelines/study/spec.js';

export const ORCHESTRATOR_QUEUE = 'blockscope.orchestrator';

/**
 * Errors no retry can fix, by the type Temporal reports (an Error's constructor name, or an
 * ApplicationFailure's type): bad specs, unknown devices, invalid architectures, accuracy inputs (a table
 * without the architecture, an unreadable dataset), and programming errors
 * (a TypeError, RangeError or ReferenceError thrown by an activity on the same input throws again), which
 * would otherwise be retried for ever while the study shows "running". Transient failures (the store or a
 * device unreachable, a worker killed) are other error types and keep retrying.
 */
const NON_RETRYABLE_ERRORS = ['SpaceValidationError', 'StudySpecError', 'DeviceConfigError', 'InvalidInputError', 'AccuracyInputError', 'TypeError', 'RangeError', 'ReferenceError'];

/**
 * Retries with backoff from 1 s to 1 min, at most `maximumAttempts` starts. A batch waiting for an offline
 * device is not an attempt (no worker has started it), so a device may be away for days; a batch that keeps
 * failing on a live worker ends the study with its last error instead of retrying for ever.
 */
export function retryPolicy(maximumAttempts: number): RetryPolicy {
  return { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS };
}

/** Starts of an activity before it fails for good: enough for restarts and outages, not for an error that repeats. */
export const DEFAULT_MAXIMUM_ATTEMPTS = 10;

export type ActivityClass = 'batch' | 'analysis' | 'search-step' | 'evaluator';

/**
 * Every activity's timeouts and retries, by class (docs/studies.md "Timeouts and retries"):
 * - batch: a device or accuracy batch; heartbeats after every architecture (and every second while one
 *   runs), so a dead worker is noticed after `heartbeatSeconds`, and a batch may take hours;
 * - analysis: prepare, aggregate, insights, search setup and bookkeeping, comparison, report; they do not
 *   heartbeat, so they have an honest bound instead (a paper-scale aggregation takes seconds to minutes);
 * - search-step: one step's candidates scored on the orchestrator, heartbeating per candidate;
 * - evaluator: a user's evaluateAccuracy, which may evaluate for minutes and heartbeats (docs/accuracy.md).
 */
export function activityOptions(kind: ActivityClass, taskQueue: string, timeouts: StudyTimeouts = DEFAULT_TIMEOUTS): ActivityOptions {
  const retry = retryPolicy(timeouts.maximumAttempts ?? DEFAULT_MAXIMUM_ATTEMPTS);
  switch (kind) {
    case 'batch':
      // No schedule-to-start limit: a device that is offline for days just leaves its batch waiting.
      return { taskQueue, startToCloseTimeout: `${timeouts.batchStartToCloseMinutes} minutes`, heartbeatTimeout: `${timeouts.heartbeatSeconds} seconds`, retry };
    case 'analysis':
      return { taskQueue, startToCloseTimeout: `${timeouts.analysisMinutes ?? DEFAULT_ANALYSIS_MINUTES} minutes`, retry };
    case 'search-step':
      return { taskQueue, startToCloseTimeout: '6 hours', heartbeatTimeout: `${timeouts.heartbeatSeconds} seconds`, retry };
    case 'evaluator':
      return { taskQueue, startToCloseTimeout: '6 hours', heartbeatTimeout: '5 minutes', retry };
  }
}

/** An analysis activity's bound: a paper-scale aggregation (18,100 architectures, two regressions per device) takes under a minute here. */
const DEFAULT_ANALYSIS_MINUTES = 60;

export const deviceQueue = (device: string) => `device.${device}`;

/**
 * Whether a workflow should continue as new before its next step: when the server suggests it, or past a
 * quarter of the bounds every study workflow keeps under (10,000 events, 5 MB). A step with a user's
 * evaluator adds three events per architecture (600 for a search step at the paper's Pareto budget of 200,
 * 60 for an accuracy batch of 20), so counting steps alone does not bound the history.
 */
export function historyIsLarge(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > 2_500 || info.historySize > 1_250_000;
}

/**
 * Every blockscope workflow: an error thrown by its code (a TypeError, a RangeError, any Error) fails the
 * workflow execution with that error's message instead of failing the workflow task, which Temporal would
 * retry for ever while the study showed "running". Cancellation and continue-as-new are unaffected. A
 * nondeterminism error detected while replaying history is not covered on purpose: it means the deployed
 * workflow code does not match the running study, which a rollback fixes, so it stays a failing workflow
 * task, and `study status`, `study list` and the `dev` watcher report it (workers/study-client.ts).
 */
export const WORKFLOW_DEFINITION_OPTIONS: WorkflowDefinitionOptions = { failureExceptionTypes: [Error] };

export const SEARCH_ATTRIBUTES = {
  space: defineSearchAttributeKey('BlockscopeSpace', SearchAttributeType.KEYWORD),
  devices: defineSearchAttributeKey('BlockscopeDevices', SearchAttributeType.KEYWORD_LIST),
  status: defineSearchAttributeKey('BlockscopeStatus', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('BlockscopeStage', SearchAttributeType.KEYWORD),
  specHash: defineSearchAttributeKey('BlockscopeSpecHash', SearchAttributeType.KEYWORD),
  study: defineSearchAttributeKey('BlockscopeStudy', SearchAttributeType.KEYWORD),
} as const;

export type StudyStatus = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
export type StudyStage = 'sampling' | 'accuracy' | 'measuring' | 'aggregating' | 'insights' | 'search' | 'report' | 'done';

/** Timeouts and retries of the study's activities; tests shorten them so a killed worker or a failing activity is noticed fast. */
export interface StudyTimeouts {
  batchStartToCloseMinutes: number;
  heartbeatSeconds: number;
  /** The analysis activities' start-to-close bound (default 60). */
  analysisMinutes?: number;
  /** Starts of an activity before it fails for good (default DEFAULT_MAXIMUM_ATTEMPTS). */
  maximumAttempts?: number;
}

export const DEFAULT_TIMEOUTS: StudyTimeouts = { batchStartToCloseMinutes: 360, heartbeatSeconds: 120 };

export interface StudyWorkflowInput {
  studyId: string;
  specHash: string;
  spec: StudySpec;
  timeouts?: StudyTimeouts;
  /** Batches a campaign runs before it continues as new (default 200); tests make it small. */
  batchesPerRun?: number;
  /** Steps a search runs before it continues as new (default: when its history grows large); tests make it small. */
  searchStepsPerRun?: number;
  /** Base URL of the Temporal Web UI, for the report's links. */
  uiUrl?: string;
}

export interface StudyResult {
  studyId: string;
  prepared: PreparedStudy;
  profiles: ProfileRef[];
  insights: InsightRef[];
  comparisons: ComparisonRef[];
  /** Absent for studies recorded before the report stage existed. */
  report?: StudyReportRef;
}

export interface CampaignInput {
  studyId: string;
  kind: CampaignKind;
  /** The device measured (latency) or 'accuracy'. */
  target: string;
  taskQueue: string;
  planKey: string;
  spec: StudySpec;
  total: number;
  batchSize: number;
  timeouts: StudyTimeouts;
  /** Where this run starts (continue-as-new carries it forward). */
  startBatch: number;
  carried: { computed: number; cached: number; paused: boolean; elapsedMs: number };
  /** Batches one run handles before continuing as new (keeps histories short). */
  batchesPerRun: number;
}

export interface CampaignProgress {
  kind: CampaignKind;
  target: string;
  taskQueue: string;
  done: number;
  total: number;
  computed: number;
  cached: number;
  paused: boolean;
  /** Seconds left at the pace so far; null before the first batch finishes. */
  etaSeconds: number | null;
  state: 'waiting' | 'running' | 'paused' | 'completed';
}

export interface StudyProgress {
  studyId: string;
  stage: StudyStage;
  status: StudyStatus;
  paused: boolean;
  /** Child workflow ids of the campaigns, to query for their progress. */
  campaigns: { kind: CampaignKind; target: string; workflowId: string }[];
}

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const studyProgressQuery = defineQuery<StudyProgress>('studyProgress');
export const campaignProgressQuery = defineQuery<CampaignProgress>('campaignProgress');

export const campaignWorkflowId = (studyId: string, kind: CampaignKind, target: string) => (kind === 'accuracy' ? `${studyId}.accuracy` : `${studyId}.latency.${target}`);
