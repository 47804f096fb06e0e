/**
 * The study report's data: everything the HTML, JSON and CSV forms show, collected from a finished study's
 * artifacts. Plain data in, plain data out; loading the artifacts is the caller's business.
 */
import { paperInsightSpaces, type EstimateChoice, type InsightReport, type LayerSensitivity, type SpaceDiff, type UnitSensitivity } from '../insights.js';
import { PAPER_MAX_ACCURACY_PREDICTED, paperSpaceObjective, type PublishedFigure } from '../insights/paper.js';
import { compareWithPaperSpace, type PaperSpaceComparison } from '../insights/paper-comparison.js';
import type { Insight, InsightObjective } from '../insights/pruning.js';
import type { BlockProfile, MetricEffect, SpecProfile } from '../profile.js';
import type { AccuracySource } from '../records.js';
import type { ArmBest, ArmHypervolume, MeanStd, SearchComparison } from '../search/compare.js';
import type { LackOfFit } from '../regression.js';
import type { ReferencePoint } from '../search/pareto.js';
import type { PredictorEvaluation } from '../search/predictor.js';
import type { SearchObjective, SearchResult } from '../search/search.js';
import type { StudyPlan } from '../study/plan.js';
import { parseMbBlock } from '../spaces/mbconv/network.js';
import { originalSpace } from '../spaces/registry.js';
import { differenceOfMeansInterval, mean, ratioOfMeansInterval } from '../stats.js';
import { studySpecHash, type StudySpec } from '../study/spec.js';
import { accuracyLabel, naturalCompare, sortMetrics } from './format.js';

/** comparison.json as the search stage writes it (activities/study/search.ts compareStudySearches). */
export interface ComparisonArtifact {
  device: string;
  objective: SearchObjective;
  predictor: { heldOut: PredictorEvaluation; trainedOn: number };
  comparison: SearchComparison;
  /** Null when the fronts were not re-measured on the device. */
  remeasured: { predictorOnFronts: PredictorEvaluation; comparison: SearchComparison | null } | null;
}

/** The parts of a device fingerprint the report shows (activities/devices DeviceFingerprint fits it). */
export interface ReportFingerprint {
  device: string;
  backend: string;
  host?: { cpuModel: string; logicalCores: number; platform: string; arch: string };
  runtime?: { name: string; version: string; node: string };
  settings: Record<string, string | number | boolean>;
  identity?: Record<string, string>;
}

/** The parts of a latency measurement the report uses (activities/devices LatencyMeasurement fits it). */
export interface ReportMeasurement {
  device: string;
  archHash: string;
  medianMs: number;
  fromCache: boolean;
  startedAt: string;
  measuredAt: string;
  fingerprint: ReportFingerprint;
  fingerprintHash: string;
  /** How the device measured (warm-up and timed runs, stopping rule); part of the measurement cache key. */
  protocol: Record<string, string | number | boolean>;
  protocolHash: string;
  breakdown: { totalMs: number };
}

export interface ReportSearchRun {
  device: string;
  /** The arm the run belongs to: 'original', 'derived' or 'paper:<name>'. */
  arm: string;
  result: SearchResult;
}

export interface ReportInputs {
  studyId: string;
  spec: StudySpec;
  plan: StudyPlan;
  profiles: BlockProfile[];
  insights: InsightReport[];
  comparisons: ComparisonArtifact[];
  searches: ReportSearchRun[];
  /** The profiling campaign's measurements per device (every latency batch). */
  measurements: { device: string; measurements: ReportMeasurement[] }[];
  /** The re-measured search results per device and objective (remeasured.json). */
  remeasured: { device: string; objective: SearchObjective; measurements: ReportMeasurement[] }[];
  /** Versions of the software that produced and rendered the study, e.g. { blockscope: '0.1.0', node: 'v20.20.2' }. */
  software: Record<string, string>;
  /** Workflows to link besides the study's own (campaigns, searches), in display order. */
  workflows?: { label: string; workflowId: string }[];
}

export interface HeatCell {
  /** "baseline" for the reference row. */
  specId: string;
  /** The heatmap row: "u2 · L1", or "baseline (random, n=30)". */
  row: string;
  unit: string;
  layer: number | null;
  block: string;
  mean: number;
  std: number;
  n: number;
  /** Against the random baseline's mean, depth-matched where the profile has it (0 for the baseline row). */
  effectAbs: number;
  effectRel: number;
}

export interface ProfileView {
  resolution: number;
  metrics: string[];
  baseline: { n: number; metrics: Record<string, { mean: number; std: number }> };
  /** Block order of the x axis (as the profile lists them). */
  blocks: string[];
  /** Row order of the y axis, baseline first. */
  rows: string[];
  /** Per metric, one cell per spec plus one baseline cell per block. */
  cells: Record<string, HeatCell[]>;
  /** Whether the spec effects are against a depth-matched baseline (profiles made before it existed: false). */
  depthMatched: boolean;
  /** Latency block effects by regression beside the per-spec effects; null for profiles made before it existed. */
  regression: RegressionView | { skipped: string } | null;
  /** The paper's profile figure: expand ratio × kernel size, each cell averaged over positions; null outside MBConv spaces. */
  grid: BlockGridView | null;
}

export interface BlockGridView {
  expands: number[];
  kernels: number[];
  /** Per metric, one cell per (expand, kernel): the mean relative effect of its specs against the baseline. */
  cells: Record<string, { expand: number; kernel: number; effect: number; positions: number }[]>;
}

export interface RegressionView {
  /** 'linear': latency in ms (effects shown as a share of the mean latency); 'log': log latency (profiles made before). */
  target: 'log' | 'linear';
  n: number;
  parameters: number;
  /** Residual standard deviation as a share of the mean latency (≈ the relative noise left). */
  residual: number;
  rSquared: number;
  /** The model checked against the specs' own samples (pipelines/regression.ts LackOfFit); null for profiles made before the check. */
  lackOfFit: LackOfFit | null;
  /** One row per (unit, layer, block) the regression estimates, relative; `specEffect` where that spec was also profiled. */
  rows: { unit: number; layer: number; block: string; effect: number; ciLow: number; ciHigh: number; n: number; specEffect: number | null }[];
}

export interface CorrelationView {
  resolution: number;
  spearman: number;
  kendallTau: number;
  specs: number;
  points: { specId: string; unit: string; accuracy: number; latencyMs: number }[];
  baseline: { accuracy: number; latencyMs: number };
}

export interface InsightView {
  objective: InsightObjective;
  resolution: number;
  /** Empty for insight reports made before the insights could judge by the regression. */
  estimates: EstimateChoice[];
  insights: Insight[];
  diff: SpaceDiff;
}

export interface FrontPoint {
  arm: string;
  seed: string;
  hash: string;
  accuracy: number;
  /** As the search saw it: predicted by the device's latency model. */
  latencyMs: number;
  /** Re-measured on the device after the search; null when not re-measured. */
  measuredLatencyMs: number | null;
  macs: number;
}

export interface HypervolumeView {
  reference: ReferencePoint;
  baseline: string;
  /** Every arm's hypervolume over seeds and its ratio of means to the baseline's. */
  arms: ArmHypervolume[];
}

export interface ParetoView {
  seeds: string[];
  /** Hypervolumes with the predicted latencies the search optimised. */
  predicted: HypervolumeView;
  /** The same fronts with latencies re-measured on the device; null when not re-measured. */
  remeasured: HypervolumeView | null;
  predictor: { heldOut: PredictorEvaluation; trainedOn: number; onFronts: PredictorEvaluation | null };
  points: FrontPoint[];
}

export interface MaxAccuracyView {
  seeds: string[];
  baseline: string;
  arms: ArmBest[];
  /** The best architecture of each run. */
  best: { arm: string; seed: string; hash: string; accuracy: number; macs: number; latencyMs: number }[];
}

export interface DeviceReport {
  device: string;
  profiles: ProfileView[];
  /** From the insight report at the search resolution; null without one. */
  sensitivity: { resolution: number; units: UnitSensitivity[]; layers: LayerSensitivity[] } | null;
  correlation: CorrelationView | null;
  insights: InsightView[];
  pareto: ParetoView | null;
  maxAccuracy: MaxAccuracyView | null;
  /** How the device's speed moved over its latency campaign; null when drift was not tracked. */
  drift: DriftView | null;
  /** The study against the paper's own spaces and figures; null when no paper space was searched. */
  paper: PaperView | null;
}

/** A 95% interval around an estimate. */
export interface EstimateInterval {
  estimate: number;
  low: number;
  high: number;
}

/**
 * The reproduction of the paper's figures on this device: each searched paper space against the space the
 * study derived for the same objective, Table 2's rows (the best accuracy of the max-accuracy search per arm,
 * with the paper's published numbers where the accuracy source is comparable) and Fig. 8's panel (every arm's
 * hypervolume and its ratio to the original's).
 */
export interface PaperView {
  spaces: PaperSpaceComparison[];
  table2: {
    baseline: string;
    rows: {
      arm: string;
      accuracy: MeanStd;
      macs: MeanStd;
      /** This arm's mean best accuracy − the baseline's, with a Welch 95% interval over seeds; null for the baseline. */
      vsBaseline: EstimateInterval | null;
      /** The paper's figure for the same arm (Table 2), when the study's accuracy is the paper's own source. */
      published: PublishedFigure | null;
    }[];
  } | null;
  fig8: {
    baseline: string;
    /** Whether the hypervolumes use re-measured latencies (else the ones the search predicted). */
    remeasured: boolean;
    /** ratio: mean hypervolume over the baseline's with its 95% interval; null for the baseline. */
    rows: { arm: string; hypervolume: MeanStd; ratio: EstimateInterval | null }[];
  } | null;
  /**
   * Which space the searches support, per paper space compared: the derived arm against the paper's arm on the
   * paper space's objective (Pareto: derived / paper hypervolume; max-accuracy: derived − paper best accuracy),
   * with its 95% interval over seeds. 'neither' when the interval holds no difference (1 or 0).
   */
  verdicts: {
    paper: string;
    objective: SearchObjective;
    measure: 'hypervolume ratio' | 'accuracy difference';
    derivedVsPaper: EstimateInterval;
    supports: 'derived' | 'paper' | 'neither';
  }[];
}

/** The drift probes of one device's latency campaign, for the report's drift plot. */
export interface DriftView {
  referenceHash: string;
  resolution: number;
  referenceMs: number;
  /** Slowest / fastest probe. */
  range: number;
  /** Whether the profiles' latencies are drift-corrected. */
  corrected: boolean;
  /** Measurements outside the probed span, left uncorrected. */
  uncorrected: number;
  /** Device time of the probes over that of the measurements; null when not recorded. */
  overhead: number | null;
  /** Each probe: minutes since the first one, its latency, and that latency over the median of all probes. */
  points: { minutes: number; batch: number; position: number; medianMs: number; relative: number }[];
}

/** One device fingerprint and measurement protocol, with how many measurements were taken under them. */
export interface FingerprintRow {
  device: string;
  fingerprintHash: string;
  backend: string;
  host: string;
  runtime: string;
  settings: string;
  identity: string;
  protocolHash: string;
  protocol: string;
  measurements: number;
}

export interface TimingRow {
  device: string;
  /** 'profiling', or the re-measurement of one objective's search results. */
  stage: 'profiling' | `re-measurement (${SearchObjective})`;
  architectures: number;
  /** Measured now; the rest came from the measurement cache. */
  computed: number;
  cached: number;
  /** Of the computed measurements; null when every one came from the cache. */
  firstStartedAt: string | null;
  lastMeasuredAt: string | null;
  /** Sum of the computed measurements' wall time (export, session, warm-up, timed runs, waits). */
  busySeconds: number;
}

export interface SearchRunRow {
  device: string;
  objective: SearchObjective;
  arm: string;
  seed: string;
  evaluations: number;
  /** Candidates whose evaluation was rejected (docs/search.md), part of `evaluations`. */
  rejected: number;
  archiveSize: number;
  frontSize: number;
  completedIterations: number;
}

export interface ReportData {
  kind: 'blockscope.report/v1';
  study: {
    id: string;
    name: string;
    description: string | null;
    space: string;
    specHash: string;
    resolutions: number[];
    devices: string[];
    accuracySource: AccuracySource;
    /** How the accuracy figure is named everywhere in the report: a proxy is never called accuracy. */
    accuracyLabel: string;
    architectures: number;
    blockSpecs: number;
    spec: StudySpec;
  };
  seeds: { sampling: string; search: number[] };
  workflows: { label: string; workflowId: string }[];
  devices: DeviceReport[];
  reproduction: {
    software: Record<string, string>;
    fingerprints: FingerprintRow[];
    timings: TimingRow[];
    searchRuns: SearchRunRow[];
  };
}

export function buildReportData(inputs: ReportInputs): ReportData {
  const { spec } = inputs;
  return {
    kind: 'blockscope.report/v1',
    study: {
      id: inputs.studyId,
      name: spec.name,
      description: spec.description ?? null,
      space: spec.space,
      specHash: studySpecHash(spec),
      resolutions: [...spec.resolutions],
      devices: [...spec.devices],
      accuracySource: spec.accuracy.source,
      accuracyLabel: accuracyLabel(spec.accuracy.source),
      architectures: inputs.plan.architectures.length,
      blockSpecs: inputs.plan.specs.length,
      spec,
    },
    seeds: { sampling: String(spec.seed), search: Array.from({ length: spec.search.seeds }, (_, i) => i + 1) },
    workflows: [{ label: 'study', workflowId: inputs.studyId }, ...(inputs.workflows ?? [])],
    devices: spec.devices.map((device) => deviceReport(device, inputs)),
    reproduction: {
      software: { ...inputs.software },
      fingerprints: fingerprintRows(inputs),
      timings: timingRows(inputs),
      searchRuns: inputs.searches.map(({ device, arm, result }) => ({
        device,
        objective: result.objective,
        arm,
        seed: String(result.seed),
        evaluations: result.evaluationCount,
        rejected: result.rejected?.length ?? 0,
        archiveSize: result.archiveSize,
        frontSize: result.front.length,
        completedIterations: result.completedIterations,
      })),
    },
  };
}

function deviceReport(device: string, inputs: ReportInputs): DeviceReport {
  const profiles = inputs.profiles.filter((p) => p.device === device).sort((a, b) => a.resolution - b.resolution);
  const insights = inputs.insights.filter((r) => r.device === device);
  // Sensitivity and correlation depend on the profile and rules only, not on the objective.
  const first = insights[0];
  const correlationProfile = first ? profiles.find((p) => p.resolution === first.resolution) : undefined;
  const comparison = (objective: SearchObjective) => inputs.comparisons.find((c) => c.device === device && c.objective === objective);
  const runs = (objective: SearchObjective) => inputs.searches.filter((s) => s.device === device && s.result.objective === objective);
  const remeasured = (objective: SearchObjective) =>
    new Map(inputs.remeasured.find((r) => r.device === device && r.objective === objective)?.measurements.map((m) => [m.archHash, m.medianMs]) ?? []);
  const pareto = comparison('pareto');
  const maxAccuracy = comparison('max-accuracy');
  return {
    device,
    profiles: profiles.map(profileView),
    sensitivity: first ? { resolution: first.resolution, units: first.sensitivity.units, layers: first.sensitivity.layers } : null,
    correlation: first && correlationProfile ? correlationView(first, correlationProfile) : null,
    insights: insights.map((r) => ({ objective: r.objective, resolution: r.resolution, estimates: r.estimates ?? [], insights: r.insights, diff: r.diff })),
    pareto: pareto ? paretoView(pareto, runs('pareto'), remeasured('pareto')) : null,
    maxAccuracy: maxAccuracy ? maxAccuracyView(maxAccuracy, runs('max-accuracy')) : null,
    drift: driftView(profiles.find((p) => p.drift)?.drift),
    paper: paperView(inputs, insights, profiles, pareto, maxAccuracy),
  };
}

/** A search comparison with re-measured latencies where the fronts were re-measured, else as searched. */
function bestComparison(artifact: ComparisonArtifact | undefined): SearchComparison | undefined {
  return artifact?.remeasured?.comparison ?? artifact?.comparison;
}

function paperView(
  inputs: ReportInputs,
  insights: InsightReport[],
  profiles: BlockProfile[],
  pareto: ComparisonArtifact | undefined,
  maxAccuracy: ComparisonArtifact | undefined,
): PaperView | null {
  const { spec } = inputs;
  const paperArms = spec.search.spaces.filter((arm) => arm.startsWith('paper:'));
  if (paperArms.length === 0) return null;
  const documents = paperInsightSpaces(spec.space);
  const spaces = paperArms.flatMap((arm) => {
    const name = arm.slice('paper:'.length);
    const report = insights.find((r) => r.objective === paperSpaceObjective(name));
    const profile = report && profiles.find((p) => p.resolution === report.resolution);
    const doc = documents[name];
    return report && profile && doc ? [compareWithPaperSpace(report, profile, originalSpace(spec.space), name, doc)] : [];
  });
  const published = spec.accuracy.source === 'predictor' ? (PAPER_MAX_ACCURACY_PREDICTED[spec.space] ?? {}) : {};
  const table2 = (comparison: SearchComparison | undefined): PaperView['table2'] => {
    if (comparison?.objective !== 'max-accuracy') return null;
    const base = comparison.arms.find((a) => a.arm === comparison.baseline);
    return {
      baseline: comparison.baseline,
      rows: comparison.arms.map((a) => ({
        arm: a.arm,
        accuracy: a.accuracy,
        macs: a.macs,
        vsBaseline: base && a !== base ? differenceOfMeansInterval(a.accuracy.values, base.accuracy.values) : null,
        published: published[a.arm] ?? null,
      })),
    };
  };
  const fig8 = (artifact: ComparisonArtifact | undefined): PaperView['fig8'] => {
    const comparison = bestComparison(artifact);
    if (comparison?.objective !== 'pareto') return null;
    const base = comparison.arms.find((a) => a.arm === comparison.baseline);
    return {
      baseline: comparison.baseline,
      remeasured: comparison === artifact?.remeasured?.comparison,
      rows: comparison.arms.map((a) => ({
        arm: a.arm,
        hypervolume: a.hypervolume,
        ratio: base && a !== base ? ratioOfMeansInterval(a.hypervolume.values, base.hypervolume.values) : null,
      })),
    };
  };
  const verdicts = spaces.flatMap((c): PaperView['verdicts'] => {
    const comparison = bestComparison(c.objective === 'pareto' ? pareto : maxAccuracy);
    const values = (arm: string) => {
      if (comparison?.objective === 'pareto') return comparison.arms.find((a) => a.arm === arm)?.hypervolume.values;
      return comparison?.arms.find((a) => a.arm === arm)?.accuracy.values;
    };
    const [derived, paper] = [values('derived'), values(`paper:${c.paper}`)];
    if (!comparison || !derived || !paper) return [];
    const interval = comparison.objective === 'pareto' ? ratioOfMeansInterval(derived, paper) : differenceOfMeansInterval(derived, paper);
    if (!interval) return [];
    const none = comparison.objective === 'pareto' ? 1 : 0;
    const supports = interval.low > none ? 'derived' : interval.high < none ? 'paper' : 'neither';
    return [
      {
        paper: c.paper,
        objective: comparison.objective,
        measure: comparison.objective === 'pareto' ? 'hypervolume ratio' : 'accuracy difference',
        derivedVsPaper: interval,
        supports,
      },
    ];
  });
  return { spaces, table2: table2(maxAccuracy?.comparison), fig8: fig8(pareto), verdicts };
}

function driftView(drift: BlockProfile['drift']): DriftView | null {
  if (!drift) return null;
  const { series } = drift;
  const start = Date.parse(series.probes[0]!.at);
  return {
    referenceHash: series.referenceHash,
    resolution: series.resolution,
    referenceMs: series.referenceMs,
    range: series.range,
    corrected: drift.corrected,
    uncorrected: drift.uncorrected,
    overhead: drift.overhead ?? null,
    points: series.probes.map((p) => ({
      minutes: (Date.parse(p.at) - start) / 60_000,
      batch: p.batchIndex,
      position: p.position,
      medianMs: p.medianMs,
      relative: p.medianMs / series.referenceMs,
    })),
  };
}

function rowLabel(unit: string, layer: number): string {
  return `${unit} · L${layer}`;
}

function profileView(profile: BlockProfile): ProfileView {
  const metrics = sortMetrics(profile.metrics);
  const blocks = [...new Set(profile.specs.map((s) => s.block))].sort(naturalCompare);
  const baselineRow = `baseline (random, n=${profile.baseline.n})`;
  const specRows = [...profile.specs].sort((a, b) => naturalCompare(a.unit, b.unit) || a.layer - b.layer).map((s) => rowLabel(s.unit, s.layer));
  const rows = [baselineRow, ...new Set(specRows)];
  const cells = Object.fromEntries(
    metrics.map((metric) => {
      const base = profile.baseline.metrics[metric]!;
      const baselineCells = blocks.map((block): HeatCell => ({
        specId: 'baseline',
        row: baselineRow,
        unit: 'baseline',
        layer: null,
        block,
        mean: base.mean,
        std: base.std,
        n: base.n,
        effectAbs: 0,
        effectRel: 0,
      }));
      const specCells = profile.specs.map((s): HeatCell => ({
        specId: s.specId,
        row: rowLabel(s.unit, s.layer),
        unit: s.unit,
        layer: s.layer,
        block: s.block,
        mean: s.metrics[metric]!.mean,
        std: s.metrics[metric]!.std,
        n: s.n,
        effectAbs: specEffect(s, metric).absolute,
        effectRel: specEffect(s, metric).relative,
      }));
      return [metric, [...baselineCells, ...specCells]];
    }),
  );
  return {
    resolution: profile.resolution,
    metrics,
    baseline: {
      n: profile.baseline.n,
      metrics: Object.fromEntries(Object.entries(profile.baseline.metrics).map(([metric, s]) => [metric, { mean: s.mean, std: s.std }])),
    },
    blocks,
    rows,
    cells,
    regression: regressionView(profile),
    grid: blockGridView(profile, metrics),
    depthMatched: profile.specs.some((s) => s.depthMatchedEffect !== undefined),
  };
}

/** A spec's effect as the report shows it: against the depth-matched baseline where the profile has one. */
function specEffect(spec: SpecProfile, metric: string): MetricEffect {
  return spec.depthMatchedEffect?.[metric] ?? spec.effect[metric]!;
}

function blockGridView(profile: BlockProfile, metrics: string[]): BlockGridView | null {
  const parsed = profile.specs.map((s) => ({ spec: s, block: parseMbBlock(s.block) }));
  if (parsed.length === 0 || parsed.some((p) => !p.block)) return null;
  const expands = [...new Set(parsed.map((p) => p.block!.expand))].sort((a, b) => a - b);
  const kernels = [...new Set(parsed.map((p) => p.block!.kernel))].sort((a, b) => a - b);
  if (expands.length < 2 && kernels.length < 2) return null;
  const cells = Object.fromEntries(
    metrics.map((metric) => [
      metric,
      expands.flatMap((expand) =>
        kernels.flatMap((kernel) => {
          const effects = parsed.filter((p) => p.block!.expand === expand && p.block!.kernel === kernel).map((p) => specEffect(p.spec, metric).relative);
          return effects.length === 0 ? [] : [{ expand, kernel, effect: mean(effects), positions: effects.length }];
        }),
      ),
    ]),
  );
  return { expands, kernels, cells };
}

function regressionView(profile: BlockProfile): ProfileView['regression'] {
  const fit = profile.regression?.latency;
  if (!fit || 'skipped' in fit) return fit ?? null;
  const specEffect = new Map(profile.specs.map((s) => [`${s.unit}.l${s.layer}.${s.block}`, s.effect.latency?.relative ?? null]));
  // Relative to the mean latency when the model is on the metric's own scale; relative already on the log scale.
  const scale = fit.target === 'linear' ? fit.meanValue : 1;
  return {
    target: fit.target,
    n: fit.n,
    parameters: fit.parameters,
    residual: fit.residualStd / scale,
    rSquared: fit.rSquared,
    lackOfFit: fit.lackOfFit ?? null,
    rows: fit.blocks.map((b) => ({
      unit: b.unit,
      layer: b.layer,
      block: b.block,
      effect: b.effect / scale,
      ciLow: b.ciLow / scale,
      ciHigh: b.ciHigh / scale,
      n: b.n,
      specEffect: specEffect.get(`u${b.unit}.l${b.layer}.${b.block}`) ?? null,
    })),
  };
}

function correlationView(report: InsightReport, profile: BlockProfile): CorrelationView {
  return {
    resolution: report.resolution,
    spearman: report.accuracyLatencyCorrelation.spearman,
    kendallTau: report.accuracyLatencyCorrelation.kendallTau,
    specs: report.accuracyLatencyCorrelation.specs,
    points: profile.specs.map((s) => ({ specId: s.specId, unit: s.unit, accuracy: s.metrics['accuracy']!.mean, latencyMs: s.metrics['latency']!.mean })),
    baseline: { accuracy: profile.baseline.metrics['accuracy']!.mean, latencyMs: profile.baseline.metrics['latency']!.mean },
  };
}

function hypervolumeView(comparison: SearchComparison): HypervolumeView | null {
  if (comparison.objective !== 'pareto') return null;
  return { reference: comparison.reference, baseline: comparison.baseline, arms: comparison.arms };
}

/** Runs in the comparison's arm order, then by seed. */
function byArmAndSeed(arms: readonly { arm: string }[]): (a: ReportSearchRun, b: ReportSearchRun) => number {
  const order = (run: ReportSearchRun) => arms.findIndex((a) => a.arm === run.arm);
  return (a, b) => order(a) - order(b) || String(a.result.seed).localeCompare(String(b.result.seed), undefined, { numeric: true });
}

function paretoView(artifact: ComparisonArtifact, runs: ReportSearchRun[], measured: Map<string, number>): ParetoView | null {
  const predicted = hypervolumeView(artifact.comparison);
  if (!predicted || artifact.comparison.objective !== 'pareto') return null;
  const remeasured = artifact.remeasured?.comparison ? hypervolumeView(artifact.remeasured.comparison) : null;
  return {
    seeds: artifact.comparison.seeds.map(String),
    predicted,
    remeasured,
    predictor: { ...artifact.predictor, onFronts: artifact.remeasured?.predictorOnFronts ?? null },
    points: [...runs].sort(byArmAndSeed(predicted.arms)).flatMap(({ arm, result }) =>
      result.front.map((e) => ({
        arm,
        seed: String(result.seed),
        hash: e.hash,
        accuracy: e.accuracy,
        latencyMs: e.latencyMs,
        measuredLatencyMs: measured.get(e.hash) ?? null,
        macs: e.macs,
      })),
    ),
  };
}

function maxAccuracyView(artifact: ComparisonArtifact, runs: ReportSearchRun[]): MaxAccuracyView | null {
  const c = artifact.comparison;
  if (c.objective !== 'max-accuracy') return null;
  return {
    seeds: c.seeds.map(String),
    baseline: c.baseline,
    arms: c.arms,
    best: [...runs].sort(byArmAndSeed(c.arms)).flatMap(({ arm, result }) => {
      const best = result.top[0];
      return best ? [{ arm, seed: String(result.seed), hash: best.hash, accuracy: best.accuracy, macs: best.macs, latencyMs: best.latencyMs }] : [];
    }),
  };
}

function pairs(record: Record<string, string | number | boolean> | undefined): string {
  return Object.entries(record ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

function describeFingerprint(fp: ReportFingerprint): Pick<FingerprintRow, 'backend' | 'host' | 'runtime' | 'settings' | 'identity'> {
  return {
    backend: fp.backend,
    host: fp.host ? `${fp.host.cpuModel}, ${fp.host.logicalCores} logical cores, ${fp.host.platform}/${fp.host.arch}` : '',
    runtime: fp.runtime ? `${fp.runtime.name} ${fp.runtime.version} on node ${fp.runtime.node}` : '',
    settings: pairs(fp.settings),
    identity: pairs(fp.identity),
  };
}

function fingerprintRows(inputs: ReportInputs): FingerprintRow[] {
  const rows = new Map<string, FingerprintRow>();
  const all = [...inputs.measurements, ...inputs.remeasured].flatMap((group) => group.measurements);
  for (const m of all) {
    const key = `${m.device}|${m.fingerprintHash}|${m.protocolHash}`;
    const row = rows.get(key) ?? {
      device: m.device,
      fingerprintHash: m.fingerprintHash,
      ...describeFingerprint(m.fingerprint),
      protocolHash: m.protocolHash,
      protocol: pairs(m.protocol),
      measurements: 0,
    };
    row.measurements += 1;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => a.device.localeCompare(b.device) || a.fingerprintHash.localeCompare(b.fingerprintHash) || a.protocolHash.localeCompare(b.protocolHash));
}

function timingRow(device: string, stage: TimingRow['stage'], measurements: ReportMeasurement[]): TimingRow {
  const computed = measurements.filter((m) => !m.fromCache);
  // A cached measurement keeps the timestamps of when it was first taken, so only computed ones count.
  // ISO 8601 timestamps in UTC sort as strings.
  const starts = computed.map((m) => m.startedAt).sort();
  const ends = computed.map((m) => m.measuredAt).sort();
  return {
    device,
    stage,
    architectures: measurements.length,
    computed: computed.length,
    cached: measurements.length - computed.length,
    firstStartedAt: starts[0] ?? null,
    lastMeasuredAt: ends[ends.length - 1] ?? null,
    busySeconds: computed.reduce((sum, m) => sum + m.breakdown.totalMs, 0) / 1000,
  };
}

function timingRows(inputs: ReportInputs): TimingRow[] {
  return [
    ...inputs.measurements.map((g) => timingRow(g.device, 'profiling', g.measurements)),
    ...inputs.remeasured.map((g) => timingRow(g.device, `re-measurement (${g.objective})`, g.measurements)),
  ];
}
