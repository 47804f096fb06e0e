/** The bottleneck family as a DesignSpace: any definition of it (OFA-ResNet50, a user's ResNet-like space). */
import { checkUnknownKeys, coveringUnits, expectArray, expectIndex, expectProbability, isRecord, unitStructureFeatures, widthIndexOfChoice } from '../common.js';
import type { BottleneckSpaceDefinition } from '../definition.js';
import { blockEdits, chooseUnitsToMutate, editBlocks, otherThan } from '../edits.js';
import type { DesignSpace, InsightFactor } from '../family.js';
import { SpaceValidationError, isBottleneckArchitecture, type Architecture, type BlockSpec, type BottleneckArchitecture, type SpaceDocument, type StemRule } from '../types.js';
import { bottleneckBlockName, bottleneckWidths, buildBottleneckNetwork, parseBottleneckBlock } from './network.js';

type StemEdit = 'swap-skip' | 'swap-widths';

/** The first index of every distinct value: two width choices that give the same channels are one spec. */
function distinctIndices(values: readonly number[]): number[] {
  return values.flatMap((value, i) => (values.indexOf(value) === i ? [i] : []));
}

export function bottleneckSpace(definition: BottleneckSpaceDefinition, paperSpaces: (original: SpaceDocument) => Record<string, SpaceDocument> = () => ({})): DesignSpace {
  const id = definition.id;
  const blocks: readonly string[] = [...definition.expands].sort((a, b) => a - b).map(bottleneckBlockName);
  const widths = bottleneckWidths(definition);
  const widthIndices = definition.widthMultipliers.map((_, i) => i);
  const widthsByCost = [...widthIndices].sort((a, b) => definition.widthMultipliers[a]! - definition.widthMultipliers[b]!);
  const maxWidth = widthIndices.length - 1;

  const original = (): SpaceDocument => ({
    kind: 'blockscope.space/v1',
    space: id,
    name: 'original',
    resolutions: [...definition.resolutions],
    stem: { skipChoices: [true, false], widths: [...widthIndices], mutationProbability: 0.25 },
    units: definition.units.map((unit) => ({
      blocks: [...blocks],
      minLayers: unit.layers[0],
      maxLayers: unit.layers[1],
      mutationProbability: 0.5,
      widths: [...widthIndices],
    })),
  });
  const asBottleneck = (arch: Architecture): BottleneckArchitecture => {
    if (!isBottleneckArchitecture(arch)) throw new Error(`internal: architecture of ${arch.space} has no stem and widths`);
    return arch;
  };
  const insightFactors: InsightFactor[] = [
    { name: 'expand', dimension: 'block', values: [...definition.expands].sort((a, b) => a - b), valueOfChoice: parseBottleneckBlock },
    { name: 'width', dimension: 'width', values: widthsByCost, valueOfChoice: widthIndexOfChoice },
  ];
  const stemEdits = (stem: BottleneckArchitecture['stem'], rule: StemRule): StemEdit[] => {
    const edits: StemEdit[] = [];
    if (rule.skipChoices.includes(!stem.skip)) edits.push('swap-skip');
    if (rule.widths.length > 1) edits.push('swap-widths');
    return edits;
  };

  return {
    id,
    title: definition.title,
    family: 'bottleneck',
    definition,
    blocks,
    original,
    build: (arch) => buildBottleneckNetwork(asBottleneck(arch), definition, widths),
    canonical(arch) {
      const a = asBottleneck(arch);
      return {
        space: a.space,
        resolution: a.resolution,
        stem: { skip: a.stem.skip, hiddenWidth: a.stem.hiddenWidth, outWidth: a.stem.outWidth },
        units: a.units.map((u) => [...u]),
        widths: [...a.widths],
      };
    },
    validateArchitecture(raw, doc, resolution, units) {
      checkUnknownKeys(raw, ['space', 'resolution', 'stem', 'units', 'widths'], '');
      const stemRule = doc.stem ?? fail('stem', 'the space document has no stem rule');
      if (!isRecord(raw.stem)) fail('stem', 'expected an object {skip, hiddenWidth, outWidth}');
      checkUnknownKeys(raw.stem, ['skip', 'hiddenWidth', 'outWidth'], 'stem');
      const skip = raw.stem.skip;
      if (typeof skip !== 'boolean' || !stemRule.skipChoices.includes(skip)) {
        fail('stem.skip', `expected one of ${stemRule.skipChoices.join(', ')}, got ${JSON.stringify(skip)}`);
      }
      const unitWidths = expectArray(raw.widths, 'widths', doc.units.length).map((value, u) => expectIndex(value, `widths[${u}]`, doc.units[u]!.widths ?? []));
      return {
        space: id,
        resolution,
        stem: {
          skip,
          hiddenWidth: expectIndex(raw.stem.hiddenWidth, 'stem.hiddenWidth', stemRule.widths),
          outWidth: expectIndex(raw.stem.outWidth, 'stem.outWidth', stemRule.widths),
        },
        units,
        widths: unitWidths,
      };
    },
    validateUnitExtras(raw, base, field, rule) {
      rule.widths = expectArray(raw.widths, `${field}.widths`).map((w, i) => expectIndex(w, `${field}.widths[${i}]`, base.widths ?? []));
      if (rule.widths.length === 0) fail(`${field}.widths`, 'a unit must keep at least one width');
    },
    validateStem(raw, doc) {
      const stem = raw.stem;
      if (!isRecord(stem)) fail('stem', 'expected an object {skipChoices, widths, mutationProbability}');
      const skipChoices = expectArray(stem.skipChoices, 'stem.skipChoices').map((s, i) => {
        if (typeof s !== 'boolean') fail(`stem.skipChoices[${i}]`, 'expected true or false');
        return s;
      });
      const stemWidths = expectArray(stem.widths, 'stem.widths').map((w, i) => expectIndex(w, `stem.widths[${i}]`, widthIndices));
      if (skipChoices.length === 0) fail('stem.skipChoices', 'expected at least one choice');
      if (stemWidths.length === 0) fail('stem.widths', 'expected at least one width');
      doc.stem = { skipChoices, widths: stemWidths, mutationProbability: expectProbability(stem.mutationProbability, 'stem.mutationProbability') };
    },

    blockSpecs() {
      const specs: BlockSpec[] = [
        { kind: 'stem-skip', skip: true },
        { kind: 'stem-skip', skip: false },
        ...distinctIndices(widths.stemHidden).map((width): BlockSpec => ({ kind: 'stem-width', stem: 0, width })),
        ...distinctIndices(widths.stemOut).map((width): BlockSpec => ({ kind: 'stem-width', stem: 1, width })),
      ];
      definition.units.forEach((unit, u) => {
        for (const width of widthIndices) {
          for (let layer = 0; layer < unit.layers[1]; layer++) {
            for (const block of blocks) specs.push({ kind: 'bottleneck', unit: u, layer, block, width });
          }
        }
      });
      return specs;
    },
    specLabel(spec) {
      switch (spec.kind) {
        case 'stem-skip':
          return spec.skip ? 'Stem skipping enabled' : 'Stem skipping disabled';
        case 'stem-width':
          return `Stem ${spec.stem + 1} with channels ${(spec.stem === 0 ? widths.stemHidden : widths.stemOut)[spec.width]}`;
        case 'bottleneck':
          return `U${spec.unit} with ${widths.units[spec.unit]![spec.width]} C and L${spec.layer} with ratio ${parseBottleneckBlock(spec.block)}`;
        case 'mbconv':
          throw new Error(`internal: MBConv spec in the bottleneck space ${id}`);
      }
    },
    specFromParts(parts) {
      if (parts[0] === 'stem-skip' && parts.length === 2) return parts[1] === 'on' || parts[1] === 'off' ? { kind: 'stem-skip', skip: parts[1] === 'on' } : undefined;
      if (parts[0] === 'stem-width' && parts.length === 3) return { kind: 'stem-width', stem: Number(parts[1]) as 0 | 1, width: Number(parts[2]) };
      if (parts.length === 4) return { kind: 'bottleneck', unit: Number(parts[0]), layer: Number(parts[1]), block: parts[2]!, width: Number(parts[3]) };
      return undefined;
    },
    specForm: `U,L,BLOCK,W (BLOCK one of ${blocks.join(', ')}; W 0..${maxWidth}), stem-skip,on|off, stem-width,0|1,W, or an id from \`blockscope arch blocks\``,

    fromEncoding: (enc, resolution) => ({
      space: id,
      resolution,
      stem: { ...enc.stem },
      units: enc.slots.map((slots, u) => slots.slice(0, enc.depths[u])),
      widths: [...enc.widths],
    }),
    fixInEncoding(_doc, enc, spec) {
      switch (spec.kind) {
        case 'stem-skip':
          enc.stem.skip = spec.skip;
          return;
        case 'stem-width':
          if (spec.stem === 0) enc.stem.hiddenWidth = spec.width;
          else enc.stem.outWidth = spec.width;
          return;
        case 'bottleneck':
          // The ResNet code forces depth correctly under both rules (§6.2).
          enc.slots[spec.unit]![spec.layer] = spec.block;
          enc.widths[spec.unit] = spec.width;
          enc.depths[spec.unit] = Math.max(enc.depths[spec.unit]!, spec.layer + 1);
          return;
        case 'mbconv':
          throw new Error(`internal: MBConv spec in the bottleneck space ${id}`);
      }
    },
    neededDepth: (layer) => layer + 1,
    mutate(arch, doc, rng) {
      const source = asBottleneck(arch);
      const stemRule = doc.stem;
      if (!stemRule) throw new Error(`space document ${doc.name} has no stem rule`);
      const stem = { ...source.stem };
      const units = source.units.map((unitBlocks) => [...unitBlocks]);
      const unitWidths = [...source.widths];
      const stemOperations = stemEdits(stem, stemRule);
      const unitOperations = units.map((unitBlocks, u) => {
        const rule = doc.units[u]!;
        return [...blockEdits(unitBlocks, rule), ...((rule.widths ?? []).length > 1 ? (['swap-width'] as const) : [])];
      });
      // Part 0 is the stem, parts 1.. are the units (§8.4).
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
        if (op === 'swap-width') unitWidths[u] = otherThan(rule.widths ?? [], unitWidths[u]!, rng);
        else editBlocks(units[u]!, op, rule.blocks, rng);
      }
      return { space: source.space, resolution: source.resolution, stem, units, widths: unitWidths };
    },

    structureFeatures(arch, add) {
      const a = asBottleneck(arch);
      unitStructureFeatures(a.units, (u) => `.w${a.widths[u]}`, add);
      add('stem.skip', a.stem.skip ? 1 : 0);
      add(`stem.hidden.w${a.stem.hiddenWidth}`);
      add(`stem.out.w${a.stem.outWidth}`);
    },
    insightFactors,
    insightLimitations: [{ id: 'limitation.stem-widths', sentence: 'the space document has one width list for both stem convolutions, so stem widths are profiled but never pruned' }],
    coveringArchitectures(doc, resolution) {
      const { choices, blocksFor } = coveringUnits(doc);
      const stemRule = doc.stem ?? original().stem!;
      const unitWidths = doc.units.map((u) => u.widths ?? [0]);
      const defaultStem = { skip: stemRule.skipChoices[0]!, hiddenWidth: stemRule.widths[0]!, outWidth: stemRule.widths[0]! };
      const archs: Architecture[] = [];
      for (const skip of stemRule.skipChoices) {
        for (const hiddenWidth of stemRule.widths) {
          for (const outWidth of stemRule.widths) {
            archs.push({ space: id, resolution, stem: { skip, hiddenWidth, outWidth }, units: blocksFor(0), widths: unitWidths.map((w) => w[0]!) });
          }
        }
      }
      for (let choice = 0; choice < choices; choice++) {
        doc.units.forEach((_, u) => {
          const previousWidths = u === 0 ? stemRule.widths : unitWidths[u - 1]!;
          for (const previous of previousWidths) {
            for (const width of unitWidths[u]!) {
              const archWidths = unitWidths.map((w) => w[0]!);
              archWidths[u] = width;
              if (u > 0) archWidths[u - 1] = previous;
              const stem = u === 0 ? { ...defaultStem, outWidth: previous } : defaultStem;
              archs.push({ space: id, resolution, stem, units: blocksFor(choice), widths: archWidths });
            }
          }
        });
      }
      return archs;
    },
    paperSpaces: () => paperSpaces(original()),
  };
}

function fail(field: string, message: string): never {
  throw new SpaceValidationError(field, message);
}
