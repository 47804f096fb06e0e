/** Every table of the report as rows and columns, for the CSV files (one per table) and the HTML. */
import type { SpaceDiff } from '../insights.js';
import type { DeviceReport, HypervolumeView, ReportData } from './data.js';
import { formatNumber } from './format.js';

export type TableCell = string | number | boolean | null;

export interface ReportTable {
  /** File name stem: `<name>.csv`. */
  name: string;
  /** What the table shows, where a report prints it with a heading. */
  title?: string;
  columns: string[];
  rows: TableCell[][];
}

const list = (values: readonly (string | number | boolean)[]) => values.map(String).join(' ');

/** One row per change of a pruned space against the original: what the insights removed or changed. */
export function spaceDiffRows(diff: SpaceDiff): { part: string; change: string; from: string; to: string }[] {
  const rows: { part: string; change: string; from: string; to: string }[] = [];
  if (diff.resolutions.removed.length > 0) rows.push({ part: 'resolutions', change: 'removed', from: list(diff.resolutions.removed), to: '' });
  if (diff.resolutions.added.length > 0) rows.push({ part: 'resolutions', change: 'added', from: '', to: list(diff.resolutions.added) });
  if (diff.stem) {
    const s = diff.stem;
    if (s.removedSkipChoices.length > 0) rows.push({ part: 'stem', change: 'skip choices removed', from: list(s.removedSkipChoices), to: '' });
    if (s.addedSkipChoices.length > 0) rows.push({ part: 'stem', change: 'skip choices added', from: '', to: list(s.addedSkipChoices) });
    if (s.removedWidths.length > 0) rows.push({ part: 'stem', change: 'widths removed', from: list(s.removedWidths), to: '' });
    if (s.addedWidths.length > 0) rows.push({ part: 'stem', change: 'widths added', from: '', to: list(s.addedWidths) });
    if (s.mutationProbability) rows.push({ part: 'stem', change: 'mutation probability', from: String(s.mutationProbability.from), to: String(s.mutationProbability.to) });
  }
  for (const u of diff.units) {
    const part = `unit ${u.unit}`;
    if (u.removedBlocks.length > 0) rows.push({ part, change: 'blocks removed', from: list(u.removedBlocks), to: '' });
    if (u.addedBlocks.length > 0) rows.push({ part, change: 'blocks added', from: '', to: list(u.addedBlocks) });
    if (u.layers) rows.push({ part, change: 'layers', from: `${u.layers.from.min}-${u.layers.from.max}`, to: `${u.layers.to.min}-${u.layers.to.max}` });
    if (u.mutationProbability) rows.push({ part, change: 'mutation probability', from: String(u.mutationProbability.from), to: String(u.mutationProbability.to) });
    if (u.removedWidths.length > 0) rows.push({ part, change: 'widths removed', from: list(u.removedWidths), to: '' });
    if (u.addedWidths.length > 0) rows.push({ part, change: 'widths added', from: '', to: list(u.addedWidths) });
  }
  return rows;
}

function hypervolumeRows(device: string, latency: string, view: HypervolumeView): TableCell[][] {
  return view.arms.map((a) => [device, latency, a.arm, a.hypervolume.mean, a.hypervolume.std, a.ratio, view.reference.accuracyFloor, view.reference.latencyCeilingMs]);
}

function unitsText(units: readonly number[], of: number): string {
  if (units.length === of) return 'all';
  return units.length === 0 ? 'none' : units.map((u) => `u${u}`).join(' ');
}

/**
 * The reproduction of the paper on one device (DeviceReport.paper) as tables: the derived spaces against the
 * paper's block by block and cap by cap, the contrasts behind every disagreement, Table 2's rows and Fig. 8's
 * hypervolume ratios. Empty when no paper space was searched.
 */
export function paperTables(report: DeviceReport): ReportTable[] {
  const view = report.paper;
  if (!view) return [];
  const { device } = report;
  const units = (c: (typeof view.spaces)[number]) => c.caps.length;
  return [
    {
      name: 'paper-verdicts',
      title: "Which space the searches support: the derived arm against the paper's, on the paper space's objective (95% interval over seeds)",
      columns: ['device', 'objective', 'paper_space', 'measure', 'derived_vs_paper', 'ci95', 'supports'],
      rows: view.verdicts.map((v) => [device, v.objective, v.paper, v.measure, v.derivedVsPaper.estimate, ci(v.derivedVsPaper), v.supports]),
    },
    {
      name: 'paper-blocks',
      title: "Blocks: the paper's space against the derived one, per block (the units whose list keeps it)",
      columns: ['device', 'objective', 'paper_space', 'block', 'paper_keeps', 'derived_keeps', 'agree', 'derived_insights'],
      rows: view.spaces.flatMap((c) =>
        c.blocks.map((b) => [device, c.objective, c.paper, b.block, unitsText(b.paperUnits, units(c)), unitsText(b.derivedUnits, units(c)), b.agree, b.insights.join(' | ')]),
      ),
    },
    {
      name: 'paper-block-contrasts',
      title: 'Evidence for each block the spaces disagree on: the block minus every other block, pooled over units and matched by position (latency in ms, 95% intervals)',
      columns: ['device', 'objective', 'paper_space', 'block', 'against', 'latency_ms', 'latency_ci95', 'accuracy', 'accuracy_ci95', 'pairs'],
      rows: view.spaces.flatMap((c) =>
        c.blocks.flatMap((b) =>
          (b.contrasts ?? []).map((x) => [device, c.objective, c.paper, b.block, x.against, x.latency.estimate, ci(x.latency), x.accuracy.estimate, ci(x.accuracy), x.latency.pairs]),
        ),
      ),
    },
    {
      name: 'paper-caps',
      title: 'Layer ranges per unit (min-max layers)',
      columns: ['device', 'objective', 'paper_space', 'unit', 'paper_layers', 'derived_layers', 'agree', 'derived_insights'],
      rows: view.spaces.flatMap((c) =>
        c.caps.map((cap) => [
          device,
          c.objective,
          c.paper,
          `u${cap.unit}`,
          `${cap.paper.min}-${cap.paper.max}`,
          `${cap.derived.min}-${cap.derived.max}`,
          cap.agree,
          cap.insights.join(' | '),
        ]),
      ),
    },
    {
      name: 'paper-cap-layers',
      title: 'Evidence for each layer range that differs: one whole layer of the unit (latency ms and accuracy per layer, 95% intervals)',
      columns: ['device', 'objective', 'paper_space', 'unit', 'layer', 'latency_ms_per_layer', 'latency_ci95', 'accuracy_per_layer', 'accuracy_ci95', 'share'],
      rows: view.spaces.flatMap((c) =>
        c.caps.flatMap((cap) =>
          cap.layers.map((l) => [device, c.objective, c.paper, `u${cap.unit}`, l.layer + 1, l.latency.estimate, ci(l.latency), l.accuracy.estimate, ci(l.accuracy), l.share]),
        ),
      ),
    },
    {
      name: 'paper-table2',
      title: "The paper's Table 2 shape: best accuracy of the max-accuracy search over seeds, per space, minus the original's (Welch 95% interval), beside the paper's numbers",
      columns: ['device', 'space', 'best_mean', 'best_std', 'macs_mean', 'macs_std', 'minus_baseline', 'minus_baseline_ci95', 'paper_mean', 'paper_std'],
      rows: (view.table2?.rows ?? []).map((r) => [
        device,
        r.arm,
        r.accuracy.mean,
        r.accuracy.std,
        r.macs.mean,
        r.macs.std,
        r.vsBaseline?.estimate ?? null,
        r.vsBaseline ? ci(r.vsBaseline) : null,
        r.published?.mean ?? null,
        r.published?.std ?? null,
      ]),
    },
    {
      name: 'paper-fig8',
      title: "The paper's Figure 8 panel: hypervolume per space over seeds and its ratio to the original's (95% interval, delta method on the log ratio); the fronts are plotted above",
      columns: ['device', 'latency', 'space', 'hypervolume_mean', 'hypervolume_std', 'ratio_to_baseline', 'ratio_ci95'],
      rows: view.fig8
        ? view.fig8.rows.map((r) => [
            device,
            view.fig8!.remeasured ? 're-measured' : 'predicted',
            r.arm,
            r.hypervolume.mean,
            r.hypervolume.std,
            r.ratio?.estimate ?? null,
            r.ratio ? ci(r.ratio) : null,
          ])
        : [],
    },
  ];
}

function ci(interval: { low: number; high: number }): string {
  return `[${formatNumber(interval.low)}, ${formatNumber(interval.high)}]`;
}

export function reportTables(data: ReportData): ReportTable[] {
  const devices = data.devices;
  const pareto = devices.flatMap((d) => (d.pareto ? [{ device: d.device, view: d.pareto }] : []));
  const maxAccuracy = devices.flatMap((d) => (d.maxAccuracy ? [{ device: d.device, view: d.maxAccuracy }] : []));
  const { reproduction } = data;
  return [
    {
      name: 'profiles',
      columns: ['device', 'resolution', 'metric', 'specId', 'unit', 'layer', 'block', 'n', 'mean', 'std', 'effect_abs', 'effect_rel'],
      rows: devices.flatMap((d) =>
        d.profiles.flatMap((p) =>
          p.metrics.flatMap((metric) =>
            // One baseline row per metric (the heatmap repeats it per block column).
            p.cells[metric]!.filter((c) => c.specId !== 'baseline' || c.block === p.blocks[0]).map((c) => [
              d.device,
              p.resolution,
              metric,
              c.specId,
              c.unit,
              c.layer,
              c.specId === 'baseline' ? '' : c.block,
              c.n,
              c.mean,
              c.std,
              c.effectAbs,
              c.effectRel,
            ]),
          ),
        ),
      ),
    },
    {
      name: 'sensitivity-units',
      columns: ['device', 'resolution', 'unit', 'metric', 'explained_variance', 'significant_positions', 'positions', 'spread', 'relative_spread'],
      rows: devices.flatMap((d) =>
        (d.sensitivity?.units ?? []).map((u) => [
          d.device,
          d.sensitivity!.resolution,
          u.unit,
          u.metric,
          u.explainedVariance,
          u.significantPositions,
          u.positions,
          u.spread,
          u.relativeSpread,
        ]),
      ),
    },
    {
      name: 'sensitivity-layers',
      columns: ['device', 'resolution', 'unit', 'position', 'metric', 'choices', 'eta_squared', 'omega_squared', 'significant', 'spread', 'relative_spread'],
      rows: devices.flatMap((d) =>
        (d.sensitivity?.layers ?? []).map((l) => [
          d.device,
          d.sensitivity!.resolution,
          l.unit,
          l.position,
          l.metric,
          l.choices,
          l.etaSquared,
          l.omegaSquared,
          l.significant,
          l.spread,
          l.relativeSpread,
        ]),
      ),
    },
    {
      name: 'correlation',
      columns: ['device', 'resolution', 'spearman', 'kendall_tau', 'specs'],
      rows: devices.flatMap((d) => (d.correlation ? [[d.device, d.correlation.resolution, d.correlation.spearman, d.correlation.kendallTau, d.correlation.specs]] : [])),
    },
    {
      name: 'insights',
      columns: ['device', 'objective', 'resolution', 'id', 'kind', 'sentence', 'numbers'],
      rows: devices.flatMap((d) => d.insights.flatMap((v) => v.insights.map((i) => [d.device, v.objective, v.resolution, i.id, i.kind, i.sentence, JSON.stringify(i.numbers)]))),
    },
    {
      name: 'space-diff',
      columns: ['device', 'objective', 'pruned_space', 'part', 'change', 'from', 'to'],
      rows: devices.flatMap((d) => d.insights.flatMap((v) => spaceDiffRows(v.diff).map((r) => [d.device, v.objective, v.diff.to, r.part, r.change, r.from, r.to]))),
    },
    {
      name: 'hypervolume',
      columns: ['device', 'latency', 'space', 'mean', 'std', 'ratio_to_original', 'reference_accuracy_floor', 'reference_latency_ceiling_ms'],
      rows: pareto.flatMap(({ device, view }) => [
        ...hypervolumeRows(device, 'predicted', view.predicted),
        ...(view.remeasured ? hypervolumeRows(device, 're-measured', view.remeasured) : []),
      ]),
    },
    {
      name: 'hypervolume-seeds',
      columns: ['device', 'latency', 'space', 'seed', 'hypervolume'],
      rows: pareto.flatMap(({ device, view }) =>
        [['predicted', view.predicted] as const, ...(view.remeasured ? [['re-measured', view.remeasured] as const] : [])].flatMap(([latency, hv]) =>
          hv.arms.flatMap((a) => a.hypervolume.values.map((value, i) => [device, latency, a.arm, view.seeds[i] ?? '', value])),
        ),
      ),
    },
    {
      name: 'pareto-fronts',
      columns: ['device', 'space', 'seed', 'hash', 'accuracy', 'latency_ms_predicted', 'latency_ms_measured', 'macs'],
      rows: pareto.flatMap(({ device, view }) => view.points.map((p) => [device, p.arm, p.seed, p.hash, p.accuracy, p.latencyMs, p.measuredLatencyMs, p.macs])),
    },
    {
      name: 'max-accuracy',
      columns: ['device', 'space', 'seeds', 'accuracy_mean', 'accuracy_std', 'macs_mean', 'macs_std'],
      rows: maxAccuracy.flatMap(({ device, view }) => view.arms.map((a) => [device, a.arm, view.seeds.join(' '), a.accuracy.mean, a.accuracy.std, a.macs.mean, a.macs.std])),
    },
    {
      name: 'max-accuracy-runs',
      columns: ['device', 'space', 'seed', 'hash', 'accuracy', 'macs', 'latency_ms_predicted'],
      rows: maxAccuracy.flatMap(({ device, view }) => view.best.map((b) => [device, b.arm, b.seed, b.hash, b.accuracy, b.macs, b.latencyMs])),
    },
    {
      name: 'predictor',
      columns: ['device', 'trained_on', 'held_out_n', 'held_out_mape', 'held_out_kendall_tau', 'fronts_n', 'fronts_mape', 'fronts_kendall_tau'],
      rows: pareto.map(({ device, view }) => {
        const { heldOut, trainedOn, onFronts } = view.predictor;
        return [device, trainedOn, heldOut.n, heldOut.mape, heldOut.kendallTau, onFronts?.n ?? null, onFronts?.mape ?? null, onFronts?.kendallTau ?? null];
      }),
    },
    ...mergedByName(devices.flatMap(paperTables)),
    {
      name: 'fingerprints',
      columns: ['device', 'fingerprint_hash', 'backend', 'host', 'runtime', 'settings', 'identity', 'protocol_hash', 'protocol', 'measurements'],
      rows: reproduction.fingerprints.map((f) => [f.device, f.fingerprintHash, f.backend, f.host, f.runtime, f.settings, f.identity, f.protocolHash, f.protocol, f.measurements]),
    },
    {
      name: 'timings',
      columns: ['device', 'stage', 'architectures', 'computed', 'cached', 'first_started_at', 'last_measured_at', 'busy_seconds'],
      rows: reproduction.timings.map((t) => [t.device, t.stage, t.architectures, t.computed, t.cached, t.firstStartedAt, t.lastMeasuredAt, t.busySeconds]),
    },
    {
      name: 'search-runs',
      columns: ['device', 'objective', 'space', 'seed', 'evaluations', 'rejected', 'archive_size', 'front_size', 'completed_iterations'],
      rows: reproduction.searchRuns.map((r) => [r.device, r.objective, r.arm, r.seed, r.evaluations, r.rejected, r.archiveSize, r.frontSize, r.completedIterations]),
    },
    {
      name: 'software',
      columns: ['name', 'version'],
      rows: Object.entries(reproduction.software).map(([name, version]) => [name, version]),
    },
    {
      name: 'workflows',
      columns: ['label', 'workflow_id'],
      rows: data.workflows.map((w) => [w.label, w.workflowId]),
    },
  ];
}

/** Tables of the same name (one per device) as one table. */
function mergedByName(tables: readonly ReportTable[]): ReportTable[] {
  const merged = new Map<string, ReportTable>();
  for (const t of tables) {
    const into = merged.get(t.name);
    if (into) into.rows.push(...t.rows);
    else merged.set(t.name, { ...t, rows: [...t.rows] });
  }
  return [...merged.values()];
}

/** A table as GitHub Markdown, numbers as the report formats them. */
export function tableToMarkdown(table: Pick<ReportTable, 'columns' | 'rows'>): string {
  const text = (value: TableCell) => (value === null ? '–' : typeof value === 'number' ? formatNumber(value) : String(value)).replace(/\|/g, '\\|');
  return [`| ${table.columns.join(' | ')} |`, `| ${table.columns.map(() => '---').join(' | ')} |`, ...table.rows.map((row) => `| ${row.map(text).join(' | ')} |`)].join('\n');
}

function csvCell(value: TableCell): string {
  const text = value === null ? '' : String(value);
  return /[",\n\r]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function tableToCsv(table: ReportTable): string {
  return [table.columns, ...table.rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

/** Every table as CSV, keyed by file name (`profiles.csv`, ...). */
export function reportTablesCsv(data: ReportData): Record<string, string> {
  return Object.fromEntries(reportTables(data).map((table) => [`${table.name}.csv`, tableToCsv(table)]));
}
