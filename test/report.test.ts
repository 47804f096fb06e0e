/**
 * The study report from a real small study (embedded Temporal dev server, onnxruntime measurements,
 * NASWOT proxy, searches on both spaces): its data, HTML, JSON and CSV forms, and the HTML in a real
 * headless Chromium (Debian's /usr/bin/chromium, installed by scripts/install-chromium.sh).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../activities/storage/index.js';
import { createReportActivities, loadReportInputs, studyReportFiles, type RenderStudyReportInput } from '../activities/study/report.js';
import { buildReportData, escapeHtml, formatMeanStd, renderReportHtml, reportTablesCsv, type ReportData, type ReportInputs } from '../pipelines/report/index.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { startEmbedded, type Embedded } from '../workers/embedded.js';
import { startStudy } from '../workers/study-client.js';
import type { StudyResult } from '../workflows/definitions.js';
import { TEST_DEVICE, TEST_TIMEOUTS, smallSpec, tempDir, writeTestDevicesFile } from './helpers/study.js';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = resolve(import.meta.dirname, '../test-results');
const UI = 'http://127.0.0.1:8233';
const DESCRIPTION = 'report test: <b>bold & "quoted"</b>';

const rawSpec = smallSpec('report', {
  description: DESCRIPTION,
  // Two choices at u2.l1, so the report has a sensitivity to show.
  blocks: ['u0.l0.e3k3', 'u4.l3.e6k7', 'u2.l1.e6k5', 'u2.l1.e3k3'],
  samplesPerSpec: 3,
  insights: { objectives: ['pareto', 'max-accuracy'] },
  // Three arms: the original space, the derived one and the paper's NPU space (Fig. 8's comparison).
  search: {
    objectives: ['pareto', 'max-accuracy'],
    seeds: 2,
    initialSize: 6,
    iterations: 1,
    budgetPerIteration: 4,
    maxAccuracy: { initialSize: 6, iterations: 1, budgetPerIteration: 4, topK: 2 },
    spaces: ['original', 'derived', 'paper:npu'],
    remeasureFront: true,
  },
});
const spec = parseStudySpec(rawSpec);

let home: string;
let embedded: Embedded | undefined;
let store: FsArtifactStore;
let result: StudyResult;
let input: RenderStudyReportInput;
let inputs: ReportInputs;
let data: ReportData;
let html: string;

/** Figures one device of this study has: the drift probes, an expand × kernel grid and a heatmap per profile metric, two sensitivity bars, the correlation, the Pareto fronts. */
const FIGURE_IDS = [
  `drift-${TEST_DEVICE}`,
  ...['accuracy', 'latency', 'macs', 'params'].map((metric) => `grid-${TEST_DEVICE}-r160-${metric}`),
  ...['accuracy', 'latency', 'macs', 'params'].map((metric) => `heatmap-${TEST_DEVICE}-r160-${metric}`),
  `sensitivity-units-${TEST_DEVICE}`,
  `sensitivity-layers-${TEST_DEVICE}`,
  `correlation-${TEST_DEVICE}`,
  `pareto-${TEST_DEVICE}`,
];

beforeAll(async () => {
  home = tempDir('report');
  embedded = await startEmbedded({ home, headless: true, devicesFile: writeTestDevicesFile(home), devices: [TEST_DEVICE] });
  const started = await startStudy(embedded.client, rawSpec, { timeouts: TEST_TIMEOUTS, uiUrl: UI });
  result = await started.handle.result();
  store = new FsArtifactStore(join(home, 'store'));
  input = await recordedReportInput(started.handle);
  inputs = await loadReportInputs(store, input);
  data = buildReportData(inputs);
}, 600_000);

/** The input the study workflow gave its report activity, decoded from the workflow's history. */
async function recordedReportInput(handle: WorkflowHandle): Promise<RenderStudyReportInput> {
  const history = await handle.fetchHistory();
  const scheduled = history.events?.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'renderStudyReport');
  const payload = scheduled?.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error('the study history has no renderStudyReport activity');
  return defaultPayloadConverter.fromPayload<RenderStudyReportInput>(payload);
}

afterAll(async () => {
  await embedded?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('report data', () => {
  it('collects every table from the study artifacts', () => {
    expect(data.study).toMatchObject({ id: result.studyId, accuracySource: 'naswot-proxy', accuracyLabel: 'NASWOT proxy score', architectures: result.prepared.architectures });
    const [device] = data.devices;
    expect(device!.device).toBe(TEST_DEVICE);
    const profile = device!.profiles[0]!;
    expect(profile.metrics).toEqual(['accuracy', 'latency', 'macs', 'params']);
    expect(profile.blocks).toEqual(['e3k3', 'e6k5', 'e6k7']);
    expect(profile.rows[0]).toMatch(/^baseline/);
    // One cell per spec plus the baseline row's cell in every block column.
    expect(profile.cells['latency']).toHaveLength(4 + profile.blocks.length);
    // The paper's figure: each (expand, kernel) cell the mean of its specs' effects over the positions profiled.
    expect(profile.grid).toMatchObject({ expands: [3, 6], kernels: [3, 5, 7] });
    const specCells = profile.cells['latency']!.filter((c) => c.specId !== 'baseline');
    for (const cell of profile.grid!.cells['latency']!) {
      const own = specCells.filter((c) => c.block === `e${cell.expand}k${cell.kernel}`);
      expect(cell.positions).toBe(own.length);
      expect(cell.effect).toBeCloseTo(own.reduce((acc, c) => acc + c.effectRel, 0) / own.length, 12);
    }
    expect(profile.grid!.cells['latency']!.map((c) => `e${c.expand}k${c.kernel}`).sort()).toEqual([...new Set(specCells.map((c) => c.block))].sort());
    expect(device!.sensitivity!.layers.some((l) => l.unit === 'u2' && l.position === 'l1')).toBe(true);
    expect(device!.insights.map((v) => v.objective).sort()).toEqual(['max-accuracy', 'pareto']);
    expect(device!.pareto!.seeds).toEqual(['1', '2']);
    expect(device!.pareto!.points.length).toBeGreaterThan(0);
    expect(device!.pareto!.points.every((p) => p.measuredLatencyMs !== null)).toBe(true);
    expect(device!.maxAccuracy!.best).toHaveLength(6);
    expect(device!.maxAccuracy!.arms.map((a) => a.arm)).toEqual(['original', 'derived', 'paper:npu']);
    expect(device!.pareto!.predicted.arms.map((a) => a.arm)).toEqual(['original', 'derived', 'paper:npu']);
    expect(new Set(device!.pareto!.points.map((p) => p.arm))).toEqual(new Set(['original', 'derived', 'paper:npu']));
    expect(data.reproduction.fingerprints.map((f) => f.device)).toEqual([TEST_DEVICE]);
    expect(data.reproduction.timings.find((t) => t.stage === 'profiling')).toMatchObject({ architectures: result.prepared.architectures });
    expect(data.reproduction.searchRuns).toHaveLength(12);
    // The paper's NPU space has no kernel-7 block: its runs searched it.
    const npuRuns = inputs.searches.filter((r) => r.arm === 'paper:npu');
    expect(npuRuns).toHaveLength(4);
    for (const run of npuRuns) expect(run.result.front.every((e) => e.arch.units.flat().every((b) => !b.endsWith('k7')))).toBe(true);
    // The study, its accuracy and latency campaigns, and 2 objectives x 3 spaces x 2 seeds searches.
    const workflowIds = data.workflows.map((w) => w.workflowId);
    expect(workflowIds[0]).toBe(result.studyId);
    expect(workflowIds).toContain(`${result.studyId}.latency.${TEST_DEVICE}`);
    expect(workflowIds).toHaveLength(1 + 2 + 12);
    expect(workflowIds).toContain(`${result.studyId}.search.${TEST_DEVICE}.pareto.paper-npu.seed2`);
    expect(workflowIds).toContain(`${result.studyId}.search.${TEST_DEVICE}.pareto.pruned.seed1`);
  });

  it('writes one CSV per table', () => {
    const csv = reportTablesCsv(data);
    expect(Object.keys(csv)).toEqual(
      expect.arrayContaining([
        'profiles.csv',
        'sensitivity-units.csv',
        'insights.csv',
        'space-diff.csv',
        'hypervolume.csv',
        'pareto-fronts.csv',
        'max-accuracy.csv',
        'fingerprints.csv',
        'timings.csv',
      ]),
    );
    // Header, then per metric a baseline row and one row per spec.
    expect(csv['profiles.csv']!.trim().split('\n')).toHaveLength(1 + 4 * (1 + 4));
    expect(csv['profiles.csv']).toContain(`${TEST_DEVICE},160,latency,u2.l1.e3k3,u2,1,e3k3,3,`);
    const sentence = data.devices[0]!.insights[0]!.insights[0]!.sentence;
    expect(csv['insights.csv']).toContain(sentence.includes(',') ? `"${sentence.replace(/"/g, '""')}"` : sentence);
    expect(
      csv['max-accuracy.csv']!.trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',')[1]),
    ).toEqual(['original', 'derived', 'paper:npu']);
    // One row per arm, with predicted and with re-measured latencies.
    expect(
      csv['hypervolume.csv']!.trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',').slice(1, 3).join(' ')),
    ).toEqual(['predicted', 're-measured'].flatMap((latency) => ['original', 'derived', 'paper:npu'].map((arm) => `${latency} ${arm}`)));
  });
});

describe('report HTML', () => {
  beforeAll(async () => {
    // The report the study rendered as its last stage.
    const refs = result.report!;
    expect(refs.htmlKey).toBe(`studies/${result.studyId}/report/report.html`);
    expect(refs.csvKeys).toContain(`studies/${result.studyId}/report/tables/hypervolume.csv`);
    expect(await store.getJson<ReportData>(refs.jsonKey)).toMatchObject({ kind: 'blockscope.report/v1', study: { id: result.studyId } });
    html = await store.getText(refs.htmlKey);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'report.html'), html);
  }, 120_000);

  it('says why the latency regression was not fitted for a study this small', () => {
    expect(html).toMatch(/Latency block effects by regression: not fitted \(\d+ architectures cannot identify \d+ parameters; it needs more than \d+\)/);
  });

  it('has one inline SVG per figure and nothing to fetch', () => {
    expect(html.match(/<svg\b/g)).toHaveLength(FIGURE_IDS.length);
    for (const id of FIGURE_IDS) expect(html).toMatch(new RegExp(`<figure class="figure" id="${id}"[^>]*><svg`));
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|@import|url\((?!#)/i);
    // The only absolute URLs are links to the Temporal UI (and the SVG namespace names).
    const urls = [...html.matchAll(/https?:\/\/[^"'\s<)]+/g)].map((m) => m[0]).filter((u) => !u.startsWith('http://www.w3.org/'));
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => u.startsWith(`${UI}/namespaces/default/workflows/`))).toBe(true);
  });

  it("sets the paper space it searched beside the derived one, with Table 2's and Fig. 8's rows", () => {
    const paper = data.devices[0]!.paper!;
    expect(paper.spaces.map((c) => [c.paper, c.objective])).toEqual([['npu', 'pareto']]);
    expect(paper.spaces[0]!.blocks).toHaveLength(9);
    for (const row of paper.spaces[0]!.blocks) expect(row.contrasts === null).toBe(row.agree);
    expect(paper.fig8!.rows.map((r) => r.arm)).toEqual(['original', 'derived', 'paper:npu']);
    expect(paper.fig8!.rows[0]!.ratio).toBeNull();
    // NASWOT is not the paper's accuracy: no published figure sits beside it.
    expect(paper.table2!.rows.every((r) => r.published === null)).toBe(true);
    expect(paper.verdicts.map((v) => v.paper)).toEqual(['npu']);
    expect(html).toContain("Reproduction: the paper's spaces and figures");
    expect(Object.keys(reportTablesCsv(data))).toEqual(expect.arrayContaining(['paper-blocks.csv', 'paper-caps.csv', 'paper-table2.csv', 'paper-fig8.csv', 'paper-verdicts.csv']));
  });

  it('names the proxy honestly and shows the insights, the spec and the hypervolumes', () => {
    expect(html).toContain('NASWOT proxy score — cpu-test @ 160px');
    expect(html).not.toMatch(/top-1 accuracy/);
    for (const view of data.devices[0]!.insights) for (const insight of view.insights) expect(html).toContain(escapeHtml(insight.sentence));
    expect(html).toContain(escapeHtml(JSON.stringify(spec, null, 2)));
    expect(html).toContain(escapeHtml(DESCRIPTION));
    expect(html).not.toContain(DESCRIPTION);
    const pareto = inputs.comparisons.find((c) => c.objective === 'pareto')!.comparison;
    if (pareto.objective !== 'pareto') throw new Error('expected a Pareto comparison');
    expect(pareto.baseline).toBe('original');
    for (const arm of pareto.arms) {
      expect(html).toContain(escapeHtml(formatMeanStd(arm.hypervolume)));
      expect(html).toContain(arm.ratio!.toFixed(3));
    }
    expect(html).toContain(`${UI}/namespaces/default/workflows/${result.studyId}`);
    expect(html).toContain(data.reproduction.fingerprints[0]!.fingerprintHash);
  });

  it('renders the same bytes every time, so the immutable store accepts a retried activity', async () => {
    expect((await studyReportFiles(store, input)).html).toBe(html);
    await expect(createReportActivities({ store }).renderStudyReport(input)).resolves.toEqual(result.report);
  });

  it('calls top-1 accuracy what it is when the study has real accuracies', async () => {
    const table = buildReportData({ ...inputs, spec: { ...spec, accuracy: { ...spec.accuracy, source: 'table', table: 'acc.csv' } } });
    const text = await renderReportHtml(table);
    expect(text).toContain('top-1 accuracy (%) — cpu-test @ 160px');
    expect(text).not.toContain('NASWOT');
    // Without a UI link the workflow ids are plain text.
    expect(text).not.toMatch(/<a href="http/);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    `renders in headless Chromium without console errors${existsSync(CHROMIUM) ? '' : ` (SKIPPED: ${CHROMIUM} is absent; run scripts/install-chromium.sh)`}`,
    async () => {
      const profileDir = mkdtempSync(join(tmpdir(), 'blockscope-chromium-'));
      const context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await context.newPage();
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
        page.on('request', (request) => requests.push(request.url()));
        const file = pathToFileURL(join(RESULTS, 'report.html')).href;
        await page.goto(file, { waitUntil: 'load' });

        expect(problems).toEqual([]);
        expect(requests).toEqual([file]);
        expect(await page.title()).toBe(`blockscope study ${spec.name}`);
        expect(await page.locator('figure.figure > svg').count()).toBe(FIGURE_IDS.length);
        for (const id of FIGURE_IDS) {
          const svg = page.locator(`figure#${id} > svg`);
          await expect(svg.isVisible()).resolves.toBe(true);
          const box = await svg.boundingBox();
          expect(box!.width, id).toBeGreaterThan(150);
          expect(box!.height, id).toBeGreaterThan(100);
          // Marks were drawn: the heatmap cells, bars, points and lines are SVG paths.
          expect(await svg.locator('path').count(), id).toBeGreaterThan(3);
        }
        await expect(page.locator('li[data-insight]').count()).resolves.toBe(data.devices[0]!.insights.reduce((n, v) => n + v.insights.length, 0));
        await page.screenshot({ path: join(RESULTS, 'report.png'), fullPage: true });
        expect(existsSync(join(RESULTS, 'report.png'))).toBe(true);
      } finally {
        await context.close();
        rmSync(profileDir, { recursive: true, force: true });
      }
    },
  );
});
