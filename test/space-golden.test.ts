/**
 * The paper spaces' outputs are fixed: block specs, documents, seeded samples, ONNX bytes, counts, mutation chains,
 * predictor features, lookup-table blocks, plans and pruned spaces must equal what they were before the space
 * families moved onto the registry (test/fixtures/space-golden.json, written by scripts/record-space-golden.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_SPACES, spaceGolden, type SpaceGolden } from './helpers/space-golden.js';

const recorded = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/space-golden.json'), 'utf8')) as Record<string, SpaceGolden>;

describe('the paper spaces give byte-identical outputs', () => {
  it.each(GOLDEN_SPACES)('%s', (space) => {
    expect(spaceGolden(space)).toEqual(recorded[space]);
  });
});
