/** Validation of architectures and space documents, with errors that name the field and the allowed values. */
import { canonicalHashHex, canonicalJson } from '../hash.js';
import { allBlocks, originalSpace, parseSpaceId } from './registry.js';
import { SpaceValidationError, type Architecture, type SpaceDocument, type SpaceId, type UnitRule } from './types.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fail(field: string, message: string): never {
  throw new SpaceValidationError(field, message);
}

function expectArray(value: unknown, field: string, length?: number): unknown[] {
  if (!Array.isArray(value)) fail(field, `expected a list, got ${JSON.stringify(value)}`);
  if (length !== undefined && value.length !== length) fail(field, `expected ${length} entries, got ${value.length}`);
  return value;
}

function expectIndex(value: unknown, field: string, allowed: readonly number[]): number {
  if (typeof value !== 'number' || !allowed.includes(value)) fail(field, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

function checkUnknownKeys(raw: Record<string, unknown>, allowed: string[], field: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) fail(field ? `${field}.${key}` : key, `unknown field; allowed: ${allowed.join(', ')}`);
  }
}

/**
 * Checks a raw (parsed JSON) architecture against a space document (the original space by default)
 * and returns it in canonical form.
 */
export function validateArchitecture(raw: unknown, document?: SpaceDocument): Architecture {
  if (!isRecord(raw)) fail('architecture', `expected a JSON object, got ${JSON.stringify(raw)}`);
  const space = parseSpaceId(raw.space);
  const doc = document ?? originalSpace(space);
  if (doc.space !== space) fail('space', `architecture is of space ${space} but the space document is for ${doc.space}`);
  const resolution = expectIndex(raw.resolution, 'resolution', doc.resolutions);
  const units = validateUnits(raw.units, doc.units);
  if (space === 'resnet50') {
    checkUnknownKeys(raw, ['space', 'resolution', 'stem', 'units', 'widths'], '');
    const stemRule = doc.stem ?? fail('stem', 'the space document has no stem rule');
    if (!isRecord(raw.stem)) fail('stem', 'expected an object {skip, hiddenWidth, outWidth}');
    checkUnknownKeys(raw.stem, ['skip', 'hiddenWidth', 'outWidth'], 'stem');
    const skip = raw.stem.skip;
    if (typeof skip !== 'boolean' || !stemRule.skipChoices.includes(skip)) {
      fail('stem.skip', `expected one of ${stemRule.skipChoices.join(', ')}, got ${JSON.stringify(skip)}`);
    }
    const widths = expectArray(raw.widths, 'widths', doc.units.length).map((value, u) =>
      expectIndex(value, `widths[${u}]`, doc.units[u]!.widths ?? []),
    );
    return {
      space,
      resolution,
      stem: {
        skip,
        hiddenWidth: expectIndex(raw.stem.hiddenWidth, 'stem.hiddenWidth', stemRule.widths),
        outWidth: expectIndex(raw.stem.outWidth, 'stem.outWidth', stemRule.widths),
      },
      units,
      widths,
    };
  }
  checkUnknownKeys(raw, ['space', 'resolution', 'units'], '');
  return { space, resolution, units };
}

function validateUnits(raw: unknown, rules: UnitRule[]): string[][] {
  return expectArray(raw, 'units', rules.length).map((unitRaw, u) => {
    const rule = rules[u]!;
    const blocks = expectArray(unitRaw, `units[${u}]`);
    if (blocks.length < rule.minLayers || blocks.length > rule.maxLayers) {
      fail(`units[${u}]`, `depth ${blocks.length} out of range; allowed: ${rule.minLayers}..${rule.maxLayers} layers`);
    }
    return blocks.map((block, l) => {
      if (typeof block !== 'string' || !rule.blocks.includes(block)) {
        fail(`units[${u}][${l}]`, `unknown block ${JSON.stringify(block)}; allowed: ${rule.blocks.join(', ')}`);
      }
      return block;
    });
  });
}

/** The architecture with a fixed key order: the identity used for deduplication and caching. */
export function canonicalArchitecture(arch: Architecture): Architecture {
  if (arch.space === 'resnet50') {
    return {
      space: arch.space,
      resolution: arch.resolution,
      stem: { skip: arch.stem.skip, hiddenWidth: arch.stem.hiddenWidth, outWidth: arch.stem.outWidth },
      units: arch.units.map((u) => [...u]),
      widths: [...arch.widths],
    };
  }
  return { space: arch.space, resolution: arch.resolution, units: arch.units.map((u) => [...u]) };
}

export function architectureKey(arch: Architecture): string {
  return canonicalJson(canonicalArchitecture(arch));
}

/** A stable content hash (sha256 hex of the canonical JSON): the same architecture gives it on any machine. */
export function architectureHash(arch: Architecture): string {
  return canonicalHashHex(canonicalArchitecture(arch));
}

/** Checks a space document (e.g. a pruned space from the insights stage) against its original space. */
export function validateSpaceDocument(raw: unknown): SpaceDocument {
  if (!isRecord(raw)) fail('space document', 'expected a JSON object');
  if (raw.kind !== 'blockscope.space/v1') fail('kind', `expected "blockscope.space/v1", got ${JSON.stringify(raw.kind)}`);
  const space: SpaceId = parseSpaceId(raw.space);
  const original = originalSpace(space);
  if (typeof raw.name !== 'string' || raw.name === '') fail('name', 'expected a non-empty string');
  const resolutions = expectArray(raw.resolutions, 'resolutions').map((r, i) => expectIndex(r, `resolutions[${i}]`, original.resolutions));
  if (resolutions.length === 0) fail('resolutions', 'expected at least one resolution');
  const units = expectArray(raw.units, 'units', original.units.length).map((unitRaw, u): UnitRule => {
    const field = `units[${u}]`;
    const base = original.units[u]!;
    if (!isRecord(unitRaw)) fail(field, 'expected an object {blocks, minLayers, maxLayers, mutationProbability}');
    const blocks = expectArray(unitRaw.blocks, `${field}.blocks`).map((b, i) => {
      if (typeof b !== 'string' || !allBlocks(space).includes(b)) fail(`${field}.blocks[${i}]`, `unknown block ${JSON.stringify(b)}; allowed: ${base.blocks.join(', ')}`);
      return b;
    });
    if (blocks.length === 0) fail(`${field}.blocks`, 'a unit must keep at least one block');
    const minLayers = expectIndex(unitRaw.minLayers, `${field}.minLayers`, range(base.minLayers, base.maxLayers));
    const maxLayers = expectIndex(unitRaw.maxLayers, `${field}.maxLayers`, range(minLayers, base.maxLayers));
    const p = unitRaw.mutationProbability;
    if (typeof p !== 'number' || !(p > 0 && p <= 1)) fail(`${field}.mutationProbability`, `expected a number in (0, 1], got ${JSON.stringify(p)}`);
    const rule: UnitRule = { blocks, minLayers, maxLayers, mutationProbability: p };
    if (space === 'resnet50') {
      rule.widths = expectArray(unitRaw.widths, `${field}.widths`).map((w, i) => expectIndex(w, `${field}.widths[${i}]`, base.widths ?? []));
      if (rule.widths.length === 0) fail(`${field}.widths`, 'a unit must keep at least one width');
    }
    return rule;
  });
  const doc: SpaceDocument = { kind: 'blockscope.space/v1', space, name: raw.name, resolutions, units };
  if (space === 'resnet50') {
    const stem = raw.stem;
    if (!isRecord(stem)) fail('stem', 'expected an object {skipChoices, widths, mutationProbability}');
    const skipChoices = expectArray(stem.skipChoices, 'stem.skipChoices').map((s, i) => {
      if (typeof s !== 'boolean') fail(`stem.skipChoices[${i}]`, 'expected true or false');
      return s;
    });
    const widths = expectArray(stem.widths, 'stem.widths').map((w, i) => expectIndex(w, `stem.widths[${i}]`, original.stem!.widths));
    if (skipChoices.length === 0) fail('stem.skipChoices', 'expected at least one choice');
    if (widths.length === 0) fail('stem.widths', 'expected at least one width');
    const p = stem.mutationProbability;
    if (typeof p !== 'number' || !(p > 0 && p <= 1)) fail('stem.mutationProbability', `expected a number in (0, 1], got ${JSON.stringify(p)}`);
    doc.stem = { skipChoices, widths, mutationProbability: p };
  }
  if (Array.isArray(raw.notes)) doc.notes = raw.notes.map(String);
  return doc;
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
