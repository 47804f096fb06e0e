/**
 * The random-mutation search's variation operators (§8.2–§8.5): the initial population, the mutation of
 * one architecture, and the production of one iteration's batch of children. Everything draws from the
 * Rng it is given and respects the space document (candidates, layer ranges, widths, stem rules).
 */
import type { Rng } from '../rng.js';
import { sampleArchitecture } from '../sampling.js';
import type { Architecture, MbArchitecture, ResNetArchitecture, SpaceDocument, StemRule, UnitRule } from '../spaces/types.js';
import { architectureKey } from '../spaces/validate.js';

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
export function initialPopulation(
  doc: SpaceDocument,
  options: { size: number; resolution: number; rng: Rng; accept?: (arch: Architecture) => boolean },
): Architecture[] {
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

type MbOperation = 'add' | 'remove' | 'swap';
type ResNetStemOperation = 'swap-skip' | 'swap-widths';
type ResNetUnitOperation = 'add' | 'remove' | 'swap-expand' | 'swap-width';

function mbOperations(blocks: readonly string[], rule: UnitRule): MbOperation[] {
  const ops: MbOperation[] = [];
  if (blocks.length < rule.maxLayers) ops.push('add');
  if (blocks.length > rule.minLayers) ops.push('remove');
  if (rule.blocks.length > 1) ops.push('swap');
  return ops;
}

function resNetStemOperations(stem: ResNetArchitecture['stem'], rule: StemRule): ResNetStemOperation[] {
  const ops: ResNetStemOperation[] = [];
  if (rule.skipChoices.includes(!stem.skip)) ops.push('swap-skip');
  if (rule.widths.length > 1) ops.push('swap-widths');
  return ops;
}

function resNetUnitOperations(blocks: readonly string[], rule: UnitRule): ResNetUnitOperation[] {
  const ops: ResNetUnitOperation[] = [];
  if (blocks.length < rule.maxLayers) ops.push('add');
  if (blocks.length > rule.minLayers) ops.push('remove');
  if (rule.blocks.length > 1) ops.push('swap-expand');
  if ((rule.widths ?? []).length > 1) ops.push('swap-width');
  return ops;
}

function otherThan<T>(items: readonly T[], current: T, rng: Rng): T {
  return rng.choice(items.filter((item) => item !== current));
}

/** The add/remove/swap-a-block edits shared by MBConv units and ResNet units (§8.3, §8.4). */
function editBlocks(blocks: string[], op: 'add' | 'remove' | 'swap', candidates: readonly string[], rng: Rng): void {
  switch (op) {
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

function mutateMb(arch: MbArchitecture, doc: SpaceDocument, rng: Rng): MbArchitecture {
  const units = arch.units.map((blocks) => [...blocks]);
  const operations = units.map((blocks, u) => mbOperations(blocks, doc.units[u]!));
  // A unit with no valid operation (one candidate, fixed depth) cannot change, so it is never selected.
  const probabilities = doc.units.map((rule, u) => (operations[u]!.length > 0 ? rule.mutationProbability : 0));
  for (const u of chooseUnitsToMutate(probabilities, rng)) {
    editBlocks(units[u]!, rng.choice(operations[u]!), doc.units[u]!.blocks, rng);
  }
  return { space: arch.space, resolution: arch.resolution, units };
}

function mutateResNet(arch: ResNetArchitecture, doc: SpaceDocument, rng: Rng): ResNetArchitecture {
  const stemRule = doc.stem;
  if (!stemRule) throw new Error(`space document ${doc.name} has no stem rule`);
  const stem = { ...arch.stem };
  const units = arch.units.map((blocks) => [...blocks]);
  const widths = [...arch.widths];
  const stemOperations = resNetStemOperations(stem, stemRule);
  const unitOperations = units.map((blocks, u) => resNetUnitOperations(blocks, doc.units[u]!));
  // Part 0 is the stem, parts 1..4 are the units (§8.4).
  const probabilities = [
    stemOperations.length > 0 ? stemRule.mutationProbability : 0,
    ...doc.units.map((rule, u) => (unitOperations[u]!.length > 0 ? rule.mutationProbability : 0)),
  ];
  for (const part of chooseUnitsToMutate(probabilities, rng)) {
    if (part === 0) {
      if (rng.choice(stemOperations) === 'swap-skip') {
        stem.skip = !stem.skip;
      } else {
        // Both stem widths are redrawn with replacement until the pair changes.
        const before = `${stem.hiddenWidth},${stem.outWidth}`;
        do {
          stem.hiddenWidth = rng.choice(stemRule.widths);
          stem.outWidth = rng.choice(stemRule.widths);
        } while (`${stem.hiddenWidth},${stem.outWidth}` === before);
      }
      continue;
    }
    const u = part - 1;
    const rule = doc.units[u]!;
    const op = rng.choice(unitOperations[u]!);
    if (op === 'swap-width') widths[u] = otherThan(rule.widths ?? [], widths[u]!, rng);
    else editBlocks(units[u]!, op === 'swap-expand' ? 'swap' : op, rule.blocks, rng);
  }
  return { space: 'resnet50', resolution: arch.resolution, stem, units, widths };
}

/**
 * One mutation (§8.3 for MBv3/PN, §8.4 for ResNet): selected units get exactly one valid edit each, the
 * others stay as they are. The input is not modified.
 */
export function mutateArchitecture(arch: Architecture, doc: SpaceDocument, rng: Rng): Architecture {
  if (arch.space !== doc.space) throw new Error(`architecture of space ${arch.space} cannot be mutated in a ${doc.space} document`);
  return arch.space === 'resnet50' ? mutateResNet(arch, doc, rng) : mutateMb(arch, doc, rng);
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
