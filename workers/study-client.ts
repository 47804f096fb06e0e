/**
 * The client side of a study: start (idempotently), inspect, pause/resume, cancel and list studies.
 * Used by the CLI, the embedded default and the tests.
 */
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { parseStudySpec, studySpecHash, studyWorkflowId, type StudySpec } from '../pipelines/study/spec.js';
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
  options: { timeouts?: StudyTimeouts; batchesPerRun?: number; uiUrl?: string } = {},
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
        `- blocks: ${spec.blocks === 'all' ? 'all' : spec.blocks.length}, ${spec.samplesPerSpec} samples each, seed ${spec.seed}, depth rule ${spec.depthRule}`,
        `- devices: ${spec.devices.join(', ')}; accuracy: ${spec.accuracy.source}`,
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

export interface StudyStatusReport {
  workflowId: string;
  status: string;
  progress: StudyProgress | null;
  campaigns: CampaignProgress[];
}

export async function studyStatus(client: Client, workflowId: string): Promise<StudyStatusReport> {
  const handle = client.workflow.getHandle<typeof studyWorkflow>(workflowId);
  const description = await handle.describe();
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
  return { workflowId, status: description.status.name, progress, campaigns };
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
    });
    if (out.length >= limit) break;
  }
  return out;
}
