/**
 * Drift tracking: the correction on synthetic series whose answer is known, then a real study (Temporal,
 * workers, the `command` backend's own path) on a synthetic device whose latency is a known function of the
 * model times a drift that grows by 50% over the campaign.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore, type StoreConfig } from '../activities/storage/index.js';
import { studyKeys } from '../activities/study/keys.js';
import type { DriftCorrections } from '../activities/study/latency.js';
import { correctForDrift, driftResidualStd, driftSeries, probeAt, runningMedian, SMOOTHING_WINDOW, type DriftProbe } from '../pipelines/drift.js';
import { Rng } from '../pipelines/rng.js';
import { exportNetwork } from '../pipelines/onnx/export.js';
import { aggregateProfile, type BlockProfile } from '../pipelines/profile.js';
import type { ArchitectureMetrics } from '../pipelines/records.js';
import { buildNetwork } from '../pipelines/spaces/index.js';
import { mean, std } from '../pipelines/stats.js';
import type { StudyPlan } from '../pipelines/study/plan.js';
import { startDeviceWorker, startOrchestratorWorker, type RunningWorker } from '../workers/runtime.js';
import { startStudy } from '../workers/study-client.js';
import { TEST_DEVICE, TEST_TIMEOUTS, smallSpec, startTestTemporal, tempDir, writeTestDevicesFile, type TestTemporal } from './helpers/study.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const probe = (seconds: number, medianMs: number, batchIndex = 0): DriftProbe => ({ batchIndex, position: 0, at: at(seconds), medianMs });

describe('drift correction', () => {
  it('interpolates the smoothed probes linearly in time and knows nothing outside them', () => {
    const series = driftSeries('d', 'ref', 160, [probe(10, 12), probe(0, 10), probe(20, 11)]);
    expect(series.probes.map((p) => p.medianMs)).toEqual([10, 12, 11]);
    // The middle probe is the median of all three; the end ones have no neighbours on one side, so stay as they are.
    expect(series.smoothedMs).toEqual([10, 11, 11]);
    expect(series.referenceMs).toBe(11);
    expect(series.range).toBeCloseTo(1.2, 12);
    expect(probeAt(series, T0 + 5000)).toBeCloseTo(10.5, 12);
    expect(probeAt(series, T0 + 15000)).toBeCloseTo(11, 12);
    expect(probeAt(series, T0 + 10000)).toBeCloseTo(11, 12);
    expect(probeAt(series, T0 - 1)).toBeUndefined();
    expect(probeAt(series, T0 + 20001)).toBeUndefined();
  });

  it('smooths a noisy probe away, keeps a step a step and a linear drift straight', () => {
    expect(runningMedian([10, 10, 13, 10, 10, 10], 5)).toEqual([10, 10, 10, 10, 10, 10]);
    expect(runningMedian([10, 10, 10, 10, 13, 13, 13, 13], 5)).toEqual([10, 10, 10, 10, 13, 13, 13, 13]);
    expect(runningMedian([1, 2, 3, 4, 5, 6, 7], 5)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Against the raw probes, the noise a correction carries: 10% lognormal probe noise on a flat host.
    const rng = new Rng('drift-smoothing');
    const noisy = Array.from({ length: 400 }, () => 10 * Math.exp(0.1 * rng.gaussian()));
    const spread = (values: number[]) => std(values.map((v) => Math.log(v)));
    expect(spread(runningMedian(noisy, SMOOTHING_WINDOW)) / spread(noisy)).toBeLessThan(0.6);
  });

  it('recovers latencies up to one common factor under a drift it probed', () => {
    // The host slows by 50% over 100 s, linearly; probes every 10 s of a 5 ms reference.
    const drift = (s: number) => 1 + (0.5 * s) / 100;
    const series = driftSeries(
      'd',
      'ref',
      160,
      Array.from({ length: 11 }, (_, i) => probe(i * 10, 5 * drift(i * 10), i)),
    );
    const truth = [3, 7, 4.5, 9, 2];
    const corrected = truth.map((ms, i) => {
      const t = 3 + i * 21;
      return correctForDrift(series, { archHash: `a${i}`, medianMs: ms * drift(t), startedAt: at(t - 0.1), measuredAt: at(t + 0.1) });
    });
    const scale = corrected[0]!.correctedMs / truth[0]!;
    for (const [i, c] of corrected.entries()) {
      expect(c.correctedMs / truth[i]!).toBeCloseTo(scale, 9);
      expect(c.rawMs).toBeCloseTo(truth[i]! * drift(3 + i * 21), 12);
      expect(c.factor).toBeCloseTo(c.correctedMs / c.rawMs, 12);
    }
    // A measurement from before the campaign (an earlier study's cache) is left as it was, and says so.
    expect(correctForDrift(series, { archHash: 'old', medianMs: 4, startedAt: at(-3600), measuredAt: at(-3599) })).toEqual({
      archHash: 'old',
      rawMs: 4,
      correctedMs: 4,
      factor: null,
      segment: null,
    });
  });

  it('measures how far the host wanders between probes, leaving each interior probe out', () => {
    // On a straight line there is no wander; one probe 10% above its neighbours' line is log(1.1) off.
    expect(driftResidualStd(driftSeries('d', 'ref', 160, [probe(0, 10), probe(10, 11), probe(20, 12), probe(30, 13)]))).toBeCloseTo(0, 12);
    const bumped = driftSeries('d', 'ref', 160, [probe(0, 10), probe(10, 11 * 1.1), probe(20, 12)]);
    expect(driftResidualStd(bumped)).toBeCloseTo(Math.log(1.1), 12);
    expect(driftResidualStd(driftSeries('d', 'ref', 160, [probe(0, 10), probe(10, 30)]))).toBe(0);
  });

  it('rejects probes that are not positive latencies at valid times, naming the batch', () => {
    expect(() => driftSeries('d', 'ref', 160, [])).toThrow(/no probes for d/);
    expect(() => driftSeries('d', 'ref', 160, [probe(0, -1, 3)])).toThrow(/drift probe of batch 3: medianMs must be a positive number/);
    expect(() => driftSeries('d', 'ref', 160, [{ ...probe(0, 1, 4), at: 'yesterday' }])).toThrow(/drift probe of batch 4: at must be an ISO time/);
  });
});

/** Latency = model bytes / 1000 µs, times a drift growing from 1 to 1.5 over `ramp` seconds from the device's first call. */
const DRIFTING_DEVICE_SCRIPT = `#!/bin/sh
state="$2"; now=$(date +%s%N)
[ -f "$state" ] || echo "$now" > "$state"
t0=$(cat "$state")
size=$(stat -c %s "$1")
awk -v s="$size" -v n="$now" -v t="$t0" -v r="$3" 'BEGIN { e = (n - t) / 1e9; d = 1 + 0.5 * (e < r ? e / r : 1); printf "avg=%.3f\\n", s / 1000 * d }'
`;

describe('a study on a device whose speed drifts by 50% over the campaign', () => {
  let temporal: TestTemporal;
  let workers: RunningWorker[];
  let store: FsArtifactStore;
  let dir: string;
  const RAMP_SECONDS = 6;

  beforeAll(async () => {
    dir = tempDir('drift');
    temporal = await startTestTemporal(join(dir, 'temporal.db'));
    const devicesFile = writeTestDevicesFile(dir);
    const script = join(dir, 'drifting-device.sh');
    writeFileSync(script, DRIFTING_DEVICE_SCRIPT);
    const device = (id: string) => [
      '  - id: ' + id,
      '    backend: command',
      `    command: 'sh ${script} {model} ${join(dir, `${id}.t0`)} ${RAMP_SECONDS}'`,
      "    pattern: 'avg=(?<us>[0-9.]+)'",
    ];
    writeFileSync(devicesFile, [readFileSync(devicesFile, 'utf8').trimEnd(), ...device('drift-mixed'), ...device('drift-grouped'), ''].join('\n'));
    const storeConfig: StoreConfig = { kind: 'fs', root: join(dir, 'store') };
    store = new FsArtifactStore(storeConfig.root);
    const config = { address: temporal.server.address, namespace: temporal.server.namespace, store: storeConfig, devicesFile };
    workers = [await startOrchestratorWorker(config), ...(await Promise.all(['drift-mixed', 'drift-grouped', TEST_DEVICE].map((device) => startDeviceWorker({ ...config, device }))))];
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await temporal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Relative latency effect of every spec, from the study's profile and from the device's known function. */
  async function effects(studyId: string, device: string): Promise<{ measured: number[]; truth: number[]; profile: BlockProfile; plan: StudyPlan }> {
    const plan = await store.getJson<StudyPlan>(studyKeys(studyId).plan);
    const profile = await store.getJson<BlockProfile>(studyKeys(studyId).profile(device, 160, 'json'));
    const metrics = new Map<string, ArchitectureMetrics>(
      plan.architectures.map(({ hash, arch }) => [hash, { hash, accuracy: 0, macs: 0, params: 0, latencyMs: { [device]: exportNetwork(buildNetwork(arch)).byteLength / 1e6 } }]),
    );
    const truth = aggregateProfile({ space: plan.space, device, resolution: 160, accuracySource: 'naswot-proxy', specs: plan.specs, baseline: plan.baseline[0]!.archHashes, metrics });
    return { measured: profile.specs.map((s) => s.effect.latency!.relative), truth: truth.specs.map((s) => s.effect.latency!.relative), profile, plan };
  }

  it('recovers the known block effects with the mixed order and drift correction; the grouped order does not', async () => {
    const blocks = ['u0.l0.e3k3', 'u0.l0.e6k7', 'u4.l0.e3k3', 'u4.l0.e6k7', 'u2.l1.e3k7', 'u2.l1.e6k3'];
    const study = (device: string, measurement: Record<string, unknown>) =>
      smallSpec(`drift-${device}`, {
        devices: [device],
        blocks,
        samplesPerSpec: 3,
        baselineSamples: 6,
        measurement: { batchSize: 4, ...measurement },
        search: { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 0, budgetPerIteration: 1, remeasureFront: false },
      });
    const [mixed, grouped] = await Promise.all([
      startStudy(temporal.client, study('drift-mixed', {}), { timeouts: TEST_TIMEOUTS }),
      startStudy(temporal.client, study('drift-grouped', { order: 'grouped', drift: { track: false, correct: false } }), { timeouts: TEST_TIMEOUTS }),
    ]);
    await Promise.all([mixed.handle.result(), grouped.handle.result()]);

    const onMixed = await effects(mixed.workflowId, 'drift-mixed');
    // The probes saw the drift: the host ended about 1.5x slower than it started.
    const drift = onMixed.profile.drift!;
    expect(drift.corrected).toBe(true);
    expect(drift.series.range).toBeGreaterThan(1.3);
    // Their device time over the measurements': 7 probes and a warm-up for 24 models, each about one model's worth.
    expect(drift.overhead).toBeGreaterThan(0.1);
    expect(drift.overhead).toBeLessThan(0.8);
    // One probe at the start of every batch and one at the end of the campaign.
    expect(drift.series.probes.length).toBe(Math.ceil(onMixed.plan.architectures.length / 4) + 1);
    // 24 architectures are far too few for the regression's parameters: it says so instead of fitting.
    const skipped = { skipped: expect.stringMatching(/^\d+ architectures cannot identify \d+ parameters; it needs more than \d+$/) };
    expect(onMixed.profile.regression).toEqual({ latency: skipped, accuracy: skipped });
    const corrections = await store.getJson<DriftCorrections>(drift.correctionsKey);
    expect(corrections.corrections.every((c) => c.factor !== null && c.correctedMs > 0)).toBe(true);
    // A measurement's time is the midpoint of export and command, while the script reads the clock as the
    // command starts: on a ramp of 8% per second, the 0.1-0.3 s between them on a loaded host is 1-2 points.
    const mixedErrors = onMixed.truth.map((truth, i) => Math.abs(onMixed.measured[i]! - truth));
    expect(Math.max(...mixedErrors)).toBeLessThan(0.05);
    expect(mean(mixedErrors)).toBeLessThan(0.02);

    const onGrouped = await effects(grouped.workflowId, 'drift-grouped');
    expect(onGrouped.profile.drift).toBeUndefined();
    const errors = onGrouped.truth.map((truth, i) => Math.abs(onGrouped.measured[i]! - truth));
    expect(Math.max(...errors)).toBeGreaterThan(0.1);
    expect(mean(errors)).toBeGreaterThan(0.1);
  }, 240_000);
});
