/** Every table of the report as rows and columns, for the CSV files (one per table) and the HTML. */
import type { SpaceDiff } from '../insights.js';
import type { HypervolumeView, ReportData } from './data.js';

export type TableCell = string | number | boolean | null;

export interface ReportTable {
  /** File name stem: `<name>.csv`. */
  name: string;
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
