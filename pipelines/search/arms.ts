/**
 * The arms of a study's search comparison: the spaces searched with equal budgets and seeds. 'original' is the
 * design space as defined, 'derived' the space the study's insights pruned for the device and objective, and
 * 'paper:<name>' one of the paper's hand-made insight spaces (design-spaces.md section 7), so that Fig. 8's
 * comparison (original vs the paper's insight space vs the derived one) runs in a study.
 */
import { paperInsightSpaces } from '../insights/paper.js';
import { originalSpace } from '../spaces/registry.js';
import type { SpaceDocument, SpaceId } from '../spaces/types.js';

export const PAPER_SPACE_NAMES = ['npu', 'gpu', 'cpu', 'n10', 'max_acc'] as const;
export type PaperSpaceName = (typeof PAPER_SPACE_NAMES)[number];
export type SearchArm = 'original' | 'derived' | `paper:${PaperSpaceName}`;

export const SEARCH_ARMS: readonly SearchArm[] = ['original', 'derived', ...PAPER_SPACE_NAMES.map((name) => `paper:${name}` as const)];
/** The paper's comparison: the original space against the one the insights derived. */
export const DEFAULT_SEARCH_ARMS: readonly SearchArm[] = ['original', 'derived'];
/** Every other arm is compared to this one. */
export const BASELINE_ARM: SearchArm = 'original';

/**
 * The arm's name in workflow ids and store keys. The derived arm keeps 'pruned', its name before there were
 * other arms, so that recorded histories replay and earlier studies' results are found where they are.
 */
export function armKey(arm: SearchArm): string {
  if (arm === 'derived') return 'pruned';
  return arm.replace(':', '-');
}

/** The arm whose key this is, or undefined for a key no arm has. */
export function armOfKey(key: string): SearchArm | undefined {
  return SEARCH_ARMS.find((arm) => armKey(arm) === key);
}

/** The paper arms that exist for a space: n10 is MobileNetV3-only, ResNet has max_acc only. */
export function paperArms(space: SpaceId): SearchArm[] {
  return Object.keys(paperInsightSpaces(space)).map((name) => `paper:${name}` as SearchArm);
}

/** The space an arm searches; the derived space must be given for the 'derived' arm. */
export function armSpace(space: SpaceId, arm: SearchArm, derived?: SpaceDocument): SpaceDocument {
  if (arm === 'derived') {
    if (!derived) throw new RangeError('the derived arm needs the space the insights derived');
    return derived;
  }
  if (arm === 'original') return originalSpace(space);
  const name = arm.slice('paper:'.length);
  const doc = paperInsightSpaces(space)[name];
  if (!doc) throw new RangeError(`${arm}: the paper has no ${name} space for ${space}; it has ${paperArms(space).join(', ')}`);
  return doc;
}

/** The workflow id of one of a study's searches. */
export function searchWorkflowId(studyId: string, device: string, objective: string, arm: SearchArm, seed: number): string {
  return `${studyId}.search.${device}.${objective}.${armKey(arm)}.seed${seed}`;
}
