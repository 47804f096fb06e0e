/**
 * Batch-addressed work lists: prepareStudy cuts every campaign into one small file per batch, and a batch
 * activity reads only its own file, never the plan (docs/studies.md, Durability). Through Temporal, store reads
 * are counted per activity with CountingArtifactStore; a study whose work lists cannot be read (one prepared
 * before they existed) takes the plan fallback and ends with the same profiles.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveLookupTable } from '../activities/devices/lookup-table.js';
import { ArtifactNotFoundError, CountingArtifactStore, ForwardingArtifactStore, FsArtifactStore, type ArtifactStore, type ReadTally } from '../activities/storage/index.js';
import { BATCH_FILES_IN_FLIGHT } from '../activities/study/batch.js';
import { studyKeys } from '../activities/study/keys.js';
import { readAccuracyWork, readLatencyWork, writeWorkLists } from '../activities/study/work.js';
import type { BlockProfile } from '../pipelines/profile.js';
import { referenceArchitecture } from '../pipelines/sampling.js';
import { measurementList, planStudy, type StudyPlan } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { accuracyWorkLists, latencyWorkLists } from '../pipelines/study/work.js';
import { activityReadLabel } from '../workers/runtime.js';
import { startStudy } from '../workers/study-client.js';
import { additiveAccuracy, kernelBoundTable } from './helpers/synthetic-device.js';
import { TEST_TIMEOUTS, smallSpec, startTestStack, tempDir, type TestStack, type TestTemporal } from './helpers/study.js';

const spec = (overrides: Record<string, unknown> = {}) =>
  parseStudySpec({
    ...smallSpec('work-lists', { devices: ['cpu-a', 'phone-b'], samplesPerSpec: 4, baselineSamples: 2 }),
    ...overrides,
  });

describe('work lists', () => {
  it("partition the plan exactly: every architecture once per campaign, in plan order for accuracy and in each device's order for latency", () => {
    const study = spec();
    const plan = planStudy(study);
    expect(plan.architectures.length % study.accuracy.batchSize).not.toBe(0);
    expect(plan.architectures.length % study.measurement.batchSize).not.toBe(0);

    const accuracy = accuracyWorkLists(plan, study);
    expect(accuracy.map((list) => list.batchIndex)).toEqual(accuracy.map((_, i) => i));
    expect(accuracy.slice(0, -1).every((list) => list.items.length === study.accuracy.batchSize)).toBe(true);
    expect(accuracy.flatMap((list) => list.items)).toEqual(plan.architectures);

    for (const device of study.devices) {
      const latency = latencyWorkLists(plan, study, device);
      expect(latency).toHaveLength(Math.ceil(plan.architectures.length / study.measurement.batchSize));
      expect(latency.flatMap((list) => list.items)).toEqual(measurementList(plan, device));
      for (const [batchIndex, list] of latency.entries()) {
        expect(list).toMatchObject({ device, batchIndex, start: batchIndex * study.measurement.batchSize, total: plan.architectures.length });
        expect(list.probes).toEqual({ reference: referenceArchitecture(plan.space, 160), every: 0 });
      }
    }
    // The devices' orders differ, so their lists must too: each is cut from its own order.
    expect(latencyWorkLists(plan, study, 'cpu-a')[0]!.items).not.toEqual(latencyWorkLists(plan, study, 'phone-b')[0]!.items);
  });

  it('carry no probes when drift is not tracked, and the probe cadence when it is', () => {
    const untracked = spec({ measurement: { batchSize: 3, drift: { track: false } } });
    expect(latencyWorkLists(planStudy(untracked), untracked, 'cpu-a').every((list) => list.probes === null)).toBe(true);
    const dense = spec({ measurement: { batchSize: 3, drift: { every: 2 } } });
    expect(latencyWorkLists(planStudy(dense), dense, 'cpu-a')[0]!.probes?.every).toBe(2);
  });

  it('are written once per batch and idempotently; a study prepared without them reads the same lists from its plan', async () => {
    const dir = tempDir('work-lists');
    try {
      const store = new FsArtifactStore(dir);
      const study = spec();
      const plan = planStudy(study);
      const keys = studyKeys('study-a');
      const accuracyBatches = Math.ceil(plan.architectures.length / study.accuracy.batchSize);
      const latencyBatches = Math.ceil(plan.architectures.length / study.measurement.batchSize);
      expect(await writeWorkLists(store, 'study-a', plan, study)).toBe(accuracyBatches + 2 * latencyBatches);
      expect(await writeWorkLists(store, 'study-a', plan, study)).toBe(accuracyBatches + 2 * latencyBatches);
      expect(await store.list('studies/study-a/work/')).toEqual(
        [
          ...Array.from({ length: accuracyBatches }, (_, i) => keys.accuracyWork(i)),
          ...study.devices.flatMap((device) => Array.from({ length: latencyBatches }, (_, i) => keys.latencyWork(device, i))),
        ].sort(),
      );

      // Study b has only a plan and a spec, as studies prepared before work lists existed.
      const old = studyKeys('study-b');
      await store.putJson(old.plan, plan);
      await store.putJson(old.spec, study);
      for (const batchIndex of [0, latencyBatches - 1]) {
        const stored = await readLatencyWork(store, { studyId: 'study-a', planKey: keys.plan, batchIndex, batchSize: 3, device: 'phone-b' });
        expect(await readLatencyWork(store, { studyId: 'study-b', planKey: old.plan, batchIndex, batchSize: 3, device: 'phone-b' })).toEqual(stored);
      }
      const storedAccuracy = await readAccuracyWork(store, { studyId: 'study-a', planKey: keys.plan, batchIndex: 1, batchSize: 5 });
      expect(await readAccuracyWork(store, { studyId: 'study-b', planKey: old.plan, batchIndex: 1, batchSize: 5 })).toEqual(storedAccuracy);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const DEVICE = 'work-lut';
const BATCH_ACTIVITIES = new Set(['measureBatch', 'scoreAccuracyBatch']);

/** Answers every work-list read with "not found": a study prepared before work lists existed. */
class WithoutWorkLists extends ForwardingArtifactStore {
  constructor(
    inner: ArtifactStore,
    private readonly hidden: () => boolean,
  ) {
    super(inner);
  }

  override get(key: string): Promise<Uint8Array> {
    if (this.hidden() && key.includes('/work/')) return Promise.reject(new ArtifactNotFoundError(key, this.inner.describe()));
    return this.inner.get(key);
  }
}

/**
 * A store that answers slowly while `slow()` says so and the reader is aggregateProfiles (a remote store
 * across a slow link), and counts how many of that activity's reads are in flight at once.
 */
class SlowAnalysisStore extends ForwardingArtifactStore {
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    inner: ArtifactStore,
    private readonly slow: () => boolean,
    private readonly delayMs: number,
  ) {
    super(inner);
  }

  override async get(key: string): Promise<Uint8Array> {
    if (!this.slow() || activityReadLabel().split(' ')[3] !== 'aggregateProfiles') return this.inner.get(key);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      return await this.inner.get(key);
    } finally {
      this.inFlight -= 1;
    }
  }
}

describe('store reads through Temporal', () => {
  let temporal: TestTemporal;
  let stack: TestStack;
  let store: FsArtifactStore;
  let dir: string;
  const counters: CountingArtifactStore[] = [];
  let hideWorkLists = false;
  let slowAnalysis = false;
  const slowStores: SlowAnalysisStore[] = [];

  const studySpec = (name: string) =>
    smallSpec(name, {
      devices: [DEVICE],
      accuracy: { source: 'table', table: join(dir, 'accuracy.csv'), batchSize: 5 },
      measurement: { batchSize: 3, drift: { every: 2 } },
      search: { objectives: [] },
    });

  /** One architecture per latency batch: more batch files than aggregation reads at once. */
  const slowAggregationSpec = () => ({ ...studySpec('slow-aggregation'), samplesPerSpec: 4, measurement: { batchSize: 1 } });

  /** The batch activities' reads of one study, one entry per activity execution. */
  const batchReads = (studyId: string): { type: string; reads: ReadTally[] }[] => {
    const groups = new Map<string, ReadTally[]>();
    for (const tally of counters.flatMap((counter) => counter.reads())) {
      const [workflowId, , , type] = tally.label.split(' ');
      if (!workflowId?.startsWith(`${studyId}.`) || !BATCH_ACTIVITIES.has(type!)) continue;
      groups.set(tally.label, [...(groups.get(tally.label) ?? []), tally]);
    }
    return [...groups].map(([label, reads]) => ({ type: label.split(' ')[3]!, reads }));
  };

  const profileWithoutDrift = async (studyId: string) => {
    const { drift, ...profile } = await store.getJson<BlockProfile>(studyKeys(studyId).profile(DEVICE, 160, 'json'));
    expect(drift).toBeDefined();
    return profile;
  };

  beforeAll(async () => {
    dir = tempDir('work-reads');
    await saveLookupTable(join(dir, 'lut.yaml'), kernelBoundTable(160, DEVICE));
    const devicesFile = join(dir, 'devices.yaml');
    writeFileSync(devicesFile, `devices:\n  - id: ${DEVICE}\n    backend: lookup-table\n    table: lut.yaml\n`);
    const architectures = new Map(
      [studySpec('plan'), slowAggregationSpec()].flatMap((raw) => planStudy(parseStudySpec(raw)).architectures.map(({ hash, arch }) => [hash, arch] as const)),
    );
    writeFileSync(join(dir, 'accuracy.csv'), ['hash,top1', ...[...architectures].map(([hash, arch]) => `${hash},${additiveAccuracy(arch).toFixed(4)}`), ''].join('\n'));
    const wrapStore = (inner: ArtifactStore) => {
      const slow = new SlowAnalysisStore(inner, () => slowAnalysis, 1500);
      slowStores.push(slow);
      const counter = new CountingArtifactStore(new WithoutWorkLists(slow, () => hideWorkLists), activityReadLabel);
      counters.push(counter);
      return counter;
    };
    stack = await startTestStack(dir, { devicesFile, device: DEVICE, wrapStore });
    ({ temporal, store } = stack);
  });

  afterAll(() => stack.close());

  it('reads each batch its own work list only (at most 2x its bytes, never the plan), with the same profiles as the plan fallback', async () => {
    const current = await startStudy(temporal.client, studySpec('work-lists'), { timeouts: TEST_TIMEOUTS });
    await current.handle.result();
    const keys = studyKeys(current.workflowId);
    const plan = await store.getJson<StudyPlan>(keys.plan);
    const reads = batchReads(current.workflowId);
    expect(reads.filter((r) => r.type === 'scoreAccuracyBatch')).toHaveLength(Math.ceil(plan.architectures.length / 5));
    expect(reads.filter((r) => r.type === 'measureBatch')).toHaveLength(Math.ceil(plan.architectures.length / 3));
    const workKeys: string[] = [];
    for (const { reads: batch } of reads) {
      const work = batch.filter((tally) => tally.key.includes('/work/'));
      expect(work).toHaveLength(1);
      workKeys.push(work[0]!.key);
      expect(batch.map((tally) => tally.key)).not.toContain(keys.plan);
      expect(batch.map((tally) => tally.key)).not.toContain(keys.spec);
      expect(batch.reduce((sum, tally) => sum + tally.bytes, 0)).toBeLessThanOrEqual(2 * (work[0]!.bytes / work[0]!.objects));
    }
    // Every batch read its own list: each of the study's work lists exactly once.
    expect(workKeys.sort()).toEqual(await store.list(`studies/${current.workflowId}/work/`));

    hideWorkLists = true;
    const fallback = await startStudy(temporal.client, studySpec('work-lists-fallback'), { timeouts: TEST_TIMEOUTS });
    await fallback.handle.result();
    hideWorkLists = false;
    const fallbackKeys = studyKeys(fallback.workflowId);
    const fallbackReads = batchReads(fallback.workflowId);
    expect(fallbackReads.filter((r) => r.type === 'measureBatch').every((r) => r.reads.some((tally) => tally.key === fallbackKeys.plan))).toBe(true);
    expect(await profileWithoutDrift(fallback.workflowId)).toEqual(await profileWithoutDrift(current.workflowId));
  }, 300_000);

  it('lets an analysis activity run past the heartbeat bound on its first attempt, reading a few batch files at a time', async () => {
    slowAnalysis = true;
    const started = await startStudy(temporal.client, slowAggregationSpec(), { timeouts: TEST_TIMEOUTS });
    try {
      await started.handle.result();
    } finally {
      slowAnalysis = false;
    }
    const history = await started.handle.fetchHistory();
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'aggregateProfiles')!;
    const options = scheduled.activityTaskScheduledEventAttributes!;
    // An analysis activity does not heartbeat, so it has no heartbeat timeout, only its start-to-close bound.
    expect(Number(options.heartbeatTimeout?.seconds ?? 0)).toBe(0);
    expect(Number(options.startToCloseTimeout?.seconds)).toBe(60 * 60);
    const startedEvent = history.events!.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString())!;
    const completed = history.events!.find((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString())!;
    expect(startedEvent.activityTaskStartedEventAttributes!.attempt).toBe(1);
    const seconds = (event: typeof completed) => Number(event.eventTime!.seconds) + (event.eventTime!.nanos ?? 0) / 1e9;
    // It ran longer than the heartbeat timeout every activity had before (TEST_TIMEOUTS.heartbeatSeconds) and completed.
    expect(seconds(completed) - seconds(startedEvent)).toBeGreaterThan(TEST_TIMEOUTS.heartbeatSeconds);
    const latencyFiles = (await store.list(studyKeys(started.workflowId).latencyPrefix(DEVICE))).length;
    expect(latencyFiles).toBeGreaterThan(BATCH_FILES_IN_FLIGHT);
    expect(Math.max(...slowStores.map((s) => s.maxInFlight))).toBeLessThanOrEqual(BATCH_FILES_IN_FLIGHT);
  }, 300_000);
});
