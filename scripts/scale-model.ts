/**
 * The scale run's stated accuracy model (scripts/scale.ts): 60 + per layer 0.12 × expand (+0.2 for kernel 5
 * or 7) for MBConv spaces, 60 + per block 10 × expand ratio for ResNet. Only its cost matters there: it is
 * what an accuracy table or an evaluator returns in no time, so the run measures orchestration.
 */
import type { EvaluatorActivities } from '../activities/accuracy/contracts.js';
import { parseMbBlock, parseBottleneckBlock, type Architecture } from '../pipelines/spaces/index.js';

export const SCALE_EVALUATOR = 'scale-run additive accuracy model (scripts/scale-model.ts)';

export function accuracyModel(arch: Architecture): number {
  return (
    60 +
    arch.units.flat().reduce((acc, block) => {
      const mb = parseMbBlock(block);
      return acc + (mb ? 0.12 * mb.expand + (mb.kernel > 3 ? 0.2 : 0) : 10 * (parseBottleneckBlock(block) ?? 0));
    }, 0)
  );
}

/** An evaluator as a user would serve one (docs/accuracy.md), answering every architecture with the model. */
export const scaleEvaluator: EvaluatorActivities = {
  evaluateAccuracy: async (input) => ({ top1: accuracyModel(input.arch), samples: 0, evaluator: SCALE_EVALUATOR }),
};
