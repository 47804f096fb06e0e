/**
 * The client side of a study: start (idempotently), inspect, pause/resume, cancel and list studies.
 * Used by the CLI, the embedded default and the tests.
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { parseStudySpec, searchBudget, studySpecHash, studyWorkflowId, type StudySpec } from '../pipelines/study/spec.js';
import {
  ORCHESTRATOR_QUEUE,
  SEARCH_ATTRIBUTES,
  campaignProgressQuery,
  pauseSignal,
  resumeSignal,
  studyProgressQuery,
  type CampaignProgress,
  type StudyProgress,
  type StudyResult,
  type StudyTimeouts,
} from '../workflows/definitions.js';
import type { studyWorkflow } from '../workflows/study.js';

export interface StartedStudy {
  workflowId: string;
  runId: string;
  /** False when the same study was already running or had completed: nothing new was started. */
  started: boolean;
  handle: WorkflowHandle<typeof studyWorkflow>;
}

export async function startStudy(
  client: Client,
  rawSpec: unknown,
  options: { timeouts?: StudyTimeouts; batchesPerRun?: number; searchStepsPerRun?: number; uiUrl?: string } = {},
): Promise<StartedStudy> {
  const spec: StudySpec = parseStudySpec(rawSpec);
  const specHash = studySpecHash(spec);
  const workflowId = studyWorkflowId(spec);
  const existing = client.workflow.getHandle<typeof studyWorkflow>(workflowId);
  const previous = await existing.describe().catch((error: unknown) => {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  });
  if (previous && (previous.status.name === 'RUNNING' || previous.status.name === 'COMPLETED')) {
    return { workflowId, runId: previous.runId, started: false, handle: existing };
  }
  try {
    const handle = await client.workflow.start<typeof studyWorkflow>('studyWorkflow', {
      taskQueue: ORCHESTRATOR_QUEUE,
      workflowId,
      args: [{ studyId: workflowId, specHash, spec, ...options }],
      // The same spec is the same study: attach to a running one; re-run only one that failed or was cancelled.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.study, value: spec.name },
        { key: SEARCH_ATTRIBUTES.space, value: spec.space },
        { key: SEARCH_ATTRIBUTES.devices, value: spec.devices },
        { key: SEARCH_ATTRIBUTES.status, value: 'running' },
        { key: SEARCH_ATTRIBUTES.stage, value: 'sampling' },
        { key: SEARCH_ATTRIBUTES.specHash, value: specHash },
      ],
      memo: { spec },
      staticSummary: `blockscope study ${spec.name}: ${spec.space} on ${spec.devices.join(', ')}`,
      staticDetails: [
        `**Study** ${spec.name} (spec ${specHash.slice(0, 12)})`,
        `- space: ${spec.space}, resolutions ${spec.resolutions.join(', ')}`,
        spec.design?.kind === 'shared-random'
          ? `- blocks: ${spec.blocks === 'all' ? 'all' : spec.blocks.length}, design shared-random: ${spec.design.architectures} random architectures, seed ${spec.seed}`
          : `- blocks: ${spec.blocks === 'all' ? 'all' : spec.blocks.length}, ${spec.samplesPerSpec} samples each, seed ${spec.seed}, depth rule ${spec.depthRule}`,
        `- devices: ${spec.devices.join(', ')}; accuracy: ${spec.accuracy.source}`,
        ...spec.search.objectives.map((objective) => {
          const b = searchBudget(spec.search, objective);
          return `- search ${objective}: ${spec.search.spaces.join(', ')}, each ${spec.search.seeds} seeds × (${b.initialSize} + ${b.iterations} × ${b.budgetPerIteration})${b.topK ? `, top ${b.topK} as parents` : ''}`;
        }),
      ].join('\n'),
    });
    return { workflowId, runId: handle.firstExecutionRunId, started: true, handle };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      const handle = client.workflow.getHandle<typeof studyWorkflow>(workflowId);
      const description = await handle.describe();
      return { workflowId, runId: description.runId, started: false, handle };
    }
    throw error;
  }
}

/**
 * A running workflow of a study whose workflow task keeps failing: Temporal retries such a task for ever
 * while the workflow shows "running" (blockscope's workflows fail on errors in their code instead, so what
 * is left here is mainly a nondeterminism error after a deployment that does not match a running study).
 */
export interface WorkflowTaskProblem {
  workflowId: string;
  workflowType: string;
  /** The attempt the workflow task is on; every earlier one failed. */
  attempt: number;
  /** The failure Temporal recorded, e.g. "RangeError: result 4: ...". */
  message: string;
}

/** A workflow task on this attempt or later has failed at least once. */
const FAILED_TASK_MIN_ATTEMPT = 2;

/** The failure message of a workflow's latest failed workflow task, read from the end of its history. */
async function lastWorkflowTaskFailure(client: Client, workflowId: string, runId: string): Promise<string | undefined> {
  const page = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 100,
  });
  for (const event of page.history?.events ?? []) {
    if (event.workflowTaskCompletedEventAttributes) return undefined;
    const failure = event.workflowTaskFailedEventAttributes?.failure;
    if (failure) {
      // The stack names the error class ("RangeError: message"); the message alone does not.
      const message = failure.message ?? 'the workflow task failed';
      return failure.stackTrace?.split('\n').find((line) => /^\w+: /.test(line) && line.endsWith(`: ${message}`)) ?? message;
    }
  }
  return undefined;
}

/**
 * An activity of a running study that has failed and is being retried: not stuck (a store that comes back,
 * a worker that restarts fixes it), but worth seeing while it lasts.
 */
export interface RetryingActivity {
  workflowId: string;
  activityType: string;
  attempt: number;
  lastFailure: string;
}

/** Activities on this attempt or later are reported: a single retry after a killed worker is routine. */
const RETRYING_MIN_ATTEMPT = 3;

export interface StudyHealth {
  problems: WorkflowTaskProblem[];
  retrying: RetryingActivity[];
}

/**
 * The study's running workflows (itself, its campaigns and searches): those whose workflow task keeps
 * failing, and their activities that keep being retried.
 */
export async function studyHealth(client: Client, studyId: string): Promise<StudyHealth> {
  const health: StudyHealth = { problems: [], retrying: [] };
  // Every child of a study has an id that starts with the study's id (campaignWorkflowId, the search ids).
  const query = `ExecutionStatus = 'Running' AND (WorkflowId = '${studyId}' OR WorkflowId STARTS_WITH '${studyId}.')`;
  for await (const execution of client.workflow.list({ query })) {
    const { raw } = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    for (const activity of raw.pendingActivities ?? []) {
      if ((activity.attempt ?? 0) < RETRYING_MIN_ATTEMPT) continue;
      health.retrying.push({
        workflowId: execution.workflowId,
        activityType: activity.activityType?.name ?? 'activity',
        attempt: activity.attempt ?? 0,
        lastFailure: activity.lastFailure?.message ?? 'no failure recorded',
      });
    }
    const attempt = raw.pendingWorkflowTask?.attempt ?? 0;
    if (attempt < FAILED_TASK_MIN_ATTEMPT) continue;
    const message = await lastWorkflowTaskFailure(client, execution.workflowId, execution.runId);
    if (message !== undefined) health.problems.push({ workflowId: execution.workflowId, workflowType: execution.type, attempt, message });
  }
  return health;
}

/** One line per problem, for the CLI and the dev watcher. */
export function problemLine(problem: WorkflowTaskProblem): string {
  return `workflow task of ${problem.workflowId} keeps failing (attempt ${problem.attempt}): ${problem.message}`;
}

export function retryingLine(activity: RetryingActivity): string {
  return `${activity.activityType} of ${activity.workflowId} is on attempt ${activity.attempt}; last failure: ${activity.lastFailure}`;
}

export interface StudyStatusReport {
  workflowId: string;
  status: string;
  progress: StudyProgress | null;
  campaigns: CampaignProgress[];
  /** Workflows of a running study whose workflow task keeps failing: the study is stuck until they are fixed. */
  problems: WorkflowTaskProblem[];
  /** Activities of a running study that keep failing and are being retried. */
  retrying: RetryingActivity[];
}

export async function studyStatus(client: Client, workflowId: string): Promise<StudyStatusReport> {
  const handle = client.workflow.getHandle<typeof studyWorkflow>(workflowId);
  const description = await handle.describe();
  const health: StudyHealth = description.status.name === 'RUNNING' ? await studyHealth(client, workflowId) : { problems: [], retrying: [] };
  let progress: StudyProgress | null = null;
  try {
    progress = await handle.query(studyProgressQuery);
  } catch {
    // A closed workflow with no worker to replay it cannot answer queries; its status still can.
  }
  const campaigns: CampaignProgress[] = [];
  for (const campaign of progress?.campaigns ?? []) {
    try {
      campaigns.push(await client.workflow.getHandle(campaign.workflowId).query(campaignProgressQuery));
    } catch {
      // The campaign may not have started its first task yet.
    }
  }
  return { workflowId, status: description.status.name, progress, campaigns, ...health };
}

export async function pauseStudy(client: Client, workflowId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(pauseSignal);
}

export async function resumeStudy(client: Client, workflowId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(resumeSignal);
}

export async function cancelStudy(client: Client, workflowId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).cancel();
}

export async function studyResult(client: Client, workflowId: string): Promise<StudyResult> {
  return client.workflow.getHandle<typeof studyWorkflow>(workflowId).result();
}

export interface StudyListing {
  workflowId: string;
  status: string;
  stage: string;
  space: string;
  devices: string[];
  startTime: Date;
  /** Running studies only: workflows of the study whose workflow task keeps failing. */
  problems: WorkflowTaskProblem[];
}

export async function listStudies(client: Client, limit = 50): Promise<StudyListing[]> {
  const out: StudyListing[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'studyWorkflow'` })) {
    const attrs = wf.typedSearchAttributes;
    out.push({
      workflowId: wf.workflowId,
      status: wf.status.name,
      stage: attrs.get(SEARCH_ATTRIBUTES.stage) ?? '',
      space: attrs.get(SEARCH_ATTRIBUTES.space) ?? '',
      devices: attrs.get(SEARCH_ATTRIBUTES.devices) ?? [],
      startTime: wf.startTime,
      problems: wf.status.name === 'RUNNING' ? (await studyHealth(client, wf.workflowId)).problems : [],
    });
    if (out.length >= limit) break;
  }
  return out;
}
