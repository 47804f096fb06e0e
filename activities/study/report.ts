/**
 * The report stage: loads a finished study's artifacts, builds the report data (pipelines/report) and
 * writes the self-contained HTML report, its JSON and one CSV per table to the store.
 */
import { readFileSync } from 'node:fs';
import type { InsightReport } from '../../pipelines/insights.js';
import type { BlockProfile } from '../../pipelines/profile.js';
import {
  RENDERER_VERSIONS,
  buildReportData,
  renderReportHtml,
  reportTablesCsv,
  type ComparisonArtifact,
  type ReportData,
  type ReportInputs,
  type ReportFingerprint,
  type ReportMeasurement,
  type ReportSearchRun,
} from '../../pipelines/report/index.js';
import { armOfKey } from '../../pipelines/search/arms.js';
import type { SearchResult } from '../../pipelines/search/search.js';
import type { StudyPlan } from '../../pipelines/study/plan.js';
import { studySearchWorkflowIds, type StudySpec } from '../../pipelines/study/spec.js';
import type { LatencyMeasurement } from '../devices/index.js';
import type { ArtifactStore } from '../storage/index.js';
import type { ComparisonRef, InsightRef, ProfileRef } from './contracts.js';
import { readBatches } from './batch.js';
import { studyKeys } from './keys.js';

export interface RenderStudyReportInput {
  studyId: string;
  spec: StudySpec;
  /** The StudyResult's parts: which profiles, insight reports and search comparisons the study wrote. */
  profiles: ProfileRef[];
  insights: InsightRef[];
  comparisons: ComparisonRef[];
  /** Base URL of the Temporal Web UI (e.g. http://127.0.0.1:8233); without it workflow ids are not links. */
  uiUrl?: string;
  /** Temporal namespace of the links; default "default". */
  namespace?: string;
  /** Child workflows to list and link besides the study (its campaigns; the searches are found from the spec). */
  workflows?: { label: string; workflowId: string }[];
}

export interface StudyReportRef {
  htmlKey: string;
  jsonKey: string;
  csvKeys: string[];
}

export interface StudyReportFiles {
  html: string;
  data: ReportData;
  /** CSV text by file name (`profiles.csv`, ...). */
  csv: Record<string, string>;
}

/** A search result's key: .../<arm key>/seed-<n>.json (see armKey). */
const SEARCH_RESULT = /\/([a-z0-9_-]+)\/seed-[^/]+\.json$/;

/** Versions of what produced the study and renders the report; read once per process. */
let software: Record<string, string> | undefined;
function softwareVersions(): Record<string, string> {
  if (!software) {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; dependencies: Record<string, string> };
    const pinned = (name: string) => (manifest.dependencies[name] ? { [name]: manifest.dependencies[name] } : {});
    software = {
      blockscope: manifest.version,
      node: process.version,
      ...pinned('@temporalio/worker'),
      ...pinned('onnxruntime-node'),
      ...RENDERER_VERSIONS,
    };
  }
  return software;
}

/** Everything buildReportData needs, from the store. */
export async function loadReportInputs(store: ArtifactStore, input: RenderStudyReportInput): Promise<ReportInputs> {
  const keys = studyKeys(input.studyId);
  const comparisons = await Promise.all(input.comparisons.map((ref) => store.getJson<ComparisonArtifact>(ref.key)));
  const searches: ReportSearchRun[] = [];
  const remeasured: ReportInputs['remeasured'] = [];
  for (const { device, objective } of input.comparisons) {
    for (const key of (await store.list(keys.searchPrefix(device, objective))).filter((k) => SEARCH_RESULT.test(k))) {
      const arm = armOfKey(SEARCH_RESULT.exec(key)![1]!);
      if (arm) searches.push({ device, arm, result: await store.getJson<SearchResult>(key) });
    }
    const remeasuredKey = keys.remeasured(device, objective);
    if (await store.exists(remeasuredKey)) remeasured.push({ device, objective, measurements: await store.getJson<LatencyMeasurement[]>(remeasuredKey) });
  }
  return {
    studyId: input.studyId,
    spec: input.spec,
    plan: await store.getJson<StudyPlan>(keys.plan),
    profiles: await Promise.all(input.profiles.map((ref) => store.getJson<BlockProfile>(ref.jsonKey))),
    insights: await Promise.all(input.insights.map((ref) => store.getJson<InsightReport>(ref.reportKey))),
    comparisons,
    searches,
    measurements: await Promise.all(input.spec.devices.map(async (device) => ({ device, measurements: await readBatches(store, keys.latencyPrefix(device), reportMeasurement()) }))),
    remeasured,
    software: softwareVersions(),
    ...(input.workflows ? { workflows: withSearches(input.workflows, input.studyId, input.spec) } : {}),
  };
}

/** The study's child workflows with its searches, which a study recorded before listed itself. */
function withSearches(workflows: { label: string; workflowId: string }[], studyId: string, spec: StudySpec): { label: string; workflowId: string }[] {
  const listed = new Set(workflows.map((w) => w.workflowId));
  return [
    ...workflows,
    ...studySearchWorkflowIds(studyId, spec)
      .filter((id) => !listed.has(id))
      .map((workflowId) => ({ label: 'search', workflowId })),
  ];
}

/**
 * A measurement as the report keeps it: its scalars, and one shared fingerprint and protocol object per hash
 * (a campaign has one or a few), not the timed runs and a copy of the fingerprint for every architecture.
 */
function reportMeasurement(): (m: LatencyMeasurement) => ReportMeasurement {
  const fingerprints = new Map<string, ReportFingerprint>();
  const protocols = new Map<string, ReportMeasurement['protocol']>();
  const shared = <V>(seen: Map<string, V>, hash: string, value: V): V => {
    if (!seen.has(hash)) seen.set(hash, value);
    return seen.get(hash)!;
  };
  return (m) => ({
    device: m.device,
    archHash: m.archHash,
    medianMs: m.medianMs,
    fromCache: m.fromCache,
    startedAt: m.startedAt,
    measuredAt: m.measuredAt,
    fingerprint: shared(fingerprints, m.fingerprintHash, m.fingerprint),
    fingerprintHash: m.fingerprintHash,
    protocol: shared(protocols, m.protocolHash, m.protocol),
    protocolHash: m.protocolHash,
    breakdown: { totalMs: m.breakdown.totalMs },
  });
}

/** The same link format as the CLI prints (workers/temporal.ts workflowUiLink). */
function uiLinker(uiUrl: string, namespace: string): (workflowId: string) => string {
  const base = uiUrl.replace(/\/+$/, '');
  return (workflowId) => `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The report's HTML, data and CSV tables, without writing them anywhere (for `study report --out`). */
export async function studyReportFiles(store: ArtifactStore, input: RenderStudyReportInput): Promise<StudyReportFiles> {
  const data = buildReportData(await loadReportInputs(store, input));
  const html = await renderReportHtml(data, input.uiUrl ? { uiLink: uiLinker(input.uiUrl, input.namespace ?? 'default') } : {});
  return { html, data, csv: reportTablesCsv(data) };
}

export function createReportActivities(deps: { store: ArtifactStore }) {
  const { store } = deps;

  async function renderStudyReport(input: RenderStudyReportInput): Promise<StudyReportRef> {
    const keys = studyKeys(input.studyId);
    const htmlKey = keys.report('report.html');
    const jsonKey = keys.report('report.json');
    // Artifacts are immutable and the HTML is written last: once it exists, the report is complete.
    if (await store.exists(htmlKey)) return { htmlKey, jsonKey, csvKeys: await store.list(keys.reportTablesPrefix) };
    const files = await studyReportFiles(store, input);
    const csvKeys: string[] = [];
    for (const [file, csv] of Object.entries(files.csv)) {
      const key = keys.reportTable(file);
      await store.put(key, csv, { contentType: 'text/csv' });
      csvKeys.push(key);
    }
    await store.putJson(jsonKey, files.data);
    await store.put(htmlKey, files.html, { contentType: 'text/html; charset=utf-8' });
    return { htmlKey, jsonKey, csvKeys: csvKeys.sort() };
  }

  return { renderStudyReport };
}
