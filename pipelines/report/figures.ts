/**
 * The report's figures as Vega-Lite specifications, built from the report data alone. Rendering them to
 * SVG is render.ts's job; every figure has an id so the HTML and the tests can find it.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { CorrelationView, DeviceReport, DriftView, ParetoView, ProfileView, ReportData } from './data.js';
import { formatNumber, metricTitle, sortMetrics } from './format.js';

export interface Figure {
  /** Unique in the report; also the figure's HTML id. */
  id: string;
  caption: string;
  spec: TopLevelSpec;
}

/** Arm colours: the original grey, the derived space red, the paper's spaces in the other categorical hues. */
const ARM_PALETTE = ['#7f7f7f', '#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function armScale(arms: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...arms], range: arms.map((arm, i) => (arm === 'original' ? ARM_PALETTE[0]! : arm === 'derived' ? ARM_PALETTE[1]! : ARM_PALETTE[2 + (i % 5)]!)) };
}

type Tooltip = { field: string; title: string; format?: string }[];
/** One layer of a layered Vega-Lite figure, as the public TopLevelSpec type spells it. */
type Layer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];

/** Cells coloured by their % change (field `pct`) on a diverging scale symmetric about 0. */
function effectCells(extent: number, tooltip: Tooltip): Layer {
  return {
    mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
    encoding: {
      color: { field: 'pct', type: 'quantitative', title: '% vs baseline', scale: { scheme: 'blueorange', domain: [-extent, extent] } },
      tooltip,
    },
  };
}

/** The cells' labels, white on the dark ends of the scale. */
function effectLabels(extent: number, fontSize: number, text: { field: string; format?: string }): Layer {
  return {
    mark: { type: 'text', fontSize },
    encoding: {
      text,
      color: { condition: { test: `abs(datum.pct) > ${0.6 * extent}`, value: 'white' }, value: '#222' },
    },
  };
}

function heatmap(data: ReportData, device: string, view: ProfileView, metric: string): Figure {
  const cells = view.cells[metric]!;
  const baseline = view.baseline.metrics[metric]!;
  const pct = (rel: number) => rel * 100;
  const signedPct = (rel: number) => {
    const text = pct(rel).toFixed(Math.abs(pct(rel)) < 10 ? 1 : 0);
    // Tiny negative effects round to "-0.0"; show them as no change.
    return Number(text) === 0 ? '0' : `${rel > 0 ? '+' : ''}${text}`;
  };
  const extent = Math.max(1e-9, ...cells.map((c) => Math.abs(pct(c.effectRel))));
  const firstBlock = view.blocks[0];
  const values = cells.map((c) => ({
    ...c,
    pct: pct(c.effectRel),
    // The baseline row shows its mean once; spec cells show their change against it.
    label: c.specId === 'baseline' ? (c.block === firstBlock ? formatNumber(c.mean) : '') : signedPct(c.effectRel),
    isBaseline: c.specId === 'baseline',
  }));
  const title = metricTitle(metric, data.study.accuracySource);
  return {
    id: `heatmap-${device}-r${view.resolution}-${metric}`,
    caption:
      `${device}, resolution ${view.resolution}: ${title} of the architectures sampled with each block fixed, as % change of the mean against ` +
      `the random baseline (top row, mean ${formatNumber(baseline.mean)} ± ${formatNumber(baseline.std)}, n=${view.baseline.n})` +
      (view.depthMatched
        ? ", its architectures reweighted to each spec's depth in the spec's unit (a spec at a deeper layer forces a deeper unit; stem options against the plain baseline)."
        : '.'),
    spec: {
      title: { text: `${title} — ${device} @ ${view.resolution}px`, subtitle: `% vs random baseline (mean ${formatNumber(baseline.mean)}, outlined row)` },
      data: { values },
      width: Math.max(160, view.blocks.length * 46),
      height: view.rows.length * 22,
      encoding: {
        x: { field: 'block', type: 'ordinal', sort: view.blocks, title: 'block', axis: { orient: 'top', labelAngle: 0 } },
        y: { field: 'row', type: 'ordinal', sort: view.rows, title: 'unit · layer' },
      },
      layer: [
        effectCells(extent, [
          { field: 'specId', title: 'spec' },
          { field: 'mean', title: 'mean', format: '.4~g' },
          { field: 'std', title: 'std', format: '.3~g' },
          { field: 'pct', title: '% vs baseline', format: '+.2f' },
        ]),
        effectLabels(extent, 9, { field: 'label' }),
        {
          transform: [{ filter: 'datum.isBaseline' }],
          mark: { type: 'rect', fill: null, stroke: '#111', strokeWidth: 1.5 },
        },
      ],
    },
  };
}

/** The paper's profile figure: expand ratio × kernel size, each cell the mean effect of its specs over the positions profiled. */
function gridFigure(data: ReportData, device: string, view: ProfileView, metric: string): Figure | null {
  const grid = view.grid;
  if (!grid) return null;
  const cells = grid.cells[metric]!.map((c) => ({ ...c, pct: c.effect * 100, expandLabel: `e${c.expand}`, kernelLabel: `k${c.kernel}` }));
  const extent = Math.max(1e-9, ...cells.map((c) => Math.abs(c.pct)));
  const title = metricTitle(metric, data.study.accuracySource);
  return {
    id: `grid-${device}-r${view.resolution}-${metric}`,
    caption:
      `${device}, resolution ${view.resolution}: ${title} by expand ratio and kernel size, each cell the mean over the positions profiled of the ` +
      `spec effect against the random baseline${view.depthMatched ? ' (depth-matched)' : ''} (% change of the mean), as the paper's profile figure shows it.`,
    spec: {
      title: { text: `${title} — ${device} @ ${view.resolution}px`, subtitle: 'expand × kernel, % vs random baseline, mean over positions' },
      data: { values: cells },
      width: grid.kernels.length * 56,
      height: grid.expands.length * 40,
      encoding: {
        x: { field: 'kernelLabel', type: 'ordinal', sort: grid.kernels.map((k) => `k${k}`), title: 'kernel size', axis: { orient: 'top', labelAngle: 0 } },
        y: { field: 'expandLabel', type: 'ordinal', sort: grid.expands.map((e) => `e${e}`), title: 'expand ratio' },
      },
      layer: [
        effectCells(extent, [
          { field: 'expandLabel', title: 'expand' },
          { field: 'kernelLabel', title: 'kernel' },
          { field: 'pct', title: '% vs baseline', format: '+.2f' },
          { field: 'positions', title: 'positions' },
        ]),
        effectLabels(extent, 11, { field: 'pct', format: '+.1f' }),
      ],
    },
  };
}

/** ω² lies in [0, 1]; a fixed floor keeps an all-zero chart (nothing significant) readable as "0". */
function omegaTop(values: readonly number[]): number {
  return Math.min(1, Math.max(0.1, ...values));
}

function sensitivityFigures(data: ReportData, report: DeviceReport): Figure[] {
  // Sensitivity needs a position with two profiled choices; without one there is nothing to draw.
  if (!report.sensitivity || report.sensitivity.layers.length === 0) return [];
  const { device } = report;
  const metric = (m: string) => metricTitle(m, data.study.accuracySource);
  const order = sortMetrics([...new Set(report.sensitivity.units.map((u) => u.metric))]).map(metric);
  const units = report.sensitivity.units.map((u) => ({ unit: u.unit, metric: metric(u.metric), explained: u.explainedVariance, significant: u.significantPositions }));
  const layers = report.sensitivity.layers.map((l) => ({
    position: `${l.unit}.${l.position}`,
    metric: metric(l.metric),
    omega: Math.max(0, l.omegaSquared),
    significant: l.significant ? 'yes' : 'no',
  }));
  return [
    {
      id: `sensitivity-units-${device}`,
      caption:
        `${device}: how much of each metric's variance one block choice in a unit typically explains (mean ω² over the unit's positions; ` +
        'positions whose choices do not differ significantly count 0).',
      spec: {
        title: { text: `Unit sensitivity — ${device}`, subtitle: 'mean ω² of the block choice per position' },
        data: { values: units },
        width: { step: 14 },
        height: 180,
        mark: 'bar',
        encoding: {
          x: { field: 'unit', type: 'nominal', title: 'unit', axis: { labelAngle: 0 } },
          xOffset: { field: 'metric', sort: order },
          y: {
            field: 'explained',
            type: 'quantitative',
            title: 'explained variance (ω²)',
            scale: { domain: [0, omegaTop(units.map((u) => u.explained))], nice: true },
            axis: { format: '.2~f' },
          },
          color: { field: 'metric', type: 'nominal', title: 'metric', sort: order },
          tooltip: [{ field: 'unit' }, { field: 'metric' }, { field: 'explained', format: '.3f' }, { field: 'significant', title: 'significant positions' }],
        },
      },
    },
    {
      id: `sensitivity-layers-${device}`,
      caption: `${device}: ω² of the block choice at every profiled position (faded bars: not significant at the rules' alpha).`,
      spec: {
        title: { text: `Layer sensitivity — ${device}`, subtitle: 'ω² of the block choice per position (faded: not significant)' },
        data: { values: layers },
        width: { step: 10 },
        height: 180,
        mark: 'bar',
        encoding: {
          x: { field: 'position', type: 'nominal', title: 'unit.layer', axis: { labelAngle: -45 } },
          xOffset: { field: 'metric', sort: order },
          y: { field: 'omega', type: 'quantitative', title: 'ω² (clamped at 0)', scale: { domain: [0, omegaTop(layers.map((l) => l.omega))], nice: true }, axis: { format: '.2~f' } },
          color: { field: 'metric', type: 'nominal', title: 'metric', sort: order },
          opacity: { field: 'significant', type: 'ordinal', scale: { domain: ['yes', 'no'], range: [1, 0.35] }, title: 'significant' },
          tooltip: [{ field: 'position' }, { field: 'metric' }, { field: 'omega', title: 'ω²', format: '.3f' }, { field: 'significant' }],
        },
      },
    },
  ];
}

function correlationFigure(data: ReportData, device: string, view: CorrelationView): Figure {
  const accuracy = metricTitle('accuracy', data.study.accuracySource);
  return {
    id: `correlation-${device}`,
    caption:
      `${device}, resolution ${view.resolution}: mean ${accuracy} against mean latency of every block specification ` +
      `(Spearman ${view.spearman.toFixed(2)}, Kendall τ ${view.kendallTau.toFixed(2)} over ${view.specs} specs); the cross is the random baseline.`,
    spec: {
      title: { text: `${accuracy} vs latency — ${device}`, subtitle: `Spearman ρ ${view.spearman.toFixed(2)}, Kendall τ ${view.kendallTau.toFixed(2)}, ${view.specs} specs` },
      width: 320,
      height: 240,
      layer: [
        {
          data: { values: view.points },
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            x: { field: 'latencyMs', type: 'quantitative', title: 'mean latency (ms)', scale: { zero: false } },
            y: { field: 'accuracy', type: 'quantitative', title: `mean ${accuracy}`, scale: { zero: false } },
            color: { field: 'unit', type: 'nominal', title: 'unit' },
            tooltip: [
              { field: 'specId', title: 'spec' },
              { field: 'latencyMs', format: '.3f' },
              { field: 'accuracy', format: '.4~g' },
            ],
          },
        },
        {
          data: { values: [{ ...view.baseline, label: 'random baseline' }] },
          encoding: { x: { field: 'latencyMs', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
          layer: [
            { mark: { type: 'point', shape: 'cross', size: 140, color: '#111', filled: true } },
            { mark: { type: 'text', align: 'left', dx: 8, fontSize: 10, color: '#111' }, encoding: { text: { field: 'label' } } },
          ],
        },
      ],
    },
  };
}

function hypervolumeSubtitle(view: ParetoView): string {
  const { baseline, arms } = view.predicted;
  return `hypervolume ${arms
    .map((a) => `${a.arm} ${formatNumber(a.hypervolume.mean)} ± ${formatNumber(a.hypervolume.std)}${a.arm === baseline || a.ratio === null ? '' : ` (×${a.ratio.toFixed(3)})`}`)
    .join(', ')}`;
}

function paretoFigure(data: ReportData, device: string, view: ParetoView): Figure {
  const accuracy = metricTitle('accuracy', data.study.accuracySource);
  const values = view.points.map((p) => ({ ...p, run: `${p.arm} seed ${p.seed}` }));
  const arms = view.predicted.arms.map((a) => a.arm);
  const scale = armScale(arms);
  return {
    id: `pareto-${device}`,
    caption:
      `${device}: the final Pareto fronts of the search in each space (${arms.join(', ')}), one line per seed ` +
      `(${view.seeds.join(', ')}), with the latencies the search optimised (the device's latency predictor). ${hypervolumeSubtitle(view)}.`,
    spec: {
      title: { text: `Pareto fronts, ${arms.join(' vs ')} — ${device}`, subtitle: hypervolumeSubtitle(view) },
      data: { values },
      width: 380,
      height: 260,
      encoding: {
        x: { field: 'latencyMs', type: 'quantitative', title: 'latency (ms, predicted)', scale: { zero: false } },
        y: { field: 'accuracy', type: 'quantitative', title: accuracy, scale: { zero: false } },
        color: { field: 'arm', type: 'nominal', title: 'space', scale: scale },
      },
      layer: [
        {
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
          encoding: {
            detail: { field: 'run' },
            order: { field: 'latencyMs', type: 'quantitative' },
            strokeDash: { field: 'arm', type: 'nominal', scale: { domain: scale.domain, range: arms.map((arm) => (arm === 'original' ? [5, 3] : [1, 0])) } },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 45 },
          encoding: {
            shape: { field: 'seed', type: 'nominal', title: 'seed' },
            tooltip: [
              { field: 'run' },
              { field: 'hash' },
              { field: 'latencyMs', format: '.3f' },
              { field: 'measuredLatencyMs', title: 're-measured ms', format: '.3f' },
              { field: 'accuracy', format: '.4~g' },
            ],
          },
        },
      ],
    },
  };
}

const DRIFT_X = { field: 'minutes', type: 'quantitative', title: 'minutes since the first probe' } as const;
const DRIFT_Y = { field: 'relative', type: 'quantitative', title: 'probe latency / median', scale: { zero: false } } as const;

function driftFigure(device: string, view: DriftView): Figure {
  const subtitle = `reference ${view.referenceHash.slice(0, 12)} at ${view.resolution}px, median ${formatNumber(view.referenceMs)} ms; slowest / fastest ${view.range.toFixed(3)}`;
  return {
    id: `drift-${device}`,
    caption:
      `${device}: the latency of the space's reference architecture, measured at every batch start and at the end of the latency campaign, ` +
      `relative to its median (1 = the median speed). ${subtitle}. ` +
      (view.overhead === null ? '' : `The probes took ${(view.overhead * 100).toFixed(1)}% of the device time of the measurements. `) +
      (view.corrected
        ? "The profiles' latencies are corrected by it (interpolated in time between neighbouring probes)."
        : "The profiles' latencies are not corrected by it (measurement.drift.correct is off)."),
    spec: {
      title: { text: `Host drift over the latency campaign — ${device}`, subtitle },
      data: { values: view.points },
      width: 380,
      height: 180,
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { y: { datum: 1, type: 'quantitative' } } },
        { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x: DRIFT_X, y: DRIFT_Y } },
        {
          mark: { type: 'point', filled: true, size: 30 },
          encoding: { x: DRIFT_X, y: DRIFT_Y, tooltip: [{ field: 'batch' }, { field: 'position' }, { field: 'medianMs', format: '.3f' }, { field: 'relative', format: '.3f' }] },
        },
      ],
    },
  };
}

/** Every figure of the report, grouped by device, in the order the HTML shows them. */
export function reportFigures(
  data: ReportData,
): { device: string; grids: Figure[]; heatmaps: Figure[]; sensitivity: Figure[]; correlation: Figure | null; pareto: Figure | null; drift: Figure | null }[] {
  return data.devices.map((report) => ({
    device: report.device,
    grids: report.profiles.flatMap((view) => view.metrics.flatMap((metric) => gridFigure(data, report.device, view, metric) ?? [])),
    heatmaps: report.profiles.flatMap((view) => view.metrics.map((metric) => heatmap(data, report.device, view, metric))),
    sensitivity: sensitivityFigures(data, report),
    correlation: report.correlation ? correlationFigure(data, report.device, report.correlation) : null,
    pareto: report.pareto && report.pareto.points.length > 0 ? paretoFigure(data, report.device, report.pareto) : null,
    drift: report.drift ? driftFigure(report.device, report.drift) : null,
  }));
}
