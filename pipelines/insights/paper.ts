/**
 * The paper's hand-derived pruned spaces (design-spaces.md §7), as space documents so they load exactly like the
 * automatically derived ones. Each built-in space defines its own (mbconv/builtin.ts, bottleneck/builtin.ts); a
 * user's space has none.
 */
import { designSpace } from '../spaces/registry.js';
import type { SpaceDocument, SpaceId } from '../spaces/types.js';
import { validateSpaceDocument } from '../spaces/validate.js';

/**
 * The paper's pruned spaces for one design space: npu, gpu, cpu, n10 (MBv3 only) and max_acc for MBv3 and
 * PN; max_acc for ResNet. Every document passes validateSpaceDocument.
 */
export function paperInsightSpaces(space: SpaceId): Record<string, SpaceDocument> {
  return Object.fromEntries(Object.entries(designSpace(space).paperSpaces()).map(([name, doc]) => [name, validateSpaceDocument(doc)]));
}

/** Which search objective a paper space was made for: max_acc for maximum accuracy, the device spaces for Pareto. */
export function paperSpaceObjective(name: string): 'pareto' | 'max-accuracy' {
  return name === 'max_acc' ? 'max-accuracy' : 'pareto';
}

/** A published mean ± std over the paper's 5 seeds. */
export interface PublishedFigure {
  mean: number;
  std: number;
}

/**
 * The paper's Table 2 rows that used OFA's accuracy predictor (OFAPred): the best predicted top-1 (%) of the
 * max-accuracy search over 5 seeds, in the original space ('original') and in its max_acc space. Only these
 * are comparable with a study whose accuracy is the same predictor.
 */
export const PAPER_MAX_ACCURACY_PREDICTED: Partial<Record<SpaceId, Record<string, PublishedFigure>>> = {
  'ofa-mbv3': { original: { mean: 78.9, std: 0.07 }, 'paper:max_acc': { mean: 79.2, std: 0.04 } },
};
