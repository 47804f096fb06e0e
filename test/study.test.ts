/**
 * The durable study against real services: a Temporal dev server, real workers, real onnxruntime
 * measurements, the filesystem store and MinIO.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticDataset, writeTensorDataset } from '../activities/accuracy/dataset.js';
import { createTensorDatasetEvaluator } from '../activities/accuracy/evaluator.js';
import { FsArtifactStore, type ArtifactStore, type StoreConfig, openArtifactStore } from '../activities/storage/index.js';
import { readBatches } from '../activities/study/batch.js';
import type { LatencyMeasurement, ReferenceCalibration } from '../activities/devices/index.js';
import type { BlockProfile } from '../pipelines/profile.js';
import { planStudy, type StudyPlan } from '../pipelines/study/plan.js';
import { StudySpecError, parseStudySpec } from '../pipelines/study/spec.js';
import { startDeviceWorker, startOrchestratorWorker, type RunningWorker, type RuntimeConfig } from '../workers/runtime.js';
import { cancelStudy, pauseStudy, resumeStudy, startStudy, studyStatus } from '../workers/study-client.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import type { studyWorkflow } from '../workflows/study.js';
import { startMinio, type MinioServer } from './helpers/minio.js';
import { seededPredictions } from './helpers/predictions.js';
import {
  TEST_DEVICE,
  TEST_REFERENCE_DEVICE,
  TEST_TIMEOUTS,
  smallSpec,
  spawnDeviceWorker,
  startTestTemporal,
  tempDir,
  writeTestDevicesFile,
  type TestTemporal,
} from './helpers/study.js';

async function startWorkers(config: RuntimeConfig): Promise<RunningWorker[]> {
  return [await startOrchestratorWorker(config), await startDeviceWorker({ ...config, device: TEST_DEVICE })];
}

async function stopWorkers(workers: RunningWorker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.close()));
}

async function latencyBatches(store: ArtifactStore, studyId: string, device = TEST_DEVICE): Promise<LatencyMeasurement[]> {
  const keys = await store.list(`studies/${studyId}/latency/${device}/`);
  return (await Promise.all(keys.map((k) => store.getJson<LatencyMeasurement[]>(k)))).flat();
}

async function cachedMeasurements(store: ArtifactStore, archHashes?: string[]): Promise<string[]> {
  const keys = await store.list(`measurements/${TEST_DEVICE}/`);
  if (!archHashes) return keys;
  const wanted = new Set(archHashes);
  return keys.filter((key) => wanted.has(key.slice(key.lastIndexOf('/') + 1).split('@')[0]!));
}

/** Checks a finished study's artifacts: profiles with every spec and every architecture measured once. */
async function expectCompleteStudy(store: ArtifactStore, studyId: string) {
  const plan = await store.getJson<StudyPlan>(`studies/${studyId}/plan.json`);
  const measured = await latencyBatches(store, studyId);
  expect(measured.map((m) => m.archHash).sort()).toEqual(plan.architectures.map((a) => a.hash).sort());
  const profile = await store.getJson<BlockProfile>(`studies/${studyId}/profiles/${TEST_DEVICE}/r160/profile.json`);
  expect(profile.specs.map((s) => s.specId)).toEqual(['u0.l0.e3k3', 'u4.l3.e6k7', 'u2.l1.e6k5']);
  expect(profile.baseline.n).toBe(3);
  for (const spec of profile.specs) {
    expect(spec.n).toBe(2);
    expect(spec.metrics.latency!.mean).toBeGreaterThan(0);
    expect(Number.isFinite(spec.metrics.accuracy!.mean)).toBe(true);
  }
  const csv = await store.getText(`studies/${studyId}/profiles/${TEST_DEVICE}/r160/profile.csv`);
  expect(csv.trim().split('\n')).toHaveLength(1 + 1 + 3);
  return { plan, measured };
}

describe('a study on the filesystem store', () => {
  let temporal: TestTemporal;
  let workers: RunningWorker[];
  let store: FsArtifactStore;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('study-fs');
    temporal = await startTestTemporal(join(dir, 'temporal.db'));
    const devicesFile = writeTestDevicesFile(dir);
    const storeConfig: StoreConfig = { kind: 'fs', root: join(dir, 'store') };
    store = new FsArtifactStore(storeConfig.root);
    workers = await startWorkers({ address: temporal.server.address, namespace: temporal.server.namespace, store: storeConfig, devicesFile });
  });

  afterAll(async () => {
    await stopWorkers(workers);
    await temporal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs end to end, can be paused and resumed, and starting it again duplicates nothing', async () => {
    const spec = smallSpec('fs-e2e');
    const first = await startStudy(temporal.client, spec, { timeouts: TEST_TIMEOUTS });
    expect(first.started).toBe(true);
    expect(first.workflowId).toMatch(/^study-fs-e2e-[0-9a-f]{12}$/);

    const storedBatches = async () => (await store.list(`studies/${first.workflowId}/accuracy/`)).length + (await store.list(`studies/${first.workflowId}/latency/`)).length;
    // Paused mid-campaign, after its first batch is stored.
    await expect.poll(storedBatches, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    await pauseStudy(temporal.client, first.workflowId);
    const again = await startStudy(temporal.client, spec, { timeouts: TEST_TIMEOUTS });
    expect(again).toMatchObject({ started: false, workflowId: first.workflowId, runId: first.runId });
    await expect.poll(async () => (await studyStatus(temporal.client, first.workflowId)).progress?.paused, { timeout: 20_000 }).toBe(true);
    // Paused means no new batch: once the batch in flight is written, the stored batches stay as they are.
    const inFlight = async () => {
      let pending = 0;
      for (const campaign of (await studyStatus(temporal.client, first.workflowId)).progress?.campaigns ?? []) {
        pending += (await temporal.client.workflow.getHandle(campaign.workflowId).describe()).raw.pendingActivities?.length ?? 0;
      }
      return pending;
    };
    await expect.poll(inFlight, { timeout: 60_000, interval: 200 }).toBe(0);
    const whilePaused = await storedBatches();
    await new Promise((done) => setTimeout(done, 4_000));
    expect(await storedBatches()).toBe(whilePaused);
    await resumeStudy(temporal.client, first.workflowId);

    const result = await first.handle.result();
    expect(await storedBatches()).toBeGreaterThan(whilePaused);
    expect(result.profiles).toEqual([expect.objectContaining({ device: TEST_DEVICE, resolution: 160 })]);
    const { plan } = await expectCompleteStudy(store, first.workflowId);

    const description = await first.handle.describe();
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.status)).toBe('completed');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.space)).toBe('ofa-mbv3');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.devices)).toEqual([TEST_DEVICE]);

    const cacheBefore = await cachedMeasurements(store);
    // Every planned architecture measured once; the rest are the search fronts re-measured on the device.
    expect(
      await cachedMeasurements(
        store,
        plan.architectures.map((a) => a.hash),
      ),
    ).toHaveLength(plan.architectures.length);
    expect(result.comparisons).toEqual([expect.objectContaining({ device: TEST_DEVICE, objective: 'pareto' })]);
    expect(result.insights.map((i) => i.objective).sort()).toEqual(['max-accuracy', 'pareto']);
    const afterCompletion = await startStudy(temporal.client, spec, { timeouts: TEST_TIMEOUTS });
    expect(afterCompletion.started).toBe(false);
    expect(await cachedMeasurements(store)).toEqual(cacheBefore);
  });

  it('takes accuracy from a user evaluator worker on its own task queue (the evaluator contract)', async () => {
    // Labels from the seeded export of the plan's first architecture for half the images: that architecture
    // scores 50% or more and others score what their own argmax gives, all computed here to check against.
    const spec = smallSpec('evaluator', { accuracy: { source: 'evaluator', evaluatorTaskQueue: 'evaluator-test', batchSize: 5 } });
    const plan = planStudy(parseStudySpec(spec));
    const images = syntheticDataset({ n: 12, classes: 3, resolution: 160, seed: 3 });
    const first = await seededPredictions(plan.architectures[0]!.arch, images.images, 12, 0);
    const labels = first.map((p, i) => (i % 2 === 0 ? p : (p + 1) % 1000));
    const datasetFile = join(dir, 'dataset.json');
    await writeTensorDataset(datasetFile, { ...images, labels });
    const evaluator = createTensorDatasetEvaluator({ dataset: datasetFile });
    const connection = await NativeConnection.connect({ address: temporal.server.address });
    const evaluatorWorker = await Worker.create({
      connection,
      namespace: temporal.server.namespace,
      taskQueue: 'evaluator-test',
      activities: evaluator,
    });
    const running = evaluatorWorker.run();
    try {
      const started = await startStudy(temporal.client, spec, { timeouts: TEST_TIMEOUTS });
      const result = await started.handle.result();
      const profile = await store.getJson<BlockProfile>(result.profiles[0]!.jsonKey);
      expect(profile.accuracySource).toBe('evaluator');
      // Every score is the top-1 of that architecture's own argmax over the 12 images, as computed here.
      const records = await readBatches<{ hash: string; score: number; source: string }>(store, `studies/${result.studyId}/accuracy/`);
      expect(records).toHaveLength(plan.architectures.length);
      for (const { hash, arch } of plan.architectures) {
        const predicted = await seededPredictions(arch, images.images, 12, 0);
        const correct = predicted.filter((p, i) => p === labels[i]).length;
        expect(records.find((r) => r.hash === hash)).toEqual({ hash, score: (100 * correct) / 12, source: 'evaluator' });
      }
      expect(records.find((r) => r.hash === plan.architectures[0]!.hash)!.score).toBeGreaterThanOrEqual(50);
      expect(records.find((r) => r.hash === plan.architectures[0]!.hash)!.score).toBeLessThan(100);
      expect(result.comparisons).toHaveLength(1);
    } finally {
      evaluatorWorker.shutdown();
      await running;
      await evaluator.close();
      await connection.close();
    }
  });

  it('cancels a study cleanly: campaigns cancelled, status recorded, measurements kept', async () => {
    const started = await startStudy(temporal.client, smallSpec('cancel', { seed: 99 }), { timeouts: TEST_TIMEOUTS });
    const latencyId = `${started.workflowId}.latency.${TEST_DEVICE}`;
    await expect.poll(async () => (await studyStatus(temporal.client, started.workflowId)).progress?.stage, { timeout: 60_000, interval: 200 }).toBe('measuring');
    // The store holds the earlier tests' measurements too: only this study's architectures count, and the cancel
    // comes once at least one of them is measured.
    const plan = await store.getJson<StudyPlan>(`studies/${started.workflowId}/plan.json`);
    const own = () =>
      cachedMeasurements(
        store,
        plan.architectures.map((a) => a.hash),
      );
    await expect.poll(async () => (await own()).length, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    await cancelStudy(temporal.client, started.workflowId);
    await expect(started.handle.result()).rejects.toThrow();
    const description = await started.handle.describe();
    expect(description.status.name).toBe('CANCELLED');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.status)).toBe('cancelled');
    await expect.poll(async () => (await temporal.client.workflow.getHandle(latencyId).describe()).status.name, { timeout: 30_000 }).toBe('CANCELLED');
    // What was measured before the cancel stays in the cache, each entry whole.
    const kept = await own();
    expect(kept.length).toBeGreaterThanOrEqual(1);
    for (const key of kept) expect((await store.getJson<LatencyMeasurement>(key)).medianMs).toBeGreaterThan(0);
  });

  it('rejects invalid specs and unknown spaces at the edge, naming the field', async () => {
    await expect(startStudy(temporal.client, smallSpec('bad', { samplesPerSpec: 0 }))).rejects.toThrow(/samplesPerSpec/);
    await expect(startStudy(temporal.client, smallSpec('bad', { space: 'mobilenet' }))).rejects.toThrow(
      /space: unknown design space "mobilenet"; allowed: ofa-mbv3, proxylessnas, resnet50/,
    );
    await expect(startStudy(temporal.client, smallSpec('bad', { blocks: ['u9.l0.e3k3'] }))).rejects.toThrow(StudySpecError);
  });

  it('fails a study on an unknown device fast, leaving no workflow running', async () => {
    const started = await startStudy(temporal.client, smallSpec('unknown-device', { devices: ['phone-x'] }), { timeouts: TEST_TIMEOUTS });
    await expect(started.handle.result()).rejects.toThrow();
    const description = await started.handle.describe();
    expect(description.status.name).toBe('FAILED');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.status)).toBe('failed');
    const history = JSON.stringify(await started.handle.fetchHistory());
    expect(history).toContain('unknown device phone-x');
  });
});

describe('a study on MinIO (S3)', () => {
  let temporal: TestTemporal;
  let minio: MinioServer;
  let workers: RunningWorker[];
  let dir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = tempDir('study-s3');
    minio = await startMinio();
    process.env.AWS_ACCESS_KEY_ID = minio.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = minio.secretAccessKey;
    temporal = await startTestTemporal(join(dir, 'temporal.db'));
    const devicesFile = writeTestDevicesFile(dir, { referenceDevice: true });
    const config: RuntimeConfig = {
      address: temporal.server.address,
      namespace: temporal.server.namespace,
      store: { kind: 's3', endpoint: minio.endpoint, bucket: 'blockscope-test', region: 'us-east-1' },
      devicesFile,
    };
    workers = [...(await startWorkers(config)), await startDeviceWorker({ ...config, device: TEST_REFERENCE_DEVICE })];
  });

  afterAll(async () => {
    await stopWorkers(workers);
    await temporal.close();
    await minio.stop();
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs end to end with every artifact in the bucket, on a plain and a reference-normalised device', async () => {
    const spec = smallSpec('s3-e2e', { devices: [TEST_DEVICE, TEST_REFERENCE_DEVICE] });
    const started = await startStudy(temporal.client, spec, { timeouts: TEST_TIMEOUTS });
    await started.handle.result();
    const store = openArtifactStore({ kind: 's3', endpoint: minio.endpoint, bucket: 'blockscope-test', region: 'us-east-1' });
    const { plan } = await expectCompleteStudy(store, started.workflowId);

    // The normalised device measured everything too, every measurement scaled by the one calibration in the bucket.
    const normalised = await latencyBatches(store, started.workflowId, TEST_REFERENCE_DEVICE);
    expect(normalised.map((m) => m.archHash).sort()).toEqual(plan.architectures.map((a) => a.hash).sort());
    const calibrations = (await store.list(`measurements/${TEST_REFERENCE_DEVICE}/`)).filter((key) => key.includes('/reference/'));
    expect(calibrations).toHaveLength(1);
    const calibration = await store.getJson<ReferenceCalibration>(calibrations[0]!);
    for (const m of normalised) {
      expect(m.protocol).toMatchObject({ reference: 'interleaved' });
      expect(m.reference).toMatchObject({ archHash: calibration.archHash, calibratedMs: calibration.medianMs });
      expect(m.reference!.referenceTimingsMs).toHaveLength(m.runs);
    }
    expect(await store.exists(`studies/${started.workflowId}/profiles/${TEST_REFERENCE_DEVICE}/r160/profile.json`)).toBe(true);
  });
});

describe('reliability', () => {
  it('survives a SIGKILLed device worker: every architecture measured, none twice', async () => {
    const dir = tempDir('study-kill');
    const temporal = await startTestTemporal(join(dir, 'temporal.db'));
    const devicesFile = writeTestDevicesFile(dir);
    const root = join(dir, 'store');
    const store = new FsArtifactStore(root);
    const config: RuntimeConfig = { address: temporal.server.address, namespace: temporal.server.namespace, store: { kind: 'fs', root }, devicesFile };
    const orchestrator = await startOrchestratorWorker(config);
    let device = spawnDeviceWorker({ address: temporal.server.address, devicesFile, storeUrl: `fs://${root}` });
    try {
      const started = await startStudy(temporal.client, smallSpec('kill', { measurement: { batchSize: 6 } }), { timeouts: TEST_TIMEOUTS });
      // Kill in the middle of the first batch: some of its architectures measured, the batch not written.
      await expect
        .poll(
          async () => {
            if (device.exitCode !== null) throw new Error(`the device worker exited early with code ${device.exitCode}`);
            return (await cachedMeasurements(store)).length;
          },
          { timeout: 120_000, interval: 100 },
        )
        .toBeGreaterThanOrEqual(2);
      expect(await store.list(`studies/${started.workflowId}/latency/`)).toEqual([]);
      device.kill('SIGKILL');
      const measuredBeforeKill = (await cachedMeasurements(store)).length;
      device = spawnDeviceWorker({ address: temporal.server.address, devicesFile, storeUrl: `fs://${root}` });

      const result = await started.handle.result();
      const { plan, measured } = await expectCompleteStudy(store, result.studyId);
      // Each architecture has exactly one cached measurement, and the batches report exactly it.
      const cache = await cachedMeasurements(
        store,
        plan.architectures.map((a) => a.hash),
      );
      expect(cache).toHaveLength(plan.architectures.length);
      const status = await studyStatus(temporal.client, started.workflowId);
      const latency = status.campaigns.find((c) => c.kind === 'latency')!;
      expect(latency.computed + latency.cached).toBe(plan.architectures.length);
      expect(latency.cached).toBeGreaterThanOrEqual(measuredBeforeKill);
      const fromCache = await Promise.all(cache.map((key) => store.getJson<LatencyMeasurement>(key)));
      expect(new Map(measured.map((m) => [m.archHash, m.medianMs]))).toEqual(new Map(fromCache.map((m) => [m.archHash, m.medianMs])));
      // The drift series survived the kill: the killed attempt's probe of batch 0 and its retry's are both
      // there, every batch has one, and so every measurement, the killed attempt's too, was corrected.
      const { drift } = await store.getJson<BlockProfile>(`studies/${result.studyId}/profiles/${TEST_DEVICE}/r160/profile.json`);
      const batches = Math.ceil(plan.architectures.length / 6);
      expect(new Set(drift!.series.probes.map((p) => p.batchIndex))).toEqual(new Set(Array.from({ length: batches }, (_, i) => i)));
      expect(drift!.series.probes.filter((p) => p.batchIndex === 0).length).toBeGreaterThanOrEqual(2);
      expect(drift!.uncorrected).toBe(0);
    } finally {
      device.kill('SIGKILL');
      await orchestrator.close();
      await temporal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('survives a restart of the Temporal dev server mid-study (same SQLite file)', async () => {
    const dir = tempDir('study-restart');
    const dbFile = join(dir, 'temporal.db');
    let temporal = await startTestTemporal(dbFile);
    const port = Number(temporal.server.address.split(':')[1]);
    const devicesFile = writeTestDevicesFile(dir);
    const root = join(dir, 'store');
    const store = new FsArtifactStore(root);
    const workers = await startWorkers({ address: temporal.server.address, namespace: temporal.server.namespace, store: { kind: 'fs', root }, devicesFile });
    try {
      // One batch per campaign run: the campaigns also continue as new across the restart.
      const started = await startStudy(temporal.client, smallSpec('restart'), { timeouts: TEST_TIMEOUTS, batchesPerRun: 1 });
      await expect.poll(async () => (await cachedMeasurements(store)).length, { timeout: 120_000, interval: 100 }).toBeGreaterThanOrEqual(1);
      await temporal.close();
      temporal = await startTestTemporal(dbFile, port);
      const result = await temporal.client.workflow.getHandle<typeof studyWorkflow>(started.workflowId).result();
      await expectCompleteStudy(store, result.studyId);
      const runs: string[] = [];
      for await (const run of temporal.client.workflow.list({ query: `WorkflowId = '${started.workflowId}.latency.${TEST_DEVICE}'` })) runs.push(run.runId);
      expect(runs.length).toBeGreaterThan(1);
    } finally {
      await stopWorkers(workers);
      await temporal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
