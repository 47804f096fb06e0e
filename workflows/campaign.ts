/**
 * One measurement campaign: every architecture of a study's plan, in batches, on one task queue —
 * a device's latency (queue device.<id>) or the study's accuracy scores. Its own history, so a device
 * can be inspected, retried or cancelled alone; it continues as new before the history grows large.
 */
import { ApplicationFailure, condition, continueAsNew, isCancellation, proxyActivities, setCurrentDetails, setHandler, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import type { AccuracyRecord, BatchRequest, BatchSummary, DeviceActivities, OrchestratorActivities } from '../activities/study/contracts.js';
import {
  ORCHESTRATOR_QUEUE,
  WORKFLOW_DEFINITION_OPTIONS,
  activityOptions,
  campaignProgressQuery,
  historyIsLarge,
  pauseSignal,
  resumeSignal,
  type CampaignInput,
  type CampaignProgress,
} from './definitions.js';
import { evaluatorCalls, type EvaluatorCalls } from './evaluator.js';

export interface CampaignResult {
  kind: CampaignInput['kind'];
  target: string;
  batches: number;
  total: number;
  computed: number;
  cached: number;
}

export async function campaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const batches = Math.ceil(input.total / input.batchSize);
  let paused = input.carried.paused;
  let computed = input.carried.computed;
  let cached = input.carried.cached;
  let elapsedMs = input.carried.elapsedMs;
  let nextBatch = input.startBatch;
  let running = false;

  const progress = (): CampaignProgress => {
    const done = Math.min(input.total, nextBatch * input.batchSize);
    const finishedBatches = nextBatch;
    return {
      kind: input.kind,
      target: input.target,
      taskQueue: input.taskQueue,
      done,
      total: input.total,
      computed,
      cached,
      paused,
      etaSeconds: finishedBatches === 0 ? null : Math.round(((batches - finishedBatches) * elapsedMs) / finishedBatches / 1000),
      state: nextBatch >= batches ? 'completed' : paused ? 'paused' : running ? 'running' : 'waiting',
    };
  };
  setHandler(campaignProgressQuery, progress);
  setHandler(pauseSignal, () => {
    paused = true;
  });
  setHandler(resumeSignal, () => {
    paused = false;
  });

  const batchOptions = activityOptions('batch', input.taskQueue, input.timeouts);
  const device = proxyActivities<DeviceActivities>(batchOptions);
  const orchestrator = proxyActivities<OrchestratorActivities>(batchOptions);
  // The evaluator path's bookkeeping (read the batch's work list, store the records) is analysis work.
  const bookkeeping = proxyActivities<OrchestratorActivities>(activityOptions('analysis', ORCHESTRATOR_QUEUE, input.timeouts));
  const { source, evaluatorTaskQueue } = input.spec.accuracy;
  // A user's evaluator worker only implements evaluateAccuracy; our orchestrator reads and writes the store.
  const evaluator =
    input.kind === 'accuracy' && source === 'evaluator' && evaluatorTaskQueue ? evaluatorCalls(evaluatorTaskQueue, input.timeouts, input.spec.spaceDefinition) : undefined;
  const evaluateBatch = async (request: BatchRequest, calls: EvaluatorCalls): Promise<BatchSummary> => {
    const items = await bookkeeping.planBatch(request);
    const results = await calls.evaluate(items.map((item) => item.arch));
    const records = items.map((item, i): AccuracyRecord => ({ hash: item.hash, score: results[i]!.top1, source: 'evaluator' }));
    return bookkeeping.storeAccuracyBatch({ ...request, records });
  };
  const runBatch = (request: BatchRequest): Promise<BatchSummary> => {
    // The summary names the batch in the Temporal UI's event list.
    const summary = {
      summary: `batch ${request.batchIndex + 1} of ${batches}: architectures ${request.batchIndex * request.batchSize + 1}-${Math.min(input.total, (request.batchIndex + 1) * request.batchSize)}`,
    };
    if (input.kind === 'latency') return device.measureBatch.executeWithOptions(summary, [{ ...request, device: input.target }]);
    if (evaluator) return evaluateBatch(request, evaluator);
    return orchestrator.scoreAccuracyBatch.executeWithOptions(summary, [{ ...request, spec: input.spec }]);
  };

  let batchesThisRun = 0;
  while (nextBatch < batches) {
    // An evaluator batch adds three events per architecture, so its runs are also bounded by history size.
    if (batchesThisRun >= input.batchesPerRun || workflowInfo().continueAsNewSuggested || (evaluator?.concurrent && historyIsLarge())) {
      await continueAsNew<typeof campaignWorkflow>({ ...input, startBatch: nextBatch, carried: { computed, cached, paused, elapsedMs } });
    }
    if (paused) {
      setCurrentDetails(`paused at batch ${nextBatch + 1} of ${batches}`);
      await condition(() => !paused);
    }
    running = true;
    setCurrentDetails(`${input.kind} on ${input.taskQueue}: batch ${nextBatch + 1} of ${batches} (${progress().done}/${input.total} done)`);
    const started = Date.now();
    let summary: BatchSummary;
    try {
      summary = await runBatch({ studyId: input.studyId, planKey: input.planKey, batchIndex: nextBatch, batchSize: input.batchSize });
    } catch (error) {
      if (isCancellation(error)) throw error;
      throw ApplicationFailure.create({ message: `${input.kind} campaign on ${input.target} failed at batch ${nextBatch}`, cause: error as Error, nonRetryable: true });
    }
    elapsedMs += Date.now() - started;
    computed += summary.computed;
    cached += summary.cached;
    nextBatch += 1;
    batchesThisRun += 1;
    running = false;
  }
  setCurrentDetails(`${input.kind} on ${input.taskQueue}: all ${input.total} done (${computed} computed, ${cached} from cache)`);
  return { kind: input.kind, target: input.target, batches, total: input.total, computed, cached };
}

setWorkflowOptions(WORKFLOW_DEFINITION_OPTIONS, campaignWorkflow);
