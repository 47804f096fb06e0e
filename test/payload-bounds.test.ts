/**
 * The payload table of docs/architecture.md, computed: every payload of a study that depends on the spec, built
 * with the product's own key functions and types at every maximum the spec accepts at once (the longest name and
 * device ids, MAX_DEVICES devices, MAX_RESOLUTIONS resolutions, MAX_SEEDS seeds, every arm, both objectives, a
 * spec of MAX_SPEC_BYTES), is at most 64 KB. The search's own payloads are read from real histories in
 * test/search-payloads.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { AccuracyRecord, ComparisonRef, InsightRef, ProfileRef, SearchRef, SearchRequest, StudyReportRef } from '../activities/study/contracts.js';
import type { RenderStudyReportInput } from '../activities/study/report.js';
import { studyKeys } from '../activities/study/keys.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { SEARCH_ARMS, armKey, paperArms, type SearchArm } from '../pipelines/search/arms.js';
import type { SearchProgress } from '../pipelines/search/search.js';
import { originalSpace } from '../pipelines/spaces/index.js';
import {
  MAX_DEVICES,
  MAX_EVALUATOR_BATCH,
  MAX_RESOLUTIONS,
  MAX_SEARCH_STEP,
  MAX_SEEDS,
  MAX_SPEC_BYTES,
  parseStudySpec,
  studySearchWorkflowIds,
  type StudySpec,
} from '../pipelines/study/spec.js';
import type { StudyResult } from '../workflows/definitions.js';
import { payloadBytes } from '../workflows/payload-guard.js';

const BOUND = 64 * 1024;
/** A double as JSON prints the longest ones. */
const LONG_DOUBLE = 0.12345678901234568;

/** The largest spec the schema accepts: every list at its maximum, the longest ids, padded to MAX_SPEC_BYTES. */
function largestSpec(): StudySpec {
  const devices = Array.from({ length: MAX_DEVICES }, (_, i) => `device-${i}-`.padEnd(63, 'x'));
  const arms: SearchArm[] = ['original', 'derived', ...paperArms('ofa-mbv3')];
  const raw = {
    name: 'n'.repeat(48),
    space: 'ofa-mbv3',
    resolutions: [160, 176, 192, 208, 224].slice(0, MAX_RESOLUTIONS),
    devices,
    insights: { objectives: ['pareto', 'max-accuracy'] },
    search: { objectives: ['pareto', 'max-accuracy'], seeds: MAX_SEEDS, spaces: arms },
  };
  const size = JSON.stringify(parseStudySpec(raw)).length;
  const spec = parseStudySpec({ ...raw, description: 'd'.repeat(MAX_SPEC_BYTES - size - 20) });
  expect(JSON.stringify(spec).length).toBeGreaterThan(MAX_SPEC_BYTES - 64);
  expect(() => parseStudySpec({ ...raw, description: 'd'.repeat(MAX_SPEC_BYTES - size + 20) })).toThrow(/\(spec\): 17 KB .*at most 16 KB/);
  return spec;
}

describe('every payload of a study at the largest spec accepted', () => {
  const spec = largestSpec();
  const studyId = `study-${spec.name}-0123456789ab`;
  const keys = studyKeys(studyId);
  const objectives = ['pareto', 'max-accuracy'] as const;
  const arms = spec.search.spaces;
  const profiles: ProfileRef[] = spec.devices.flatMap((device) =>
    spec.resolutions.map((resolution) => ({ device, resolution, jsonKey: keys.profile(device, resolution, 'json'), csvKey: keys.profile(device, resolution, 'csv') })),
  );
  const insights: InsightRef[] = spec.devices.flatMap((device) =>
    objectives.map((objective) => ({
      device,
      resolution: 224,
      objective,
      reportKey: keys.insights(device, objective, 'report.json'),
      prunedSpaceKey: keys.insights(device, objective, 'pruned-space.json'),
      textKey: keys.insights(device, objective, 'insights.txt'),
      insights: 999,
    })),
  );
  const comparisons: ComparisonRef[] = spec.devices.flatMap((device) =>
    objectives.map((objective) => ({
      device,
      objective,
      key: keys.comparison(device, objective),
      hypervolumeRatios: arms.slice(1).map((arm) => ({ arm, predicted: LONG_DOUBLE, remeasured: LONG_DOUBLE })),
    })),
  );
  const searchRefs = (device: string, objective: (typeof objectives)[number]): SearchRef[] =>
    Array.from({ length: spec.search.seeds }, (_, i) => i + 1).flatMap((seed) =>
      arms.map((arm) => ({ device, objective, arm, seed, resultKey: keys.searchResult(device, objective, armKey(arm), seed), evaluations: 8100 })),
    );
  const report: StudyReportRef = {
    htmlKey: keys.report('report.html'),
    jsonKey: keys.report('report.json'),
    csvKeys: Array.from({ length: 17 }, (_, i) => keys.reportTable(`table-${i}.csv`)),
  };
  const campaigns = [{ label: 'accuracy accuracy', workflowId: `${studyId}.accuracy` }, ...spec.devices.map((d) => ({ label: `latency ${d}`, workflowId: `${studyId}.latency.${d}` }))];
  const device = spec.devices[0]!;

  const payloads: [string, unknown][] = [
    ['the study input', { studyId, specHash: 'f'.repeat(64), spec, timeouts: { batchStartToCloseMinutes: 360, heartbeatSeconds: 120 }, uiUrl: 'http://127.0.0.1:8233' }],
    ['aggregateProfiles result', profiles],
    ['deriveStudyInsights input', { studyId, spec, profiles }],
    [
      'compareStudySearches input',
      { studyId, planKey: keys.plan, device, objective: 'pareto', searches: searchRefs(device, 'pareto'), remeasuredKey: keys.remeasured(device, 'pareto') },
    ],
    ['remeasureSearchResults input', { studyId, device, objective: 'pareto', searches: searchRefs(device, 'pareto') }],
    [
      'renderStudyReport input',
      { studyId, spec, profiles, insights, comparisons, namespace: 'default', uiUrl: 'http://127.0.0.1:8233', workflows: campaigns } satisfies RenderStudyReportInput,
    ],
    [
      'the study result',
      {
        studyId,
        prepared: { studyId, specKey: keys.spec, planKey: keys.plan, architectures: 99999, specs: 999, store: 's3://bucket', overlapAccuracy: true },
        profiles,
        insights,
        comparisons,
        report,
      } satisfies StudyResult,
    ],
  ];

  it.each(payloads)('%s stays under 64 KB', (_, value) => {
    expect(payloadBytes(value)).toBeLessThanOrEqual(BOUND);
  });

  it("a search's request, its continue-as-new input and a step's accuracies stay under 64 KB", () => {
    const request: SearchRequest = {
      studyId,
      planKey: keys.plan,
      spec,
      device,
      objective: 'pareto',
      arm: 'paper:max_acc',
      seed: MAX_SEEDS,
      derivedSpaceKey: keys.insights(device, 'pareto', 'pruned-space.json'),
    };
    const progress: SearchProgress = { step: 1000, iterations: 1000, done: false, evaluations: 8100, rejected: 8100, bestAccuracy: LONG_DOUBLE, failure: 'r'.repeat(2000) };
    expect(payloadBytes({ ...request, resume: progress, checkpointKey: keys.searchCheckpoint(device, 'pareto', armKey('paper:max_acc'), MAX_SEEDS, 1000) })).toBeLessThanOrEqual(BOUND);
    const search = { studyId, planKey: keys.plan, device, objective: 'pareto', arm: 'paper:max_acc', seed: MAX_SEEDS };
    expect(payloadBytes({ search, step: 1000, accuracies: Array.from({ length: MAX_SEARCH_STEP }, () => LONG_DOUBLE) })).toBeLessThanOrEqual(BOUND);
  });

  it("an evaluator batch (the campaign's planBatch result and storeAccuracyBatch input) stays under 64 KB for the largest architectures", () => {
    for (const space of ['ofa-mbv3', 'proxylessnas', 'resnet50'] as const) {
      const archs = sampleArchitectures(originalSpace(space), 2000, 1);
      const largest = archs.reduce((a, b) => (JSON.stringify(b).length > JSON.stringify(a).length ? b : a));
      const batch = Array.from({ length: MAX_EVALUATOR_BATCH }, () => ({ hash: 'f'.repeat(64), arch: largest }));
      expect(payloadBytes(batch), space).toBeLessThanOrEqual(BOUND);
      const records: AccuracyRecord[] = batch.map(({ hash }) => ({ hash, score: LONG_DOUBLE, source: 'evaluator' }));
      expect(payloadBytes({ studyId, planKey: keys.plan, batchIndex: 99999, batchSize: MAX_EVALUATOR_BATCH, records }), space).toBeLessThanOrEqual(BOUND);
    }
  });

  it('the report finds every search of the study from the spec, so its input does not list them', () => {
    expect(studySearchWorkflowIds(studyId, spec)).toHaveLength(MAX_DEVICES * 2 * MAX_SEEDS * arms.length);
    expect(arms.length).toBe(SEARCH_ARMS.length);
  });
});
