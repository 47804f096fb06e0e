/**
 * Which estimate of each spec's mean the insights judge by: the paper's per-spec sample means, the block
 * regression's estimates of the same means (pipelines/regression.ts), or, where the regression fails its check
 * against the specs' own samples, its adjusted estimates (the model as a control variate: unbiased whatever the
 * model misses). Per device and metric, the insights use the model's estimate where its intervals are narrower
 * than the spec means' (median half-width over the specs both cover), because every rule is a test against them.
 */
import type { BlockProfile, MetricStats, SpecProfile } from '../profile.js';
import type { BlockRegression, LackOfFit, SpecEstimate } from '../regression.js';
import { median, tCritical95 } from '../stats.js';

export type EstimateSource = 'regression' | 'adjusted' | 'spec-means';
export const REGRESSION_METRICS = ['latency', 'accuracy'] as const;
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];

export interface EstimateChoice {
  metric: RegressionMetric;
  source: EstimateSource;
  /** Median 95% half-width in the metric's unit over the specs both estimate (the model's: the source it offers); null when there is no regression. */
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

/** The model check in words. */
function lackOfFitText(check: LackOfFit): string {
  const verdict = check.fails ? "; it fails: the model's estimates are biased where the specs fix their blocks, or the specs' samples share errors" : '; it holds';
  return ` (lack of fit χ² ${check.statistic.toFixed(0)} on ${check.df} specs, 99% quantile ${check.critical.toFixed(0)}${verdict})`;
}

/** Statistics with the regression's mean and interval; n and std are set so that se and ANOVA read its df. */
function regressionStats(own: MetricStats, estimate: { mean: number; ciLow: number; ciHigh: number }, df: number): MetricStats {
  const se = (estimate.ciHigh - estimate.ciLow) / 2 / tCritical95(df);
  return { ...own, n: df + 1, mean: estimate.mean, std: se * Math.sqrt(df), ciLow: estimate.ciLow, ciHigh: estimate.ciHigh };
}

type Offered = SpecEstimate & { df: number };

/** The profile with the given estimates substituted for its specs' means and the baseline's (effects recomputed). */
function substituted(view: BlockProfile, metric: RegressionMetric, bySpec: ReadonlyMap<string, Offered>, baseline: MetricStats): BlockProfile {
  return {
    ...view,
    baseline: { ...view.baseline, metrics: { ...view.baseline.metrics, [metric]: baseline } },
    specs: view.specs.map((s): SpecProfile => {
      const estimate = bySpec.get(s.specId);
      if (!estimate) return s;
      const stats = regressionStats(s.metrics[metric]!, estimate, estimate.df);
      const absolute = stats.mean - baseline.mean;
      return {
        ...s,
        metrics: { ...s.metrics, [metric]: stats },
        effect: { ...s.effect, [metric]: { absolute, relative: baseline.mean === 0 ? 0 : absolute / Math.abs(baseline.mean) } },
      };
    }),
  };
}

/** Median 95% half-width of the estimates over the profile's specs they cover, and of the spec means there. */
function halfWidths(view: BlockProfile, metric: RegressionMetric, bySpec: ReadonlyMap<string, Offered>): { regression: number; specMeans: number; covered: number } {
  const covered = view.specs.filter((s) => bySpec.has(s.specId));
  return {
    regression: covered.length === 0 ? Number.NaN : median(covered.map((s) => (bySpec.get(s.specId)!.ciHigh - bySpec.get(s.specId)!.ciLow) / 2)),
    specMeans: covered.length === 0 ? Number.NaN : median(covered.map((s) => (s.metrics[metric]!.ciHigh - s.metrics[metric]!.ciLow) / 2)),
    covered: covered.length,
  };
}

/** A width ratio in words; an exact fit (a lookup-table device) has intervals of nothing: say so rather than print 10¹³x. */
const times = (r: number) => (r > 1000 ? 'over 1000' : r.toFixed(r < 10 ? 2 : 1));

/**
 * The profile the insights read (model estimates substituted where chosen) and the choice per metric. The model's
 * own estimates when its check holds; when it fails, its adjusted estimates, unless those are wider than the spec
 * means: removing the other layers' variance makes an adjusted estimate far narrower than the plain mean unless the
 * spec's samples share errors (measured in a few drift intervals whose correction was off), and then the check
 * failed on those errors, not on a misfit. Neither the adjusted estimates nor the spec means' independent-sample
 * intervals are honest there, and the model, which estimates every block from the whole campaign, is the robust
 * reading. In every case the spec means are read where they are narrower.
 */
export function insightEstimates(profile: BlockProfile): { profile: BlockProfile; choices: EstimateChoice[] } {
  let view = profile;
  const choices = REGRESSION_METRICS.filter((metric) => profile.metrics.includes(metric)).map((metric): EstimateChoice => {
    const fit = fittedRegression(profile, metric);
    if (typeof fit === 'string') return { metric, source: 'spec-means', medianHalfWidth: null, covered: 0, reason: fit };
    const check = fit.lackOfFit ? lackOfFitText(fit.lackOfFit) : '';
    const model = new Map(fit.specs!.map((s): [string, Offered] => [s.specId, { ...s, df: fit.df }]));
    // A failed check: the adjusted estimates are offered, unless wider than the spec means (shared errors, not misfit).
    const adjusted = fit.lackOfFit?.fails ? new Map(fit.specs!.flatMap((s): [string, Offered][] => (s.adjusted ? [[s.specId, { ...s, ...s.adjusted }]] : []))) : undefined;
    const adjustedWidths = adjusted ? halfWidths(view, metric, adjusted) : undefined;
    const source = adjustedWidths && adjustedWidths.covered > 0 && adjustedWidths.regression < adjustedWidths.specMeans ? 'adjusted' : 'regression';
    const bySpec = source === 'adjusted' ? adjusted! : model;
    const widths = source === 'adjusted' ? adjustedWidths! : halfWidths(view, metric, model);
    const note =
      source === 'regression' && adjustedWidths && adjustedWidths.covered > 0
        ? `; its adjusted estimates are ${times(adjustedWidths.regression / adjustedWidths.specMeans)}x wider than the spec means, so the specs' samples share errors (measured close together in time) and the model's own estimates, from the whole campaign, stand in for them`
        : '';
    if (widths.covered === 0) return { metric, source: 'spec-means', medianHalfWidth: null, covered: 0, reason: "the regression estimates none of the profile's specs" };
    const medianHalfWidth = { regression: widths.regression, specMeans: widths.specMeans };
    const ratio = widths.specMeans / widths.regression;
    const estimates = source === 'adjusted' ? "the regression's adjusted estimates" : "the regression's";
    if (!(widths.regression < widths.specMeans)) {
      return {
        metric,
        source: 'spec-means',
        medianHalfWidth,
        covered: widths.covered,
        reason: `the spec means' intervals are narrower (${times(ratio)}x the width of ${estimates})${check}${note}`,
      };
    }
    // The model's population mean is biased where it fails; the baseline's own samples, adjusted, are not.
    const populationAdjusted = fit.population!.adjusted;
    const baseline =
      source === 'regression'
        ? regressionStats(view.baseline.metrics[metric]!, fit.population!, fit.df)
        : populationAdjusted
          ? regressionStats(view.baseline.metrics[metric]!, populationAdjusted, populationAdjusted.df)
          : view.baseline.metrics[metric]!;
    view = substituted(view, metric, bySpec, baseline);
    const reason = `${source === 'adjusted' ? "its adjusted estimates' intervals are" : 'its intervals are'} ${times(ratio)}x narrower than the spec means'${check}${note}`;
    return { metric, source, medianHalfWidth, covered: widths.covered, reason };
  });
  return { profile: view, choices };
}
