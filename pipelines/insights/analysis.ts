/**
 * Descriptive analyses of one device's profile: how much each unit's and layer's block choice matters per
 * metric, how accuracy and latency rank together, which block factor drives latency, and how much accuracy
 * each choice buys per unit of latency.
 */
import type { BlockProfile } from '../profile.js';
import { chiSquareQuantile, fQuantile, kendallTau, mean, oneWayAnova, spearman, twoWaySumsOfSquares } from '../stats.js';
import {
  alternatives,
  cellStats,
  matchedDifference,
  pooledMean,
  positionGroups,
  standardError,
  type Cell,
  type ChoiceDimension,
  type ChoiceGroup,
  type FactorName,
  type InsightFactor,
} from './grid.js';
import type { InsightRules } from './rules.js';

/** The effect of the choice made at one position (a layer, or a stem option) on one metric. */
export interface LayerSensitivity {
  unit: string;
  position: string;
  metric: string;
  /** How many alternatives (specs) the position has in the profile. */
  choices: number;
  /** One-way ANOVA over the position's specs: share of variance between choices. */
  etaSquared: number;
  /** The bias-corrected share (≈ 0 for pure noise). */
  omegaSquared: number;
  /** Whether the choices differ beyond noise (F test against the F distribution, with the rules' alpha and multiple-comparison correction). */
  significant: boolean;
  /** Largest minus smallest spec mean at the position. */
  spread: number;
  /** spread / |baseline mean|. */
  relativeSpread: number;
}

export interface UnitSensitivity {
  unit: string;
  metric: string;
  /**
   * Mean over the unit's positions of ω² (clamped at 0), where positions whose choices do not differ
   * significantly count 0: the share of the metric's variance that one choice in this unit typically explains.
   * A mean rather than a sum, because a ResNet width spec fixes the whole unit and would be counted per layer.
   */
  explainedVariance: number;
  significantPositions: number;
  positions: number;
  /** Mean over the unit's positions of the spread of spec means. */
  spread: number;
  relativeSpread: number;
}

export interface SensitivityReport {
  units: UnitSensitivity[];
  layers: LayerSensitivity[];
}

/** |baseline mean| of a metric: the scale of every relative number. */
export function metricScale(profile: BlockProfile, metric: string): number {
  const stats = profile.baseline.metrics[metric];
  if (!stats) throw new RangeError(`insights: the profile's baseline has no ${metric} statistics`);
  return Math.abs(stats.mean);
}

export function relativeTo(scale: number, value: number): number {
  return scale === 0 ? 0 : value / scale;
}

export function analyseSensitivity(profile: BlockProfile, cells: readonly Cell[], rules: InsightRules): SensitivityReport {
  const positions = positionGroups(cells).filter((p) => p.cells.size >= 2);
  const tests = rules.multipleComparisons === 'bonferroni' ? positions.length : 1;
  const layers: LayerSensitivity[] = [];
  for (const metric of profile.metrics) {
    const scale = metricScale(profile, metric);
    for (const position of positions) {
      const stats = [...position.cells.values()].map((cell) => cellStats(cell, metric));
      const anova = oneWayAnova(stats);
      const means = stats.map((s) => s.mean);
      const spread = Math.max(...means) - Math.min(...means);
      layers.push({
        unit: position.unit,
        position: position.position,
        metric,
        choices: stats.length,
        etaSquared: anova.etaSquared,
        omegaSquared: anova.omegaSquared,
        significant: anova.fStatistic > fQuantile(1 - rules.alpha / tests, anova.dfBetween, anova.dfWithin),
        spread,
        relativeSpread: relativeTo(scale, spread),
      });
    }
  }
  const units: UnitSensitivity[] = [];
  for (const metric of profile.metrics) {
    const scale = metricScale(profile, metric);
    const unitNames = [...new Set(layers.filter((l) => l.metric === metric).map((l) => l.unit))];
    for (const unit of unitNames) {
      const own = layers.filter((l) => l.metric === metric && l.unit === unit);
      const significant = own.filter((l) => l.significant);
      const spread = own.reduce((s, l) => s + l.spread, 0) / own.length;
      units.push({
        unit,
        metric,
        explainedVariance: significant.reduce((s, l) => s + Math.max(0, l.omegaSquared), 0) / own.length,
        significantPositions: significant.length,
        positions: own.length,
        spread,
        relativeSpread: relativeTo(scale, spread),
      });
    }
  }
  return { units, layers };
}

export interface RankCorrelation {
  spearman: number;
  kendallTau: number;
  /** How many specs the correlation runs over. */
  specs: number;
}

/** Rank agreement of the accuracy and latency profiles over all specs (the paper: strong on the Note10, none on the GPU). */
export function accuracyLatencyCorrelation(cells: readonly Cell[]): RankCorrelation {
  const accuracy = cells.map((cell) => cellStats(cell, 'accuracy').mean);
  const latency = cells.map((cell) => cellStats(cell, 'latency').mean);
  return { spearman: spearman(accuracy, latency), kendallTau: kendallTau(accuracy, latency), specs: cells.length };
}

/** How the between-choice variance of a metric splits into two factors' main effects and their interaction. */
export interface FactorShares {
  factors: [FactorName, FactorName];
  /** Shares of the systematic (noise-corrected) variance between the spec means; with `interaction` they sum to 1. */
  shares: [number, number];
  interaction: number;
  /** Whether the spec means differ beyond their noise at all (chi-square test of the total sum of squares). */
  significant: boolean;
  /** The factor with the larger share; null when nothing differs beyond noise. */
  dominant: FactorName | null;
  perUnit: { unit: string; shares: [number, number]; interaction: number }[];
}

type SumsOfSquares = { first: number; second: number; interaction: number };

/**
 * Two-way decomposition of the spec means at every position whose factor grid is complete (e.g. 3 expands ×
 * 3 kernels), pooled by summing the sums of squares. Sampling noise in the spec means adds (levels − 1)·se²
 * to a main effect in expectation, which would make a factor without effect look like it explains something,
 * so that expectation is subtracted (clamped at 0), as ω² does for one factor. Null when no grid is complete.
 */
export function factorShares(cells: readonly Cell[], first: InsightFactor, second: InsightFactor, metric: string, rules: InsightRules): FactorShares | null {
  // Under "no differences", each grid's total SS over its mean noise variance is chi-square with cells − 1 df.
  let noiseStatistic = 0;
  let noiseDf = 0;
  const raw = new Map<string, SumsOfSquares>();
  const noise = new Map<string, SumsOfSquares>();
  const add = (map: Map<string, SumsOfSquares>, unit: string, s: SumsOfSquares) => {
    const acc = map.get(unit) ?? { first: 0, second: 0, interaction: 0 };
    map.set(unit, { first: acc.first + s.first, second: acc.second + s.second, interaction: acc.interaction + s.interaction });
  };
  const [rows, columns] = [first.values.length, second.values.length];
  for (const position of positionGroups(cells.filter((c) => c.unitIndex !== null))) {
    const lookup = new Map([...position.cells.values()].map((cell) => [`${cell.factors[first.name]}|${cell.factors[second.name]}`, cell]));
    const table = first.values.map((a) => second.values.map((b) => lookup.get(`${a}|${b}`)));
    if (table.some((row) => row.some((cell) => cell === undefined))) continue;
    const stats = table.map((row) => row.map((cell) => cellStats(cell!, metric)));
    const sums = twoWaySumsOfSquares(stats.map((row) => row.map((s) => s.mean)));
    add(raw, position.unit, { first: sums.rows, second: sums.columns, interaction: sums.interaction });
    const variance = mean(stats.flat().map((s) => standardError(s) ** 2));
    noiseStatistic += variance === 0 ? (sums.total === 0 ? 0 : Number.POSITIVE_INFINITY) : sums.total / variance;
    noiseDf += rows * columns - 1;
    add(noise, position.unit, { first: (rows - 1) * variance, second: (columns - 1) * variance, interaction: (rows - 1) * (columns - 1) * variance });
  }
  if (raw.size === 0) return null;
  const share = (r: SumsOfSquares, n: SumsOfSquares) => {
    const systematic = {
      first: Math.max(0, r.first - n.first),
      second: Math.max(0, r.second - n.second),
      interaction: Math.max(0, r.interaction - n.interaction),
    };
    const total = systematic.first + systematic.second + systematic.interaction;
    return {
      shares: [relativeTo(total, systematic.first), relativeTo(total, systematic.second)] as [number, number],
      interaction: relativeTo(total, systematic.interaction),
    };
  };
  const pool = (map: Map<string, SumsOfSquares>) =>
    [...map.values()].reduce((a, s) => ({ first: a.first + s.first, second: a.second + s.second, interaction: a.interaction + s.interaction }));
  const overall = share(pool(raw), pool(noise));
  const [a, b] = overall.shares;
  const significant = noiseStatistic > chiSquareQuantile(1 - rules.alpha, noiseDf);
  return {
    factors: [first.name, second.name],
    ...overall,
    significant,
    dominant: !significant ? null : a > b ? first.name : b > a ? second.name : null,
    perUnit: [...raw].map(([unit, sums]) => ({ unit, ...share(sums, noise.get(unit)!) })),
  };
}

/** Accuracy bought per 1% of network latency, against the unit's cheapest alternative. */
export interface Friendliness {
  unit: string;
  dimension: ChoiceDimension;
  choice: string;
  /** The alternative with the lowest mean latency in the same unit and dimension. */
  reference: string;
  /** Accuracy (or proxy score) difference to the reference, matched by position. */
  accuracyGain: number;
  /** Latency difference to the reference as a fraction of the baseline latency. */
  latencyCost: number;
  /** accuracyGain per 1% latency, with the cost floored at the rules' friendlinessCostFloor. */
  score: number;
}

export function friendliness(profile: BlockProfile, groups: readonly ChoiceGroup[], rules: InsightRules): Friendliness[] {
  const latencyScale = metricScale(profile, 'latency');
  const out: Friendliness[] = [];
  for (const options of alternatives(groups)) {
    if (options.length < 2) continue;
    const reference = options.reduce((best, g) => (pooledMean(g.cells.values(), 'latency') < pooledMean(best.cells.values(), 'latency') ? g : best));
    for (const group of options) {
      const gain = matchedDifference(group.cells, reference.cells, 'accuracy');
      const cost = matchedDifference(group.cells, reference.cells, 'latency');
      if (!gain || !cost) continue;
      const latencyCost = relativeTo(latencyScale, cost.estimate);
      out.push({
        unit: group.unit,
        dimension: group.dimension,
        choice: group.choice,
        reference: reference.choice,
        accuracyGain: gain.estimate,
        latencyCost,
        score: gain.estimate / (Math.max(latencyCost, rules.friendlinessCostFloor) * 100),
      });
    }
  }
  return out;
}
