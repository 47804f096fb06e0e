/** The mutation edits every family shares (§8.3, §8.4): which parts to mutate, and add/remove/swap of a unit's blocks. */
import type { Rng } from '../rng.js';
import type { UnitRule } from './types.js';

/**
 * Selects each part independently with its probability, redrawing until at least one is selected
 * (§8.3 step 1). Parts with probability 0 are never selected; if all are 0, nothing is.
 */
export function chooseUnitsToMutate(probabilities: readonly number[], rng: Rng): number[] {
  if (!probabilities.some((p) => p > 0)) return [];
  for (;;) {
    const chosen = probabilities.flatMap((p, u) => (rng.next() < p ? [u] : []));
    if (chosen.length > 0) return chosen;
  }
}

export type BlockEdit = 'add' | 'remove' | 'swap';

/** The block edits a unit allows: add below its maximum depth, remove above its minimum, swap with more than one candidate. */
export function blockEdits(blocks: readonly string[], rule: UnitRule): BlockEdit[] {
  const edits: BlockEdit[] = [];
  if (blocks.length < rule.maxLayers) edits.push('add');
  if (blocks.length > rule.minLayers) edits.push('remove');
  if (rule.blocks.length > 1) edits.push('swap');
  return edits;
}

export function otherThan<T>(items: readonly T[], current: T, rng: Rng): T {
  return rng.choice(items.filter((item) => item !== current));
}

/** Applies one add/remove/swap edit to a unit's blocks in place. */
export function editBlocks(blocks: string[], edit: BlockEdit, candidates: readonly string[], rng: Rng): void {
  switch (edit) {
    case 'add': {
      const block = rng.choice(candidates);
      blocks.splice(rng.int(blocks.length + 1), 0, block);
      return;
    }
    case 'remove':
      blocks.splice(rng.int(blocks.length), 1);
      return;
    case 'swap': {
      const position = rng.int(blocks.length);
      blocks[position] = otherThan(candidates, blocks[position]!, rng);
      return;
    }
  }
}
