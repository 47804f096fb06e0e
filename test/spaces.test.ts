import { describe, expect, it } from 'vitest';
import { uniformMb as mb, uniformResNet as resnet } from './helpers/reference-archs.js';
import { referenceArchitecture } from '../pipelines/sampling.js';
import {
  architectureCounts,
  architectureHash,
  blockSpecs,
  blockSpecId,
  originalSpace,
  parseBlockSpec,
  SpaceValidationError,
  validateArchitecture,
  validateSpaceDocument,
  type Architecture,
} from '../pipelines/spaces/index.js';

// §9 of the design-space reference: MACs, params, BN params.
const reference: [string, Architecture, number, number, number][] = [
  ['MBv3 smallest @160', mb('ofa-mbv3', 2, 'e3k3', 160), 100_320_888, 4_602_456, 14_544],
  ['MBv3 smallest @192', mb('ofa-mbv3', 2, 'e3k3', 192), 142_834_656, 4_602_456, 14_544],
  ['MBv3 smallest @208', mb('ofa-mbv3', 2, 'e3k3', 208), 170_564_736, 4_602_456, 14_544],
  ['MBv3 smallest @224', mb('ofa-mbv3', 2, 'e3k3'), 193_078_200, 4_602_456, 14_544],
  ['MBv3 largest @160', mb('ofa-mbv3', 4, 'e6k7', 160), 433_563_888, 10_701_632, 50_832],
  ['MBv3 largest @192', mb('ofa-mbv3', 4, 'e6k7', 192), 621_268_416, 10_701_632, 50_832],
  ['MBv3 largest @208', mb('ofa-mbv3', 4, 'e6k7', 208), 740_840_160, 10_701_632, 50_832],
  ['MBv3 largest @224', mb('ofa-mbv3', 4, 'e6k7'), 843_101_040, 10_701_632, 50_832],
  ['MBv3 d4 k3 e3', mb('ofa-mbv3', 4, 'e3k3'), 351_083_256, 5_986_008, 28_656],
  ['MBv3 d2 k7 e6', mb('ofa-mbv3', 2, 'e6k7'), 433_476_336, 6_654_768, 24_624],
  ['MBv3 d3 k5 e4', mb('ofa-mbv3', 3, 'e4k5'), 385_659_168, 6_245_312, 26_976],
  ['PN smallest', mb('proxylessnas', 2, 'e3k3'), 265_526_256, 3_718_832, 20_560],
  ['PN largest', mb('proxylessnas', 4, 'e6k7'), 1_004_908_032, 7_942_056, 64_016],
  ['PN d3 k5 e4', mb('proxylessnas', 3, 'e4k5'), 486_974_112, 5_053_864, 35_424],
  ['ResNet smallest', resnet([0, 0, 0, 0, 0], 'e0.2', 0), 962_192_128, 6_539_280, 22_816],
  ['ResNet largest', resnet([2, 2, 2, 2, 2], 'e0.35', 2), 7_491_643_904, 48_105_992, 67_136],
  ['ResNet d[2,1,1,1,1] e0.25 w1', resnet([2, 1, 1, 1, 1], 'e0.25', 1), 2_550_191_936, 15_866_000, 39_008],
  ['ResNet-50-D', resnet([2, 1, 2, 2, 1], 'e0.25', 2), 4_328_824_832, 25_576_264, 53_248],
];

describe('analytical MACs and params match the reference figures', () => {
  it.each(reference)('%s', (_name, arch, macs, params, bnParams) => {
    const valid = validateArchitecture(arch);
    expect(architectureCounts(valid)).toEqual({ macs, params, bnParams });
  });
});

describe('block specifications', () => {
  it('enumerates the paper counts: MBv3 180, PN 189, ResNet 169', () => {
    expect(blockSpecs('ofa-mbv3')).toHaveLength(180);
    expect(blockSpecs('proxylessnas')).toHaveLength(189);
    expect(blockSpecs('resnet50')).toHaveLength(169);
  });

  it('has unique ids that parse back', () => {
    for (const space of ['ofa-mbv3', 'proxylessnas', 'resnet50'] as const) {
      const ids = blockSpecs(space).map(blockSpecId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(blockSpecId(parseBlockSpec(space, id))).toBe(id);
    }
  });

  it('orders MBv3 specs by unit, layer, expand, kernel', () => {
    expect(blockSpecs('ofa-mbv3').slice(0, 4).map(blockSpecId)).toEqual(['u0.l0.e3k3', 'u0.l0.e3k5', 'u0.l0.e3k7', 'u0.l0.e4k3']);
  });

  it('parses the comma form and rejects unknown specs with the allowed form', () => {
    expect(parseBlockSpec('ofa-mbv3', '1,2,e6k7')).toEqual({ kind: 'mbconv', unit: 1, layer: 2, block: 'e6k7' });
    expect(parseBlockSpec('resnet50', '2,5,e0.35,1')).toEqual({ kind: 'bottleneck', unit: 2, layer: 5, block: 'e0.35', width: 1 });
    expect(() => parseBlockSpec('ofa-mbv3', '1,4,e6k7')).toThrow(/fix: not a block specification of ofa-mbv3.*U,L,BLOCK/);
    expect(() => parseBlockSpec('proxylessnas', '5,1,e3k3')).toThrow(SpaceValidationError);
  });
});

describe('validation', () => {
  const good = mb('ofa-mbv3', 3, 'e4k5');
  const cases: [string, unknown, RegExp][] = [
    ['unknown space', { ...good, space: 'mobilenet' }, /^space: unknown design space "mobilenet"; allowed: ofa-mbv3, proxylessnas, resnet50/],
    ['bad resolution', { ...good, resolution: 225 }, /^resolution: expected one of 160, 176, 192, 208, 224, got 225/],
    ['wrong unit count', { ...good, units: good.units.slice(0, 4) }, /^units: expected 5 entries, got 4/],
    ['depth out of range', { ...good, units: [['e3k3'], ...good.units.slice(1)] }, /^units\[0\]: depth 1 out of range; allowed: 2\.\.4 layers/],
    ['layer past the maximum', { ...good, units: [Array(5).fill('e3k3'), ...good.units.slice(1)] }, /^units\[0\]: depth 5 out of range/],
    ['unknown block', { ...good, units: [['e3k3', 'e5k3'], ...good.units.slice(1)] }, /^units\[0\]\[1\]: unknown block "e5k3"; allowed: e3k3, e3k5/],
    ['unknown field', { ...good, depth: 3 }, /^depth: unknown field; allowed: space, resolution, units/],
    ['resnet width', { ...resnet([2, 1, 1, 1, 1], 'e0.25', 1), widths: [0, 1, 3, 0] }, /^widths\[2\]: expected one of 0, 1, 2, got 3/],
    ['not an object', 'e6k7', /^architecture: expected a JSON object/],
  ];
  it.each(cases)('%s', (_name, raw, message) => {
    expect(() => validateArchitecture(raw)).toThrow(message);
  });

  it('checks architectures against a pruned space document', () => {
    const pruned = validateSpaceDocument({
      ...originalSpace('ofa-mbv3'),
      name: 'no-k7',
      units: originalSpace('ofa-mbv3').units.map((u) => ({ ...u, blocks: u.blocks.filter((b) => !b.endsWith('k7')) })),
    });
    expect(() => validateArchitecture(mb('ofa-mbv3', 2, 'e6k7'), pruned)).toThrow(/^units\[0\]\[0\]: unknown block "e6k7"; allowed: e3k3, e3k5, e4k3/);
    expect(validateArchitecture(mb('ofa-mbv3', 2, 'e6k5'), pruned).units[0]).toEqual(['e6k5', 'e6k5']);
  });

  it('rejects space documents with an empty unit or bad caps', () => {
    const doc = originalSpace('proxylessnas');
    expect(() => validateSpaceDocument({ ...doc, units: doc.units.map((u, i) => (i === 2 ? { ...u, blocks: [] } : u)) })).toThrow(
      /^units\[2\]\.blocks: a unit must keep at least one block/,
    );
    expect(() => validateSpaceDocument({ ...doc, units: doc.units.map((u, i) => (i === 0 ? { ...u, maxLayers: 5 } : u)) })).toThrow(
      /^units\[0\]\.maxLayers: expected one of 2, 3, 4, got 5/,
    );
  });
});

describe('hash', () => {
  it('is stable across key order and equal for equal architectures', () => {
    const a = mb('ofa-mbv3', 3, 'e4k5');
    const reordered = JSON.parse(JSON.stringify({ units: a.units, resolution: a.resolution, space: a.space }));
    expect(architectureHash(validateArchitecture(reordered))).toBe(architectureHash(a));
    expect(architectureHash(mb('ofa-mbv3', 3, 'e4k7'))).not.toBe(architectureHash(a));
  });

  it('is pinned: the same architecture hashes the same on any machine', () => {
    expect(architectureHash(mb('ofa-mbv3', 2, 'e3k3'))).toMatchInlineSnapshot(`"dc40cfc815274e3458180cebd17d26c26b964aa1f8e4a45e92f1de72300b6ef8"`);
  });
});

describe('reference architecture', () => {
  it('is one fixed valid architecture per space and resolution, the same on every machine', () => {
    for (const space of ['ofa-mbv3', 'proxylessnas', 'resnet50'] as const) {
      for (const resolution of originalSpace(space).resolutions) {
        const reference = referenceArchitecture(space, resolution);
        expect(validateArchitecture(reference)).toEqual(reference);
        expect(reference.resolution).toBe(resolution);
      }
    }
    expect(architectureHash(referenceArchitecture('ofa-mbv3', 224))).toBe('254fe719fdaedfdb72fbbe5a2c8f27b2ee140a58579d9aeed5a97a04b00b68e3');
    expect(architectureHash(referenceArchitecture('resnet50', 224))).toBe('ea1d1aad62ac4abcceefbb069f4bc50129f07f178dfcd3766a4a6827e9044b5f');
    // Only the resolution differs between resolutions.
    expect({ ...referenceArchitecture('proxylessnas', 160), resolution: 224 }).toEqual(referenceArchitecture('proxylessnas', 224));
  });
});
