/**
 * The profile as a grid: every spec becomes a cell with its unit, position and choices, so that rules can
 * compare choices (e.g. e6k7 against e6k5 in unit 2) over exactly matched positions.
 */
import type { BlockProfile, MetricStats, SpecProfile } from '../profile.js';
import { widthChoice } from '../spaces/common.js';
import type { FactorName, InsightFactor } from '../spaces/family.js';
import { designSpace } from '../spaces/registry.js';
import { blockSpecId, blockSpecs } from '../spaces/specs.js';
import type { BlockSpec, SpaceId } from '../spaces/types.js';
import { mean, tCritical95 } from '../stats.js';

/** What a spec fixes: a unit's block, a ResNet unit's width, or one of the ResNet stem's options. */
export type ChoiceDimension = 'block' | 'width' | 'stem-skip' | 'stem-hidden-width' | 'stem-out-width';
export type { FactorName, InsightFactor };

export interface Cell {
  profile: SpecProfile;
  /** "u0".."u5" or "stem". */
  unit: string;
  /** Index into SpaceDocument.units; null for the stem. */
  unitIndex: number | null;
  /** "l0".."l5" for unit layers; "skip", "hidden-width", "out-width" for the stem. */
  position: string;
  layer: number | null;
  choices: Partial<Record<ChoiceDimension, string>>;
  factors: Partial<Record<FactorName, number>>;
}

/** The factors a space's insights compare (each space says which it has). */
export function spaceFactors(space: SpaceId): readonly InsightFactor[] {
  return designSpace(space).insightFactors;
}

export function stemSkipChoice(skip: boolean): string {
  return skip ? 'skip-on' : 'skip-off';
}

function cellShape(spec: BlockSpec): Pick<Cell, 'unit' | 'unitIndex' | 'position' | 'layer' | 'choices'> {
  switch (spec.kind) {
    case 'mbconv':
      return { unit: `u${spec.unit}`, unitIndex: spec.unit, position: `l${spec.layer}`, layer: spec.layer, choices: { block: spec.block } };
    case 'bottleneck':
      return {
        unit: `u${spec.unit}`,
        unitIndex: spec.unit,
        position: `l${spec.layer}`,
        layer: spec.layer,
        choices: { block: spec.block, width: widthChoice(spec.width) },
      };
    case 'stem-skip':
      return { unit: 'stem', unitIndex: null, position: 'skip', layer: null, choices: { 'stem-skip': stemSkipChoice(spec.skip) } };
    case 'stem-width':
      return spec.stem === 0
        ? { unit: 'stem', unitIndex: null, position: 'hidden-width', layer: null, choices: { 'stem-hidden-width': widthChoice(spec.width) } }
        : { unit: 'stem', unitIndex: null, position: 'out-width', layer: null, choices: { 'stem-out-width': widthChoice(spec.width) } };
  }
}

/** Every spec of the profile as a cell; unknown spec ids are an error. */
export function profileCells(profile: BlockProfile): Cell[] {
  const specsById = new Map(blockSpecs(profile.space).map((spec) => [blockSpecId(spec), spec]));
  const factors = spaceFactors(profile.space);
  return profile.specs.map((specProfile) => {
    const spec = specsById.get(specProfile.specId);
    if (!spec) throw new RangeError(`insights: ${specProfile.specId} is not a block specification of ${profile.space}`);
    const shape = cellShape(spec);
    const cellFactors: Cell['factors'] = {};
    for (const factor of factors) {
      const choice = shape.choices[factor.dimension];
      const value = choice === undefined ? undefined : factor.valueOfChoice(choice);
      if (value !== undefined) cellFactors[factor.name] = value;
    }
    return { profile: specProfile, ...shape, factors: cellFactors };
  });
}

/** The cells that fix one choice of one dimension in one unit, keyed by what else they fix (position, other choices). */
export interface ChoiceGroup {
  unit: string;
  unitIndex: number | null;
  dimension: ChoiceDimension;
  choice: string;
  cells: Map<string, Cell>;
}

function otherChoicesKey(cell: Cell, except: ChoiceDimension): string {
  const others = Object.entries(cell.choices).filter(([dimension]) => dimension !== except);
  return [cell.position, ...others.map(([, choice]) => choice)].join('|');
}

/** Choice groups in the order their first cell appears in the profile. */
export function choiceGroups(cells: readonly Cell[]): ChoiceGroup[] {
  const groups = new Map<string, ChoiceGroup>();
  for (const cell of cells) {
    for (const [dimension, choice] of Object.entries(cell.choices) as [ChoiceDimension, string][]) {
      const id = `${cell.unit}|${dimension}|${choice}`;
      let group = groups.get(id);
      if (!group) {
        group = { unit: cell.unit, unitIndex: cell.unitIndex, dimension, choice, cells: new Map() };
        groups.set(id, group);
      }
      group.cells.set(otherChoicesKey(cell, dimension), cell);
    }
  }
  return [...groups.values()];
}

/** The unit of a choice group pooled over every unit: a choice for the whole space, as the paper's spaces make. */
export const EVERY_UNIT = 'all';

/**
 * The block groups merged over the units (e.g. e6k7 at every unit and position), keyed by unit and position so
 * that pooled comparisons stay matched; the other dimensions' groups (ResNet widths, the stem) are kept as they are.
 */
export function pooledOverUnits(groups: readonly ChoiceGroup[]): ChoiceGroup[] {
  const pooled = new Map<string, ChoiceGroup>();
  const out: ChoiceGroup[] = [];
  for (const group of groups) {
    if (group.dimension !== 'block' || group.unitIndex === null) {
      out.push(group);
      continue;
    }
    const id = `${group.dimension}|${group.choice}`;
    let merged = pooled.get(id);
    if (!merged) {
      merged = { unit: EVERY_UNIT, unitIndex: null, dimension: group.dimension, choice: group.choice, cells: new Map() };
      pooled.set(id, merged);
      out.push(merged);
    }
    for (const [key, cell] of group.cells) merged.cells.set(`${group.unit}|${key}`, cell);
  }
  return out;
}

/** Groups by (unit, dimension), i.e. the alternatives a rule chooses between. */
export function alternatives(groups: readonly ChoiceGroup[]): ChoiceGroup[][] {
  const byKey = new Map<string, ChoiceGroup[]>();
  for (const group of groups) {
    const key = `${group.unit}|${group.dimension}`;
    byKey.set(key, [...(byKey.get(key) ?? []), group]);
  }
  return [...byKey.values()];
}

/** The cells at one position of one unit, keyed by the choices they fix. */
export interface PositionGroup {
  unit: string;
  unitIndex: number | null;
  position: string;
  layer: number | null;
  cells: Map<string, Cell>;
}

export function positionGroups(cells: readonly Cell[]): PositionGroup[] {
  const groups = new Map<string, PositionGroup>();
  for (const cell of cells) {
    const id = `${cell.unit}|${cell.position}`;
    let group = groups.get(id);
    if (!group) {
      group = { unit: cell.unit, unitIndex: cell.unitIndex, position: cell.position, layer: cell.layer, cells: new Map() };
      groups.set(id, group);
    }
    group.cells.set(Object.values(cell.choices).join('|'), cell);
  }
  return [...groups.values()];
}

export function cellStats(cell: Cell, metric: string): MetricStats {
  const stats = cell.profile.metrics[metric];
  if (!stats) throw new RangeError(`insights: spec ${cell.profile.specId} has no ${metric} statistics`);
  return stats;
}

/** The standard error of a spec mean, recovered from its 95% CI so that rules judge "beyond the CI". */
export function standardError(stats: MetricStats): number {
  return (stats.ciHigh - stats.ciLow) / 2 / tCritical95(stats.n - 1);
}

export function pooledMean(cells: Iterable<Cell>, metric: string): number {
  return mean([...cells].map((cell) => cellStats(cell, metric).mean));
}

/** A difference of means (a − b) with its standard error, over `pairs` matched positions. */
export interface Difference {
  estimate: number;
  se: number;
  pairs: number;
}

/** Mean over matched keys of a − b; independent samples, so the variances add. Null when nothing matches. */
export function matchedDifference(a: ReadonlyMap<string, Cell>, b: ReadonlyMap<string, Cell>, metric: string): Difference | null {
  const diffs: number[] = [];
  let variance = 0;
  for (const [key, cellA] of a) {
    const cellB = b.get(key);
    if (!cellB) continue;
    const statsA = cellStats(cellA, metric);
    const statsB = cellStats(cellB, metric);
    diffs.push(statsA.mean - statsB.mean);
    variance += standardError(statsA) ** 2 + standardError(statsB) ** 2;
  }
  if (diffs.length === 0) return null;
  return { estimate: mean(diffs), se: Math.sqrt(variance) / diffs.length, pairs: diffs.length };
}
