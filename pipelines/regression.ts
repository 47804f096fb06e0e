/**
 * Block effects by regression: one linear model per device and metric over every measured architecture of
 * a study, the metric (or its log) on per-position block indicators plus each unit's actual depth (and, for
 * ResNet, each unit's width). Where the paper's per-specification means use only the samples that fixed a block, every
 * architecture here informs one effect per layer it has, and the other positions' blocks are held equal
 * instead of being averaged into the noise.
 *
 * Parameterisation: an intercept; per unit, one indicator per optional layer l (depth > l, for l ≥ the
 * unit's minimum depth: the cost of having that layer, with the position's reference block); per position
 * (u, l), one indicator per block other than the unit's first (the reference). A block's effect is reported
 * against the average block of its position: β_b − mean over the position's blocks of β (target 'linear',
 * in the metric's unit), or exp of that − 1 (target 'log', relative), with a 95% interval from the
 * coefficients' covariance σ²(XᵀX)⁻¹ (ml-matrix does the linear algebra).
 *
 * Block specifications get a model estimate of their mean too (`specs`): the prediction at the expected
 * design row of the spec's samples, its unit as the spec's sampler draws it (so a spec at layer 2 keeps the
 * depth it forces; the other layers' blocks uniform) and the other units as in all measured architectures.
 * It answers the question the spec's sample mean answers, without the noise that the random blocks of its
 * few samples add to it.
 */
import { Matrix, inverse, solve } from 'ml-matrix';
import { blockSpecId } from './spaces/specs.js';
import { specUnitDepths } from './sampling.js';
import type { Architecture, BlockSpec, SpaceDocument, SpecDepthRule } from './spaces/types.js';
import { chiSquareQuantile, mean, normalQuantile, regularizedBeta, tCritical95 } from './stats.js';

export interface EffectEstimate {
  /** Relative effect on the metric (0.1 = 10% more; target 'log') or a difference in its unit ('linear'), with its 95% interval. */
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
  /** Having this layer with an average block of the position in it: what one more layer costs a random architecture. */
  withAverageBlock?: EffectEstimate;
}

/** The model's estimate of a block specification's mean (see the module comment), with its 95% interval. */
export interface SpecEstimate {
  specId: string;
  mean: number;
  ciLow: number;
  ciHigh: number;
  /** The spec's own samples, which set its unit's composition. */
  n: number;
  /**
   * The regression-adjusted estimate (the model as a control variate): the spec's sample mean minus the model's
   * prediction of what its samples' other layers added beyond their expectation under the sampler's law. Unbiased
   * for the spec's mean whatever the model gets wrong; its interval is from the spec's own residuals. Absent
   * when the fit was not given the spec's samples.
   */
  adjusted?: { mean: number; ciLow: number; ciHigh: number; /** Of the interval's Student t: the spec's samples (or clusters) less one. */ df: number };
}

/**
 * Whether the model's spec estimates agree with the specs' own samples: the mean residual of each spec's samples
 * over its standard error, squared and summed (≈ χ² with one degree of freedom per spec when the model holds). A
 * statistic above the 99% quantile means the model is misspecified where the specs fix their blocks, so its
 * estimates (and their narrow intervals) are biased there; the adjusted estimates are not.
 */
export interface LackOfFit {
  statistic: number;
  df: number;
  /** The χ² 99% quantile with `df` degrees of freedom. */
  critical: number;
  fails: boolean;
}

export type RegressionTarget = 'log' | 'linear';

export interface BlockRegression {
  kind: 'blockscope.block-regression/v1';
  /** 'log': the response is log(metric) and effects are relative; 'linear': the metric itself, effects are differences. */
  target: RegressionTarget;
  n: number;
  parameters: number;
  /** Residual degrees of freedom (n − parameters): the Student t of every interval. */
  df: number;
  /** Residual standard deviation of the response (on the log scale ≈ the relative noise left). */
  residualStd: number;
  /** Mean of the metric over the measured architectures: the scale of relative numbers for target 'linear'. */
  meanValue: number;
  rSquared: number;
  blocks: BlockEffect[];
  layers: LayerEffect[];
  /** Estimates of the specs' means, for the specs given to the fit that fix a unit's block; absent when none were given. */
  specs?: SpecEstimate[];
  /** The model's mean under the random sampler's law (the random baseline's population, the estimate the specs' means compare with). */
  population?: Omit<SpecEstimate, 'specId'>;
  /** The model checked against the specs' own samples; absent when the fit was not given them. */
  lackOfFit?: LackOfFit;
}

/** A block specification, how many measured samples it has, and how its sampler sets its unit's depth. */
export interface RegressionSpec {
  spec: BlockSpec;
  samples: number;
  depthRule: SpecDepthRule;
  /** Which of the fit's samples are the spec's (indices into its samples), for the adjusted estimate and the model check. */
  sampleIndices?: readonly number[];
}

export interface RegressionOptions {
  target?: RegressionTarget;
  specs?: readonly RegressionSpec[];
  /**
   * Per sample, the cluster whose measurement errors are shared (e.g. the interval between two drift probes whose
   * noise the correction passed on); undefined: its own. The specs' adjusted estimates and the model check take
   * the variance of a spec's mean residual over its clusters, so shared errors are not mistaken for misfit.
   */
  clusters?: readonly (number | undefined)[];
  /** Which samples are the random baseline's (a block-fixed study's random architectures), for the population's adjusted estimate. */
  populationIndices?: readonly number[];
}

export interface RegressionSample {
  arch: Architecture;
  value: number;
}

/** What a column indicates: a unit's optional layer being there, a block at a position, or a unit's width. */
type ColumnRole = { unit: number } & ({ kind: 'present'; layer: number } | { kind: 'block'; layer: number; block: string } | { kind: 'width'; width: number });

interface Column {
  name: string;
  role: ColumnRole;
  value: (arch: Architecture) => number;
}

function designColumns(space: SpaceDocument, archs: readonly Architecture[]): { columns: Column[]; positions: { unit: number; layer: number; blocks: string[] }[] } {
  const columns: Column[] = [];
  const positions: { unit: number; layer: number; blocks: string[] }[] = [];
  const varies = (value: (arch: Architecture) => number) => {
    const first = archs[0] === undefined ? 0 : value(archs[0]);
    return archs.some((arch) => value(arch) !== first);
  };
  space.units.forEach((unit, u) => {
    for (let l = unit.minLayers; l < unit.maxLayers; l++) {
      const value = (arch: Architecture) => (arch.units[u]!.length > l ? 1 : 0);
      if (varies(value)) columns.push({ name: `u${u}.l${l}.present`, role: { unit: u, kind: 'present', layer: l }, value });
    }
    for (let l = 0; l < unit.maxLayers; l++) {
      positions.push({ unit: u, layer: l, blocks: unit.blocks });
      for (const block of unit.blocks.slice(1)) {
        const value = (arch: Architecture) => (arch.units[u]![l] === block ? 1 : 0);
        if (varies(value)) columns.push({ name: `u${u}.l${l}.${block}`, role: { unit: u, kind: 'block', layer: l, block }, value });
      }
    }
    if (unit.widths) {
      for (const width of unit.widths.slice(1)) {
        const value = (arch: Architecture) => ('widths' in arch && arch.widths[u] === width ? 1 : 0);
        if (varies(value)) columns.push({ name: `u${u}.w${width}`, role: { unit: u, kind: 'width', width }, value });
      }
    }
  });
  return { columns, positions };
}

/** A design row's non-zero entries as [column index, value], the intercept (index 0) first. */
function sparseRow(columns: readonly Column[], arch: Architecture): [number, number][] {
  const row: [number, number][] = [[0, 1]];
  columns.forEach((column, j) => {
    const value = column.value(arch);
    if (value !== 0) row.push([j + 1, value]);
  });
  return row;
}

/** Why the data cannot identify the model (too few architectures for its parameters), or undefined. */
export function blockRegressionShortfall(space: SpaceDocument, archs: readonly Architecture[]): string | undefined {
  return shortfallOf(archs.length, designColumns(space, archs).columns);
}

function shortfallOf(n: number, columns: readonly Column[]): string | undefined {
  const p = columns.length + 1;
  return n <= p + 1 ? `${n} architectures cannot identify ${p} parameters; it needs more than ${p + 1}` : undefined;
}

/** Fits the model; throws a RangeError naming what is missing when the data cannot identify it. */
export function fitBlockRegression(space: SpaceDocument, samples: readonly RegressionSample[], options: RegressionOptions = {}): BlockRegression {
  const target = options.target ?? 'log';
  samples.forEach((s, i) => {
    if (s.arch.space !== space.space) throw new RangeError(`sample ${i}: space ${s.arch.space}, the model is for ${space.space}`);
    if (!Number.isFinite(s.value)) throw new RangeError(`sample ${i}: the metric must be a finite number, got ${s.value}`);
    if (target === 'log' && !(s.value > 0)) throw new RangeError(`sample ${i}: the metric must be a positive number for target 'log', got ${s.value}`);
  });
  const response = target === 'log' ? Math.log : (v: number) => v;
  const fromResponse = target === 'log' ? Math.exp : (v: number) => v;
  const archs = samples.map((s) => s.arch);
  const { columns, positions } = designColumns(space, archs);
  const shortfall = shortfallOf(archs.length, columns);
  if (shortfall) throw new RangeError(`block regression: ${shortfall}`);
  const p = columns.length + 1;
  const n = samples.length;
  // Each row holds the intercept and ~25 indicators of ~170 columns: X'X, X'y and the fit from each row's
  // non-zero entries cost n·25² instead of n·170² (18,100 architectures: ~0.1 s instead of ~9 s).
  const rows = samples.map((s) => sparseRow(columns, s.arch));
  const observed = samples.map((s) => response(s.value));
  const xtxValues = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const xtyValues = new Array<number>(p).fill(0);
  rows.forEach((row, r) => {
    for (const [a, va] of row) {
      const line = xtxValues[a]!;
      for (const [b, vb] of row) line[b]! += va * vb;
      xtyValues[a]! += va * observed[r]!;
    }
  });
  const xtx = new Matrix(xtxValues);
  const xtxInverse = inverse(xtx);
  const beta = solve(xtx, Matrix.columnVector(xtyValues)).getColumn(0);
  const fitted = rows.map((row) => row.reduce((acc, [j, v]) => acc + v * beta[j]!, 0));
  const residualSs = observed.reduce((acc, v, i) => acc + (v - fitted[i]!) ** 2, 0);
  const meanY = observed.reduce((a, b) => a + b, 0) / n;
  const totalSs = observed.reduce((acc, v) => acc + (v - meanY) ** 2, 0);
  const df = n - p;
  const sigma2 = residualSs / df;
  const t = tCritical95(df);
  const index = new Map(columns.map((c, j) => [c.name, j + 1]));
  const covariance = robustCovariance(
    rows,
    observed.map((v, i) => v - fitted[i]!),
    xtxInverse,
  );

  /** c'β with the half-width of its 95% interval, from the heteroscedasticity-robust covariance. */
  const linear = (c: readonly number[]): { estimate: number; half: number } => {
    const estimate = c.reduce((acc, w, j) => acc + w * beta[j]!, 0);
    const used = c.flatMap((w, j) => (w ? [j] : []));
    let variance = 0;
    for (const i of used) for (const j of used) variance += c[i]! * c[j]! * covariance.get(i, j);
    return { estimate, half: t * Math.sqrt(Math.max(0, variance)) };
  };
  const asEffect = target === 'log' ? Math.expm1 : (v: number) => v;
  /** exp(c'β) − 1 (or c'β) with its interval, for a contrast given as coefficient weights by column name. */
  const contrast = (weights: Map<string, number>): EffectEstimate | undefined => {
    const c = new Array<number>(p).fill(0);
    for (const [name, w] of weights) {
      const j = index.get(name);
      if (j === undefined) return undefined;
      c[j] = w;
    }
    const { estimate, half } = linear(c);
    return { effect: asEffect(estimate), ciLow: asEffect(estimate - half), ciHigh: asEffect(estimate + half) };
  };
  /**
   * The expected design row of a random architecture (the random sampler's law: depth uniform over the unit's
   * range, blocks and widths uniform), not the mean of the measured ones: those include every spec's forced
   * depths, which would tilt every estimate toward deeper networks.
   */
  const randomRow = [1, ...columns.map(({ role }) => randomColumnValue(space, role))];
  /**
   * The expected design row of the spec's samples: its unit's columns from the sampler's law (depth by the
   * rule, uniform blocks and widths, the spec's own choices fixed), the other units' from the random law.
   */
  const specRow = (spec: Extract<BlockSpec, { unit: number }>, depthRule: SpecDepthRule): number[] => {
    const depths = specUnitDepths(space, spec, depthRule);
    const reaches = (layer: number) => [...depths].reduce((acc, [d, p]) => acc + (d > layer ? p : 0), 0);
    const unit = space.units[spec.unit]!;
    return randomRow.map((value, j) => {
      const role = columns[j - 1]?.role;
      if (!role || role.unit !== spec.unit) return value;
      switch (role.kind) {
        case 'present':
          return reaches(role.layer);
        case 'block':
          return role.layer === spec.layer ? (role.block === spec.block ? reaches(role.layer) : 0) : reaches(role.layer) / unit.blocks.length;
        case 'width':
          return 'width' in spec ? (role.width === spec.width ? 1 : 0) : 1 / unit.widths!.length;
      }
    });
  };
  const estimateAt = (c: readonly number[], n: number): Omit<SpecEstimate, 'specId'> => {
    const { estimate, half } = linear(c);
    return { mean: fromResponse(estimate), ciLow: fromResponse(estimate - half), ciHigh: fromResponse(estimate + half), n };
  };

  const blocks: BlockEffect[] = [];
  // How many architectures hold each block at each position, counted in one pass.
  const holders = new Map<string, number>();
  for (const arch of archs) arch.units.forEach((unitBlocks, u) => unitBlocks.forEach((block, l) => holders.set(`${u}.${l}.${block}`, (holders.get(`${u}.${l}.${block}`) ?? 0) + 1)));
  for (const { unit, layer, blocks: choices } of positions) {
    const held = (block: string) => holders.get(`${unit}.${layer}.${block}`) ?? 0;
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
      if (!estimate) continue;
      const averageBlock = new Map([[`u${u}.l${l}.present`, 1], ...unit.blocks.slice(1).map((b): [string, number] => [`u${u}.l${l}.${b}`, 1 / unit.blocks.length])]);
      const withAverageBlock = contrast(averageBlock);
      layers.push({ unit: u, layer: l, n: archs.filter((a) => a.units[u]!.length > l).length, ...estimate, ...(withAverageBlock ? { withAverageBlock } : {}) });
    }
  });
  const residuals = observed.map((v, i) => v - fitted[i]!);
  const meanResponse = Math.abs(meanY) || 1;
  let lackOfFitStatistic = 0;
  let checkedSpecs = 0;
  /**
   * ȳ − (x̄ − x*)'β̂ over the spec's samples: x* is its expected design row, x̄ its samples' mean row. The
   * correction has expectation zero under the sampler's law whatever β̂ is, so the estimate stays unbiased;
   * its variance is the spec's residual variance over n plus the coefficients' share along x̄ − x*.
   */
  const adjustedAt = (row: readonly number[], indices: readonly number[], checked = true): SpecEstimate['adjusted'] | undefined => {
    if (indices.length < 2) return undefined;
    const own = indices.map((i) => residuals[i]!);
    const meanResidual = mean(own);
    // Cluster-robust: the spread of the clusters' residual sums (a sample without a cluster is its own), G/(G − 1)
    // scaled, with G − 1 degrees of freedom; without clusters it is the sample variance over n.
    const sums = new Map<string, number>();
    indices.forEach((i, k) => {
      const cluster = options.clusters?.[i];
      const key = cluster === undefined ? `own:${i}` : `c:${cluster}`;
      sums.set(key, (sums.get(key) ?? 0) + own[k]! - meanResidual);
    });
    const groups = sums.size;
    if (groups < 2) return undefined;
    const meanResidualVariance = ((groups / (groups - 1)) * [...sums.values()].reduce((acc, v) => acc + v * v, 0)) / own.length ** 2;
    const residualVariance = meanResidualVariance * own.length;
    const meanRow = new Array<number>(p).fill(0);
    for (const i of indices) for (const [j, v] of rows[i]!) meanRow[j]! += v / indices.length;
    const model = linear(row);
    const d = meanRow.map((v, j) => v - row[j]!);
    let dVariance = 0;
    for (let a = 0; a < p; a++) if (d[a]) for (let b = 0; b < p; b++) if (d[b]) dVariance += d[a]! * d[b]! * covariance.get(a, b);
    const variance = meanResidualVariance + dVariance;
    // An exact fit (a lookup table is a sum of its rows) leaves rounding only: nothing to check.
    if (checked && residualVariance > (1e-9 * meanResponse) ** 2) {
      lackOfFitStatistic += tAsChiSquare1(meanResidual / Math.sqrt(meanResidualVariance), groups - 1);
      checkedSpecs += 1;
    }
    const estimate = model.estimate + meanResidual;
    const half = tCritical95(groups - 1) * Math.sqrt(variance);
    return { mean: fromResponse(estimate), ciLow: fromResponse(estimate - half), ciHigh: fromResponse(estimate + half), df: groups - 1 };
  };
  const specs = options.specs?.flatMap(({ spec, samples: count, depthRule, sampleIndices }): SpecEstimate[] => {
    // Stem options have no columns in the model: the model cannot tell them apart.
    if (!('unit' in spec)) return [];
    const row = specRow(spec, depthRule);
    const adjusted = sampleIndices ? adjustedAt(row, sampleIndices) : undefined;
    return [{ specId: blockSpecId(spec), ...estimateAt(row, count), ...(adjusted ? { adjusted } : {}) }];
  });
  // The random baseline's own samples, adjusted as a spec's are: the population mean unbiased whatever the model misses.
  const populationAdjusted = options.populationIndices ? adjustedAt(randomRow, options.populationIndices, false) : undefined;
  const lackOfFit: LackOfFit | undefined =
    checkedSpecs > 0
      ? { statistic: lackOfFitStatistic, df: checkedSpecs, critical: chiSquareQuantile(0.99, checkedSpecs), fails: lackOfFitStatistic > chiSquareQuantile(0.99, checkedSpecs) }
      : undefined;
  return {
    kind: 'blockscope.block-regression/v1',
    target,
    n,
    parameters: p,
    df,
    residualStd: Math.sqrt(sigma2),
    meanValue: samples.reduce((acc, s) => acc + s.value, 0) / n,
    rSquared: totalSs > 0 ? 1 - residualSs / totalSs : 1,
    blocks,
    layers,
    ...(specs ? { specs, population: { ...estimateAt(randomRow, n), ...(populationAdjusted ? { adjusted: populationAdjusted } : {}) } } : {}),
    ...(lackOfFit ? { lackOfFit } : {}),
  };
}

/**
 * The coefficients' covariance, robust to noise whose variance differs between architectures (a device's noise
 * grows with its latency; a big network's accuracy varies less): the HC2 sandwich (X'X)⁻¹ X' diag(eᵢ² / (1 − hᵢ)) X
 * (X'X)⁻¹, hᵢ the leverage of row i. Dividing by 1 − hᵢ makes each term unbiased when the noise is constant, so it
 * then agrees with σ²(X'X)⁻¹ even in a study barely larger than the model (HC3's (1 − hᵢ)² made the intervals of
 * 200 architectures for 181 parameters about three times too wide: bench figure 8's calibration read mean z² 0.12).
 */
function robustCovariance(rows: readonly (readonly [number, number])[][], residuals: readonly number[], xtxInverse: Matrix): Matrix {
  const p = xtxInverse.rows;
  const meat = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  rows.forEach((row, i) => {
    let leverage = 0;
    for (const [a, va] of row) for (const [b, vb] of row) leverage += va * vb * xtxInverse.get(a, b);
    const weight = residuals[i]! ** 2 / Math.max(1e-12, 1 - leverage);
    for (const [a, va] of row) {
      const line = meat[a]!;
      for (const [b, vb] of row) line[b]! += weight * va * vb;
    }
  });
  return xtxInverse.mmul(new Matrix(meat)).mmul(xtxInverse);
}

/**
 * A Student t statistic with `df` degrees of freedom as the χ²(1) value of the same two-sided tail probability,
 * so that specs with few samples (t with 3 df has E[t²] = 3) add to the check what one degree of freedom should.
 */
function tAsChiSquare1(t: number, df: number): number {
  const p = regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return normalQuantile(Math.max(p, 1e-300) / 2) ** 2;
}

/** A column's expected value for a random architecture of the space (depth uniform over the unit's range, choices uniform). */
function randomColumnValue(space: SpaceDocument, role: ColumnRole): number {
  const unit = space.units[role.unit]!;
  const depths = unit.maxLayers - unit.minLayers + 1;
  const reaches = (layer: number) => Math.max(0, Math.min(depths, unit.maxLayers - layer)) / depths;
  switch (role.kind) {
    case 'present':
      return reaches(role.layer);
    case 'block':
      return reaches(role.layer) / unit.blocks.length;
    case 'width':
      return 1 / unit.widths!.length;
  }
}

/** The measured architectures of one profile (one device and resolution) and the specs sampled among them. */
export interface ProfileRegressionInput {
  archs: readonly { hash: string; arch: Architecture }[];
  specs: readonly { spec: BlockSpec; archHashes: readonly string[] }[];
  /** How the specs' samples were drawn: the block-fixed sampler's depth rule, or 'held' for the shared-random design. */
  depthRule: SpecDepthRule;
  latencyMs: (hash: string) => number | undefined;
  /** The cluster of an architecture's latency error (DeviceLatencies.errorClusters); undefined: its own. */
  latencyCluster?: (hash: string) => number | undefined;
  accuracy: (hash: string) => number | undefined;
  /** The random baseline's architectures (a block-fixed study's), for the population's adjusted estimate. */
  baseline?: readonly string[];
}

export type FittedOrSkipped = BlockRegression | { skipped: string };

/**
 * A profile's regressions, both on the metric's own scale: a network's latency is the sum of its layers'
 * times (they run one after another), which is exactly this model's form (and a lookup table's), and
 * accuracy is not a ratio scale. Each is skipped with the reason when the data cannot identify it.
 */
export function profileRegressions(space: SpaceDocument, input: ProfileRegressionInput): { latency: FittedOrSkipped; accuracy: FittedOrSkipped } {
  const fit = (value: (hash: string) => number | undefined, target: RegressionTarget, cluster?: (hash: string) => number | undefined): FittedOrSkipped => {
    const measured = input.archs.flatMap(({ hash, arch }) => {
      const v = value(hash);
      return v === undefined ? [] : [{ hash, arch, value: v }];
    });
    const samples = measured.map(({ arch, value: v }) => ({ arch, value: v }));
    const indexOf = new Map(measured.map(({ hash }, i) => [hash, i]));
    const specs = input.specs.map((s) => ({
      spec: s.spec,
      samples: s.archHashes.length,
      depthRule: input.depthRule,
      sampleIndices: s.archHashes.flatMap((hash) => indexOf.get(hash) ?? []),
    }));
    const shortfall = blockRegressionShortfall(
      space,
      samples.map((m) => m.arch),
    );
    const clusters = cluster ? measured.map(({ hash }) => cluster(hash)) : undefined;
    const populationIndices = input.baseline?.flatMap((hash) => indexOf.get(hash) ?? []);
    return shortfall
      ? { skipped: shortfall }
      : fitBlockRegression(space, samples, { target, specs, ...(clusters ? { clusters } : {}), ...(populationIndices ? { populationIndices } : {}) });
  };
  return { latency: fit(input.latencyMs, 'linear', input.latencyCluster), accuracy: fit(input.accuracy, 'linear') };
}
