/**
 * The study, as the paper's recipe: sample -> score accuracy -> measure on every device -> aggregate
 * block-wise profiles. Each campaign is a child workflow on its own task queue.
 */
import {
  ParentClosePolicy,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { CampaignKind, OrchestratorActivities } from '../activities/study/contracts.js';
import { campaignWorkflow, NON_RETRYABLE_ERRORS } from './campaign.js';
import {
  DEFAULT_TIMEOUTS,
  ORCHESTRATOR_QUEUE,
  SEARCH_ATTRIBUTES,
  campaignWorkflowId,
  deviceQueue,
  pauseSignal,
  resumeSignal,
  studyProgressQuery,
  type StudyProgress,
  type StudyResult,
  type StudyStage,
  type StudyStatus,
  type StudyWorkflowInput,
} from './definitions.js';

const orchestrator = proxyActivities<OrchestratorActivities>({
  taskQueue: ORCHESTRATOR_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
});

/** Batches a campaign runs before continuing as new: ~10 history events each, far below the limits. */
const BATCHES_PER_RUN = 200;

export async function studyWorkflow(input: StudyWorkflowInput): Promise<StudyResult> {
  const { spec, studyId } = input;
  const timeouts = input.timeouts ?? DEFAULT_TIMEOUTS;
  let stage: StudyStage = 'sampling';
  let status: StudyStatus = 'running';
  let paused = false;
  const campaigns: StudyProgress['campaigns'] = [];

  const setStage = (next: StudyStage, details: string) => {
    stage = next;
    setCurrentDetails(details);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: next }]);
  };
  const setStatus = (next: StudyStatus) => {
    status = next;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: next }]);
  };
  const forwardToCampaigns = async (signal: typeof pauseSignal | typeof resumeSignal) => {
    await Promise.all(campaigns.map((c) => getExternalWorkflowHandle(c.workflowId).signal(signal).catch(() => undefined)));
  };

  setHandler(studyProgressQuery, () => ({ studyId, stage, status, paused, campaigns: [...campaigns] }));
  setHandler(pauseSignal, async () => {
    paused = true;
    setStatus('paused');
    await forwardToCampaigns(pauseSignal);
  });
  setHandler(resumeSignal, async () => {
    paused = false;
    setStatus('running');
    await forwardToCampaigns(resumeSignal);
  });

  const runCampaign = async (kind: CampaignKind, target: string, taskQueue: string, planKey: string, total: number, batchSize: number) => {
    const workflowId = campaignWorkflowId(studyId, kind, target);
    campaigns.push({ kind, target, workflowId });
    const handle: ChildWorkflowHandle<typeof campaignWorkflow> = await startChild(campaignWorkflow, {
      workflowId,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `${kind} of ${total} architectures on ${taskQueue}`,
      args: [{ studyId, kind, target, taskQueue, planKey, spec, total, batchSize, timeouts, startBatch: 0, carried: { computed: 0, cached: 0, paused, elapsedMs: 0 }, batchesPerRun: BATCHES_PER_RUN }],
    });
    return handle.result();
  };

  try {
    setStage('sampling', `sampling ${spec.space} architectures`);
    const prepared = await orchestrator.prepareStudy({ studyId, spec });
    await condition(() => !paused);

    setStage('accuracy', `scoring ${prepared.architectures} architectures (${spec.accuracy.source})`);
    const accuracyQueue = spec.accuracy.source === 'evaluator' && spec.accuracy.evaluatorTaskQueue ? spec.accuracy.evaluatorTaskQueue : ORCHESTRATOR_QUEUE;
    await runCampaign('accuracy', 'accuracy', accuracyQueue, prepared.planKey, prepared.architectures, spec.accuracy.batchSize);
    await condition(() => !paused);

    setStage('measuring', `measuring ${prepared.architectures} architectures on ${spec.devices.join(', ')}`);
    await Promise.all(
      spec.devices.map((device) => runCampaign('latency', device, deviceQueue(device), prepared.planKey, prepared.architectures, spec.measurement.batchSize)),
    );
    await condition(() => !paused);

    setStage('aggregating', 'aggregating block-wise profiles');
    const profiles = await orchestrator.aggregateProfiles({ studyId, planKey: prepared.planKey, spec });

    setStage('done', `profiled ${prepared.specs} block specifications on ${spec.devices.length} device(s)`);
    setStatus('completed');
    return { studyId, prepared, profiles };
  } catch (error) {
    // Upserting search attributes is not a cancellable command, so this works in a cancelled workflow too.
    setStatus(isCancellation(error) ? 'cancelled' : 'failed');
    throw error;
  }
}
