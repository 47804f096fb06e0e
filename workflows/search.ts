/**
 * One random-mutation search as a workflow: the pure step-wise search of pipelines/search runs here
 * (it is deterministic, so it replays), and every step's candidates are evaluated by activities — the
 * accuracy proxy on the orchestrator queue or a user's evaluator on its own queue, latency from the
 * predictor fitted on the study's device measurements. Each step is visible in the Temporal UI.
 *
 * The activities validate what they return: a candidate they cannot score (NaN accuracy, an implausible
 * predicted latency) comes back as a rejection with its reason, is recorded in the search result and
 * skipped. A search most of whose candidates are rejected fails with the reasons (non-retryable), and so
 * does the study: a broken evaluation is a visible failure, never a silently retried workflow task.
 */
import { ApplicationFailure, continueAsNew, proxyActivities, setCurrentDetails, setWorkflowOptions } from '@temporalio/workflow';
import type { OrchestratorActivities, SearchRef, SearchRequest } from '../activities/study/contracts.js';
import { acceptResults, isDone, nextBatch, predictedOutcome, searchFailure, searchResult, startSearch, type EvaluationOutcome } from '../pipelines/search/search.js';
import { registerSpace } from '../pipelines/spaces/registry.js';
import type { Architecture } from '../pipelines/spaces/types.js';
import { DEFAULT_TIMEOUTS, ORCHESTRATOR_QUEUE, WORKFLOW_DEFINITION_OPTIONS, activityOptions, historyIsLarge } from './definitions.js';
import { evaluatorCalls } from './evaluator.js';

export async function searchWorkflow(request: SearchRequest): Promise<SearchRef> {
  const { spec } = request;
  // The search runs its sampling and mutation here, in the workflow's own sandbox: it must know a user's space too.
  if (spec.spaceDefinition) registerSpace(spec.spaceDefinition);
  const timeouts = request.timeouts ?? DEFAULT_TIMEOUTS;
  const orchestrator = proxyActivities<OrchestratorActivities>(activityOptions('analysis', ORCHESTRATOR_QUEUE, timeouts));
  const steps = proxyActivities<OrchestratorActivities>(activityOptions('search-step', ORCHESTRATOR_QUEUE, timeouts));
  const evaluatorQueue = spec.accuracy.source === 'evaluator' ? spec.accuracy.evaluatorTaskQueue : undefined;
  const evaluator = evaluatorQueue ? evaluatorCalls(evaluatorQueue, timeouts, spec.spaceDefinition) : undefined;

  const evaluate = async (archs: Architecture[]): Promise<EvaluationOutcome[]> => {
    const target = { studyId: request.studyId, planKey: request.planKey, device: request.device, archs };
    if (!evaluator) return steps.evaluateCandidates({ ...target, spec });
    const latencies = await orchestrator.predictLatencies(target);
    // A user's evaluator is not ours to validate: a bad top-1 becomes a recorded rejection in acceptResults.
    const evaluated = await evaluator.evaluate(archs);
    return evaluated.map(({ top1 }, i) => predictedOutcome(top1, latencies[i]!));
  };

  let state = request.checkpointKey ? await orchestrator.resumeSearch({ checkpointKey: request.checkpointKey }) : startSearch(await orchestrator.searchSetup(request));
  let stepsThisRun = 0;
  while (!isDone(state)) {
    if (stepsThisRun > 0 && (stepsThisRun >= (request.stepsPerRun ?? Number.POSITIVE_INFINITY) || historyIsLarge())) {
      // The state goes to the store and the next run picks it up by key: the history restarts small.
      const checkpointKey = await orchestrator.checkpointSearch({ ...request, state });
      await continueAsNew<typeof searchWorkflow>({ ...request, checkpointKey });
    }
    const batch = nextBatch(state);
    setCurrentDetails(
      `step ${state.step} of ${state.config.iterations}: evaluating ${batch.length} candidates (${state.evaluations.length} so far, ${state.rejections.length} rejected)`,
    );
    state = acceptResults(state, batch.length > 0 ? await evaluate(batch) : []);
    stepsThisRun += 1;
    const failure = searchFailure(state);
    if (failure) throw ApplicationFailure.nonRetryable(`${request.objective} search of the ${request.arm} space on ${request.device}, seed ${request.seed}: ${failure}`, 'SearchFailed');
  }
  const result = searchResult(state);
  setCurrentDetails(`done: ${result.evaluationCount} evaluations (${state.rejections.length} rejected), front of ${result.front.length}`);
  return orchestrator.storeSearchResult({ ...request, result });
}

setWorkflowOptions(WORKFLOW_DEFINITION_OPTIONS, searchWorkflow);
