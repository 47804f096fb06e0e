/**
 * The report as one self-contained HTML document: inline CSS, figures rendered to inline SVG on the server
 * with Vega-Lite and Vega (no scripts, fonts or data fetched when it is viewed), every text escaped.
 */
import * as vega from 'vega';
import { compile, version as vegaLiteVersion } from 'vega-lite';
import { canonicalJson } from '../hash.js';
import type { DeviceReport, HypervolumeView, InsightView, ParetoView, ProfileView, ReportData } from './data.js';
import { reportFigures, type Figure } from './figures.js';
import { escapeHtml, formatMeanStd, formatNumber, metricTitle } from './format.js';
import { paperTables, spaceDiffRows, type TableCell } from './tables.js';

export interface RenderOptions {
  /** Link to a workflow in the Temporal UI; without it workflow ids are shown as plain text. */
  uiLink?: (workflowId: string) => string;
}

/** The plotting libraries the report is rendered with, for the reproduction section. */
export const RENDERER_VERSIONS: Readonly<Record<string, string>> = { vega: vega.version, 'vega-lite': vegaLiteVersion };

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/**
 * Vega names gradients and clip paths from process-wide counters ("gradient_3"), so ids would clash
 * between the figures of one document and change with what was rendered before. Renaming them in order
 * of appearance under the figure's id makes them unique and the output the same for the same data.
 */
function scopeSvgIds(svg: string, scope: string): string {
  const renamed = new Map([...new Set([...svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!))].map((id, i) => [id, `${scope}-def${i}`]));
  const rename = (id: string) => renamed.get(id) ?? id;
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${rename(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${rename(id)})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${rename(id)}"`);
}

async function renderSvg(figure: Figure): Promise<string> {
  // A Vega-Lite warning means it dropped or changed part of a figure: fail instead of rendering it silently wrong.
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...args: readonly unknown[]) => {
      throw new Error(`vega-lite: ${figure.id}: ${args.map(String).join(' ')}`);
    },
    warn: (...args: readonly unknown[]) => {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  const { spec } = compile(figure.spec, { config: { font: FONT, background: 'white' }, logger });
  if (warnings.length > 0) throw new Error(`vega-lite: ${figure.id}: ${warnings.join('; ')}`);
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logLevel: vega.Warn });
  try {
    return scopeSvgIds(await view.toSVG(), figure.id);
  } finally {
    view.finalize();
  }
}

function cell(value: TableCell): string {
  if (value === null) return '<td class="na">–</td>';
  if (typeof value === 'number') return `<td class="num">${escapeHtml(formatNumber(value))}</td>`;
  return `<td>${escapeHtml(String(value))}</td>`;
}

function table(columns: readonly string[], rows: readonly TableCell[][], className = ''): string {
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map(cell).join('')}</tr>`).join('\n');
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function figureHtml(figure: Figure, svg: string, kind: string): string {
  return `<figure class="figure" id="${escapeHtml(figure.id)}" data-kind="${kind}">${svg}<figcaption>${escapeHtml(figure.caption)}</figcaption></figure>`;
}

function workflowLink(workflowId: string, options: RenderOptions): string {
  const text = `<code>${escapeHtml(workflowId)}</code>`;
  return options.uiLink ? `<a href="${escapeHtml(options.uiLink(workflowId))}">${text}</a>` : text;
}

function anchor(device: string): string {
  return `device-${device}`;
}

function hypervolumeRows(view: ParetoView): TableCell[][] {
  const rows = (label: string, hv: HypervolumeView): TableCell[][] =>
    hv.arms.map((a) => [
      label,
      a.arm,
      formatMeanStd(a.hypervolume),
      a.ratio === null ? null : a.ratio.toFixed(3),
      `${formatNumber(hv.reference.accuracyFloor)} / ${formatNumber(hv.reference.latencyCeilingMs)} ms`,
    ]);
  return [...rows('predicted (as searched)', view.predicted), ...(view.remeasured ? rows('re-measured on the device', view.remeasured) : [])];
}

function searchHtml(data: ReportData, report: DeviceReport, pareto: string): string {
  const accuracy = data.study.accuracyLabel;
  const parts: string[] = [];
  if (report.pareto) {
    const { predictor } = report.pareto;
    parts.push(
      "<h4>Pareto search (the paper's Figure 8)</h4>",
      `<div class="figures">${pareto}</div>`,
      table(
        ['latency', 'space', 'hypervolume (mean ± std)', `/ ${report.pareto.predicted.baseline}`, `reference (${accuracy} floor / latency ceiling)`],
        hypervolumeRows(report.pareto),
        'hypervolume',
      ),
      `<p class="note">Latency predictor: fitted on ${predictor.trainedOn} measured architectures; held-out MAPE ${(predictor.heldOut.mape * 100).toFixed(1)}% ` +
        `(Kendall τ ${predictor.heldOut.kendallTau.toFixed(2)}, n=${predictor.heldOut.n})` +
        (predictor.onFronts
          ? `; on the re-measured fronts MAPE ${(predictor.onFronts.mape * 100).toFixed(1)}% (Kendall τ ${predictor.onFronts.kendallTau.toFixed(2)}, n=${predictor.onFronts.n})`
          : '') +
        '.</p>',
    );
  }
  if (report.maxAccuracy) {
    const m = report.maxAccuracy;
    parts.push(
      "<h4>Max-accuracy search (the shape of the paper's Table 2)</h4>",
      table(
        ['device', 'space', `best ${accuracy} (mean ± std)`, 'MACs (mean ± std)', 'seeds'],
        m.arms.map((a) => [report.device, a.arm, formatMeanStd(a.accuracy), formatMeanStd(a.macs), m.seeds.join(', ')]),
        'max-accuracy',
      ),
    );
  }
  return parts.length > 0 ? parts.join('\n') : '<p class="note">No search ran on this device.</p>';
}

/** The reproduction of the paper on this device; empty when no paper space was searched. */
function paperHtml(report: DeviceReport): string {
  const tables = paperTables(report).filter((t) => t.rows.length > 0);
  if (tables.length === 0) return '';
  return [
    "<h3>Reproduction: the paper's spaces and figures</h3>",
    '<p class="note">Intervals are plain 95% ones; the insight rules judge with the multiplicity-adjusted z of docs/insights.md, so a contrast may clear 95% and still move no rule.</p>',
    ...tables.map(
      (t) =>
        `<h4>${escapeHtml(t.title ?? t.name)}</h4>\n${table(
          t.columns.slice(1),
          t.rows.map((row) => row.slice(1)),
          t.name,
        )}`,
    ),
  ].join('\n');
}

/** Which estimates of the spec means the insights judged by, per metric, and why. */
function estimatesHtml(estimates: InsightView['estimates']): string {
  if (estimates.length === 0) return '';
  const parts = estimates.map((e) => {
    const sources: Record<typeof e.source, string> = {
      regression: `the block regression's estimates (${e.covered} specs)`,
      adjusted: `the block regression's adjusted estimates (${e.covered} specs)`,
      'spec-means': 'the per-specification sample means',
    };
    const source = sources[e.source];
    return `${e.metric} by ${source}, because ${e.reason}`;
  });
  return `<p class="note estimates">${escapeHtml(`These insights judge ${parts.join('; ')}.`)}</p>`;
}

function insightsHtml(report: DeviceReport): string {
  if (report.insights.length === 0) return '<p class="note">No insights were derived for this device.</p>';
  return report.insights
    .map((view) => {
      const items = view.insights
        .map((insight) => {
          const numbers = Object.entries(insight.numbers)
            .map(([key, value]) => `${escapeHtml(key)} = ${escapeHtml(formatNumber(value))}`)
            .join(', ');
          return `<li data-insight="${escapeHtml(insight.id)}"><span class="kind">${escapeHtml(insight.kind)}</span> ${escapeHtml(insight.sentence)}${numbers ? ` <span class="numbers">(${numbers})</span>` : ''}</li>`;
        })
        .join('\n');
      return `<h4>Objective: ${escapeHtml(view.objective)} (profile at ${view.resolution}px)</h4>\n${estimatesHtml(view.estimates)}\n<ul class="insights">\n${items}\n</ul>`;
    })
    .join('\n');
}

function diffHtml(report: DeviceReport): string {
  return report.insights
    .map((view) => {
      const rows = spaceDiffRows(view.diff);
      const body =
        view.diff.unchanged || rows.length === 0
          ? '<p class="note">The pruned space is the original space: no insight removed anything.</p>'
          : table(
              ['part', 'change', 'original', 'pruned'],
              rows.map((r) => [r.part, r.change, r.from || null, r.to || null]),
              'diff',
            );
      return `<h4>${escapeHtml(view.diff.from)} → ${escapeHtml(view.diff.to)} (objective ${escapeHtml(view.objective)})</h4>\n${body}`;
    })
    .join('\n');
}

function reproductionHtml(data: ReportData, options: RenderOptions): string {
  const r = data.reproduction;
  return [
    '<h3>Study spec</h3>',
    `<p>Spec hash <code>${escapeHtml(data.study.specHash)}</code>. Starting this spec again (<code>blockscope study start spec.json</code>) is the same study: ` +
      'it attaches to it, or re-runs it with every measurement already taken coming from the cache.</p>',
    `<pre class="spec">${escapeHtml(JSON.stringify(data.study.spec, null, 2))}</pre>`,
    '<h3>Seeds</h3>',
    `<p>Sampling seed <code>${escapeHtml(data.seeds.sampling)}</code>; search seeds ${escapeHtml(data.seeds.search.join(', '))} in both the original and the pruned space.</p>`,
    '<h3>Device fingerprints</h3>',
    table(
      ['device', 'fingerprint', 'backend', 'host', 'runtime', 'settings', 'identity', 'protocol', 'measurements'],
      r.fingerprints.map((f) => [
        f.device,
        f.fingerprintHash,
        f.backend,
        f.host || null,
        f.runtime || null,
        f.settings || null,
        f.identity || null,
        `${f.protocol} (${f.protocolHash})`,
        f.measurements,
      ]),
      'fingerprints',
    ),
    '<h3>Software</h3>',
    table(
      ['software', 'version'],
      Object.entries(r.software).map(([k, v]) => [k, v]),
      'software',
    ),
    '<h3>Timings</h3>',
    table(
      ['device', 'stage', 'architectures', 'measured', 'from cache', 'first started', 'last finished', 'busy (s)'],
      r.timings.map((t) => [t.device, t.stage, t.architectures, t.computed, t.cached, t.firstStartedAt, t.lastMeasuredAt, Number(t.busySeconds.toFixed(1))]),
      'timings',
    ),
    '<h3>Search runs</h3>',
    table(
      ['device', 'objective', 'space', 'seed', 'evaluations', 'rejected', 'archive', 'front', 'iterations'],
      r.searchRuns.map((s) => [s.device, s.objective, s.arm, s.seed, s.evaluations, s.rejected, s.archiveSize, s.frontSize, s.completedIterations]),
      'search-runs',
    ),
    '<h3>Workflows</h3>',
    `<ul class="workflows">${data.workflows.map((w) => `<li>${escapeHtml(w.label)}: ${workflowLink(w.workflowId, options)}</li>`).join('')}</ul>`,
  ].join('\n');
}

const STYLE = `
body{font-family:${FONT};margin:0 auto;max-width:1200px;padding:16px 24px;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}h3{margin-top:1.6em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}dl.facts dt{font-weight:bold}dl.facts dd{margin:0}
.figures{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure.figure{margin:0;border:1px solid #e3e3e3;padding:8px;background:#fff;max-width:100%;overflow-x:auto}
figure.figure figcaption{font-size:.82em;color:#555;max-width:520px}
table{border-collapse:collapse;margin:8px 0;font-size:.88em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}td.na{color:#999}
.note{color:#555;font-size:.9em}.warning{background:#fff6e0;border-left:4px solid #f0a500;padding:6px 10px}
ul.insights li{margin-bottom:6px}.kind{display:inline-block;font-size:.75em;background:#eef;border-radius:3px;padding:0 5px;color:#335}
.numbers{color:#555;font-size:.85em}pre.spec{background:#f7f7f7;padding:10px;overflow-x:auto;font-size:.85em}
`;

const percent = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`;

/** The latency regression beside the per-spec effects, folded away (a paper-scale study has 180 rows). */
function regressionHtml(view: ProfileView['regression']): string {
  if (!view) return '';
  if ('skipped' in view) return `<p class="note">Latency block effects by regression: not fitted (${escapeHtml(view.skipped)}).</p>`;
  const summary =
    `Latency block effects by regression: ${view.target === 'log' ? 'log latency' : 'latency (a sum of layer times)'} on per-position block indicators and each unit's depth, over all ${view.n} measured architectures ` +
    `(${view.parameters} parameters, residual ${percent(view.residual).slice(1)} of the mean latency, R² ${view.rSquared.toFixed(3)}). ` +
    (view.lackOfFit
      ? `Checked against the specifications' own samples: lack of fit χ² ${view.lackOfFit.statistic.toFixed(0)} on ${view.lackOfFit.df} specs (99% quantile ${view.lackOfFit.critical.toFixed(0)}), ` +
        (view.lackOfFit.fails
          ? 'so the model is misspecified where the specs fix their blocks: its estimates there are biased, and the insights read the adjusted ones. '
          : 'so the model holds. ')
      : '') +
    'Each effect is against the average block of its position with the other positions held equal, as a share of the mean latency; the per-specification effect (against the random baseline, from the samples that fixed the block) is shown beside it. ' +
    "Which estimates the insights judged by is stated with the device's insights.";
  const rows = view.rows.map((r) => [
    `u${r.unit}`,
    r.layer,
    r.block,
    percent(r.effect),
    `${percent(r.ciLow)} … ${percent(r.ciHigh)}`,
    r.n,
    r.specEffect === null ? null : percent(r.specEffect),
  ]);
  return `<details class="regression"><summary>${escapeHtml(summary)}</summary>\n${table(['unit', 'layer', 'block', 'latency effect', '95% interval', 'architectures', 'per-spec effect'], rows, 'regression')}</details>`;
}

/** Renders the report data as one HTML document. Same data and options give the same bytes. */
export async function renderReportHtml(data: ReportData, options: RenderOptions = {}): Promise<string> {
  const { study } = data;
  const figures = reportFigures(data);
  const svgs = new Map<string, string>();
  // One at a time: the figures are small and the machine's cores are shared with the workers.
  for (const group of figures) {
    for (const figure of [...group.grids, ...group.heatmaps, ...group.sensitivity, group.correlation, group.pareto, group.drift]) {
      if (figure) svgs.set(figure.id, await renderSvg(figure));
    }
  }
  const render = (figure: Figure | null, kind: string) => (figure ? figureHtml(figure, svgs.get(figure.id)!, kind) : '');
  const deviceSections = data.devices.map((report, i) => {
    const group = figures[i]!;
    const profiles = report.profiles
      .map((p) => {
        const heatmaps = group.heatmaps.filter((f) => f.id.startsWith(`heatmap-${report.device}-r${p.resolution}-`));
        const grids = group.grids.filter((f) => f.id.startsWith(`grid-${report.device}-r${p.resolution}-`));
        const baseline = p.metrics.map((m) => `${escapeHtml(metricTitle(m, study.accuracySource))} ${escapeHtml(formatMeanStd(p.baseline.metrics[m]!))}`).join('; ');
        return `<h4>Resolution ${p.resolution}px</h4>\n<p class="note">Random baseline (n=${p.baseline.n}): ${baseline}.</p>\n${grids.length > 0 ? `<div class="figures">${grids.map((f) => render(f, 'grid')).join('\n')}</div>\n` : ''}<div class="figures">${heatmaps.map((f) => render(f, 'heatmap')).join('\n')}</div>\n${regressionHtml(p.regression)}`;
      })
      .join('\n');
    return [
      `<section class="device" id="${escapeHtml(anchor(report.device))}">`,
      `<h2>Device ${escapeHtml(report.device)}</h2>`,
      '<h3>Host drift over the latency campaign</h3>',
      report.drift
        ? `<div class="figures">${render(group.drift, 'drift')}</div>` +
          (report.drift.uncorrected > 0
            ? `<p class="note">${report.drift.uncorrected} measurement(s) lie outside the probed span (taken before this campaign) and are not corrected.</p>`
            : '')
        : '<p class="note">Drift was not tracked for this device (measurement.drift.track off, or a study from before drift tracking).</p>',
      '<h3>Block profiles</h3>',
      profiles || '<p class="note">No profile.</p>',
      '<h3>Unit and layer sensitivity</h3>',
      group.sensitivity.length > 0
        ? `<div class="figures">${group.sensitivity.map((f) => render(f, 'sensitivity')).join('\n')}</div>`
        : '<p class="note">No profiled position has two block choices, so there is no sensitivity to show.</p>',
      `<h3>${escapeHtml(study.accuracyLabel)} vs latency</h3>`,
      `<div class="figures">${render(group.correlation, 'correlation')}</div>`,
      '<h3>Insights</h3>',
      insightsHtml(report),
      '<h3>Pruned vs original space</h3>',
      diffHtml(report),
      '<h3>Search: original vs pruned space</h3>',
      searchHtml(data, report, render(group.pareto, 'pareto')),
      paperHtml(report),
      '</section>',
    ].join('\n');
  });
  const proxyNote =
    study.accuracySource === 'naswot-proxy'
      ? '<p class="warning">This study scores architectures with the training-free <strong>NASWOT proxy</strong>, not with trained accuracy: every "accuracy" axis and table here is a proxy score.</p>'
      : study.accuracySource === 'predictor'
        ? '<p class="warning">This study scores architectures with <strong>OFA&#39;s accuracy predictor</strong>: every accuracy axis and table here is a ' +
          '<strong>predicted</strong> ImageNet top-1 (%) of the supernet&#39;s subnet with inherited weights — not measured, and not the accuracy of a fine-tuned net.</p>'
        : '';
  const toc = [
    ...data.devices.map((d) => `<li><a href="#${escapeHtml(anchor(d.device))}">Device ${escapeHtml(d.device)}</a></li>`),
    '<li><a href="#reproduce">Reproduce and audit</a></li>',
  ].join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="blockscope report ${escapeHtml(canonicalJson(RENDERER_VERSIONS))}">
<title>blockscope study ${escapeHtml(study.name)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>blockscope study report: ${escapeHtml(study.name)}</h1>
${study.description ? `<p class="description">${escapeHtml(study.description)}</p>` : ''}
<dl class="facts">
<dt>study</dt><dd>${workflowLink(study.id, options)}</dd>
<dt>space</dt><dd>${escapeHtml(study.space)}</dd>
<dt>devices</dt><dd>${escapeHtml(study.devices.join(', '))}</dd>
<dt>resolutions</dt><dd>${escapeHtml(study.resolutions.join(', '))}</dd>
<dt>accuracy source</dt><dd>${escapeHtml(study.accuracySource)} (${escapeHtml(study.accuracyLabel)})</dd>
<dt>architectures</dt><dd>${study.architectures} distinct, over ${study.blockSpecs} block specifications</dd>
<dt>spec hash</dt><dd><code>${escapeHtml(study.specHash)}</code></dd>
</dl>
${proxyNote}
<nav><ul>${toc}</ul></nav>
</header>
<main>
${deviceSections.join('\n')}
<section id="reproduce">
<h2>Reproduce and audit</h2>
${reproductionHtml(data, options)}
</section>
</main>
</body>
</html>
`;
}
