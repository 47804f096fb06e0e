/**
 * A shared-random study end to end through Temporal: a lookup-table device whose table is kernel-bound by
 * construction (the real lookup-table path), accuracies from a table written for the plan, the block
 * regression over every architecture, insights that say which estimates they judged by, and the report.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveLookupTable } from '../activities/devices/lookup-table.js';
import type { FsArtifactStore } from '../activities/storage/index.js';
import { studyKeys } from '../activities/study/keys.js';
import type { InsightReport } from '../pipelines/insights.js';
import type { BlockProfile } from '../pipelines/profile.js';
import type { BlockRegression } from '../pipelines/regression.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { planStudy, type StudyPlan } from '../pipelines/study/plan.js';
import { startStudy } from '../workers/study-client.js';
import { additiveAccuracy, kernelBoundTable } from './helpers/synthetic-device.js';
import { TEST_TIMEOUTS, smallSpec, startTestStack, tempDir, writeTestDevicesFile, type TestStack, type TestTemporal } from './helpers/study.js';

const DEVICE = 'kernel-bound-lut';

describe('a shared-random study through Temporal', () => {
  let temporal: TestTemporal;
  let stack: TestStack;
  let store: FsArtifactStore;
  let dir: string;
  let spec: Record<string, unknown>;

  beforeAll(async () => {
    dir = tempDir('shared');
    const devicesFile = writeTestDevicesFile(dir);
    await saveLookupTable(join(dir, 'kernel-bound.yaml'), kernelBoundTable(160, DEVICE));
    writeFileSync(devicesFile, `devices:\n  - id: ${DEVICE}\n    backend: lookup-table\n    table: kernel-bound.yaml\n`);
    spec = smallSpec('shared-random', {
      blocks: 'all',
      samplesPerSpec: undefined,
      baselineSamples: undefined,
      design: { kind: 'shared-random', architectures: 260 },
      devices: [DEVICE],
      accuracy: { source: 'table', table: join(dir, 'accuracy.csv'), batchSize: 100 },
      measurement: { batchSize: 65 },
      // The accuracy table covers the plan, not the candidates a search would propose.
      search: { objectives: [] },
    });
    delete spec['samplesPerSpec'];
    delete spec['baselineSamples'];
    const plan = planStudy(parseStudySpec(spec));
    writeFileSync(join(dir, 'accuracy.csv'), ['hash,top1', ...plan.architectures.map(({ hash, arch }) => `${hash},${additiveAccuracy(arch).toFixed(4)}`), ''].join('\n'));
    stack = await startTestStack(dir, { devicesFile, device: DEVICE });
    ({ temporal, store } = stack);
  });

  afterAll(() => stack.close());

  it('measures only random architectures, estimates every block effect by regression, and the insights and report say so', async () => {
    const started = await startStudy(temporal.client, spec, { timeouts: TEST_TIMEOUTS });
    const result = await started.handle.result();
    // An accuracy table computes nothing on the orchestrator's host: the campaigns run at once.
    expect(result.prepared.overlapAccuracy).toBe(true);
    const accuracy = await temporal.client.workflow.getHandle(`${started.workflowId}.accuracy`).describe();
    const latencyCampaign = await temporal.client.workflow.getHandle(`${started.workflowId}.latency.${DEVICE}`).describe();
    expect(latencyCampaign.startTime.getTime()).toBeLessThan(accuracy.closeTime!.getTime());
    // What Temporal was told: analysis activities run under an honest bound and no heartbeat timeout (they do
    // not heartbeat), batches under the heartbeat timeout; every retry is bounded.
    const scheduled = async (workflowId: string, type: string) => {
      const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
      return history.events!.map((e) => e.activityTaskScheduledEventAttributes).find((a) => a?.activityType?.name === type)!;
    };
    const aggregate = await scheduled(started.workflowId, 'aggregateProfiles');
    expect(Number(aggregate.startToCloseTimeout!.seconds)).toBe(3600);
    expect(Number(aggregate.heartbeatTimeout?.seconds ?? 0)).toBe(0);
    expect(aggregate.retryPolicy!.maximumAttempts).toBe(10);
    const batch = await scheduled(`${started.workflowId}.latency.${DEVICE}`, 'measureBatch');
    expect(Number(batch.heartbeatTimeout!.seconds)).toBe(TEST_TIMEOUTS.heartbeatSeconds);
    expect(batch.retryPolicy!.maximumAttempts).toBe(10);
    const keys = studyKeys(started.workflowId);
    const plan = await store.getJson<StudyPlan>(keys.plan);
    expect(plan.design).toBe('shared-random');
    expect(plan.architectures).toHaveLength(260);
    expect(plan.specs).toHaveLength(180);

    const profile = await store.getJson<BlockProfile>(keys.profile(DEVICE, 160, 'json'));
    expect(profile.baseline.n).toBe(260);
    const latency = profile.regression!.latency as BlockRegression;
    expect(latency.n).toBe(260);
    expect(latency.specs).toHaveLength(180);
    expect((profile.regression!.accuracy as BlockRegression).target).toBe('linear');
    // A lookup table is a sum of layer times, which is the model's form: it fits exactly, and every k7 block
    // is slower than the k3 block of its expand ratio and position beyond their intervals.
    const effect = (unit: number, layer: number, block: string) => latency.blocks.find((b) => b.unit === unit && b.layer === layer && b.block === block)!;
    const resolved: string[] = [];
    for (const k7 of latency.blocks.filter((b) => b.block.endsWith('k7'))) {
      const k3 = effect(k7.unit, k7.layer, k7.block.replace('k7', 'k3'));
      expect(k7.ciHigh < k3.ciLow).toBe(false);
      if (k7.ciLow > k3.ciHigh) resolved.push(`u${k7.unit}.l${k7.layer}.${k7.block}`);
    }
    expect(resolved).toHaveLength(5 * 4 * 3);
    expect(latency.rSquared).toBeGreaterThan(0.999999);

    const insights = await store.getJson<InsightReport>(keys.insights(DEVICE, 'pareto', 'report.json'));
    const choice = insights.estimates.find((e) => e.metric === 'latency')!;
    expect(choice).toMatchObject({ source: 'regression', covered: 180 });
    expect(insights.kernelVsExpansion!.dominant).toBe('kernel');
    const html = await store.getText(keys.report('report.html'));
    expect(html).toContain('These insights judge latency by the block regression&#39;s estimates (180 specs)');
  }, 300_000);
});
