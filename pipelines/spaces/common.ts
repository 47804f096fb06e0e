import { SpaceValidationError, type SpaceDocument } from './types.js';

/** make_divisible of the OFA code (§1.1): nearest multiple of the divisor, ties up, never more than 10% down. */
export function makeDivisible(value: number, divisor = 8, min = divisor): number {
  let n = Math.max(min, Math.floor((value + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * value) n += divisor;
  return n;
}

/** Allowed input resolutions of every space (OFA's elastic resolutions); profiling accuracy uses 224. */
export const RESOLUTIONS = [160, 176, 192, 208, 224] as const;
export const DEFAULT_RESOLUTION = 224;

/** Where the paper's hand-derived pruned spaces come from (each family's builtin.ts). */
export const PAPER_SOURCE = 'Mills et al. (CIKM 2021), search/rm_search/ofa_profile/constants.py; design-spaces.md section 7';

/** Architectures' units that together hold every block of a document: unit u repeats its choice-th block (cycling) at depth min(max, max(min, 2)). */
export function coveringUnits(doc: SpaceDocument): { choices: number; blocksFor: (choice: number) => string[][] } {
  const depthOf = (u: number) => Math.min(doc.units[u]!.maxLayers, Math.max(doc.units[u]!.minLayers, 2));
  return {
    choices: Math.max(...doc.units.map((u) => u.blocks.length)),
    blocksFor: (choice) => doc.units.map((unit, u) => Array<string>(depthOf(u)).fill(unit.blocks[choice % unit.blocks.length]!)),
  };
}

/** The latency predictor's per-unit structure features; `tag(u)` adds a unit's width choice (".w1") where the family has one. */
export function unitStructureFeatures(units: readonly string[][], tag: (u: number) => string, add: (name: string, value?: number) => void): void {
  units.forEach((blocks, u) => {
    const width = tag(u);
    if (width) add(`u${u}${width}`);
    add(`u${u}.depth`, blocks.length);
    blocks.forEach((block, l) => add(`u${u}${width}.${l === 0 ? 'first' : 'rest'}.${block}`));
  });
}

export function checkUnknownKeys(raw: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw new SpaceValidationError(field ? `${field}.${key}` : key, `unknown field; allowed: ${allowed.join(', ')}`);
  }
}

export function expectIndex(value: unknown, field: string, allowed: readonly number[]): number {
  if (typeof value !== 'number' || !allowed.includes(value)) throw new SpaceValidationError(field, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

export function expectArray(value: unknown, field: string, length?: number): unknown[] {
  if (!Array.isArray(value)) throw new SpaceValidationError(field, `expected a list, got ${JSON.stringify(value)}`);
  if (length !== undefined && value.length !== length) throw new SpaceValidationError(field, `expected ${length} entries, got ${value.length}`);
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function expectProbability(value: unknown, field: string): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new SpaceValidationError(field, `expected a number in (0, 1], got ${JSON.stringify(value)}`);
  return value;
}

/** A width index as a profile choice ("w1"), and back. */
export function widthChoice(index: number): string {
  return `w${index}`;
}

export function widthIndexOfChoice(choice: string): number | undefined {
  const match = /^w(\d+)$/.exec(choice);
  return match ? Number(match[1]) : undefined;
}
