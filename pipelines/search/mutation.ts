/**
 * The random-mutation search's variation operators (§8.2–§8.5): the initial population, the mutation of
 * one architecture, and the production of one iteration's batch of children. Everything draws from the
 * Rng it is given and respects the space document (candidates, layer ranges, widths, stem rules).
 */
import type { Rng } from '../rng.js';
import { sampleArchitecture } from '../sampling.js';
import { designSpace } from '../spaces/registry.js';
import type { Architecture, SpaceDocument } from '../spaces/types.js';
import { architectureKey } from '../spaces/validate.js';

export { chooseUnitsToMutate } from '../spaces/edits.js';

/** Extra attempts one chain step gets to find a child that is new within the batch (§8.5). */
export const MUTATION_RETRIES_PER_CHILD = 100;
/**
 * The original's global give-up counter is never incremented, so it can spin forever; we stop after this
 * many consecutive passes over the parents that found no new child.
 */
export const MAX_PASSES_WITHOUT_NEW_CHILD = 10;
/** Samples drawn per wanted initial architecture before giving up (a tiny or tightly constrained space). */
export const INITIAL_SAMPLING_ATTEMPTS_PER_ARCH = 100;

/**
 * The initial population (§8.2): uniform samples with distinct keys. Samples that `accept` rejects (a
 * constraint known before evaluation) are skipped and not counted. Returns fewer than `size` only when
 * the space has too few distinct acceptable architectures to find them within the attempt cap.
 */
export function initialPopulation(doc: SpaceDocument, options: { size: number; resolution: number; rng: Rng; accept?: (arch: Architecture) => boolean }): Architecture[] {
  const population = new Map<string, Architecture>();
  const maxAttempts = options.size * INITIAL_SAMPLING_ATTEMPTS_PER_ARCH;
  for (let attempt = 0; attempt < maxAttempts && population.size < options.size; attempt++) {
    const arch = sampleArchitecture(doc, options.rng, options.resolution);
    const key = architectureKey(arch);
    if (population.has(key) || (options.accept && !options.accept(arch))) continue;
    population.set(key, arch);
  }
  return [...population.values()];
}

/**
 * One mutation (§8.3 for MBv3/PN, §8.4 for ResNet): selected units get exactly one valid edit each, the
 * others stay as they are. The input is not modified.
 */
export function mutateArchitecture(arch: Architecture, doc: SpaceDocument, rng: Rng): Architecture {
  if (arch.space !== doc.space) throw new Error(`architecture of space ${arch.space} cannot be mutated in a ${doc.space} document`);
  return designSpace(arch.space).mutate(arch, doc, rng);
}

export interface BatchOptions {
  /** How many distinct children to return at most (B). */
  budget: number;
  /** Length of each parent's mutation chain (D). */
  depth: number;
  rng: Rng;
}

/**
 * One iteration's children (§8.5, mutate_archs): passes over the parents, each growing a chain of `depth`
 * mutations whose every step must be new within this batch (up to 100 extra attempts, then the parent is
 * left for this pass), until at least `budget` children are collected; then a shuffle keeps `budget`.
 * Children seen in earlier iterations are allowed: the evaluator's memo makes them free.
 */
export function mutateArchs(parents: readonly Architecture[], doc: SpaceDocument, options: BatchOptions): Architecture[] {
  const { budget, depth, rng } = options;
  if (parents.length === 0 || budget <= 0) return [];
  const children = new Map<string, Architecture>();
  let passesWithoutNewChild = 0;
  while (children.size < budget && passesWithoutNewChild < MAX_PASSES_WITHOUT_NEW_CHILD) {
    const sizeBefore = children.size;
    for (const parent of parents) {
      let current = parent;
      for (let step = 0; step < depth; step++) {
        const child = mutateUntilNew(current, doc, rng, children);
        if (!child) break;
        current = child;
      }
    }
    passesWithoutNewChild = children.size > sizeBefore ? 0 : passesWithoutNewChild + 1;
  }
  return rng.shuffled([...children.values()]).slice(0, budget);
}

/** Mutates `parent` until the child is new to `children` (then adds it), or gives up. */
function mutateUntilNew(parent: Architecture, doc: SpaceDocument, rng: Rng, children: Map<string, Architecture>): Architecture | undefined {
  for (let attempt = 0; attempt <= MUTATION_RETRIES_PER_CHILD; attempt++) {
    const child = mutateArchitecture(parent, doc, rng);
    const key = architectureKey(child);
    if (!children.has(key)) {
      children.set(key, child);
      return child;
    }
  }
  return undefined;
}
