/**
 * The search as it ran before its state moved to the store: the whole state lived in the workflow and travelled
 * through history (as the checkpoint's input, the resume's result and the stored result), which grew with the
 * search and, past Temporal's 2 MB payload limit, failed the workflow task for ever. searchWorkflow runs this only
 * for histories recorded without the 'search-state-in-store' patch, so that a search in flight when the new
 * version is deployed replays and moves to the new shape at its next continue-as-new (its checkpoint key carries
 * its state over). Remove it with deprecatePatch once no such search can be running.
 */
import { ApplicationFailure, continueAsNew, setCurrentDetails, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { OrchestratorActivities, SearchRef, SearchRequest } from '../activities/study/contracts.js';
import { acceptResults, isDone, nextBatch, predictedOutcome, searchFailure, searchResult, startSearch, type EvaluationOutcome } from '../pipelines/search/search.js';
import type { Architecture } from '../pipelines/spaces/types.js';
import { historyIsLarge } from './definitions.js';
import type { EvaluatorCalls } from './evaluator.js';

export async function legacySearch(
  request: SearchRequest,
  activities: { orchestrator: ActivityInterfaceFor<OrchestratorActivities>; steps: ActivityInterfaceFor<OrchestratorActivities>; evaluator: EvaluatorCalls | undefined },
): Promise<SearchRef> {
  const { spec } = request;
  const { orchestrator, steps, evaluator } = activities;
  const evaluate = async (archs: Architecture[]): Promise<EvaluationOutcome[]> => {
    const target = { studyId: request.studyId, planKey: request.planKey, device: request.device, archs };
    if (!evaluator) return steps.evaluateCandidates({ ...target, spec });
    const latencies = await orchestrator.predictLatencies(target);
    const evaluated = await evaluator.evaluate(archs);
    return evaluated.map(({ top1 }, i) => predictedOutcome(top1, latencies[i]!));
  };

  let state = request.checkpointKey ? await orchestrator.resumeSearch({ checkpointKey: request.checkpointKey }) : startSearch(await orchestrator.searchSetup(request));
  let stepsThisRun = 0;
  while (!isDone(state)) {
    if (stepsThisRun > 0 && (stepsThisRun >= (request.stepsPerRun ?? Number.POSITIVE_INFINITY) || historyIsLarge())) {
      const checkpointKey = await orchestrator.checkpointSearch({ ...request, state });
      await continueAsNew<(request: SearchRequest) => Promise<SearchRef>>({ ...request, checkpointKey });
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
