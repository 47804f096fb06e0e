/** Block effects by regression, on synthetic devices whose effects are known. */
import { describe, expect, it } from 'vitest';
import { fitBlockRegression, type RegressionSample } from '../pipelines/regression.js';
import { Rng } from '../pipelines/rng.js';
import { sampleArchitecture } from '../pipelines/sampling.js';
import { blockSpecId, originalSpace, type BlockSpec } from '../pipelines/spaces/index.js';
import { additiveAccuracy, additiveAccuracyGain, kernelBoundLatencyMs, kernelBoundLogFactor } from './helpers/synthetic-device.js';

const space = originalSpace('ofa-mbv3');
const logFactor = kernelBoundLogFactor;
const trueLatency = kernelBoundLatencyMs;

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
    expect(() => fitBlockRegression(space, [{ arch: samples(1, 4, 0)[0]!.arch, value: -1 }])).toThrow(/sample 0: the metric must be a positive number for target 'log', got -1/);
    expect(() => fitBlockRegression(originalSpace('proxylessnas'), samples(200, 5, 0))).toThrow(/sample 0: space ofa-mbv3, the model is for proxylessnas/);
  });

  it('fits a metric on its own scale (target linear) and recovers additive effects exactly', () => {
    const archs = samples(600, 6, 0).map((s) => s.arch);
    const fit = fitBlockRegression(
      space,
      archs.map((arch) => ({ arch, value: additiveAccuracy(arch) })),
      { target: 'linear' },
    );
    expect(fit.target).toBe('linear');
    for (const e of fit.blocks) {
      const blocks = space.units[e.unit]!.blocks;
      const average = blocks.reduce((acc, b) => acc + additiveAccuracyGain(b), 0) / blocks.length;
      expect(e.effect).toBeCloseTo((additiveAccuracyGain(e.block) - average) / 4, 9);
    }
    for (const e of fit.layers) expect(e.effect).toBeCloseTo(additiveAccuracyGain(space.units[e.unit]!.blocks[0]!) / 4, 9);
    // A proxy score can be negative: only the log target needs positive values.
    expect(() =>
      fitBlockRegression(
        space,
        archs.map((arch) => ({ arch, value: additiveAccuracy(arch) - 100 })),
        { target: 'linear' },
      ),
    ).not.toThrow();
  });

  it("estimates a spec's mean at the expected composition of its samples: its unit as its sampler draws it, the other units as the random sampler draws them", () => {
    const all = samples(700, 7, 0);
    const spec: BlockSpec = { kind: 'mbconv', unit: 2, layer: 2, block: 'e6k7' };
    // A random unit: depth uniform over its range, so layer l is there with probability (max − l) / (max − min + 1)
    // (capped at 1), holding a uniform block. Not the mean of the measured architectures, which holds every spec's forced depths.
    const averageBlockOf = (u: number, l: number) => space.units[u]!.blocks.reduce((acc, b) => acc + kernelBoundLogFactor(u, l, b), 0) / space.units[u]!.blocks.length;
    const randomUnitLog = (u: number) => {
      const { minLayers, maxLayers } = space.units[u]!;
      let sum = 0;
      for (let l = 0; l < maxLayers; l++) sum += (Math.min(maxLayers - minLayers + 1, maxLayers - l) / (maxLayers - minLayers + 1)) * averageBlockOf(u, l);
      return sum;
    };
    const others = space.units.reduce((acc, _, u) => acc + (u === 2 ? 0 : randomUnitLog(u)), 0);
    const averageBlock = (l: number) => space.units[2]!.blocks.reduce((acc, b) => acc + kernelBoundLogFactor(2, l, b), 0) / space.units[2]!.blocks.length;
    // Unit 2 has 2-4 layers. Layers 0-1 are always there with a uniform block, layer 2 holds e6k7, layer 3 is
    // there with probability 1/2 when the spec is held by random architectures (depth 3 or 4), 1/3 under the
    // intended rule (max(depth, 3) over depths 2, 3, 4).
    const expected = (layer3: number) => Math.exp(Math.log(5) + others + averageBlock(0) + averageBlock(1) + kernelBoundLogFactor(2, 2, 'e6k7') + layer3 * averageBlock(3));
    for (const [depthRule, layer3] of [
      ['held', 1 / 2],
      ['intended', 1 / 3],
    ] as const) {
      const fit = fitBlockRegression(space, all, {
        specs: [
          { spec, samples: 12, depthRule },
          { spec: { kind: 'stem-skip', skip: true }, samples: 12, depthRule },
        ],
      });
      // Stem options have no columns in the model, so the model gives them no estimate.
      expect(fit.specs!.map((s) => s.specId)).toEqual([blockSpecId(spec)]);
      expect(fit.specs![0]!.mean).toBeCloseTo(expected(layer3), 9);
      expect(fit.specs![0]!.n).toBe(12);
    }
    const population = fitBlockRegression(space, all, { specs: [] }).population!;
    expect(population.mean).toBeCloseTo(Math.exp(Math.log(5) + space.units.reduce((acc, _, u) => acc + randomUnitLog(u), 0)), 9);
  });
});
