/** A user's evaluator (docs/accuracy.md), as the accuracy campaign and the search workflows call it. */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { EvaluateAccuracyResult, EvaluatorActivities } from '../activities/accuracy/contracts.js';
import type { SpaceDefinition } from '../pipelines/spaces/definition.js';
import type { Architecture } from '../pipelines/spaces/types.js';
import { activityOptions, type StudyTimeouts } from './definitions.js';

export interface EvaluatorCalls {
  /** Every architecture's result, in order. */
  evaluate(archs: Architecture[]): Promise<EvaluateAccuracyResult[]>;
  /** Whether this run asks for a batch's architectures at once (false when replaying a run recorded before). */
  concurrent: boolean;
}

/**
 * One `evaluateAccuracy` activity per architecture, all of a batch (or a search step) scheduled at once: the
 * evaluator worker's own `maxConcurrentActivityTaskExecutions` decides how many run together, and a batch no
 * longer waits a workflow round trip per architecture. Workflows recorded before the patch asked one at a time.
 */
export function evaluatorCalls(taskQueue: string, timeouts: StudyTimeouts, space?: SpaceDefinition): EvaluatorCalls {
  const evaluator = proxyActivities<EvaluatorActivities>(activityOptions('evaluator', taskQueue, timeouts));
  const concurrent = patched('concurrent-evaluations');
  const evaluateOne = (arch: Architecture) => evaluator.evaluateAccuracy({ arch, resolution: arch.resolution, ...(space ? { space } : {}) });
  return {
    concurrent,
    async evaluate(archs) {
      if (concurrent) return Promise.all(archs.map(evaluateOne));
      const results: EvaluateAccuracyResult[] = [];
      for (const arch of archs) results.push(await evaluateOne(arch));
      return results;
    },
  };
}
