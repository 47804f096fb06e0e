/**
 * Which estimate of each spec's mean the insights judge by: the paper's per-spec sample means, or the block
 * regression's estimates of the same means (pipelines/regression.ts). Per device and metric, the insights use
 * the regression where its intervals are narrower (median half-width over the specs both cover), because
 * every rule is a test against those intervals.
 */
import type { BlockProfile, MetricStats, SpecProfile } from '../profile.js';
import type { BlockRegression, LackOfFit, SpecEstimate } from '../regression.js';
import { median, tCritical95 } from '../stats.js';

export type EstimateSource = 'regression' | 'spec-means';
export const REGRESSION_METRICS = ['latency', 'accuracy'] as const;
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];

export interface EstimateChoice {
  metric: RegressionMetric;
  source: EstimateSource;
  /** Median 95% half-width in the metric's unit over the specs both estimate; null when there is no regression. */
  medianHalfWidth: { regression: number; specMeans: number } | null;
  /** Specs whose mean the regression estimates (stem options are never among them). */
  covered: number;
  reason: string;
}

function fittedRegression(profile: BlockProfile, metric: RegressionMetric): BlockRegression | string {
  const fit = profile.regression?.[metric];
  if (!fit) return 'no regression was fitted for it';
  if ('skipped' in fit) return `the regression was skipped: ${fit.skipped}`;
  if (!fit.specs || fit.specs.length === 0 || !fit.population) return 'the regression estimates no spec mean';
  return fit;
}

/**
 * The model check in words. A failed check is reported, not acted on: the fallback (the adjusted estimates) also
 * trips on measurement errors that the specs' samples share (a grouped campaign under step drift), where it made
 * the insights worse than the model; docs/insights.md "When the model is wrong".
 */
function lackOfFitText(check: LackOfFit): string {
  const verdict = check.fails
    ? "; it fails: the model's estimates are biased where the specs fix their blocks or the specs' samples share errors, and its intervals are too narrow there (the profile holds the adjusted estimates)"
    : '; it holds';
  return ` (lack of fit χ² ${check.statistic.toFixed(0)} on ${check.df} specs, 99% quantile ${check.critical.toFixed(0)}${verdict})`;
}

/** Statistics with the regression's mean and interval; n and std are set so that se and ANOVA read its df. */
function regressionStats(own: MetricStats, estimate: Omit<SpecEstimate, 'specId'>, df: number): MetricStats {
  const se = (estimate.ciHigh - estimate.ciLow) / 2 / tCritical95(df);
  return { ...own, n: df + 1, mean: estimate.mean, std: se * Math.sqrt(df), ciLow: estimate.ciLow, ciHigh: estimate.ciHigh };
}

/** The profile the insights read (regression estimates substituted where chosen) and the choice per metric. */
export function insightEstimates(profile: BlockProfile): { profile: BlockProfile; choices: EstimateChoice[] } {
  let view = profile;
  const choices = REGRESSION_METRICS.filter((metric) => profile.metrics.includes(metric)).map((metric): EstimateChoice => {
    const fit = fittedRegression(profile, metric);
    if (typeof fit === 'string') return { metric, source: 'spec-means', medianHalfWidth: null, covered: 0, reason: fit };
    const bySpec = new Map(fit.specs!.map((s) => [s.specId, s]));
    const covered = view.specs.filter((s) => bySpec.has(s.specId));
    if (covered.length === 0) return { metric, source: 'spec-means', medianHalfWidth: null, covered: 0, reason: "the regression estimates none of the profile's specs" };
    const medianHalfWidth = {
      regression: median(covered.map((s) => (bySpec.get(s.specId)!.ciHigh - bySpec.get(s.specId)!.ciLow) / 2)),
      specMeans: median(covered.map((s) => (s.metrics[metric]!.ciHigh - s.metrics[metric]!.ciLow) / 2)),
    };
    const narrower = medianHalfWidth.regression < medianHalfWidth.specMeans;
    const ratio = medianHalfWidth.specMeans / medianHalfWidth.regression;
    const check = fit.lackOfFit ? lackOfFitText(fit.lackOfFit) : '';
    // An exact fit (a lookup-table device) has intervals of nothing: say so rather than print 10¹³x.
    const times = (r: number) => (r > 1000 ? 'over 1000' : r.toFixed(r < 10 ? 2 : 1));
    if (!narrower) {
      return {
        metric,
        source: 'spec-means',
        medianHalfWidth,
        covered: covered.length,
        reason: `the spec means' intervals are narrower (${times(ratio)}x the regression's width)${check}`,
      };
    }
    const baseline = regressionStats(view.baseline.metrics[metric]!, fit.population!, fit.df);
    view = {
      ...view,
      baseline: { ...view.baseline, metrics: { ...view.baseline.metrics, [metric]: baseline } },
      specs: view.specs.map((s): SpecProfile => {
        const estimate = bySpec.get(s.specId);
        if (!estimate) return s;
        const stats = regressionStats(s.metrics[metric]!, estimate, fit.df);
        const absolute = stats.mean - baseline.mean;
        return {
          ...s,
          metrics: { ...s.metrics, [metric]: stats },
          effect: { ...s.effect, [metric]: { absolute, relative: baseline.mean === 0 ? 0 : absolute / Math.abs(baseline.mean) } },
        };
      }),
    };
    return { metric, source: 'regression', medianHalfWidth, covered: covered.length, reason: `its intervals are ${times(ratio)}x narrower than the spec means'${check}` };
  });
  return { profile: view, choices };
}
