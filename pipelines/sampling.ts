/**
 * Seeded sampling (§6.1, §6.2, §8.2). An architecture is drawn as a full OFA-style encoding (a depth and
 * a block in every slot, active or not), so that fixing a block at layer l can raise the depth and expose
 * the slots the random draw already filled, exactly as the original profiling code does.
 */
import { Rng, deriveSeed, type Seed } from './rng.js';
import { designSpace, originalSpace } from './spaces/registry.js';
import { blockSpecId } from './spaces/specs.js';
import { SpaceValidationError, type Architecture, type SpaceId, type BlockSpec, type DepthRule, type Encoding, type SpecDepthRule, type SpaceDocument } from './spaces/types.js';

function sampleEncoding(doc: SpaceDocument, rng: Rng): Encoding {
  const depths = doc.units.map((u) => rng.intBetween(u.minLayers, u.maxLayers));
  const slots = doc.units.map((u) => Array.from({ length: u.maxLayers }, () => rng.choice(u.blocks)));
  const widths = doc.units.map((u) => (u.widths ? rng.choice(u.widths) : 0));
  const stem = doc.stem
    ? { skip: rng.choice(doc.stem.skipChoices), hiddenWidth: rng.choice(doc.stem.widths), outWidth: rng.choice(doc.stem.widths) }
    : { skip: false, hiddenWidth: 0, outWidth: 0 };
  return { depths, slots, widths, stem };
}

function toArchitecture(doc: SpaceDocument, enc: Encoding, resolution: number): Architecture {
  return designSpace(doc.space).fromEncoding(enc, resolution);
}

function checkResolution(doc: SpaceDocument, resolution: number): void {
  if (!doc.resolutions.includes(resolution)) {
    throw new SpaceValidationError('resolution', `${resolution} is not allowed in ${doc.space}; allowed: ${doc.resolutions.join(', ')}`);
  }
}

/** One uniformly random architecture of a (possibly pruned) space. */
export function sampleArchitecture(doc: SpaceDocument, rng: Rng, resolution = 224): Architecture {
  checkResolution(doc, resolution);
  return toArchitecture(doc, sampleEncoding(doc, rng), resolution);
}

export function sampleArchitectures(doc: SpaceDocument, count: number, seed: Seed, resolution = 224): Architecture[] {
  const rng = new Rng(deriveSeed(seed, 'random', doc.space, doc.name, resolution));
  return Array.from({ length: count }, () => sampleArchitecture(doc, rng, resolution));
}

/**
 * The space's reference architecture at a resolution: one fixed random draw of the original space, the same on
 * every machine. Devices that normalise by a reference model time it next to every measured architecture.
 */
export function referenceArchitecture(space: SpaceId, resolution: number): Architecture {
  const doc = originalSpace(space);
  return sampleArchitecture(doc, new Rng(deriveSeed('blockscope-reference', space)), resolution);
}

/**
 * n random architectures of the original space with block `spec` fixed in each (§6.2). Each spec gets
 * its own seed stream, so the samples of one spec do not depend on which other specs are profiled.
 */
export function sampleWithFixedBlock(
  spec: BlockSpec,
  count: number,
  seed: Seed,
  options: { space: SpaceDocument['space']; resolution?: number; depthRule?: DepthRule },
): Architecture[] {
  const doc = originalSpace(options.space);
  const resolution = options.resolution ?? 224;
  checkResolution(doc, resolution);
  const rng = new Rng(deriveSeed(seed, 'fixed', doc.space, blockSpecId(spec), resolution));
  return Array.from({ length: count }, () => {
    const enc = sampleEncoding(doc, rng);
    designSpace(doc.space).fixInEncoding(doc, enc, spec, options.depthRule ?? 'intended');
    return toArchitecture(doc, enc, resolution);
  });
}

/**
 * How a spec's unit depth is distributed in its samples: under the fixed-block sampler with a depth rule
 * (the random depth raised to what the rule needs), or, for 'held', in the random architectures that hold
 * the block (the shared-random design: a uniform depth conditioned on reaching the layer). Probabilities by depth.
 */
export function specUnitDepths(doc: SpaceDocument, spec: { unit: number; layer: number }, rule: SpecDepthRule): Map<number, number> {
  const unit = doc.units[spec.unit]!;
  const depths = Array.from({ length: unit.maxLayers - unit.minLayers + 1 }, (_, i) => unit.minLayers + i);
  const out = new Map<number, number>();
  if (rule === 'held') {
    const reaching = depths.filter((d) => d > spec.layer);
    for (const d of reaching) out.set(d, 1 / reaching.length);
    return out;
  }
  const needed = designSpace(doc.space).neededDepth(spec.layer, rule);
  for (const d of depths) {
    const raised = Math.min(unit.maxLayers, Math.max(d, needed));
    out.set(raised, (out.get(raised) ?? 0) + 1 / depths.length);
  }
  return out;
}
