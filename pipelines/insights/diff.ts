/** What a pruned space changes against another space document (normally the original one). */
import type { SpaceDocument, SpaceId } from '../spaces/types.js';

export interface ValueChange {
  from: number;
  to: number;
}

export interface UnitDiff {
  unit: number;
  removedBlocks: string[];
  addedBlocks: string[];
  /** Null when the layer range is the same. */
  layers: { from: { min: number; max: number }; to: { min: number; max: number } } | null;
  mutationProbability: ValueChange | null;
  /** ResNet width indices. */
  removedWidths: number[];
  addedWidths: number[];
}

export interface StemDiff {
  removedSkipChoices: boolean[];
  addedSkipChoices: boolean[];
  removedWidths: number[];
  addedWidths: number[];
  mutationProbability: ValueChange | null;
}

export interface SpaceDiff {
  space: SpaceId;
  from: string;
  to: string;
  resolutions: { removed: number[]; added: number[] };
  /** One entry per unit, in order. */
  units: UnitDiff[];
  /** Null for spaces without a stem rule. */
  stem: StemDiff | null;
  unchanged: boolean;
}

function setDiff<T>(from: readonly T[], to: readonly T[]): { removed: T[]; added: T[] } {
  return { removed: from.filter((v) => !to.includes(v)), added: to.filter((v) => !from.includes(v)) };
}

function change(from: number, to: number): ValueChange | null {
  return from === to ? null : { from, to };
}

export function diffSpaces(original: SpaceDocument, pruned: SpaceDocument): SpaceDiff {
  if (original.space !== pruned.space) throw new RangeError(`diffSpaces: cannot compare ${original.space} with ${pruned.space}`);
  if (original.units.length !== pruned.units.length) {
    throw new RangeError(`diffSpaces: ${original.name} has ${original.units.length} units but ${pruned.name} has ${pruned.units.length}`);
  }
  const units = original.units.map((before, unit): UnitDiff => {
    const after = pruned.units[unit]!;
    const blocks = setDiff(before.blocks, after.blocks);
    const widths = setDiff(before.widths ?? [], after.widths ?? []);
    const sameLayers = before.minLayers === after.minLayers && before.maxLayers === after.maxLayers;
    return {
      unit,
      removedBlocks: blocks.removed,
      addedBlocks: blocks.added,
      layers: sameLayers ? null : { from: { min: before.minLayers, max: before.maxLayers }, to: { min: after.minLayers, max: after.maxLayers } },
      mutationProbability: change(before.mutationProbability, after.mutationProbability),
      removedWidths: widths.removed,
      addedWidths: widths.added,
    };
  });
  let stem: StemDiff | null = null;
  if (original.stem || pruned.stem) {
    const skip = setDiff(original.stem?.skipChoices ?? [], pruned.stem?.skipChoices ?? []);
    const widths = setDiff(original.stem?.widths ?? [], pruned.stem?.widths ?? []);
    stem = {
      removedSkipChoices: skip.removed,
      addedSkipChoices: skip.added,
      removedWidths: widths.removed,
      addedWidths: widths.added,
      mutationProbability: change(original.stem?.mutationProbability ?? 0, pruned.stem?.mutationProbability ?? 0),
    };
  }
  const resolutions = setDiff(original.resolutions, pruned.resolutions);
  const unitChanged = (u: UnitDiff) =>
    u.removedBlocks.length + u.addedBlocks.length + u.removedWidths.length + u.addedWidths.length > 0 || u.layers !== null || u.mutationProbability !== null;
  const stemChanged =
    stem !== null && (stem.removedSkipChoices.length + stem.addedSkipChoices.length + stem.removedWidths.length + stem.addedWidths.length > 0 || stem.mutationProbability !== null);
  return {
    space: original.space,
    from: original.name,
    to: pruned.name,
    resolutions,
    units,
    stem,
    unchanged: resolutions.removed.length + resolutions.added.length === 0 && !units.some(unitChanged) && !stemChanged,
  };
}
