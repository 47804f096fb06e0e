/**
 * The study, as the paper's recipe: sample -> score accuracy -> measure on every device -> aggregate
 * block-wise profiles. Each campaign is a child workflow on its own task queue.
 */
import {
  ParentClosePolicy,
  condition,
  executeChild,
  patched,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  setWorkflowOptions,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { CampaignKind, ComparisonRef, DeviceActivities, OrchestratorActivities, SearchRef, SearchRequest } from '../activities/study/contracts.js';
import { DEFAULT_SEARCH_ARMS, searchWorkflowId, type SearchArm } from '../pipelines/search/arms.js';
import type { SearchObjective } from '../pipelines/search/search.js';
import { campaignWorkflow } from './campaign.js';
import { searchWorkflow } from './search.js';
import {
  DEFAULT_TIMEOUTS,
  ORCHESTRATOR_QUEUE,
  activityOptions,
  SEARCH_ATTRIBUTES,
  WORKFLOW_DEFINITION_OPTIONS,
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

/** Batches a campaign runs before continuing as new: ~10 history events each, far below the limits. */
const BATCHES_PER_RUN = 200;

export async function studyWorkflow(input: StudyWorkflowInput): Promise<StudyResult> {
  const { spec, studyId } = input;
  const timeouts = input.timeouts ?? DEFAULT_TIMEOUTS;
  // Specs recorded before arms existed compare the original and the derived space.
  const arms: readonly SearchArm[] = spec.search.spaces ?? DEFAULT_SEARCH_ARMS;
  const orchestrator = proxyActivities<OrchestratorActivities>(activityOptions('analysis', ORCHESTRATOR_QUEUE, timeouts));
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
    await Promise.all(
      campaigns.map((c) =>
        getExternalWorkflowHandle(c.workflowId)
          .signal(signal)
          .catch(() => undefined),
      ),
    );
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
      args: [
        {
          studyId,
          kind,
          target,
          taskQueue,
          planKey,
          spec,
          total,
          batchSize,
          timeouts,
          startBatch: 0,
          carried: { computed: 0, cached: 0, paused, elapsedMs: 0 },
          batchesPerRun: input.batchesPerRun ?? BATCHES_PER_RUN,
        },
      ],
    });
    return handle.result();
  };

  /**
   * The paper's comparison on one device: every arm (the original space, the derived one, the paper's), same
   * budget and seeds, fronts re-measured on the device.
   */
  const compareSpaces = async (device: string, objective: SearchObjective, planKey: string, derivedSpaceKey: string | undefined) => {
    const searches: SearchRef[] = [];
    for (let seed = 1; seed <= spec.search.seeds; seed++) {
      for (const arm of arms) {
        await condition(() => !paused);
        const request: SearchRequest = {
          studyId,
          planKey,
          spec,
          device,
          objective,
          arm,
          seed,
          timeouts,
          ...(input.searchStepsPerRun ? { stepsPerRun: input.searchStepsPerRun } : {}),
          ...(arm === 'derived' && derivedSpaceKey ? { derivedSpaceKey } : {}),
        };
        const workflowId = searchWorkflowId(studyId, device, objective, arm, seed);
        searches.push(
          await executeChild(searchWorkflow, {
            workflowId,
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
            staticSummary: `${objective} search of the ${arm} space on ${device}, seed ${seed}`,
            args: [request],
          }),
        );
      }
    }
    let remeasuredKey: string | undefined;
    if (spec.search.remeasureFront) {
      const deviceActivities = proxyActivities<DeviceActivities>(activityOptions('batch', deviceQueue(device), timeouts));
      remeasuredKey = (await deviceActivities.remeasureSearchResults({ studyId, device, objective, searches })).key;
    }
    return orchestrator.compareStudySearches({ studyId, planKey, device, objective, searches, ...(remeasuredKey ? { remeasuredKey } : {}) });
  };

  try {
    setStage('sampling', `sampling ${spec.space} architectures`);
    const prepared = await orchestrator.prepareStudy({ studyId, spec });
    await condition(() => !paused);

    const accuracyCampaign = () => runCampaign('accuracy', 'accuracy', ORCHESTRATOR_QUEUE, prepared.planKey, prepared.architectures, spec.accuracy.batchSize);
    const deviceCampaigns = () =>
      Promise.all(spec.devices.map((device) => runCampaign('latency', device, deviceQueue(device), prepared.planKey, prepared.architectures, spec.measurement.batchSize)));
    // Histories recorded before campaigns could overlap replay the sequential order.
    if (patched('overlap-campaigns') && prepared.overlapAccuracy) {
      setStage('measuring', `scoring (${spec.accuracy.source}) and measuring ${prepared.architectures} architectures on ${spec.devices.join(', ')} at once`);
      await Promise.all([accuracyCampaign(), deviceCampaigns()]);
    } else {
      setStage('accuracy', `scoring ${prepared.architectures} architectures (${spec.accuracy.source})`);
      await accuracyCampaign();
      await condition(() => !paused);
      setStage('measuring', `measuring ${prepared.architectures} architectures on ${spec.devices.join(', ')}`);
      await deviceCampaigns();
    }
    await condition(() => !paused);

    setStage('aggregating', 'aggregating block-wise profiles');
    const profiles = await orchestrator.aggregateProfiles({ studyId, planKey: prepared.planKey, spec });
    await condition(() => !paused);

    setStage('insights', 'deriving insights and pruned spaces per device and objective');
    const insights = await orchestrator.deriveStudyInsights({ studyId, spec, profiles });
    await condition(() => !paused);

    setStage('search', `searching ${arms.join(', ')} (${spec.search.seeds} seeds) on ${spec.devices.join(', ')}`);
    const comparisons = (
      await Promise.all(
        spec.devices.map(async (device) => {
          const results: ComparisonRef[] = [];
          for (const objective of spec.search.objectives) {
            const derived = insights.find((i) => i.device === device && i.objective === objective);
            results.push(await compareSpaces(device, objective, prepared.planKey, derived?.prunedSpaceKey));
          }
          return results;
        }),
      )
    ).flat();

    const result: StudyResult = { studyId, prepared, profiles, insights, comparisons };
    // Added after histories were recorded: replaying those must not expect the report activity.
    if (patched('study-report')) {
      setStage('report', 'rendering the study report');
      result.report = await orchestrator.renderStudyReport({
        studyId,
        spec,
        profiles,
        insights,
        comparisons,
        namespace: workflowInfo().namespace,
        ...(input.uiUrl ? { uiUrl: input.uiUrl } : {}),
        // The campaigns only: the report lists the searches from the spec, so this input does not grow with seeds and arms.
        workflows: campaigns.map((c) => ({ label: `${c.kind} ${c.target}`, workflowId: c.workflowId })),
      });
    }

    setStage('done', `profiled ${prepared.specs} block specifications on ${spec.devices.length} device(s); searched ${comparisons.length} device/objective pair(s)`);
    setStatus('completed');
    return result;
  } catch (error) {
    // Upserting search attributes is not a cancellable command, so this works in a cancelled workflow too.
    setStatus(isCancellation(error) ? 'cancelled' : 'failed');
    throw error;
  }
}

setWorkflowOptions(WORKFLOW_DEFINITION_OPTIONS, studyWorkflow);
