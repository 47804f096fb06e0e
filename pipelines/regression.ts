/**
 * Block effects by regression: one linear model per device and metric over every measured architecture of
 * a study, log(metric) on per-position block indicators plus each unit's actual depth (and, for ResNet, each
 * unit's width). Where the paper's per-specification means use only the samples that fixed a block, every
 * architecture here informs one effect per layer it has, and the other positions' blocks are held equal
 * instead of being averaged into the noise.
 *
 * Parameterisation: an intercept; per unit, one indicator per optional layer l (depth > l, for l ≥ the
 * unit's minimum depth: the cost of having that layer, with the position's reference block); per position
 * (u, l), one indicator per block other than the unit's first (the reference). A block's effect is reported
 * against the average block of its position: exp(β_b − mean over the position's blocks of β) − 1, with a
 * 95% interval from the coefficients' covariance σ²(XᵀX)⁻¹ (ml-matrix does the linear algebra).
 */
import { Matrix, inverse, solve } from 'ml-matrix';
import type { Architecture, SpaceDocument } from './spaces/types.js';
import { tCritical95 } from './stats.js';

export interface EffectEstimate {
  /** Relative effect on the metric (0.1 = 10% more), with its 95% interval. */
  effect: number;
  ciLow: number;
  ciHigh: number;
}

export interface BlockEffect extends EffectEstimate {
  unit: number;
  layer: number;
  block: string;
  /** Measured architectures that hold this block at this position. */
  n: number;
}

export interface LayerEffect extends EffectEstimate {
  unit: number;
  /** Having this layer (depth > layer) rather than not, with the reference block in it. */
  layer: number;
  n: number;
}

export interface BlockRegression {
  kind: 'blockscope.block-regression/v1';
  /** The response is log(metric): effects are relative. */
  target: 'log';
  n: number;
  parameters: number;
  /** Residual standard deviation on the log scale (≈ the relative noise left). */
  residualStd: number;
  rSquared: number;
  blocks: BlockEffect[];
  layers: LayerEffect[];
}

export interface RegressionSample {
  arch: Architecture;
  value: number;
}

interface Column {
  name: string;
  value: (arch: Architecture) => number;
}

function designColumns(space: SpaceDocument, archs: readonly Architecture[]): { columns: Column[]; positions: { unit: number; layer: number; blocks: string[] }[] } {
  const columns: Column[] = [];
  const positions: { unit: number; layer: number; blocks: string[] }[] = [];
  const varies = (value: (arch: Architecture) => number) => new Set(archs.map(value)).size > 1;
  space.units.forEach((unit, u) => {
    for (let l = unit.minLayers; l < unit.maxLayers; l++) {
      const value = (arch: Architecture) => (arch.units[u]!.length > l ? 1 : 0);
      if (varies(value)) columns.push({ name: `u${u}.l${l}.present`, value });
    }
    for (let l = 0; l < unit.maxLayers; l++) {
      positions.push({ unit: u, layer: l, blocks: unit.blocks });
      for (const block of unit.blocks.slice(1)) {
        const value = (arch: Architecture) => (arch.units[u]![l] === block ? 1 : 0);
        if (varies(value)) columns.push({ name: `u${u}.l${l}.${block}`, value });
      }
    }
    if (unit.widths) {
      for (const width of unit.widths.slice(1)) {
        const value = (arch: Architecture) => ('widths' in arch && arch.widths[u] === width ? 1 : 0);
        if (varies(value)) columns.push({ name: `u${u}.w${width}`, value });
      }
    }
  });
  return { columns, positions };
}

/** Why the data cannot identify the model (too few architectures for its parameters), or undefined. */
export function blockRegressionShortfall(space: SpaceDocument, archs: readonly Architecture[]): string | undefined {
  const p = designColumns(space, archs).columns.length + 1;
  return archs.length <= p + 1 ? `${archs.length} architectures cannot identify ${p} parameters; it needs more than ${p + 1}` : undefined;
}

/** Fits the model; throws a RangeError naming what is missing when the data cannot identify it. */
export function fitBlockRegression(space: SpaceDocument, samples: readonly RegressionSample[]): BlockRegression {
  samples.forEach((s, i) => {
    if (s.arch.space !== space.space) throw new RangeError(`sample ${i}: space ${s.arch.space}, the model is for ${space.space}`);
    if (!(s.value > 0) || !Number.isFinite(s.value)) throw new RangeError(`sample ${i}: the metric must be a positive number, got ${s.value}`);
  });
  const archs = samples.map((s) => s.arch);
  const shortfall = blockRegressionShortfall(space, archs);
  if (shortfall) throw new RangeError(`block regression: ${shortfall}`);
  const { columns, positions } = designColumns(space, archs);
  const p = columns.length + 1;
  const n = samples.length;
  const x = new Matrix(samples.map((s) => [1, ...columns.map((c) => c.value(s.arch))]));
  const y = Matrix.columnVector(samples.map((s) => Math.log(s.value)));
  const xtx = x.transpose().mmul(x);
  const xtxInverse = inverse(xtx);
  const beta = solve(xtx, x.transpose().mmul(y)).getColumn(0);
  const fitted = x.mmul(Matrix.columnVector(beta)).getColumn(0);
  const observed = y.getColumn(0);
  const residualSs = observed.reduce((acc, v, i) => acc + (v - fitted[i]!) ** 2, 0);
  const meanY = observed.reduce((a, b) => a + b, 0) / n;
  const totalSs = observed.reduce((acc, v) => acc + (v - meanY) ** 2, 0);
  const df = n - p;
  const sigma2 = residualSs / df;
  const t = tCritical95(df);
  const index = new Map(columns.map((c, j) => [c.name, j + 1]));

  /** exp(c'β) − 1 with its interval, for a contrast given as coefficient weights by column name. */
  const contrast = (weights: Map<string, number>): EffectEstimate | undefined => {
    const c = new Array<number>(p).fill(0);
    for (const [name, w] of weights) {
      const j = index.get(name);
      if (j === undefined) return undefined;
      c[j] = w;
    }
    const estimate = c.reduce((acc, w, j) => acc + w * beta[j]!, 0);
    let variance = 0;
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) if (c[i] && c[j]) variance += c[i]! * c[j]! * xtxInverse.get(i, j);
    const half = t * Math.sqrt(Math.max(0, sigma2 * variance));
    return { effect: Math.expm1(estimate), ciLow: Math.expm1(estimate - half), ciHigh: Math.expm1(estimate + half) };
  };

  const blocks: BlockEffect[] = [];
  for (const { unit, layer, blocks: choices } of positions) {
    const held = (block: string) => archs.filter((a) => a.units[unit]![layer] === block).length;
    // Every non-reference block of the position must be estimable, else the average is undefined.
    if (choices.slice(1).some((b) => !index.has(`u${unit}.l${layer}.${b}`))) continue;
    for (const block of choices) {
      const weights = new Map<string, number>();
      for (const other of choices.slice(1)) weights.set(`u${unit}.l${layer}.${other}`, (other === block ? 1 : 0) - 1 / choices.length);
      const estimate = contrast(weights);
      if (estimate) blocks.push({ unit, layer, block, n: held(block), ...estimate });
    }
  }
  const layers: LayerEffect[] = [];
  space.units.forEach((unit, u) => {
    for (let l = unit.minLayers; l < unit.maxLayers; l++) {
      const estimate = contrast(new Map([[`u${u}.l${l}.present`, 1]]));
      if (estimate) layers.push({ unit: u, layer: l, n: archs.filter((a) => a.units[u]!.length > l).length, ...estimate });
    }
  });
  return {
    kind: 'blockscope.block-regression/v1',
    target: 'log',
    n,
    parameters: p,
    residualStd: Math.sqrt(sigma2),
    rSquared: totalSs > 0 ? 1 - residualSs / totalSs : 1,
    blocks,
    layers,
  };
}
