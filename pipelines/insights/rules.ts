/** The thresholds of the insight rules, their defaults, and the significance test they share. */
import { normalQuantile } from '../stats.js';
import type { Difference } from './grid.js';

/**
 * Every relative threshold is a fraction of the magnitude of the baseline mean of its metric (0.01 = 1% of the
 * random architectures' mean latency), so one rule set fits accuracy in %, proxy scores and latency in ms.
 */
export interface InsightRules {
  /**
   * Family-wise error rate of each rule's set of tests. 0.05 with no correction is "the 95% confidence
   * interval of the difference excludes the threshold".
   */
  alpha: number;
  /**
   * 'bonferroni' splits alpha over all comparisons a rule makes across the profile (e.g. every pair of blocks in
   * every unit), so that noise among many blocks does not prune; 'none' tests each comparison at alpha.
   */
  multipleComparisons: 'bonferroni' | 'none';
  /** A choice is "slower" than another only when the CI of the latency difference lies above this fraction. */
  minLatencyDifference: number;
  /** A choice is "more accurate" than another only when the CI of the accuracy difference lies above this fraction. */
  minAccuracyDifference: number;
  /**
   * Pareto, equivalence margin on latency: a more accurate choice counts as "no slower" than the one it would
   * replace only when the upper end of the CI of its extra latency per swapped layer lies below this fraction
   * divided by the layers an average random network holds the choice in (expectedSwaps: over every unit in the
   * paper form, the unit alone in the per-unit form). So the average network gets at most this much slower.
   * Without that evidence a cheap block whose latency advantage is merely hidden in noise would be dropped.
   */
  latencyTolerance: number;
  /**
   * Pareto, equivalence margin on accuracy: a slower choice counts as "no more accurate" than a faster one only
   * when the upper end of the CI of its accuracy advantage per swapped layer lies below this fraction divided by
   * the layers any network may hold it in (layersTouched: every layer slot of the units the drop touches), so no
   * network, not even the front's most accurate ones that hold large blocks everywhere, loses more. The same
   * margin judges a family step. Non-significance alone never drops a choice.
   */
  accuracyMargin: number;
  /**
   * Pareto: a family step (kernel 5 → 7, expand 4 → 6, ResNet width 1 → 2) is latency-unfriendly when the CI of
   * the latency it adds per swapped layer (per unit for widths) lies above this fraction and it brings no
   * accuracy gain beyond the CI (and minAccuracyDifference).
   */
  familyLatencyThreshold: number;
  /**
   * Layer rule. Pareto: cap a unit's layers when one more layer costs latency beyond the CI (and
   * minLatencyDifference) but its accuracy gain is not beyond the CI and this fraction. Max-accuracy: raise a
   * unit's minimum layers while one more layer gains accuracy beyond the CI and this fraction.
   */
  minAccuracyGainPerLayer: number;
  /** Per-unit mutation probabilities run from [0] for the least sensitive unit to [1] for the most sensitive. */
  mutationProbabilityRange: [number, number];
  /** Friendliness divides by the latency cost, but never by less than this fraction (0.001 = 0.1%). */
  friendlinessCostFloor: number;
}

export const DEFAULT_INSIGHT_RULES: Readonly<InsightRules> = Object.freeze<InsightRules>({
  alpha: 0.05,
  multipleComparisons: 'bonferroni',
  minLatencyDifference: 0,
  minAccuracyDifference: 0,
  latencyTolerance: 0.005,
  accuracyMargin: 0.004,
  familyLatencyThreshold: 0.01,
  minAccuracyGainPerLayer: 0,
  mutationProbabilityRange: [0.25, 0.5],
  friendlinessCostFloor: 0.001,
});

export function resolveRules(overrides: Partial<InsightRules> = {}): InsightRules {
  // An override given as undefined means "use the default", not "unset".
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const rules: InsightRules = { ...DEFAULT_INSIGHT_RULES, ...given };
  const [pMin, pMax] = rules.mutationProbabilityRange;
  if (!(rules.alpha > 0 && rules.alpha < 1)) throw new RangeError(`insight rules: alpha must be in (0, 1), got ${rules.alpha}`);
  if (rules.multipleComparisons !== 'bonferroni' && rules.multipleComparisons !== 'none') {
    throw new RangeError(`insight rules: multipleComparisons must be 'bonferroni' or 'none', got ${JSON.stringify(rules.multipleComparisons)}`);
  }
  for (const key of ['minLatencyDifference', 'minAccuracyDifference', 'latencyTolerance', 'accuracyMargin', 'familyLatencyThreshold', 'minAccuracyGainPerLayer'] as const) {
    if (!(rules[key] >= 0 && Number.isFinite(rules[key]))) throw new RangeError(`insight rules: ${key} must be a finite number >= 0, got ${rules[key]}`);
  }
  if (!(pMin > 0 && pMin <= pMax && pMax <= 1)) {
    throw new RangeError(`insight rules: mutationProbabilityRange must satisfy 0 < min <= max <= 1, got [${pMin}, ${pMax}]`);
  }
  if (!(rules.friendlinessCostFloor > 0)) throw new RangeError(`insight rules: friendlinessCostFloor must be > 0, got ${rules.friendlinessCostFloor}`);
  return { ...rules, mutationProbabilityRange: [pMin, pMax] };
}

/** Two-sided critical z for one of `comparisons` tests of a rule. */
export function criticalZ(rules: InsightRules, comparisons: number): number {
  const m = rules.multipleComparisons === 'bonferroni' ? Math.max(1, comparisons) : 1;
  return normalQuantile(1 - rules.alpha / (2 * m));
}

/** Whether the confidence interval (estimate ± z·se) of a difference lies entirely above `threshold`. */
export function beyond(diff: Difference, z: number, threshold: number): boolean {
  return diff.estimate - z * diff.se > threshold;
}
