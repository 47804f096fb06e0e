/**
 * One random-mutation search as a workflow. The search's state lives in the store, one record per step
 * (activities/study/search-state.ts); the workflow carries only where the search stands (SearchProgress), so
 * no payload in its history grows with the search: a step's activity inputs and results are bounded by the
 * step's budget, and a continue-as-new carries the request and the progress.
 *
 * Each step is one activity on the orchestrator (candidates scored with the proxy or table accuracy and the
 * latency predictor fitted on the study's device measurements), or, with a user's evaluator, the candidates
 * fetched in pages of about 32 KB, one `evaluateAccuracy` per candidate on the evaluator's queue, and their
 * top-1 handed back to advance the search. Each step is visible in the Temporal UI.
 *
 * The activities validate what they score: a candidate they cannot score (NaN accuracy, an implausible
 * predicted latency) is recorded as a rejection with its reason and skipped. A search most of whose
 * candidates are rejected fails with the reasons (non-retryable), and so does the study: a broken evaluation
 * is a visible failure, never a silently retried workflow task.
 */
import { ApplicationFailure, continueAsNew, patched, proxyActivities, setCurrentDetails, setWorkflowOptions } from '@temporalio/workflow';
import type { OrchestratorActivities, SearchLocator, SearchRef, SearchRequest, SearchStepInput } from '../activities/study/contracts.js';
import type { SearchProgress } from '../pipelines/search/search.js';
import { registerSpace } from '../pipelines/spaces/registry.js';
import type { Architecture } from '../pipelines/spaces/types.js';
import { DEFAULT_TIMEOUTS, ORCHESTRATOR_QUEUE, WORKFLOW_DEFINITION_OPTIONS, activityOptions, historyIsLarge } from './definitions.js';
import { evaluatorCalls } from './evaluator.js';
import { legacySearch } from './search-legacy.js';

export async function searchWorkflow(request: SearchRequest): Promise<SearchRef> {
  const { spec } = request;
  // A user's space must be known here too: the legacy path samples and mutates in this sandbox.
  if (spec.spaceDefinition) registerSpace(spec.spaceDefinition);
  const timeouts = request.timeouts ?? DEFAULT_TIMEOUTS;
  const orchestrator = proxyActivities<OrchestratorActivities>(activityOptions('analysis', ORCHESTRATOR_QUEUE, timeouts));
  const steps = proxyActivities<OrchestratorActivities>(activityOptions('search-step', ORCHESTRATOR_QUEUE, timeouts));
  const evaluatorQueue = spec.accuracy.source === 'evaluator' ? spec.accuracy.evaluatorTaskQueue : undefined;
  const evaluator = evaluatorQueue ? evaluatorCalls(evaluatorQueue, timeouts, spec.spaceDefinition) : undefined;
  if (!patched('search-state-in-store')) return legacySearch(request, { orchestrator, steps, evaluator });

  const search: SearchLocator = {
    studyId: request.studyId,
    planKey: request.planKey,
    device: request.device,
    objective: request.objective,
    arm: request.arm,
    seed: request.seed,
    ...(request.checkpointKey ? { checkpointKey: request.checkpointKey } : {}),
  };
  const title = `${request.objective} search of the ${request.arm} space on ${request.device}, seed ${request.seed}`;

  /** The step's candidates, page by page, each evaluated by the user's evaluator, then the step advanced with their top-1. */
  const evaluatorStep = async (step: SearchStepInput, evaluate: (archs: Architecture[]) => Promise<{ top1: number }[]>): Promise<SearchProgress> => {
    const archs: Architecture[] = [];
    for (let total = Number.POSITIVE_INFINITY; archs.length < total;) {
      const page = await orchestrator.searchCandidates({ ...step, offset: archs.length });
      archs.push(...page.archs);
      total = page.total;
    }
    const evaluated = await evaluate(archs);
    return orchestrator.acceptSearchStep({ ...step, accuracies: evaluated.map(({ top1 }) => top1) });
  };

  let progress = request.resume ?? (await orchestrator.openSearch(request));
  let stepsThisRun = 0;
  while (!progress.done) {
    if (stepsThisRun > 0 && (stepsThisRun >= (request.stepsPerRun ?? Number.POSITIVE_INFINITY) || historyIsLarge())) {
      // Everything the next run needs is in the store: it carries only the request and where the search stands.
      await continueAsNew<typeof searchWorkflow>({ ...request, resume: progress });
    }
    setCurrentDetails(describe(progress));
    const step: SearchStepInput = { search, step: progress.step };
    progress = evaluator ? await evaluatorStep(step, (archs) => evaluator.evaluate(archs)) : await steps.runSearchStep(step);
    stepsThisRun += 1;
    if (progress.failure) throw ApplicationFailure.nonRetryable(`${title}: ${progress.failure}`, 'SearchFailed');
  }
  const ref = await orchestrator.finishSearch({ search, step: progress.step });
  setCurrentDetails(`done: ${describe(progress)}`);
  return ref;
}

function describe(progress: SearchProgress): string {
  const best = progress.bestAccuracy === null ? '' : `, best accuracy ${progress.bestAccuracy.toFixed(2)}`;
  const at = progress.done ? `${progress.iterations} iterations` : `step ${progress.step} of ${progress.iterations}`;
  return `${at}: ${progress.evaluations} evaluations (${progress.rejected} rejected)${best}`;
}

setWorkflowOptions(WORKFLOW_DEFINITION_OPTIONS, searchWorkflow);
