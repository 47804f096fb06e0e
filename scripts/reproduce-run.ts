/**
 * The paper's Note10 experiment on its own inputs (`npm run reproduce`, scripts/reproduce.ts): OFA's Note10
 * per-block table imported as the lookup-table device `note10`, OFA's accuracy predictor as accuracy, the
 * preset presets/paper-ofa-note10.yaml run as a study through an embedded Temporal dev server, and the
 * study report's reproduction section (DeviceReport.paper) written out as reproduce.json and reproduce.md.
 * The data folder is laid out like ../shared/realdata (its README); nothing of it is copied anywhere.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { importLookupTableFiles, lookupLatency } from '../activities/devices/index.js';
import { loadAccuracyPredictor } from '../activities/accuracy/predictor-source.js';
import { FsArtifactStore } from '../activities/storage/index.js';
import { readRawSpec } from '../cli/spec-file.js';
import { predictTop1 } from '../pipelines/accuracy-predictor.js';
import type { PaperSpaceComparison } from '../pipelines/insights/paper-comparison.js';
import type { DeviceReport, PaperView, ReportData } from '../pipelines/report/index.js';
import { paperTables, tableToMarkdown } from '../pipelines/report/index.js';
import { importOfaNetConfig, ofaRunConfigResolution, originalSpace, type MbArchitecture } from '../pipelines/spaces/index.js';
import { parseStudySpec, type StudySpec } from '../pipelines/study/spec.js';
import { startEmbedded } from '../workers/embedded.js';
import { startStudy, studyResult } from '../workers/study-client.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_DATA = resolve(ROOT, '../shared/realdata');
export const PRESET = 'paper-ofa-note10';
const DEVICE = 'note10';
const RESOLUTION = 224;

/** The files of the data folder the run reads, relative to it. */
export const DATA_FILES = {
  table: `ofa-note10/${RESOLUTION}_lookup_table.yaml`,
  predictor: 'ofa-accuracy-predictor/acc_predictor.weights.json',
  specialized: 'ofa-specialized',
} as const;

export interface ReproduceOptions {
  /** Laid out like ../shared/realdata. */
  data: string;
  /** Folder for the Temporal database, the store, the imported table and the device config; emptied first. */
  home: string;
  /** Where reproduce.json and reproduce.md go; nothing is written when absent. */
  out?: string;
  /** Changes to the preset for a reduced run (the test's); the full run takes the preset as it is. */
  overrides?: { samplesPerSpec?: number; seeds?: number; pareto?: Budget; maxAccuracy?: Budget };
  log?: (line: string) => void;
}

interface Budget {
  initialSize: number;
  iterations: number;
  budgetPerIteration: number;
}

/** One of OFA's published specialized nets, as the import and the two models see it. */
export interface SubnetRow {
  net: string;
  /** Null when the net is not a member of ofa-mbv3 at a resolution the table covers. */
  member: boolean;
  reason: string | null;
  resolution: number | null;
  /** From the folder name: `<device>_lat-<ms>ms_top1-<acc>` or `flops-<M>M_top1-<acc>`. */
  publishedTop1: number | null;
  publishedLatencyMs: number | null;
  note10Ms: number | null;
  predictedTop1: number | null;
}

export interface ReproduceResult {
  kind: 'blockscope.reproduce/v1';
  generatedAt: string;
  studyId: string;
  /** The data files read and their SHA-256. */
  data: { dir: string; files: { path: string; sha256: string }[] };
  /** The preset as run (after any overrides). */
  spec: StudySpec;
  wallSeconds: { import: number; study: number; total: number };
  table: { blocks: number; statistic: string };
  subnets: SubnetRow[];
  /** The predictor's top-1 of the smallest (every unit 2 × e3k3) and the largest (every unit 4 × e6k7) member at 224. */
  predictorExtremes: { smallest: number; largest: number };
  /** The random baseline's mean latency and predicted top-1 at 224. */
  baseline: { latencyMs: number; accuracy: number; n: number };
  paper: PaperView;
  /** The issue's targets, each with what decided it. */
  targets: { name: string; met: boolean; detail: string }[];
  reportHtml: string;
}

/** A path inside the repository relative to its root (as the md shows it), any other as it is. */
const inRepository = (path: string) => (relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The data folder's files the run needs; a missing one is named with where it should be. */
export function checkDataDir(data: string): void {
  for (const file of Object.values(DATA_FILES)) {
    if (!existsSync(join(data, file))) {
      throw new Error(`--data ${data}: ${file} is missing; the folder must be laid out like ../shared/realdata (ofa-note10/, ofa-accuracy-predictor/, ofa-specialized/)`);
    }
  }
}

function publishedFigures(net: string): { top1: number | null; latencyMs: number | null } {
  const top1 = /_top1-([\d.]+)/.exec(net);
  const latency = /_lat-([\d.]+)ms/.exec(net);
  return { top1: top1 ? Number(top1[1]) : null, latencyMs: latency ? Number(latency[1]) : null };
}

function importSubnets(dir: string): { net: string; arch: MbArchitecture | null; reason: string | null; resolution: number | null }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((net) => {
      const json = (file: string): unknown => JSON.parse(readFileSync(join(dir, net, file), 'utf8'));
      let resolution: number | null = null;
      try {
        resolution = ofaRunConfigResolution(json('run.config'));
        return { net, arch: importOfaNetConfig('ofa-mbv3', { net: json('net.config'), resolution }), reason: null, resolution };
      } catch (error) {
        return { net, arch: null, reason: error instanceof Error ? error.message : String(error), resolution };
      }
    });
}

/** The smallest and the largest member: every unit at its fewest layers of e3k3, or its most of e6k7. */
function extremeArchitecture(kind: 'smallest' | 'largest'): MbArchitecture {
  const doc = originalSpace('ofa-mbv3');
  const block = kind === 'smallest' ? 'e3k3' : 'e6k7';
  return { space: 'ofa-mbv3', resolution: RESOLUTION, units: doc.units.map((u) => Array.from({ length: kind === 'smallest' ? u.minLayers : u.maxLayers }, () => block)) };
}

function spec(options: ReproduceOptions, weights: string): StudySpec {
  const raw = readRawSpec(PRESET) as Record<string, unknown> & { accuracy: Record<string, unknown>; search: Record<string, unknown> };
  const o = options.overrides ?? {};
  return parseStudySpec({
    ...raw,
    ...(o.samplesPerSpec !== undefined ? { samplesPerSpec: o.samplesPerSpec } : {}),
    accuracy: { ...raw.accuracy, predictor: { format: 'ofa-mlp', weights } },
    search: {
      ...raw.search,
      ...(o.seeds !== undefined ? { seeds: o.seeds } : {}),
      ...(o.pareto ?? {}),
      ...(o.maxAccuracy ? { maxAccuracy: { ...(raw.search['maxAccuracy'] as object), ...o.maxAccuracy } } : {}),
    },
  });
}

function targets(paper: PaperView): ReproduceResult['targets'] {
  const derivedBest = paper.table2?.rows.find((r) => r.arm === 'derived');
  const derivedFront = paper.fig8?.rows.find((r) => r.arm === 'derived');
  const fmt = (v: number, digits = 3) => v.toFixed(digits);
  return [
    derivedBest?.vsBaseline
      ? {
          name: 'derived max-accuracy arm beats the original by a margin the seeds resolve',
          met: derivedBest.vsBaseline.low > 0,
          detail: `derived − original = ${fmt(derivedBest.vsBaseline.estimate)} [${fmt(derivedBest.vsBaseline.low)}, ${fmt(derivedBest.vsBaseline.high)}] (Welch 95%)`,
        }
      : { name: 'derived max-accuracy arm beats the original by a margin the seeds resolve', met: false, detail: 'no max-accuracy comparison' },
    derivedFront?.ratio
      ? {
          name: "derived Pareto arm's hypervolume ≥ the original's, 95% interval's low end ≥ 0.99",
          met: derivedFront.ratio.estimate >= 1 && derivedFront.ratio.low >= 0.99,
          detail: `ratio ${fmt(derivedFront.ratio.estimate)} [${fmt(derivedFront.ratio.low)}, ${fmt(derivedFront.ratio.high)}]`,
        }
      : { name: "derived Pareto arm's hypervolume ≥ the original's, 95% interval's low end ≥ 0.99", met: false, detail: 'no Pareto comparison' },
  ];
}

export async function runReproduction(options: ReproduceOptions): Promise<ReproduceResult> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const data = resolve(options.data);
  checkDataDir(data);
  const home = resolve(options.home);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const importStarted = performance.now();

  const tableFile = join(data, DATA_FILES.table);
  const weightsFile = join(data, DATA_FILES.predictor);
  const imported = await importLookupTableFiles([tableFile], { format: 'ofa', space: 'ofa-mbv3', device: DEVICE });
  const tablePath = join(home, `${DEVICE}-${RESOLUTION}.json`);
  writeFileSync(tablePath, `${JSON.stringify(imported.table, null, 2)}\n`);
  const devicesFile = join(home, 'devices.yaml');
  writeFileSync(devicesFile, `devices:\n  - id: ${DEVICE}\n    backend: lookup-table\n    table: ${JSON.stringify(tablePath)}\n`);
  const predictor = await loadAccuracyPredictor({ format: 'ofa-mlp', weights: weightsFile });
  const predicted = (arch: MbArchitecture) => predictTop1(predictor.weights, arch);
  const subnets = importSubnets(join(data, DATA_FILES.specialized)).map(({ net, arch, reason, resolution }): SubnetRow => {
    const published = publishedFigures(net);
    const member = arch !== null && arch.resolution === RESOLUTION;
    return {
      net,
      member,
      reason: arch === null ? reason : member ? null : `resolution ${arch.resolution}: the Note10 run is at ${RESOLUTION}`,
      resolution,
      publishedTop1: published.top1,
      publishedLatencyMs: published.latencyMs,
      note10Ms: member ? lookupLatency(imported.table, arch).totalMs : null,
      predictedTop1: member ? predicted(arch) : null,
    };
  });
  const importSeconds = (performance.now() - importStarted) / 1000;
  log(`imported the Note10 table (${Object.keys(imported.table.entries).length} blocks) and ${subnets.filter((s) => s.member).length} member subnets in ${importSeconds.toFixed(1)} s`);

  const studySpec = spec(options, weightsFile);
  const studyStarted = performance.now();
  const embedded = await startEmbedded({ home, headless: true, devicesFile, devices: [DEVICE] });
  let reportData: ReportData;
  let reportHtml: string;
  let studyId: string;
  try {
    const study = await startStudy(embedded.client, studySpec);
    studyId = study.workflowId;
    log(`study ${studyId} started (Web UI ${embedded.server.uiUrl}): ${studySpec.samplesPerSpec} samples per block specification, ${studySpec.search.seeds} seeds`);
    const result = await studyResult(embedded.client, studyId);
    if (!result.report) throw new Error(`study ${studyId} finished without a report`);
    const store = new FsArtifactStore(join(home, 'store'));
    reportData = await store.getJson<ReportData>(result.report.jsonKey);
    reportHtml = join(home, 'store', result.report.htmlKey);
  } finally {
    await embedded.stop();
  }
  const studySeconds = (performance.now() - studyStarted) / 1000;
  const device = reportData.devices.find((d) => d.device === DEVICE);
  if (!device?.paper) throw new Error(`the report of ${studyId} has no reproduction section for ${DEVICE}`);
  const profile = device.profiles.find((p) => p.resolution === RESOLUTION)!;
  const result: ReproduceResult = {
    kind: 'blockscope.reproduce/v1',
    generatedAt: new Date().toISOString(),
    studyId,
    data: { dir: data, files: [tableFile, weightsFile].map((path) => ({ path: path.slice(data.length + 1), sha256: sha256(path) })) },
    spec: studySpec,
    wallSeconds: { import: importSeconds, study: studySeconds, total: (performance.now() - started) / 1000 },
    table: { blocks: Object.keys(imported.table.entries).length, statistic: imported.table.statistic ?? 'median' },
    subnets,
    predictorExtremes: { smallest: predicted(extremeArchitecture('smallest')), largest: predicted(extremeArchitecture('largest')) },
    baseline: { latencyMs: profile.baseline.metrics['latency']!.mean, accuracy: profile.baseline.metrics['accuracy']!.mean, n: profile.baseline.n },
    paper: device.paper,
    targets: targets(device.paper),
    reportHtml: inRepository(reportHtml),
  };
  if (options.out) {
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, 'reproduce.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(options.out, 'reproduce.md'), reproductionMarkdown(result, device));
  }
  return result;
}

/** One line per compared paper space: where the derived space differs, in words. */
function differenceSummary(c: PaperSpaceComparison): string {
  const { of } = c.agreement;
  const alsoDrops = c.blocks.filter((b) => b.derivedUnits.length < b.paperUnits.length).map((b) => b.block);
  const keeps = c.blocks.filter((b) => b.derivedUnits.length > b.paperUnits.length).map((b) => b.block);
  const ranges = c.caps.filter((cap) => !cap.agree).map((cap) => `u${cap.unit} ${cap.derived.min}-${cap.derived.max} layers (paper ${cap.paper.min}-${cap.paper.max})`);
  const parts = [
    alsoDrops.length > 0 ? `also drops ${alsoDrops.join(', ')}` : '',
    keeps.length > 0 ? `keeps ${keeps.join(', ')}, which the paper drops` : '',
    ranges.length > 0 ? `has ${ranges.join(', ')}` : '',
  ].filter(Boolean);
  return (
    `${c.objective}, against ${c.paper}: the same list for ${c.agreement.blocks} of ${of.blocks} blocks and the same layer range in ${c.agreement.caps} of ${of.caps} units` +
    (parts.length > 0 ? `; the derived space ${parts.join('; ')} (evidence below)` : '')
  );
}

const fixed = (v: number | null, digits: number) => (v === null ? '–' : v.toFixed(digits));

/** Table 2 beside the paper's numbers: the README's table. */
export function table2Markdown(result: Pick<ReproduceResult, 'paper' | 'spec'>): string {
  const rows = result.paper.table2?.rows ?? [];
  return [
    `| space | best predicted top-1, ours (mean ± std, ${result.spec.search.seeds} seeds) | − original (95%) | MACs (mean) | paper (Table 2, OFAPred) |`,
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.arm} | ${r.accuracy.mean.toFixed(2)} ± ${r.accuracy.std.toFixed(2)} | ${r.vsBaseline ? `${r.vsBaseline.estimate >= 0 ? '+' : ''}${r.vsBaseline.estimate.toFixed(2)} [${r.vsBaseline.low.toFixed(2)}, ${r.vsBaseline.high.toFixed(2)}]` : '–'} | ${(r.macs.mean / 1e6).toFixed(0)} M | ${r.published ? `${r.published.mean.toFixed(1)} ± ${r.published.std.toFixed(2)}` : '–'} |`,
    ),
  ].join('\n');
}

/** Fig. 8's Note10 panel as a table: hypervolume ratios to the original's. */
export function fig8Markdown(result: Pick<ReproduceResult, 'paper'>): string {
  const rows = result.paper.fig8?.rows ?? [];
  return [
    '| space | hypervolume (mean ± std) | / original (95%) |',
    '| --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.arm} | ${r.hypervolume.mean.toFixed(2)} ± ${r.hypervolume.std.toFixed(2)} | ${r.ratio ? `${r.ratio.estimate.toFixed(3)} [${r.ratio.low.toFixed(3)}, ${r.ratio.high.toFixed(3)}]` : '1 (baseline)'} |`,
    ),
  ].join('\n');
}

export function reproductionMarkdown(result: ReproduceResult, device: DeviceReport): string {
  const s = result.spec;
  const members = result.subnets.filter((n) => n.member);
  return [
    "# Reproducing the paper's Note10 experiment (`npm run reproduce`)",
    '',
    `Written at ${result.generatedAt} by \`npm run reproduce\` (scripts/reproduce.ts): study \`${result.studyId}\`, preset \`${PRESET}\`. ` +
      `Inputs from ${result.data.files.map((f) => `\`${f.path}\` (sha256 ${f.sha256.slice(0, 12)}…)`).join(' and ')}: OFA's Samsung Note10 per-block table ` +
      `(${result.table.blocks} blocks at ${RESOLUTION}, statistic ${result.table.statistic}) as the device, OFA's accuracy predictor as accuracy (predicted top-1, %).`,
    '',
    `ofa-mbv3 at ${RESOLUTION}, ${s.samplesPerSpec} samples per block specification, ${s.search.seeds} seeds; Pareto search ${s.search.initialSize} + ${s.search.iterations} × ${s.search.budgetPerIteration}, ` +
      `max-accuracy ${s.search.maxAccuracy?.initialSize ?? s.search.initialSize} + ${s.search.maxAccuracy?.iterations ?? s.search.iterations} × ${s.search.maxAccuracy?.budgetPerIteration ?? s.search.budgetPerIteration}. ` +
      `Wall time ${(result.wallSeconds.total / 60).toFixed(1)} min (import ${result.wallSeconds.import.toFixed(1)} s, study ${(result.wallSeconds.study / 60).toFixed(1)} min; the rest is clearing the previous run's folder). Full report: \`${result.reportHtml}\`.`,
    '',
    '## Targets',
    '',
    ...result.targets.map((t) => `- ${t.met ? 'met' : '**not met**'}: ${t.name}: ${t.detail}`),
    '',
    "## The derived spaces against the paper's",
    '',
    ...result.paper.spaces.map((c) => `- ${differenceSummary(c)}`),
    ...result.paper.verdicts.map(
      (v) =>
        `- ${v.objective} search, derived against paper:${v.paper}: ${v.measure} ${v.derivedVsPaper.estimate.toFixed(3)} ` +
        `[${v.derivedVsPaper.low.toFixed(3)}, ${v.derivedVsPaper.high.toFixed(3)}] over ${result.spec.search.seeds} seeds: ` +
        (v.supports === 'neither' ? 'the searches resolve neither space as better' : `the searches support the ${v.supports} space`),
    ),
    '',
    '## Table 2 (OFA rows): best predicted top-1 of the max-accuracy search',
    '',
    table2Markdown(result),
    '',
    `The predictor gives the smallest member (every unit 2 × e3k3) ${result.predictorExtremes.smallest.toFixed(2)} and the largest (every unit 4 × e6k7) ` +
      `${result.predictorExtremes.largest.toFixed(2)} at ${RESOLUTION}; the random baseline's mean is ${result.baseline.accuracy.toFixed(2)} ` +
      `(n=${result.baseline.n}, ${result.baseline.latencyMs.toFixed(1)} ms). An unconstrained max-accuracy search keeps the best of its random initial set, ` +
      "so it cannot end below the baseline's mean: the paper's absolute values (78.9, 79.2) are not the same quantity as ours (a latency-constrained " +
      'run, or another reading of the predictor, would explain them; the paper does not say), so compare the differences, not the levels ' +
      '(docs/accuracy.md says what the predictor predicts).',
    '',
    "## Fig. 8, Note10 panel: hypervolume of every arm's fronts",
    '',
    fig8Markdown(result),
    '',
    ...paperTables(device)
      .filter((t) => t.rows.length > 0 && !['paper-verdicts', 'paper-table2', 'paper-fig8'].includes(t.name))
      .flatMap((t) => [`## ${t.title ?? t.name}`, '', tableToMarkdown({ columns: t.columns.slice(1), rows: t.rows.map((r) => r.slice(1)) }), '']),
    "## OFA's specialized nets on the same inputs",
    '',
    `${members.length} of ${result.subnets.length} nets are members of ofa-mbv3 at ${RESOLUTION}; the others are refused (w1.0 widths, ProxylessNAS blocks, other resolutions).`,
    '',
    '| net | published top-1 | predicted top-1 | published latency (ms) | Note10 table (ms) |',
    '| --- | --- | --- | --- | --- |',
    ...members.map((n) => `| ${n.net} | ${fixed(n.publishedTop1, 1)} | ${fixed(n.predictedTop1, 2)} | ${fixed(n.publishedLatencyMs, 0)} | ${fixed(n.note10Ms, 2)} |`),
    '',
  ].join('\n');
}
