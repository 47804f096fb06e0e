/** Block effects by regression, on synthetic devices whose effects are known. */
import { describe, expect, it } from 'vitest';
import { fitBlockRegression, type RegressionSample } from '../pipelines/regression.js';
import { Rng } from '../pipelines/rng.js';
import { sampleArchitecture } from '../pipelines/sampling.js';
import { originalSpace, parseMbBlock, type Architecture } from '../pipelines/spaces/index.js';

const space = originalSpace('ofa-mbv3');

/** A kernel-bound device: each layer multiplies latency by a factor of its kernel and expand ratio, later units cheaper. */
function logFactor(unit: number, layer: number, block: string): number {
  const { expand, kernel } = parseMbBlock(block)!;
  return (0.08 - 0.01 * unit) * (1 + 0.3 * (layer === 0 ? 1 : 0)) * (expand / 4) * (kernel / 3) ** 1.2;
}
const trueLatency = (arch: Architecture) => 5 * Math.exp(arch.units.reduce((acc, blocks, u) => acc + blocks.reduce((a, b, l) => a + logFactor(u, l, b), 0), 0));

function samples(count: number, seed: number, noise: number): RegressionSample[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const arch = sampleArchitecture(space, rng, 160);
    return { arch, value: trueLatency(arch) * Math.exp(noise * (2 * rng.next() - 1)) };
  });
}

/** The known effect of a block against the average block of its position. */
function knownEffect(unit: number, layer: number, block: string): number {
  const blocks = space.units[unit]!.blocks;
  const average = blocks.reduce((acc, b) => acc + logFactor(unit, layer, b), 0) / blocks.length;
  return Math.expm1(logFactor(unit, layer, block) - average);
}

describe('block regression', () => {
  it('recovers every block and layer effect exactly from noise-free data, depths varying in every unit', () => {
    const fit = fitBlockRegression(space, samples(800, 1, 0));
    // 5 units × 4 positions × 9 blocks, and the optional third and fourth layer of each unit.
    expect(fit.blocks).toHaveLength(5 * 4 * 9);
    expect(fit.layers).toHaveLength(5 * 2);
    expect(fit.rSquared).toBeCloseTo(1, 9);
    for (const e of fit.blocks) expect(e.effect).toBeCloseTo(knownEffect(e.unit, e.layer, e.block), 9);
    // Having layer l costs its reference block's factor (e3k3, the unit's first block).
    for (const e of fit.layers) expect(e.effect).toBeCloseTo(Math.expm1(logFactor(e.unit, e.layer, space.units[e.unit]!.blocks[0]!)), 9);
  });

  it('covers the known effects with its 95% intervals under ±10% noise', () => {
    const fit = fitBlockRegression(space, samples(1500, 2, 0.1));
    const covered = fit.blocks.filter((e) => {
      const known = knownEffect(e.unit, e.layer, e.block);
      return e.ciLow <= known && known <= e.ciHigh;
    });
    expect(covered.length / fit.blocks.length).toBeGreaterThan(0.88);
    expect(fit.residualStd).toBeGreaterThan(0.04);
    expect(fit.residualStd).toBeLessThan(0.07);
    // A k7 block is slower than the k3 block of the same expand at the same position, beyond the intervals,
    // wherever the known difference is large.
    for (const e of fit.blocks.filter((b) => b.block.endsWith('k7'))) {
      const k3 = fit.blocks.find((b) => b.unit === e.unit && b.layer === e.layer && b.block === e.block.replace('k7', 'k3'))!;
      if (knownEffect(e.unit, e.layer, e.block) - knownEffect(e.unit, e.layer, k3.block) > 0.06) expect(e.ciLow).toBeGreaterThan(k3.ciHigh);
    }
  });

  it('says what is missing when the data cannot identify the model', () => {
    expect(() => fitBlockRegression(space, samples(60, 3, 0.1))).toThrow(/60 architectures cannot identify \d+ parameters; it needs more than \d+/);
    expect(() => fitBlockRegression(space, [{ arch: samples(1, 4, 0)[0]!.arch, value: -1 }])).toThrow(/sample 0: the metric must be a positive number, got -1/);
    expect(() => fitBlockRegression(originalSpace('proxylessnas'), samples(200, 5, 0))).toThrow(/sample 0: space ofa-mbv3, the model is for proxylessnas/);
  });
});
