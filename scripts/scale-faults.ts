/**
 * `npm run scale:faults [-- --preset NAME]`: the fault matrix once on a full paper plan (default paper-ofa-mbv3:
 * 18,100 architectures, 905 batches per campaign), recorded in bench/results/scale-faults.{json,md} and the
 * README. The study runs twice through Temporal with the scale run's lookup-table device and accuracy table,
 * MinIO as the only store (a bucket per run) and every worker in its own process: once undisturbed, once struck
 * by every fault of test/faults.test.ts in turn as the latency campaign advances (device worker SIGKILL,
 * orchestrator SIGKILL, Temporal server restart, MinIO stopped 30 s, device worker SIGSTOP past its heartbeat
 * timeout, a second `study start`). The struck run must end with profiles byte-identical to the undisturbed
 * one's, every architecture once in the store, every batch scheduled once, and only batches in flight retried.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { openArtifactStore, type ArtifactStore } from '../activities/storage/index.js';
import { studyKeys } from '../activities/study/keys.js';
import { readRawSpec } from '../cli/spec-file.js';
import { planStudy } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { startMinio, type MinioServer } from '../test/helpers/minio.js';
import { campaignOutcome, everyRunsHistory, storedRecords, type CampaignOutcome } from '../test/helpers/faults.js';
import { startDevServer, type DevServer } from '../workers/dev-server.js';
import { startStudy } from '../workers/study-client.js';
import { ensureSearchAttributes } from '../workers/temporal.js';
import type { StudyTimeouts } from '../workflows/definitions.js';
import { accuracyModel } from './scale-model.js';
import { DEVICE, ROOT, log, lookupTable, startWorker, updateReadme } from './scale-processes.js';

/** A dead or frozen device is noticed after 10 s (the default, 120 s, suits a phone on a slow link). */
const TIMEOUTS: StudyTimeouts = { batchStartToCloseMinutes: 360, heartbeatSeconds: 10 };

interface Strike {
  /** Share of the latency campaign's batches stored when it strikes. */
  at: number;
  kind: 'device-kill' | 'orchestrator-kill' | 'temporal-restart' | 'store-outage' | 'device-freeze' | 'second-start';
  fault: string;
}

const STRIKES: Strike[] = [
  { at: 0.15, kind: 'device-kill', fault: 'device worker SIGKILL, restarted' },
  { at: 0.3, kind: 'orchestrator-kill', fault: 'orchestrator SIGKILL, restarted' },
  { at: 0.45, kind: 'temporal-restart', fault: 'Temporal server restart (same database and port)' },
  { at: 0.6, kind: 'store-outage', fault: 'MinIO stopped 30 s, then started' },
  { at: 0.75, kind: 'device-freeze', fault: 'device worker SIGSTOP 25 s, then SIGCONT' },
  { at: 0.85, kind: 'second-start', fault: 'a second study start of the same spec' },
];

interface RunResult {
  seconds: number;
  profile: { json: string; csv: string };
  latency: CampaignOutcome;
  accuracy: CampaignOutcome;
  strikes: { fault: string; atBatch: number; seconds: number }[];
  everyArchitectureOnce: boolean;
}

const { values } = parseArgs({ options: { preset: { type: 'string', default: 'paper-ofa-mbv3' } } });
const preset = values.preset!;
const raw = readRawSpec(preset) as Record<string, unknown>;
const base = parseStudySpec(raw);
const home = mkdtempSync(join(tmpdir(), `blockscope-scale-faults-${preset}-`));
const lut = lookupTable(base.space);
const devicesFile = join(home, 'devices.yaml');
writeFileSync(devicesFile, `devices:\n  - id: ${DEVICE}\n    backend: lookup-table\n    table: ${lut.path}\n`);
const table = join(home, 'accuracy.csv');
const rawSpec = {
  ...raw,
  name: `scale-faults-${preset}`,
  devices: [DEVICE],
  accuracy: { source: 'table', table, batchSize: base.accuracy.batchSize },
  // A lookup table does not drift; without probes the profiles hold nothing of the run that measured them.
  measurement: { ...(raw['measurement'] as Record<string, unknown>), drift: { track: false } },
  search: { objectives: [] },
};
const plan = planStudy(parseStudySpec(rawSpec));
writeFileSync(table, ['hash,top1', ...plan.architectures.map(({ hash, arch }) => `${hash},${accuracyModel(arch).toFixed(4)}`), ''].join('\n'));
const batches = Math.ceil(plan.architectures.length / base.measurement.batchSize);
log(`${preset}: ${plan.architectures.length} architectures, ${batches} latency batches; home ${home}`);

const minio: MinioServer = await startMinio();

async function run(bucket: string, strike: boolean): Promise<RunResult> {
  const dbFile = join(home, bucket, 'temporal.db');
  let server: DevServer = await startDevServer({ dbFile, headless: true });
  const port = Number(server.address.split(':')[1]);
  let connection = await Connection.connect({ address: server.address });
  await ensureSearchAttributes(connection, server.namespace);
  let client = new Client({ connection, namespace: server.namespace });
  const env = { BLOCKSCOPE_S3_ENDPOINT: minio.endpoint, AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
  const store: ArtifactStore = openArtifactStore(
    { kind: 's3', endpoint: minio.endpoint, bucket, region: 'us-east-1' },
    { credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey } },
  );
  const options = (role: string) => ({ address: server.address, store: `s3://${bucket}`, devices: devicesFile, stats: join(home, bucket, `${role}-stats.json`), env });
  const workers: Record<'orchestrator' | 'device', ChildProcess> = {
    orchestrator: await startWorker('orchestrator', options('orchestrator')),
    device: await startWorker(`device:${DEVICE}`, options('device')),
  };
  const restart = async (role: 'orchestrator' | 'device') => {
    const exited = new Promise((done) => workers[role].once('exit', done));
    workers[role].kill('SIGKILL');
    await exited;
    workers[role] = await startWorker(role === 'device' ? `device:${DEVICE}` : role, options(role));
  };
  try {
    const started = performance.now();
    const study = await startStudy(client, rawSpec, { timeouts: TIMEOUTS });
    const keys = studyKeys(study.workflowId);
    const strikes: RunResult['strikes'] = [];
    if (strike) {
      for (const { at, kind, fault } of STRIKES) {
        let stored = 0;
        while ((stored = (await store.list(keys.latencyPrefix(DEVICE))).length) < at * batches) await new Promise((done) => setTimeout(done, 500));
        log(`${bucket}: ${fault} at ${stored} of ${batches} latency batches`);
        const struck = performance.now();
        switch (kind) {
          case 'device-kill':
            await restart('device');
            break;
          case 'orchestrator-kill':
            await restart('orchestrator');
            break;
          case 'temporal-restart':
            await connection.close();
            await server.stop();
            server = await startDevServer({ dbFile, headless: true, port });
            connection = await Connection.connect({ address: server.address });
            client = new Client({ connection, namespace: server.namespace });
            break;
          case 'store-outage':
            await minio.outage(30_000);
            break;
          case 'device-freeze':
            workers.device.kill('SIGSTOP');
            await new Promise((done) => setTimeout(done, 25_000));
            workers.device.kill('SIGCONT');
            break;
          case 'second-start': {
            const again = await startStudy(client, rawSpec, { timeouts: TIMEOUTS });
            if (again.workflowId !== study.workflowId) throw new Error(`a second start made another study: ${again.workflowId}`);
            break;
          }
        }
        strikes.push({ fault, atBatch: stored, seconds: (performance.now() - struck) / 1000 });
      }
    }
    await client.workflow.getHandle(study.workflowId).result();
    const seconds = (performance.now() - started) / 1000;
    log(`${bucket}: done in ${seconds.toFixed(0)} s`);
    const expected = plan.architectures.map((a) => a.hash).sort();
    const latencyRecords = await storedRecords(store, keys.latencyPrefix(DEVICE), 'archHash');
    const accuracyRecords = await storedRecords(store, keys.accuracyPrefix, 'hash');
    return {
      seconds,
      profile: { json: await store.getText(keys.profile(DEVICE, 224, 'json')), csv: await store.getText(keys.profile(DEVICE, 224, 'csv')) },
      latency: campaignOutcome(await everyRunsHistory(client, `${study.workflowId}.latency.${DEVICE}`), 'measureBatch'),
      accuracy: campaignOutcome(await everyRunsHistory(client, `${study.workflowId}.accuracy`), 'scoreAccuracyBatch'),
      strikes,
      everyArchitectureOnce: [latencyRecords, accuracyRecords].every((r) => r.hashes.length === expected.length && r.hashes.every((h, i) => h === expected[i])),
    };
  } finally {
    for (const child of Object.values(workers)) child.kill('SIGKILL');
    await connection.close();
    await server.stop();
  }
}

let reference: RunResult;
let struck: RunResult;
try {
  reference = await run('reference', false);
  struck = await run('struck', true);
} finally {
  await minio.stop();
  rmSync(home, { recursive: true, force: true });
}

const identical = struck.profile.json === reference.profile.json && struck.profile.csv === reference.profile.csv;
const generatedAt = new Date().toISOString();
const result = {
  kind: 'blockscope.scale-faults/v1',
  generatedAt,
  preset,
  architectures: plan.architectures.length,
  batchesPerCampaign: batches,
  heartbeatSeconds: TIMEOUTS.heartbeatSeconds,
  identicalProfiles: identical,
  runs: { reference: { ...reference, profile: undefined }, struck: { ...struck, profile: undefined } },
};
writeFileSync(join(ROOT, 'bench/results/scale-faults.json'), `${JSON.stringify(result, null, 2)}\n`);
const repeated = (c: CampaignOutcome) => `${c.scheduled} scheduled in ${c.runs} runs, ${c.rescheduled} batches scheduled twice, ${c.retries} retries`;
const md = [
  '# The fault matrix on a paper plan (`npm run scale:faults`)',
  '',
  `Written by \`npm run scale:faults\` at ${generatedAt}: ${preset}, ${plan.architectures.length} architectures in ${batches} latency and ${batches} accuracy batches, through a Temporal dev server, MinIO (the only store) and an orchestrator and a lookup-table device worker in their own processes (scripts/scale-faults.ts). Heartbeat timeout ${TIMEOUTS.heartbeatSeconds} s.`,
  '',
  `Undisturbed: ${(reference.seconds / 60).toFixed(1)} min. Struck by every fault in turn: ${(struck.seconds / 60).toFixed(1)} min.`,
  '',
  '| fault | struck at latency batch | fault took (s) |',
  '| --- | --- | --- |',
  ...struck.strikes.map((s) => `| ${s.fault} | ${s.atBatch} of ${batches} | ${s.seconds.toFixed(1)} |`),
  '',
  `Profiles byte-identical to the undisturbed run's: **${identical ? 'yes' : 'NO'}**. Every architecture exactly once in the store: ${struck.everyArchitectureOnce ? 'yes' : 'NO'}.`,
  '',
  `Latency campaign: ${repeated(struck.latency)} (undisturbed: ${repeated(reference.latency)}). Accuracy campaign: ${repeated(struck.accuracy)} (undisturbed: ${repeated(reference.accuracy)}). A retry repeats at most its batch's ${base.measurement.batchSize} architectures: the ones in flight.`,
  '',
].join('\n');
writeFileSync(join(ROOT, 'bench/results/scale-faults.md'), md);
const section = `Latest \`npm run scale:faults\` (${generatedAt}; [bench/results/scale-faults.md](bench/results/scale-faults.md)): ${preset}'s ${plan.architectures.length} architectures struck in one run by a device worker SIGKILL, an orchestrator SIGKILL, a Temporal restart, MinIO stopped 30 s, a device worker SIGSTOP and a second study start: ${(struck.seconds / 60).toFixed(1)} min against ${(reference.seconds / 60).toFixed(1)} undisturbed; profiles byte-identical: ${identical ? 'yes' : 'NO'}; batches scheduled twice: ${struck.latency.rescheduled + struck.accuracy.rescheduled}; retries ${struck.latency.retries + struck.accuracy.retries} (each at most its batch in flight).`;
updateReadme('scale-faults', section);
log('wrote bench/results/scale-faults.json and .md');
if (!identical || !struck.everyArchitectureOnce || struck.latency.rescheduled + struck.accuracy.rescheduled > 0) process.exitCode = 1;
