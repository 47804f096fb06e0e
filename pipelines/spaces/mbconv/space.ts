/** The MBConv family as a DesignSpace: any definition of it (OFA-MobileNetV3, OFA-ProxylessNAS, a user's space). */
import { checkUnknownKeys, coveringUnits, unitStructureFeatures } from '../common.js';
import type { MbSpaceDefinition } from '../definition.js';
import { blockEdits, chooseUnitsToMutate, editBlocks } from '../edits.js';
import type { DesignSpace, InsightFactor } from '../family.js';
import type { Architecture, BlockSpec, DepthRule, MbArchitecture, SpaceDocument } from '../types.js';
import { buildMbNetwork, mbBlockName, mbMacro, parseMbBlock } from './network.js';

const ascending = (values: readonly number[]) => [...values].sort((a, b) => a - b);

/**
 * `paperSpaces` gives the paper's pruned spaces of a built-in definition (built from the original document);
 * a user's space has none.
 */
export function mbconvSpace(definition: MbSpaceDefinition, paperSpaces: (original: SpaceDocument) => Record<string, SpaceDocument> = () => ({})): DesignSpace {
  const kernels = ascending(definition.kernels);
  const expands = ascending(definition.expands);
  /** Expand first, then kernel: e3k3, e3k5, ..., e6k7 (the paper's order). */
  const blocks: readonly string[] = expands.flatMap((e) => kernels.map((k) => mbBlockName(e, k)));
  const macro = mbMacro(definition);
  const id = definition.id;
  const unitCount = definition.units.length;

  const original = (): SpaceDocument => ({
    kind: 'blockscope.space/v1',
    space: id,
    name: 'original',
    resolutions: [...definition.resolutions],
    units: definition.units.map((unit) => ({ blocks: [...blocks], minLayers: unit.layers[0], maxLayers: unit.layers[1], mutationProbability: 0.5 })),
  });
  // The original code raises the depth to `layer` (0-based), one short of making the layer exist.
  const neededDepth = (layer: number, rule: DepthRule) => (rule === 'intended' ? layer + 1 : layer);
  const asMb = (arch: Architecture): MbArchitecture => ({ space: arch.space, resolution: arch.resolution, units: arch.units });
  const insightFactors: InsightFactor[] = [
    { name: 'kernel', dimension: 'block', values: kernels, valueOfChoice: (c) => parseMbBlock(c)?.kernel },
    { name: 'expand', dimension: 'block', values: expands, valueOfChoice: (c) => parseMbBlock(c)?.expand },
  ];

  return {
    id,
    title: definition.title,
    family: 'mbconv',
    definition,
    blocks,
    original,
    build: (arch) => buildMbNetwork(asMb(arch), macro),
    canonical: (arch) => ({ space: arch.space, resolution: arch.resolution, units: arch.units.map((u) => [...u]) }),
    validateArchitecture(raw, _doc, resolution, units) {
      checkUnknownKeys(raw, ['space', 'resolution', 'units'], '');
      return { space: id, resolution, units };
    },
    validateUnitExtras: () => undefined,
    validateStem: () => undefined,

    blockSpecs: () =>
      original().units.flatMap((unit, u) => Array.from({ length: unit.maxLayers }, (_, layer) => blocks.map((block): BlockSpec => ({ kind: 'mbconv', unit: u, layer, block }))).flat()),
    specLabel(spec) {
      if (spec.kind !== 'mbconv') throw new Error(`internal: ${spec.kind} spec in the MBConv space ${id}`);
      const { expand, kernel } = parseMbBlock(spec.block)!;
      return `Unit ${spec.unit} Layer ${spec.layer} as MBConv${expand}_${kernel}x${kernel}`;
    },
    specFromParts: (parts) => (parts.length === 3 ? { kind: 'mbconv', unit: Number(parts[0]), layer: Number(parts[1]), block: parts[2]! } : undefined),
    specForm: `U,L,BLOCK (U 0..${unitCount - 1}, L within the unit's layers, BLOCK one of ${blocks.join(', ')}) or an id from \`blockscope arch blocks\``,

    fromEncoding: (enc, resolution) => ({ space: id, resolution, units: enc.slots.map((slots, u) => slots.slice(0, enc.depths[u])) }),
    fixInEncoding(doc, enc, spec, rule) {
      if (spec.kind !== 'mbconv') throw new Error(`internal: ${spec.kind} spec in the MBConv space ${id}`);
      enc.slots[spec.unit]![spec.layer] = spec.block;
      enc.depths[spec.unit] = Math.min(doc.units[spec.unit]!.maxLayers, Math.max(enc.depths[spec.unit]!, neededDepth(spec.layer, rule)));
    },
    neededDepth,
    mutate(arch, doc, rng) {
      const units = arch.units.map((unitBlocks) => [...unitBlocks]);
      const edits = units.map((unitBlocks, u) => blockEdits(unitBlocks, doc.units[u]!));
      // A unit with no valid edit (one candidate, fixed depth) cannot change, so it is never selected.
      const probabilities = doc.units.map((rule, u) => (edits[u]!.length > 0 ? rule.mutationProbability : 0));
      for (const u of chooseUnitsToMutate(probabilities, rng)) editBlocks(units[u]!, rng.choice(edits[u]!), doc.units[u]!.blocks, rng);
      return { space: arch.space, resolution: arch.resolution, units };
    },

    structureFeatures: (arch, add) => unitStructureFeatures(arch.units, () => '', add),
    insightFactors,
    insightLimitations: [],
    coveringArchitectures(doc, resolution) {
      const { choices, blocksFor } = coveringUnits(doc);
      return Array.from({ length: choices }, (_, choice) => ({ space: id, resolution, units: blocksFor(choice) }));
    },
    paperSpaces: () => paperSpaces(original()),
  };
}
