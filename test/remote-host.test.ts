/**
 * A device worker on another host, for real: the worker runs in its own network namespace (its own loopback,
 * reaching Temporal and MinIO only over a veth link), its own UTS namespace (its own hostname) and its own mount
 * namespace (the orchestrator's folder hidden under an empty tmpfs), with the S3 store as the only store. Its
 * device is a `command` device, as a phone host has one: a benchmark tool per model and a probe command whose
 * output (here the host's name) enters the device fingerprint. The study's latency campaign is measured there.
 * Needs root (network namespaces), as CI has.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatencyMeasurement } from '../activities/devices/index.js';
import { openArtifactStore, type StoreConfig } from '../activities/storage/index.js';
import { studyKeys } from '../activities/study/keys.js';
import { planStudy } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';
import { startOrchestratorWorker, type RunningWorker } from '../workers/runtime.js';
import { startStudy } from '../workers/study-client.js';
import { startMinio, type MinioServer } from './helpers/minio.js';
import { TEST_TIMEOUTS, smallSpec, startTestTemporal, tempDir, type TestTemporal } from './helpers/study.js';
import { additiveAccuracy } from './helpers/synthetic-device.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEVICE = 'lab-phone';
const LAB_HOST = 'lab-device-host';
const BUCKET = 'remote-host';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether `address:port` accepts a TCP connection from inside the namespace. */
function reachableFrom(namespace: string, address: string, port: number): boolean {
  const probe = `require('net').connect(${port}, '${address}').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
  try {
    execFileSync('ip', ['netns', 'exec', namespace, process.execPath, '-e', probe], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

describe('a device worker on another host (its own network, hostname and mounts; S3 only)', () => {
  const suffix = randomInt(1, 250);
  const namespace = `bs-lab-${process.pid}`;
  const hostVeth = `bsh${process.pid % 100_000}`;
  const labVeth = `bsl${process.pid % 100_000}`;
  const hostIp = `10.213.${suffix}.1`;
  const labIp = `10.213.${suffix}.2`;
  let dir: string;
  let temporal: TestTemporal;
  let minio: MinioServer;
  let orchestrator: RunningWorker;
  let lab: ChildProcess | undefined;
  let labLog = '';
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = tempDir('remote-host');
    ip('netns', 'add', namespace);
    ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', labVeth);
    ip('link', 'set', labVeth, 'netns', namespace);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostVeth);
    ip('link', 'set', hostVeth, 'up');
    ip('netns', 'exec', namespace, 'ip', 'addr', 'add', `${labIp}/30`, 'dev', labVeth);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', labVeth, 'up');
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up');

    // The main host: MinIO listens on its end of the link only; the dev server on every address of the main host
    // (its services call each other on 127.0.0.1), which from the lab host is its end of the link.
    minio = await startMinio(hostIp);
    temporal = await startTestTemporal(join(dir, 'orchestrator', 'temporal.db'), undefined, '0.0.0.0');
    process.env.AWS_ACCESS_KEY_ID = minio.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = minio.secretAccessKey;
  });

  afterAll(async () => {
    lab?.kill('SIGKILL');
    await orchestrator?.close();
    await temporal?.close();
    await minio?.stop();
    process.env = saved;
    try {
      // Deleting the namespace removes its end of the veth pair, and with it the host's end.
      ip('netns', 'del', namespace);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("measures a study's latency campaign there: the study completes and its measurements carry that host's fingerprint", async () => {
    const port = Number(temporal.server.address.split(':')[1]);
    // The lab host has its own loopback: the main host's services are reachable over the link only.
    expect(reachableFrom(namespace, hostIp, port)).toBe(true);
    expect(reachableFrom(namespace, '127.0.0.1', port)).toBe(false);

    const device = (probe: string) =>
      [
        'devices:',
        `  - id: ${DEVICE}`,
        '    backend: command',
        '    command: node scripts/ort-bench.mjs {model} --resolution {resolution} --threads {threads} --warmup 1 --runs 3',
        "    pattern: 'median_ms=(?<ms>[0-9.]+)'",
        '    threads: 1',
        `    cwd: ${ROOT}`,
        `    probe: ${probe}`,
        '',
      ].join('\n');
    // The orchestrator only needs to know the device exists; the lab host's file is its own.
    const orchestratorDir = join(dir, 'orchestrator');
    const labDir = join(dir, 'lab');
    mkdirSync(labDir, { recursive: true });
    writeFileSync(join(orchestratorDir, 'devices.yaml'), device('hostname'));
    writeFileSync(join(labDir, 'devices.yaml'), device('hostname'));
    const store: StoreConfig = { kind: 's3', endpoint: minio.endpoint, bucket: BUCKET, region: 'us-east-1' };
    orchestrator = await startOrchestratorWorker({ address: temporal.server.address, namespace: temporal.server.namespace, store, devicesFile: join(orchestratorDir, 'devices.yaml') });

    // The lab host: its own network, hostname and mounts (the orchestrator's folder is an empty tmpfs there).
    const script = `hostname ${LAB_HOST} && mount -t tmpfs tmpfs '${orchestratorDir}' && exec '${process.execPath}' '${join(ROOT, 'bin/blockscope.mjs')}' worker --device ${DEVICE}`;
    lab = spawn('ip', ['netns', 'exec', namespace, 'unshare', '--uts', '--mount', '--propagation', 'private', 'sh', '-c', script], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: `${hostIp}:${port}`,
        BLOCKSCOPE_STORE: `s3://${BUCKET}`,
        BLOCKSCOPE_S3_ENDPOINT: minio.endpoint,
        BLOCKSCOPE_DEVICES: join(labDir, 'devices.yaml'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lab.stdout!.on('data', (chunk: Buffer) => (labLog += chunk.toString()));
    lab.stderr!.on('data', (chunk: Buffer) => (labLog += chunk.toString()));

    const raw = smallSpec('remote-host', { devices: [DEVICE], accuracy: { source: 'table', table: join(orchestratorDir, 'accuracy.csv'), batchSize: 5 }, search: { objectives: [] } });
    const plan = planStudy(parseStudySpec(raw));
    writeFileSync(join(orchestratorDir, 'accuracy.csv'), ['hash,top1', ...plan.architectures.map(({ hash, arch }) => `${hash},${additiveAccuracy(arch).toFixed(4)}`), ''].join('\n'));
    const started = await startStudy(temporal.client, raw, { timeouts: TEST_TIMEOUTS });
    const result = await started.handle.result();
    expect(result.profiles).toHaveLength(1);
    expect(labLog).toContain(`worker device.${DEVICE} polling ${hostIp}:${port}`);

    // Every measurement came from the lab host: the device's probe ran there, and so did every batch activity.
    const artifacts = openArtifactStore(store);
    const measured: LatencyMeasurement[] = [];
    for (const key of await artifacts.list(studyKeys(result.studyId).latencyPrefix(DEVICE))) measured.push(...(await artifacts.getJson<LatencyMeasurement[]>(key)));
    expect(measured.map((m) => m.archHash).sort()).toEqual(plan.architectures.map((a) => a.hash).sort());
    for (const m of measured) expect(m.fingerprint.identity).toEqual({ probe: LAB_HOST });
    const history = await temporal.client.workflow.getHandle(`${started.workflowId}.latency.${DEVICE}`).fetchHistory();
    const identities = new Set(history.events!.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.identity] : [])));
    expect([...identities].every((identity) => identity?.startsWith(`device:${DEVICE}@${LAB_HOST}/`))).toBe(true);
  }, 300_000);
});
