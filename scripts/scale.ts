/**
 * `npm run scale [-- --preset NAME ...] [--search] [--out FILE] [--keep] [--from RESULTS.json]` (--keep leaves each run's
 * folder: store, server db; --from renders a recorded run's results again): the paper presets end to end through Temporal, at
 * their full size (paper-ofa-mbv3: 18,100 architectures, 905 batches per campaign), in minutes. What makes it
 * fast is the device and the accuracy source, both real product paths:
 * - the device is a lookup table built with `blockscope lut build` on cpu-local (every distinct block measured
 *   for real, once; kept in .blockscope/scale/ and reused), served by a `lookup-table` device worker;
 * - accuracy comes from an accuracy table written for the plan (`accuracy.source: table`), from a stated
 *   additive model (accuracyModel below), since neither training nor the NASWOT proxy (~1 s per
 *   architecture) fits in minutes.
 * The orchestrator and the device worker run in their own processes (scripts/scale-worker.ts) so that each
 * one's peak memory and store reads are its own. Recorded into bench/results/scale.{json,md}: wall time per
 * stage, orchestration time per architecture and campaign, the largest history (events, bytes) of every
 * workflow type, store bytes read per batch against the batch's own work list, and each worker's peak RSS.
 * The searches are not part of the default run: an accuracy table covers the plan, not the candidates a search
 * proposes. `--search` runs them too, at the presets' budgets, with accuracy from an evaluator worker that
 * answers with the same model (one activity per architecture, as a user's evaluator, a batch's or a search
 * step's at once; results in scale-search.*).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { accuracyModel } from './scale-model.js';
import type { AggregateStats } from './scale-aggregate.js';
import { DEVICE, ROOT, log, lookupTable, startWorker, stopWorker, updateReadme } from './scale-processes.js';
import type { WorkerStats } from './scale-worker.js';
import type { LatencyMeasurement } from '../activities/devices/index.js';
import { FsArtifactStore } from '../activities/storage/index.js';
import { studyKeys } from '../activities/study/keys.js';
import { readRawSpec } from '../cli/spec-file.js';
import { median } from '../pipelines/stats.js';
import { planStudy } from '../pipelines/study/plan.js';
import { parseStudySpec, type StudySpec } from '../pipelines/study/spec.js';
import { startDevServer } from '../workers/dev-server.js';
import { startStudy } from '../workers/study-client.js';
import { ensureSearchAttributes } from '../workers/temporal.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';

const EVALUATOR_QUEUE = 'scale-evaluator';
const RESULTS = resolve(ROOT, 'bench/results');
/** The issue's targets. */
const TARGETS = { wallMinutes: 30, orchestrationMsPerArch: 50, historyEvents: 10_000, historyBytes: 5 * 1024 * 1024, readRatio: 2 };

/** aggregateProfiles alone on the finished study's store, in a fresh process (scripts/scale-aggregate.ts). */
function aggregateAlone(home: string, storeRoot: string, input: { studyId: string; planKey: string; spec: StudySpec }): NonNullable<PresetResult['aggregation']> {
  const inputFile = join(home, 'aggregate-input.json');
  const statsFile = join(home, 'aggregate-stats.json');
  writeFileSync(inputFile, JSON.stringify(input));
  execFileSync(process.execPath, ['--import', 'tsx', resolve(ROOT, 'scripts/scale-aggregate.ts'), '--store', storeRoot, '--input', inputFile, '--stats', statsFile], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as AggregateStats;
  return { seconds: stats.seconds, baselineRssMiB: stats.baselineRssKiB / 1024, peakRssMiB: stats.peakRssKiB / 1024 };
}

interface HistoryStat {
  type: string;
  workflowId: string;
  runId: string;
  events: number;
  bytes: number;
}

/** Every execution (continued-as-new runs included) of the study's workflows, with its history's size. */
async function historyStats(client: Client, studyId: string): Promise<HistoryStat[]> {
  const out: HistoryStat[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId STARTS_WITH "${studyId}"` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    out.push({
      type: execution.type,
      workflowId: execution.workflowId,
      runId: execution.runId,
      events: history.events?.length ?? 0,
      bytes: proto.temporal.api.history.v1.History.encode(history).finish().length,
    });
  }
  return out;
}

interface CampaignStat {
  campaign: string;
  architectures: number;
  batches: number;
  runs: number;
  wallSeconds: number;
  /** Device (or scorer) time inside the batches: what is not orchestration. */
  workSeconds: number;
  orchestrationMsPerArch: number;
}

async function campaignStat(
  client: Client,
  store: FsArtifactStore,
  campaign: string,
  workflowId: string,
  prefix: string,
  architectures: number,
  workMs: (key: string) => Promise<number>,
): Promise<CampaignStat> {
  const runs: { start: number; close: number }[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
    runs.push({ start: execution.startTime.getTime(), close: execution.closeTime?.getTime() ?? Number.NaN });
  const wallMs = Math.max(...runs.map((r) => r.close)) - Math.min(...runs.map((r) => r.start));
  const keys = await store.list(prefix);
  let work = 0;
  for (const key of keys) work += await workMs(key);
  return {
    campaign,
    architectures,
    batches: keys.length,
    runs: runs.length,
    wallSeconds: wallMs / 1000,
    workSeconds: work / 1000,
    orchestrationMsPerArch: (wallMs - work) / architectures,
  };
}

function searchStat(stats: WorkerStats[], planned: number, seconds: number): NonNullable<PresetResult['search']> {
  const evaluations = (stats.find((s) => s.evaluations !== undefined)?.evaluations ?? 0) - planned;
  return { evaluations, seconds, msPerEvaluation: (1000 * seconds) / evaluations };
}

interface PresetResult {
  preset: string;
  space: string;
  architectures: number;
  specs: number;
  batchesPerCampaign: { accuracy: number; latency: number };
  planBytes: number;
  lookupTable: { path: string; builtSeconds: number | null };
  wallSeconds: { total: number; stages: Record<string, number> };
  campaigns: CampaignStat[];
  histories: { type: string; largestEvents: number; largestBytes: number; executions: number; workflowId: string }[];
  batchReads: { activity: string; batches: number; medianBytes: number; maxBytes: number; medianOwnBytes: number; maxRatio: number; planReads: number }[];
  workers: { role: string; peakRssMiB: number }[];
  /** Whether the presets' searches ran (accuracy from the evaluator worker). */
  searched: boolean;
  /** aggregateProfiles alone, in a fresh process after the study: its time and memory above the process's own. */
  aggregation: { seconds: number; baselineRssMiB: number; peakRssMiB: number };
  /** With --search: the evaluator's calls beyond the accuracy campaign's, and the search stage's wall time per call. */
  search?: { evaluations: number; seconds: number; msPerEvaluation: number };
}

async function runPreset(preset: string, search: boolean, keep: boolean): Promise<PresetResult> {
  const raw = readRawSpec(preset) as Record<string, unknown>;
  const base = parseStudySpec(raw);
  const home = mkdtempSync(join(tmpdir(), `blockscope-scale-${preset}-`));
  const lut = lookupTable(base.space);
  const devicesFile = join(home, 'devices.yaml');
  writeFileSync(devicesFile, `devices:\n  - id: ${DEVICE}\n    backend: lookup-table\n    table: ${lut.path}\n`);
  const table = join(home, 'accuracy.csv');
  const rawSpec = search
    ? { ...raw, name: `scale-search-${preset}`, devices: [DEVICE], accuracy: { source: 'evaluator', evaluatorTaskQueue: EVALUATOR_QUEUE, batchSize: base.accuracy.batchSize } }
    : {
        ...raw,
        name: `scale-${preset}`,
        devices: [DEVICE],
        accuracy: { source: 'table', table, batchSize: base.accuracy.batchSize },
        // An accuracy table covers the plan, not the candidates a search proposes: this run stops at the report.
        search: { objectives: [] },
      };
  const spec: StudySpec = parseStudySpec(rawSpec);
  const plan = planStudy(spec);
  if (!search) writeFileSync(table, ['hash,top1', ...plan.architectures.map(({ hash, arch }) => `${hash},${accuracyModel(arch).toFixed(4)}`), ''].join('\n'));
  log(`${preset}: ${plan.architectures.length} architectures, ${plan.specs.length} specs; home ${home}`);

  const server = await startDevServer({ dbFile: join(home, 'temporal.db'), headless: true });
  const connection = await Connection.connect({ address: server.address });
  await ensureSearchAttributes(connection, server.namespace);
  const client = new Client({ connection, namespace: server.namespace });
  const storeRoot = join(home, 'store');
  const store = new FsArtifactStore(storeRoot);
  const workerOptions = { address: server.address, store: `fs://${storeRoot}`, devices: devicesFile };
  const statsFiles = { orchestrator: join(home, 'orchestrator-stats.json'), device: join(home, 'device-stats.json'), evaluator: join(home, 'evaluator-stats.json') };
  const workers: Partial<Record<keyof typeof statsFiles, ChildProcess>> = {
    orchestrator: await startWorker('orchestrator', { ...workerOptions, stats: statsFiles.orchestrator }),
    device: await startWorker(`device:${DEVICE}`, { ...workerOptions, stats: statsFiles.device }),
    ...(search ? { evaluator: await startWorker(`evaluator:${EVALUATOR_QUEUE}`, { ...workerOptions, stats: statsFiles.evaluator }) } : {}),
  };
  try {
    const started = performance.now();
    const study = await startStudy(client, rawSpec);
    // Stage times from the study's own search attribute, polled.
    const stages: Record<string, number> = {};
    let stage = '';
    let stageStarted = started;
    const poll = setInterval(() => {
      void study.handle.describe().then(
        (d) => {
          const now = d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage) ?? '';
          if (now && now !== stage && now !== 'done') {
            if (stage) stages[stage] = (performance.now() - stageStarted) / 1000;
            log(`${preset}: ${now}`);
            stage = now;
            stageStarted = performance.now();
          }
        },
        () => undefined,
      );
    }, 1000);
    try {
      await study.handle.result();
    } finally {
      clearInterval(poll);
    }
    if (stage) stages[stage] = (performance.now() - stageStarted) / 1000;
    const totalSeconds = (performance.now() - started) / 1000;
    log(`${preset}: done in ${totalSeconds.toFixed(0)} s`);

    const keys = studyKeys(study.workflowId);
    const campaigns = [
      await campaignStat(client, store, 'accuracy', `${study.workflowId}.accuracy`, keys.accuracyPrefix, plan.architectures.length, async () => 0),
      await campaignStat(client, store, `latency ${DEVICE}`, `${study.workflowId}.latency.${DEVICE}`, keys.latencyPrefix(DEVICE), plan.architectures.length, async (key) =>
        (await store.getJson<LatencyMeasurement[]>(key)).reduce((acc, m) => acc + m.breakdown.totalMs, 0),
      ),
    ];
    const histories = await historyStats(client, study.workflowId);
    const byType = new Map<string, HistoryStat[]>();
    for (const h of histories) byType.set(h.type, [...(byType.get(h.type) ?? []), h]);

    const stats: WorkerStats[] = [];
    for (const [role, child] of Object.entries(workers)) stats.push(await stopWorker(child, statsFiles[role as keyof typeof statsFiles]));
    // With an evaluator, the accuracy batch's work list is read by planBatch.
    const batchReads = [search ? 'planBatch' : 'scoreAccuracyBatch', 'measureBatch'].map((activity) => {
      const perBatch = new Map<string, { bytes: number; own: number; plan: number }>();
      for (const tally of stats.flatMap((s) => s.reads)) {
        const [workflowId, runId, activityId, type] = tally.label.split(' ');
        if (type !== activity || !workflowId?.startsWith(study.workflowId)) continue;
        // Activity ids restart in every continued-as-new run of a campaign.
        const id = `${workflowId} ${runId} ${activityId}`;
        const entry = perBatch.get(id) ?? { bytes: 0, own: 0, plan: 0 };
        entry.bytes += tally.bytes;
        if (tally.key.includes('/work/')) entry.own += tally.bytes;
        if (tally.key === keys.plan) entry.plan += tally.objects;
        perBatch.set(id, entry);
      }
      const entries = [...perBatch.values()];
      return {
        activity,
        batches: entries.length,
        medianBytes: median(entries.map((e) => e.bytes)),
        maxBytes: Math.max(...entries.map((e) => e.bytes)),
        medianOwnBytes: median(entries.map((e) => e.own)),
        maxRatio: Math.max(...entries.map((e) => e.bytes / e.own)),
        planReads: entries.reduce((acc, e) => acc + e.plan, 0),
      };
    });
    return {
      preset,
      space: spec.space,
      architectures: plan.architectures.length,
      specs: plan.specs.length,
      batchesPerCampaign: { accuracy: Math.ceil(plan.architectures.length / spec.accuracy.batchSize), latency: Math.ceil(plan.architectures.length / spec.measurement.batchSize) },
      planBytes: (await store.get(keys.plan)).length,
      lookupTable: lut,
      wallSeconds: { total: totalSeconds, stages },
      campaigns,
      histories: [...byType].map(([type, list]) => {
        const largest = list.reduce((a, b) => (b.bytes > a.bytes ? b : a));
        return { type, largestEvents: Math.max(...list.map((h) => h.events)), largestBytes: largest.bytes, executions: list.length, workflowId: largest.workflowId };
      }),
      batchReads,
      workers: stats.map((s) => ({ role: s.role, peakRssMiB: s.peakRssKiB / 1024 })),
      aggregation: aggregateAlone(home, storeRoot, { studyId: study.workflowId, planKey: keys.plan, spec }),
      searched: search,
      ...(search ? { search: searchStat(stats, plan.architectures.length, stages['search'] ?? Number.NaN) } : {}),
    };
  } finally {
    for (const child of Object.values(workers)) if (child?.exitCode === null) child.kill('SIGKILL');
    await connection.close();
    await server.stop();
    if (keep) log(`${preset}: kept ${home}`);
    else rmSync(home, { recursive: true, force: true });
  }
}

function markdown(results: PresetResult[], generatedAt: string): string {
  const lines = [
    '# Paper-scale runs (`npm run scale`)',
    '',
    `Written by \`npm run scale\` at ${generatedAt}: the paper presets end to end through a Temporal dev server, the orchestrator and a lookup-table device worker in their own processes, ${results.some((r) => r.searched) ? "accuracy for the plan and the searches' candidates from an evaluator worker answering with the scale run's model" : 'accuracy from a table written for the plan'} (scripts/scale.ts says why and how). Targets (issue 13): wall ≤ ${TARGETS.wallMinutes} min for both campaigns, aggregation and insights; orchestration ≤ ${TARGETS.orchestrationMsPerArch} ms per architecture per campaign; no history above ${TARGETS.historyEvents} events or 5 MB; store bytes read per batch ≤ ${TARGETS.readRatio}× the batch's own data.`,
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.preset}: ${r.architectures} architectures (${r.specs} specs), ${r.batchesPerCampaign.latency} latency and ${r.batchesPerCampaign.accuracy} accuracy batches`, '');
    lines.push(
      `Wall time ${(r.wallSeconds.total / 60).toFixed(1)} min (${Object.entries(r.wallSeconds.stages)
        .map(([s, v]) => `${s} ${v.toFixed(0)} s`)
        .join(
          ', ',
        )})${r.searched ? ", the presets' searches included, accuracy from an evaluator worker" : ''}; plan ${(r.planBytes / 1e6).toFixed(1)} MB.${r.lookupTable.builtSeconds === null ? '' : ` The lookup table was built first, in ${r.lookupTable.builtSeconds.toFixed(0)} s.`}`,
      '',
    );
    if (r.search)
      lines.push(
        `Searches: ${r.search.evaluations} evaluations by the evaluator worker in ${r.search.seconds.toFixed(0)} s of search stage, ${r.search.msPerEvaluation.toFixed(1)} ms per evaluation (front re-measurement and latency prediction included).`,
        '',
      );
    lines.push(
      '| campaign | architectures | batches | runs (continue-as-new) | wall (s) | device/scorer time (s) | orchestration per architecture (ms) |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const c of r.campaigns)
      lines.push(
        `| ${c.campaign} | ${c.architectures} | ${c.batches} | ${c.runs} | ${c.wallSeconds.toFixed(1)} | ${c.workSeconds.toFixed(1)} | ${c.orchestrationMsPerArch.toFixed(1)} |`,
      );
    lines.push('', '| workflow type | executions | largest history (events) | largest history (bytes) |', '| --- | --- | --- | --- |');
    for (const h of r.histories) lines.push(`| ${h.type} | ${h.executions} | ${h.largestEvents} | ${h.largestBytes} |`);
    lines.push('', '| batch activity | batches | bytes read (median / max) | its work list (median) | max read / own | reads of plan.json |', '| --- | --- | --- | --- | --- | --- |');
    for (const b of r.batchReads) lines.push(`| ${b.activity} | ${b.batches} | ${b.medianBytes} / ${b.maxBytes} | ${b.medianOwnBytes} | ${b.maxRatio.toFixed(2)} | ${b.planReads} |`);
    lines.push('', `Peak RSS: ${r.workers.map((w) => `${w.role} ${w.peakRssMiB.toFixed(0)} MiB`).join(', ')}.`, '');
    lines.push(
      `Aggregation alone (aggregateProfiles on the finished store, in a fresh process: scripts/scale-aggregate.ts): ${r.aggregation.seconds.toFixed(1)} s, peak RSS ${r.aggregation.peakRssMiB.toFixed(0)} MiB, ${(r.aggregation.peakRssMiB - r.aggregation.baselineRssMiB).toFixed(0)} MiB above the process's ${r.aggregation.baselineRssMiB.toFixed(0)} MiB before it.`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

const { values } = parseArgs({
  options: {
    preset: { type: 'string', multiple: true },
    search: { type: 'boolean', default: false },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    from: { type: 'string' },
  },
});

/** The README's summary, between its scale (or scale-search) markers. */
function readmeSection(results: PresetResult[], generatedAt: string, search: boolean): string {
  const rows = results.map((r) => {
    const history = r.histories.reduce((a, b) => (b.largestEvents > a.largestEvents ? b : a));
    const bytes = Math.max(...r.histories.map((h) => h.largestBytes));
    return `| ${r.preset} | ${r.architectures} | ${(r.wallSeconds.total / 60).toFixed(1)} min | ${r.campaigns.map((c) => `${c.campaign} ${c.orchestrationMsPerArch.toFixed(1)}`).join(', ')} | ${history.largestEvents} events (${history.type}), ${(bytes / 1024).toFixed(0)} KiB | ${Math.max(...r.batchReads.map((b) => b.maxRatio)).toFixed(2)}x | ${r.workers.map((w) => `${w.role.replace(/^(device|evaluator):/, '')} ${w.peakRssMiB.toFixed(0)}`).join(', ')} |`;
  });
  const intro = search
    ? `Latest \`npm run scale -- --search\` (${generatedAt}; details in [bench/results/scale-search.md](bench/results/scale-search.md)): the same with accuracy for the plan and for every search candidate from an evaluator worker (one \`evaluateAccuracy\` activity per architecture, as a user's evaluator), and the presets' searches at their budgets. ${results.map((r) => (r.search ? `${r.preset}: ${r.search.evaluations} search evaluations in ${r.search.seconds.toFixed(0)} s, ${r.search.msPerEvaluation.toFixed(1)} ms each.` : '')).join(' ')}`
    : `Latest \`npm run scale\` (${generatedAt}; details in [bench/results/scale.md](bench/results/scale.md)): the paper presets end to end through Temporal with a lookup-table device and an accuracy table, both campaigns, aggregation, insights and report (no search).`;
  return [
    intro,
    '',
    `| preset | architectures | wall (target ≤ ${TARGETS.wallMinutes} min) | orchestration ms per architecture (≤ ${TARGETS.orchestrationMsPerArch}) | largest history (≤ ${TARGETS.historyEvents} events, 5 MB) | max bytes read per batch / its own (≤ ${TARGETS.readRatio}x) | peak RSS MiB |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

interface ScaleResults {
  kind: 'blockscope.scale/v1';
  generatedAt: string;
  targets: typeof TARGETS;
  results: PresetResult[];
}

// --from FILE renders an earlier run's results again (after a change to the report's wording) without running it.
const recorded = values.from ? (JSON.parse(readFileSync(values.from, 'utf8')) as ScaleResults) : undefined;
const search = recorded ? recorded.results.some((r) => r.searched) : (values.search ?? false);
const results: PresetResult[] = recorded?.results ?? [];
if (!recorded) for (const preset of values.preset ?? ['paper-ofa-mbv3', 'paper-proxylessnas']) results.push(await runPreset(preset, search, values.keep ?? false));
const generatedAt = recorded?.generatedAt ?? new Date().toISOString();
const out = values.out ?? join(RESULTS, search ? 'scale-search' : 'scale');
writeFileSync(`${out}.json`, `${JSON.stringify({ kind: 'blockscope.scale/v1', generatedAt, targets: TARGETS, results } satisfies ScaleResults, null, 2)}\n`);
writeFileSync(`${out}.md`, markdown(results, generatedAt));
if (values.out === undefined) updateReadme(search ? 'scale-search' : 'scale', readmeSection(results, generatedAt, search));
log(`wrote ${out}.json and .md`);
