/**
 * The aggregate stage of a profiling study (§6.5 of the design-space reference): per block specification and
 * metric, the paper's statistics (mean, population std, numpy-linear quantiles, min, max), a 95% confidence
 * interval of the mean, and the effect against the random baseline. One profile covers one device.
 */
import type { DriftSeries } from './drift.js';
import type { BlockRegression } from './regression.js';
import type { AccuracySource, ArchitectureMetrics } from './records.js';
import { blockSpecCoordinates, blockSpecId, blockSpecLabel, blockSpecs } from './spaces/specs.js';
import { specUnitDepths } from './sampling.js';
import { originalSpace } from './spaces/registry.js';
import type { Architecture, BlockSpec, SpaceId, SpecDepthRule } from './spaces/types.js';
import { mean, meanConfidenceInterval, quantileOfSorted, sortedAscending, std } from './stats.js';

export type ProfileMetricName = 'accuracy' | 'macs' | 'params' | 'latency';
export const PROFILE_METRICS: readonly ProfileMetricName[] = ['accuracy', 'macs', 'params', 'latency'];

export interface MetricStats {
  n: number;
  mean: number;
  /** Population standard deviation (ddof 0), as the paper reports. */
  std: number;
  q01: number;
  q05: number;
  q95: number;
  q99: number;
  min: number;
  max: number;
  /** 95% confidence interval of the mean (Student t, sample std). */
  ciLow: number;
  ciHigh: number;
}

export interface MetricEffect {
  /** Spec mean minus baseline mean. */
  absolute: number;
  /** absolute / |baseline mean|, so the sign always follows `absolute`; 0 when the baseline mean is 0. */
  relative: number;
}

export interface SpecProfile {
  specId: string;
  label: string;
  unit: string;
  layer: number;
  block: string;
  n: number;
  /** Samples that actually contain the block (the legacy depth rule can leave it out). */
  present: number;
  metrics: Record<string, MetricStats>;
  effect: Record<string, MetricEffect>;
  /**
   * The effect against random architectures whose depth in the spec's unit is distributed as in the spec's
   * samples (a spec at layer 3 forces a deeper unit than random): the baseline's per-depth means weighted by
   * the spec's depth law. Absent for stem options, when a depth has no baseline architecture, or when the
   * architectures were not given.
   */
  depthMatchedEffect?: Record<string, MetricEffect>;
}

export interface BlockProfile {
  kind: 'blockscope.profile/v1';
  space: SpaceId;
  device: string;
  resolution: number;
  accuracySource: AccuracySource;
  metrics: string[];
  baseline: { n: number; metrics: Record<string, MetricStats> };
  specs: SpecProfile[];
  /**
   * How each spec's samples set its unit's depth: the block-fixed sampler's depth rule, or 'held' (the
   * shared-random design: random architectures that hold the block). Absent in profiles made before it was
   * recorded, which were block-fixed ('intended', or 'legacy' where a spec's block is missing from samples).
   */
  depthRule?: SpecDepthRule;
  /** The device's drift over its latency campaign, when it was tracked (pipelines/drift.ts). */
  drift?: ProfileDrift;
  /**
   * Block effects and spec means by regression over every measured architecture at this resolution
   * (pipelines/regression.ts; latency on the log scale, accuracy linear), or why there is none (too few
   * architectures for its parameters). Accuracy is absent in profiles made before it was fitted.
   */
  regression?: { latency: BlockRegression | { skipped: string }; accuracy?: BlockRegression | { skipped: string } };
}

export interface ProfileDrift {
  series: DriftSeries;
  /** Whether the latency statistics above are drift-corrected (spec measurement.drift.correct). */
  corrected: boolean;
  /** Where each measurement's raw and corrected figure is stored. */
  correctionsKey: string;
  /** Measurements outside the probed span (e.g. cached from an earlier campaign), left uncorrected. */
  uncorrected: number;
  /** Device time of the probes over that of the campaign's own measurements; null when not recorded. */
  overhead: number | null;
}

export interface ProfileSpecInput {
  spec: BlockSpec;
  /** The hashes of the n architectures sampled with the spec fixed. */
  archHashes: readonly string[];
  present: number;
}

export interface AggregateProfileInput {
  space: SpaceId;
  device: string;
  resolution: number;
  accuracySource: AccuracySource;
  /** In the order the profile should list them (the paper's order for `--all`). */
  specs: readonly ProfileSpecInput[];
  /** Hashes of the plain random architectures. */
  baseline: readonly string[];
  metrics: ReadonlyMap<string, ArchitectureMetrics> | Readonly<Record<string, ArchitectureMetrics>>;
  metricNames?: readonly ProfileMetricName[];
  /** The baseline's architectures and the specs' depth rule: with them, each spec also gets a depth-matched effect. */
  depthMatching?: { baseline: ReadonlyMap<string, Architecture>; depthRule: SpecDepthRule };
}

/** The paper's 8 statistics plus the 95% CI of the mean, for one metric over one sample set. */
export function metricStats(values: readonly number[]): MetricStats {
  const sorted = sortedAscending(values);
  const ci = meanConfidenceInterval(values);
  return {
    n: values.length,
    mean: mean(values),
    std: std(values),
    q01: quantileOfSorted(sorted, 0.01),
    q05: quantileOfSorted(sorted, 0.05),
    q95: quantileOfSorted(sorted, 0.95),
    q99: quantileOfSorted(sorted, 0.99),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    ciLow: ci.low,
    ciHigh: ci.high,
  };
}

export function aggregateProfile(input: AggregateProfileInput): BlockProfile {
  const metricNames = checkMetricNames(input.metricNames ?? PROFILE_METRICS);
  const lookup = metricsLookup(input.metrics);
  const knownSpecIds = new Set(blockSpecs(input.space).map(blockSpecId));
  if (input.baseline.length === 0) throw new RangeError('aggregateProfile: the baseline has no architectures; effects need it');

  const statsOf = (hashes: readonly string[], owner: string): Record<string, MetricStats> => {
    const records = hashes.map((hash) => {
      const record = lookup(hash);
      if (!record) throw new RangeError(`aggregateProfile: no measurements for architecture ${hash} (${owner})`);
      return record;
    });
    return Object.fromEntries(metricNames.map((metric) => [metric, metricStats(records.map((record) => metricValue(record, metric, input.device, owner)))]));
  };

  const baselineMetrics = statsOf(input.baseline, 'baseline');
  const space = originalSpace(input.space);
  /** Per unit, the baseline's records by that unit's depth (null when an architecture is missing); built once per unit. */
  const baselineByDepth = new Map<number, Map<number, ArchitectureMetrics[]> | null>();
  const recordsByDepth = (unit: number, architectures: ReadonlyMap<string, Architecture>): Map<number, ArchitectureMetrics[]> | null => {
    if (!baselineByDepth.has(unit)) {
      const byDepth = new Map<number, ArchitectureMetrics[]>();
      const complete = input.baseline.every((hash) => {
        const arch = architectures.get(hash);
        if (!arch) return false;
        const depth = arch.units[unit]!.length;
        const records = byDepth.get(depth);
        if (records) records.push(lookup(hash)!);
        else byDepth.set(depth, [lookup(hash)!]);
        return true;
      });
      baselineByDepth.set(unit, complete ? byDepth : null);
    }
    return baselineByDepth.get(unit)!;
  };
  /** The baseline mean of a metric reweighted to a spec's depth law in its unit, or undefined when it cannot be. */
  const depthMatchedBaseline = (spec: BlockSpec): ((metric: ProfileMetricName) => number) | undefined => {
    const matching = input.depthMatching;
    if (!matching || !('unit' in spec)) return undefined;
    const law = specUnitDepths(space, spec, matching.depthRule);
    const byDepth = recordsByDepth(spec.unit, matching.baseline);
    if (!byDepth || [...law.keys()].some((depth) => !byDepth.has(depth))) return undefined;
    return (metric) =>
      [...law].reduce((acc, [depth, p]) => {
        const records = byDepth.get(depth)!;
        return acc + (p * records.reduce((a, r) => a + metricValue(r, metric, input.device, 'baseline'), 0)) / records.length;
      }, 0);
  };
  const seen = new Set<string>();
  const specs = input.specs.map(({ spec, archHashes, present }): SpecProfile => {
    const specId = blockSpecId(spec);
    if (!knownSpecIds.has(specId)) throw new RangeError(`aggregateProfile: ${specId} is not a block specification of ${input.space}`);
    if (seen.has(specId)) throw new RangeError(`aggregateProfile: spec ${specId} is listed twice`);
    seen.add(specId);
    if (archHashes.length === 0) throw new RangeError(`aggregateProfile: spec ${specId} has no architectures`);
    if (!Number.isInteger(present) || present < 0 || present > archHashes.length) {
      throw new RangeError(`aggregateProfile: spec ${specId}: present must be an integer in 0..${archHashes.length}, got ${present}`);
    }
    const metrics = statsOf(archHashes, `spec ${specId}`);
    const matched = depthMatchedBaseline(spec);
    return {
      specId,
      label: blockSpecLabel(input.space, spec),
      ...blockSpecCoordinates(spec),
      n: archHashes.length,
      present,
      metrics,
      effect: Object.fromEntries(metricNames.map((metric) => [metric, effectOf(metrics[metric]!.mean, baselineMetrics[metric]!.mean)])),
      ...(matched ? { depthMatchedEffect: Object.fromEntries(metricNames.map((metric) => [metric, effectOf(metrics[metric]!.mean, matched(metric))])) } : {}),
    };
  });

  return {
    kind: 'blockscope.profile/v1',
    space: input.space,
    device: input.device,
    resolution: input.resolution,
    accuracySource: input.accuracySource,
    metrics: [...metricNames],
    baseline: { n: input.baseline.length, metrics: baselineMetrics },
    specs,
  };
}

function checkMetricNames(names: readonly ProfileMetricName[]): ProfileMetricName[] {
  if (names.length === 0) throw new RangeError('aggregateProfile: metricNames is empty');
  for (const name of names) {
    if (!PROFILE_METRICS.includes(name)) throw new RangeError(`aggregateProfile: unknown metric ${JSON.stringify(name)}; allowed: ${PROFILE_METRICS.join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw new RangeError(`aggregateProfile: metricNames repeats a metric: ${names.join(', ')}`);
  return [...names];
}

function metricsLookup(source: AggregateProfileInput['metrics']): (hash: string) => ArchitectureMetrics | undefined {
  if (source instanceof Map) {
    const map: ReadonlyMap<string, ArchitectureMetrics> = source;
    return (hash) => map.get(hash);
  }
  const record = source as Readonly<Record<string, ArchitectureMetrics>>;
  // Own keys only, so a hash such as "constructor" never resolves to a prototype member.
  return (hash) => (Object.hasOwn(record, hash) ? record[hash] : undefined);
}

function metricValue(record: ArchitectureMetrics, metric: ProfileMetricName, device: string, owner: string): number {
  const value = metric === 'latency' ? (Object.hasOwn(record.latencyMs, device) ? record.latencyMs[device] : undefined) : record[metric];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    const what = metric === 'latency' ? `latency on device ${device}` : metric;
    throw new RangeError(`aggregateProfile: architecture ${record.hash} (${owner}) has no finite ${what} (got ${String(value)})`);
  }
  return value;
}

function effectOf(specMean: number, baselineMean: number): MetricEffect {
  const absolute = specMean - baselineMean;
  return { absolute, relative: baselineMean === 0 ? 0 : absolute / Math.abs(baselineMean) };
}

const STAT_COLUMNS: [string, (s: MetricStats) => number][] = [
  ['mu', (s) => s.mean],
  ['sig', (s) => s.std],
  ['1%', (s) => s.q01],
  ['5%', (s) => s.q05],
  ['95%', (s) => s.q95],
  ['99%', (s) => s.q99],
  ['min', (s) => s.min],
  ['max', (s) => s.max],
  ['ci_low', (s) => s.ciLow],
  ['ci_high', (s) => s.ciHigh],
];

/** The profile as CSV, one row per spec after a 'baseline' row, with the paper's "{metric} mu, sig, ..." columns. */
export function profileToCsv(profile: BlockProfile): string {
  const header = ['specId', 'label', 'unit', 'layer', 'block', 'n', 'present'];
  for (const metric of profile.metrics) {
    header.push(...STAT_COLUMNS.map(([name]) => `${metric} ${name}`), `${metric} effect_abs`, `${metric} effect_rel`);
  }
  const metricCells = (stats: Record<string, MetricStats>, effect: Record<string, MetricEffect> | undefined): (string | number)[] =>
    profile.metrics.flatMap((metric) => {
      const s = stats[metric]!;
      const e = effect?.[metric] ?? { absolute: 0, relative: 0 };
      return [...STAT_COLUMNS.map(([, get]) => get(s)), e.absolute, e.relative];
    });
  const rows: (string | number)[][] = [
    header,
    ['baseline', 'Random architectures (no block fixed)', '', '', '', profile.baseline.n, '', ...metricCells(profile.baseline.metrics, undefined)],
    ...profile.specs.map((s) => [s.specId, s.label, s.unit, s.layer, s.block, s.n, s.present, ...metricCells(s.metrics, s.effect)]),
  ];
  return rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n\r]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
