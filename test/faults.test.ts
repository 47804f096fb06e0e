/**
 * The fault matrix at scale: one study of 100 architectures (100 latency and 100 accuracy batches of one, each
 * campaign in four continued-as-new runs) per fault, on real processes: the Temporal dev server, MinIO, the
 * orchestrator and a device worker started from the CLI (S3 store only, a bucket per study so no study borrows
 * another's measurements). The device is a `command` device, the path a phone takes: every architecture is
 * exported to ONNX and handed to a command, whose answer (the model's size in kB, as milliseconds: deterministic,
 * so profiles can be compared byte for byte) is cached per architecture before the batch is written. Faults: SIGKILL of the
 * device worker, SIGKILL of the orchestrator, a restart of the Temporal server, MinIO stopped for 30 s, a frozen
 * device worker (SIGSTOP past its heartbeat timeout, then SIGCONT), and a second `study start` while it runs.
 * Each study must end with profiles byte-identical to the undisturbed run's, every architecture exactly once in
 * the store, every batch scheduled exactly once across the campaign's runs (so nothing finished is measured
 * again), and its retries bounded. The outcomes are written to test-results/faults.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { campaignOutcome, everyRunsHistory, storedRecords, type CampaignOutcome } from './helpers/faults.js';
import { temporal as proto } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openArtifactStore, type ArtifactStore, type StoreConfig } from '../activities/storage/index.js';
import { studyKeys } from '../activities/study/keys.js';
import { planStudy, type StudyPlan } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { startStudy } from '../workers/study-client.js';
import type { StudyTimeouts } from '../workflows/definitions.js';
import { startMinio, type MinioServer } from './helpers/minio.js';
import { startTestTemporal, tempDir, type TestTemporal } from './helpers/study.js';
import { additiveAccuracy } from './helpers/synthetic-device.js';

const BIN = resolve(import.meta.dirname, '../bin/blockscope.mjs');
const DEVICE = 'fault-phone';
const BATCH = 1;
const BATCHES_PER_RUN = 30;
/** A dead or frozen worker is noticed after 5 s; ten attempts outlast a 30 s store outage (backoff 1 s to 1 min). */
const TIMEOUTS: StudyTimeouts = { batchStartToCloseMinutes: 30, heartbeatSeconds: 5 };
/** The fault strikes once this many latency batches are stored (and, where it says so, while a batch runs). */
const STRIKE_AT = 30;

/** A CLI worker that can be killed, frozen and started again, as a supervisor (systemd, Compose) would. */
class SupervisedWorker {
  private child: ChildProcess | undefined;
  log = '';

  constructor(
    private readonly args: string[],
    private readonly env: () => Record<string, string>,
  ) {}

  start(): void {
    this.child = spawn(process.execPath, [BIN, 'worker', ...this.args], { env: { ...process.env, ...this.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-20_000));
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
  }

  signal(signal: NodeJS.Signals): void {
    this.child!.kill(signal);
  }

  async kill(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const child = this.child;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }
}

interface Outcome {
  fault: string;
  seconds: number;
  identicalProfile: boolean;
  latency: CampaignOutcome;
  accuracy: CampaignOutcome;
  /** Architectures whose measurement may have been computed twice: at most the retried batches' (in flight). */
  recomputedAtMost: number;
  /** Measurements a retried batch took from the cache: computed by an attempt that died, not computed again. */
  reusedAfterFault: number;
}

describe('the fault matrix at scale (100 architectures, 200 batches, continued-as-new campaigns)', () => {
  let dir: string;
  let dbFile: string;
  let port: number;
  let temporal: TestTemporal;
  let minio: MinioServer;
  let orchestrator: SupervisedWorker;
  let device: SupervisedWorker;
  let plan: StudyPlan;
  let baseline: { json: string; csv: string } | undefined;
  const outcomes: Outcome[] = [];

  const spec = (name: string) => ({
    name,
    space: 'ofa-mbv3',
    resolutions: [160],
    blocks: ['u0.l0.e3k3', 'u1.l1.e6k5', 'u2.l0.e4k7', 'u3.l2.e6k3', 'u4.l3.e6k7', 'u4.l0.e3k5'],
    samplesPerSpec: 15,
    baselineSamples: 10,
    seed: 11,
    devices: [DEVICE],
    accuracy: { source: 'table', table: join(dir, 'accuracy.csv'), batchSize: BATCH },
    // A lookup table does not drift; without probes the profile holds nothing of the run that measured it.
    measurement: { batchSize: BATCH, drift: { track: false } },
    search: { objectives: [] },
  });

  let bucket = '';
  const storeFor = (name: string) =>
    openArtifactStore({ kind: 's3', endpoint: minio.endpoint, bucket: name, region: 'us-east-1' } satisfies StoreConfig, {
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });

  beforeAll(async () => {
    dir = tempDir('faults');
    dbFile = join(dir, 'temporal.db');
    minio = await startMinio();
    temporal = await startTestTemporal(dbFile);
    port = Number(temporal.server.address.split(':')[1]);
    writeFileSync(
      join(dir, 'devices.yaml'),
      ['devices:', `  - id: ${DEVICE}`, '    backend: command', '    command: echo median_ms=$(( $(wc -c < {model}) / 1000 ))', "    pattern: 'median_ms=(?<ms>[0-9.]+)'", ''].join(
        '\n',
      ),
    );
    plan = planStudy(parseStudySpec(spec('plan')));
    writeFileSync(join(dir, 'accuracy.csv'), ['hash,top1', ...plan.architectures.map(({ hash, arch }) => `${hash},${additiveAccuracy(arch).toFixed(4)}`), ''].join('\n'));
    const env = () => ({
      TEMPORAL_ADDRESS: temporal.server.address,
      BLOCKSCOPE_STORE: `s3://${bucket}`,
      BLOCKSCOPE_S3_ENDPOINT: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      BLOCKSCOPE_DEVICES: join(dir, 'devices.yaml'),
    });
    orchestrator = new SupervisedWorker(['--orchestrator'], env);
    device = new SupervisedWorker(['--device', DEVICE], env);
  });

  afterAll(async () => {
    await device?.kill();
    await orchestrator?.kill();
    if (device && orchestrator) process.stderr.write(`fault matrix worker logs (tail):\n${device.log.slice(-2000)}\n${orchestrator.log.slice(-2000)}\n`);
    await temporal?.close();
    await minio?.stop();
    mkdirSync(resolve(import.meta.dirname, '../test-results'), { recursive: true });
    writeFileSync(resolve(import.meta.dirname, '../test-results/faults.json'), `${JSON.stringify(outcomes, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until a batch activity of `activity` has started in the campaign's current run and not finished. */
  async function whileRunning(workflowId: string, activity: string): Promise<void> {
    await expect
      .poll(
        async () => {
          const { raw } = await temporal.client.workflow.getHandle(workflowId).describe();
          return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === activity && a.state === proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
        },
        { timeout: 60_000, interval: 20 },
      )
      .toBe(true);
  }

  /**
   * Runs one study of the matrix, striking it with `fault` once STRIKE_AT latency batches are stored, and for the
   * device worker's faults while it runs a batch (`busy`), so the fault lands mid-batch.
   */
  async function runStudy(fault: string, strike?: (studyId: string) => Promise<void>, busy?: 'device'): Promise<Outcome> {
    const name = `faults-${fault.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    // Each study in a bucket of its own, with workers started on it.
    await Promise.all([orchestrator.kill(), device.kill()]);
    bucket = name;
    const store: ArtifactStore = storeFor(bucket);
    orchestrator.start();
    device.start();
    const started = performance.now();
    const study = await startStudy(temporal.client, spec(name), { timeouts: TIMEOUTS, batchesPerRun: BATCHES_PER_RUN });
    const keys = studyKeys(study.workflowId);
    if (strike) {
      await expect.poll(async () => (await store.list(keys.latencyPrefix(DEVICE))).length, { timeout: 120_000, interval: 200 }).toBeGreaterThanOrEqual(STRIKE_AT);
      if (busy === 'device') await whileRunning(`${study.workflowId}.latency.${DEVICE}`, 'measureBatch');
      await strike(study.workflowId);
    }
    // After a server restart the old client's connection is gone: ask the current one.
    await temporal.client.workflow.getHandle(study.workflowId).result();
    const seconds = (performance.now() - started) / 1000;

    const profile = { json: await store.getText(keys.profile(DEVICE, 160, 'json')), csv: await store.getText(keys.profile(DEVICE, 160, 'csv')) };
    baseline ??= profile;
    const latencyRecords = await storedRecords(store, keys.latencyPrefix(DEVICE), 'archHash');
    const accuracyRecords = await storedRecords(store, keys.accuracyPrefix, 'hash');
    for (const records of [latencyRecords, accuracyRecords]) {
      expect(records.files).toBe(plan.architectures.length / BATCH);
      // Every architecture exactly once.
      expect(records.hashes).toEqual(plan.architectures.map((a) => a.hash).sort());
    }
    const reusedAfterFault = latencyRecords.fromCache;
    const latency = campaignOutcome(await everyRunsHistory(temporal.client, `${study.workflowId}.latency.${DEVICE}`), 'measureBatch');
    const accuracy = campaignOutcome(await everyRunsHistory(temporal.client, `${study.workflowId}.accuracy`), 'scoreAccuracyBatch');
    const outcome: Outcome = {
      fault,
      seconds,
      identicalProfile: profile.json === baseline.json && profile.csv === baseline.csv,
      latency,
      accuracy,
      recomputedAtMost: (latency.retries + accuracy.retries) * BATCH,
      reusedAfterFault,
    };
    outcomes.push(outcome);
    console.info(`fault matrix: ${JSON.stringify(outcome)}`);
    expect(outcome.identicalProfile).toBe(true);
    for (const campaign of [latency, accuracy]) {
      expect(campaign.scheduled).toBe(plan.architectures.length / BATCH);
      expect(campaign.rescheduled).toBe(0);
      expect(campaign.runs).toBeGreaterThanOrEqual(Math.ceil(plan.architectures.length / BATCH / BATCHES_PER_RUN));
    }
    return outcome;
  }

  it('runs undisturbed: the reference profile', async () => {
    const outcome = await runStudy('none');
    expect(outcome.latency.retries + outcome.accuracy.retries).toBe(0);
  }, 300_000);

  it('survives a SIGKILL of the device worker (restarted by its supervisor)', async () => {
    const outcome = await runStudy(
      'device SIGKILL',
      async () => {
        await device.kill();
        device.start();
      },
      'device',
    );
    // The batch in flight is started again once its heartbeat times out: one retry, one architecture at most measured twice.
    expect(outcome.latency.retries).toBe(1);
  }, 300_000);

  it('survives a SIGKILL of the orchestrator worker (restarted by its supervisor)', async () => {
    // It runs every workflow of the study (the campaigns are mid-run) and the accuracy batches, which a table
    // scores in milliseconds: the kill lands on workflows in flight, which the restarted worker replays.
    const outcome = await runStudy('orchestrator SIGKILL', async () => {
      await orchestrator.kill();
      orchestrator.start();
    });
    expect(outcome.accuracy.retries).toBeLessThanOrEqual(1);
  }, 300_000);

  it('survives a restart of the Temporal server (same database and port)', async () => {
    await runStudy('Temporal restart', async () => {
      await temporal.close();
      temporal = await startTestTemporal(dbFile, port);
    });
  }, 300_000);

  it('survives the object store stopped for 30 s', async () => {
    const outcome = await runStudy('MinIO outage 30 s', () => minio.outage(30_000));
    expect(outcome.latency.retries + outcome.accuracy.retries).toBeGreaterThan(0);
  }, 300_000);

  it('survives a device worker frozen past its heartbeat timeout (SIGSTOP 15 s, then SIGCONT)', async () => {
    const outcome = await runStudy(
      'device SIGSTOP 15 s',
      async () => {
        device.signal('SIGSTOP');
        await new Promise((done) => setTimeout(done, 15_000));
        device.signal('SIGCONT');
      },
      'device',
    );
    // The frozen batch timed out and ran again; the thawed attempt's late result is refused or the same.
    expect(outcome.latency.retries).toBe(1);
  }, 300_000);

  it('attaches a second `study start` of the same spec to the running study', async () => {
    let second: { workflowId: string; runId: string | undefined } | undefined;
    let firstRunId: string | undefined;
    await runStudy('second study start', async (studyId) => {
      firstRunId = (await temporal.client.workflow.getHandle(studyId).describe()).runId;
      const again = await startStudy(temporal.client, spec('faults-second-study-start'), { timeouts: TIMEOUTS, batchesPerRun: BATCHES_PER_RUN });
      second = { workflowId: again.workflowId, runId: (await again.handle.describe()).runId };
      expect(second.workflowId).toBe(studyId);
    });
    expect(second?.runId).toBe(firstRunId);
  }, 300_000);
});
