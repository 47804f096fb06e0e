/** Signals, queries, search attributes and shared types of the study workflows. */
import { defineSearchAttributeKey, SearchAttributeType, type WorkflowDefinitionOptions } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
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

/** Every activity retries with backoff from 1 s to 1 min, for as long as its timeouts allow. */
export const RETRY_POLICY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_ERRORS };
export const deviceQueue = (device: string) => `device.${device}`;

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

/** Timeouts of device work; tests shorten the heartbeat timeout so a killed worker is noticed fast. */
export interface StudyTimeouts {
  batchStartToCloseMinutes: number;
  heartbeatSeconds: number;
}

export const DEFAULT_TIMEOUTS: StudyTimeouts = { batchStartToCloseMinutes: 360, heartbeatSeconds: 120 };

export interface StudyWorkflowInput {
  studyId: string;
  specHash: string;
  spec: StudySpec;
  timeouts?: StudyTimeouts;
  /** Batches a campaign runs before it continues as new (default 200); tests make it small. */
  batchesPerRun?: number;
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

export const campaignWorkflowId = (studyId: string, kind: CampaignKind, target: string) =>
  kind === 'accuracy' ? `${studyId}.accuracy` : `${studyId}.latency.${target}`;
