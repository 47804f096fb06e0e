/** Validation of architectures and space documents, with errors that name the field and the allowed values. */
import { canonicalHashHex, canonicalJson } from '../hash.js';
import { expectArray, expectIndex, expectProbability, isRecord } from './common.js';
import { designSpace, userDefinitionHash } from './registry.js';
import { SpaceValidationError, type Architecture, type SpaceDocument, type UnitRule } from './types.js';

function fail(field: string, message: string): never {
  throw new SpaceValidationError(field, message);
}

/**
 * Checks a raw (parsed JSON) architecture against a space document (the original space by default)
 * and returns it in canonical form.
 */
export function validateArchitecture(raw: unknown, document?: SpaceDocument): Architecture {
  if (!isRecord(raw)) fail('architecture', `expected a JSON object, got ${JSON.stringify(raw)}`);
  const space = designSpace(raw.space);
  const doc = document ?? space.original();
  if (doc.space !== space.id) fail('space', `architecture is of space ${space.id} but the space document is for ${doc.space}`);
  const resolution = expectIndex(raw.resolution, 'resolution', doc.resolutions);
  const units = validateUnits(raw.units, doc.units);
  return space.validateArchitecture(raw, doc, resolution, units);
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
  return designSpace(arch.space).canonical(arch);
}

export function architectureKey(arch: Architecture): string {
  return canonicalJson(canonicalArchitecture(arch));
}

/**
 * A stable content hash: the same architecture gives it on any machine. The sha256 of the canonical JSON; for a
 * user-defined space, of the canonical JSON together with its definition's hash (userDefinitionHash).
 */
export function architectureHash(arch: Architecture): string {
  const canonical = canonicalArchitecture(arch);
  const definition = userDefinitionHash(arch.space);
  return canonicalHashHex(definition === undefined ? canonical : { architecture: canonical, definition });
}

/** Checks a space document (e.g. a pruned space from the insights stage) against its original space. */
export function validateSpaceDocument(raw: unknown): SpaceDocument {
  if (!isRecord(raw)) fail('space document', 'expected a JSON object');
  if (raw.kind !== 'blockscope.space/v1') fail('kind', `expected "blockscope.space/v1", got ${JSON.stringify(raw.kind)}`);
  const space = designSpace(raw.space);
  const original = space.original();
  if (typeof raw.name !== 'string' || raw.name === '') fail('name', 'expected a non-empty string');
  const resolutions = expectArray(raw.resolutions, 'resolutions').map((r, i) => expectIndex(r, `resolutions[${i}]`, original.resolutions));
  if (resolutions.length === 0) fail('resolutions', 'expected at least one resolution');
  const units = expectArray(raw.units, 'units', original.units.length).map((unitRaw, u): UnitRule => {
    const field = `units[${u}]`;
    const base = original.units[u]!;
    if (!isRecord(unitRaw)) fail(field, 'expected an object {blocks, minLayers, maxLayers, mutationProbability}');
    const blocks = expectArray(unitRaw.blocks, `${field}.blocks`).map((b, i) => {
      if (typeof b !== 'string' || !space.blocks.includes(b)) fail(`${field}.blocks[${i}]`, `unknown block ${JSON.stringify(b)}; allowed: ${base.blocks.join(', ')}`);
      return b;
    });
    if (blocks.length === 0) fail(`${field}.blocks`, 'a unit must keep at least one block');
    const minLayers = expectIndex(unitRaw.minLayers, `${field}.minLayers`, range(base.minLayers, base.maxLayers));
    const maxLayers = expectIndex(unitRaw.maxLayers, `${field}.maxLayers`, range(minLayers, base.maxLayers));
    const rule: UnitRule = { blocks, minLayers, maxLayers, mutationProbability: expectProbability(unitRaw.mutationProbability, `${field}.mutationProbability`) };
    space.validateUnitExtras(unitRaw, base, field, rule);
    return rule;
  });
  const doc: SpaceDocument = { kind: 'blockscope.space/v1', space: space.id, name: raw.name, resolutions, units };
  space.validateStem(raw, doc);
  if (Array.isArray(raw.notes)) doc.notes = raw.notes.map(String);
  return doc;
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
