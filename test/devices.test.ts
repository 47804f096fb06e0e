/**
 * The device/latency layer against the real onnxruntime-node (no mocks): child-process measurements of every
 * space, the adaptive protocol, the cache, the cross-process lock, lookup tables and the command backend.
 * Protocols are tiny so the file stays well under two minutes on two shared cores.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CALIBRATION_RUNS,
  CPU_LOCAL,
  DeviceConfigError,
  LookupTableMissingEntryError,
  OnnxRuntimeRunner,
  UnknownDeviceError,
  acquireDeviceLock,
  blockKey,
  buildLookupTable,
  lookupTableContradictions,
  calibrationKey,
  commandDevice,
  createMeasurer,
  deviceLockPath,
  distinctBlocks,
  fingerprintHash,
  loadDevices,
  lookupLatency,
  measurementKey,
  medianConfidenceInterval,
  nextBatchSize,
  onnxRuntimeDevice,
  parseDevices,
  parseLatencies,
  processIsRunning,
  protocolHash,
  saveLookupTable,
  sessionSettings,
  stopReason,
  summarizeTimings,
  type LatencyMeasurement,
  type LookupTable,
  type OnnxRuntimeProtocol,
  type ReferenceCalibration,
} from '../activities/devices/index.js';
import { FsArtifactStore } from '../activities/storage/index.js';
import type { BlockDescriptor } from '../pipelines/network/ir.js';
import { referenceArchitecture, sampleArchitectures } from '../pipelines/sampling.js';
import { architectureHash, buildNetwork, originalSpace, type Architecture, type SpaceDocument } from '../pipelines/spaces/index.js';

const repoRoot = new URL('..', import.meta.url).pathname;
const quick: OnnxRuntimeProtocol = { warmupRuns: 1, minRuns: 5, maxRuns: 10, targetRelativeHalfWidth: 0.05, maxSeconds: 5, reference: 'none' };
let scratch: string;
let lockDir: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(os.tmpdir(), 'blockscope-devices-test-'));
  // A private lock directory: these tests must not wait for, or be waited on by, other processes on the host.
  lockDir = join(scratch, 'locks');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function randomArch(space: Architecture['space'], resolution: number, seed = 1): Architecture {
  return sampleArchitectures(originalSpace(space), 1, seed, resolution)[0]!;
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DeviceConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a DeviceConfigError');
}

describe('device config', () => {
  it('has a built-in cpu-local device with one thread and a bounded adaptive protocol', async () => {
    const registry = await loadDevices();
    expect(registry.ids()).toEqual(['cpu-local']);
    expect(registry.get('cpu-local')).toEqual(CPU_LOCAL);
    expect(CPU_LOCAL).toMatchObject({
      backend: 'onnxruntime',
      executionProvider: 'cpu',
      threads: { intraOp: 1, interOp: 1 },
      allowSpinning: false,
      protocol: { warmupRuns: 5, minRuns: 10, maxRuns: 50, targetRelativeHalfWidth: 0.02, maxSeconds: 30 },
    });
  });

  it('reads a YAML devices file with all three backends and resolves paths against it', async () => {
    const path = join(scratch, 'devices.yaml');
    await writeFile(
      path,
      [
        'devices:',
        '  - id: note10',
        '    backend: lookup-table',
        '    table: luts/note10.json',
        '  - id: rpi4',
        '    backend: command',
        '    command: ssh pi@rpi4 bench --graph={model} --size={resolution}',
        "    pattern: 'avg=(?<us>[0-9.]+)'",
        '  - id: cpu-4t',
        '    backend: onnxruntime',
        '    threads: { intraOp: 4 }',
        '    protocol: { minRuns: 20 }',
      ].join('\n'),
    );
    const registry = await loadDevices(path);
    expect(registry.ids()).toEqual(['cpu-local', 'note10', 'rpi4', 'cpu-4t']);
    expect(registry.get('note10')).toMatchObject({ table: join(scratch, 'luts/note10.json') });
    expect(registry.get('rpi4')).toMatchObject({ match: 'last', repeats: 1, timeoutSeconds: 600 });
    expect(registry.get('cpu-4t')).toMatchObject({ threads: { intraOp: 4, interOp: 1 }, protocol: { minRuns: 20, maxRuns: 50, warmupRuns: 5 } });

    // A file's cpu-local replaces the built-in one.
    const own = parseDevices({ devices: [{ id: 'cpu-local', backend: 'onnxruntime', threads: { intraOp: 2 } }] }, { source: 'x.json', baseDir: scratch });
    expect(own.devices).toHaveLength(1);
    expect(own.get('cpu-local')).toMatchObject({ threads: { intraOp: 2 } });
  });

  it('reports every problem on one line naming the field path and the allowed values', () => {
    const message = configError(() =>
      parseDevices(
        {
          devices: [
            { id: 'GPU_1', backend: 'onnxruntime', executionProvider: 'gpu' },
            { id: 'a', backend: 'tflite' },
            { id: 'b', backend: 'onnxruntime', protocl: {} },
            { id: 'c', backend: 'lookup-table' },
            { id: 'd', backend: 'onnxruntime', protocol: { minRuns: 20, maxRuns: 10 } },
            { id: 'e', backend: 'command', command: 'bench {modle}', pattern: 'took (\\d+)' },
            { id: 'f', backend: 'onnxruntime', protocol: { reference: 'sometimes' } },
          ],
        },
        { source: 'devices.json', baseDir: scratch },
      ),
    );
    const lines = message.split('\n');
    expect(lines).toContain('devices.json: devices[0].id: must match [a-z0-9][a-z0-9-]* (lower-case letters, digits and dashes; it names the task queue device.<id>)');
    expect(lines).toContain('devices.json: devices[0].executionProvider: Invalid option: expected one of "cpu"|"cuda"');
    expect(lines).toContain("devices.json: devices[1].backend: Invalid discriminator value. Expected 'onnxruntime' | 'lookup-table' | 'command'");
    expect(lines.find((l) => l.startsWith('devices.json: devices[2]:'))).toMatch(
      /unknown field "protocl"; allowed: id, description, identity, backend, executionProvider, threads, allowSpinning, protocol/,
    );
    expect(lines).toContain('devices.json: devices[3].table: required field missing (expected string)');
    expect(lines).toContain('devices.json: devices[4].protocol.maxRuns: maxRuns must be at least minRuns');
    expect(lines).toContain('devices.json: devices[5].command: unknown placeholder {modle}; allowed: {model}, {resolution}, {device}, {threads}');
    expect(lines.find((l) => l.startsWith('devices.json: devices[5].pattern:'))).toMatch(/named group \(\?<ms>…\), \(\?<us>…\) or \(\?<s>…\)/);
    expect(lines).toContain('devices.json: devices[6].protocol.reference: Invalid option: expected one of "none"|"interleaved"');
    expect(lines).toHaveLength(9);

    expect(
      configError(() =>
        parseDevices(
          {
            devices: [
              { id: 'x', backend: 'onnxruntime' },
              { id: 'x', backend: 'onnxruntime' },
            ],
          },
          { source: 'f', baseDir: scratch },
        ),
      ),
    ).toBe('f: devices[1].id: duplicate id "x" (also devices[0])');
  });

  it('says which file cannot be read or parsed', async () => {
    await expect(loadDevices(join(scratch, 'missing.yaml'))).rejects.toThrow(`cannot read devices file ${join(scratch, 'missing.yaml')}: ENOENT`);
    const broken = join(scratch, 'broken.yaml');
    await writeFile(broken, 'devices: [ { id: x\n');
    await expect(loadDevices(broken)).rejects.toThrow(`${broken}: not valid YAML or JSON:`);
  });

  it('names the known devices for an unknown id', async () => {
    const registry = await loadDevices();
    expect(() => registry.get('note10')).toThrow(UnknownDeviceError);
    expect(() => registry.get('note10')).toThrow('unknown device "note10"; known devices: cpu-local');
  });
});

describe('onnxruntime backend', () => {
  const device = onnxRuntimeDevice({ id: 'test-ort', protocol: quick });

  it('measures random architectures of every space in a child process', async () => {
    const measurer = createMeasurer(device, { lockDir });
    try {
      for (const arch of [randomArch('ofa-mbv3', 224), randomArch('proxylessnas', 224), randomArch('resnet50', 160)]) {
        const m = await measurer.measure(arch);
        expect(m).toMatchObject({ device: 'test-ort', backend: 'onnxruntime', archHash: architectureHash(arch), resolution: arch.resolution, fromCache: false });
        expect(m.runs).toBe(m.timingsMs.length);
        expect(m.runs).toBeGreaterThanOrEqual(quick.minRuns);
        expect(m.runs).toBeLessThanOrEqual(quick.maxRuns);
        expect(m.medianMs).toBeGreaterThan(0.5);
        expect(m.p10Ms).toBeLessThanOrEqual(m.medianMs);
        expect(m.p90Ms).toBeGreaterThanOrEqual(m.medianMs);
        expect(m.medianMs).toBeCloseTo(summarizeTimings(m.timingsMs).medianMs, 9);
        expect(m.breakdown.exportMs).toBeGreaterThan(0);
        expect(m.breakdown.sessionCreateMs).toBeGreaterThan(0);
        expect(m.breakdown.timedMs).toBeCloseTo(
          m.timingsMs.reduce((a, b) => a + b, 0),
          6,
        );
        expect(m.breakdown.totalMs).toBeGreaterThan(m.breakdown.timedMs);
        expect(m.fingerprint).toMatchObject({
          device: 'test-ort',
          backend: 'onnxruntime',
          host: { cpuModel: os.cpus()[0]!.model.trim(), logicalCores: os.cpus().length },
          runtime: { name: 'onnxruntime-node', version: '1.30.0', node: process.version },
          settings: { executionProvider: 'cpu', intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all' },
        });
        expect(m.fingerprintHash).toBe(fingerprintHash(m.fingerprint));
        expect(m.protocol).toEqual(quick);
        console.info(`${arch.space}@${arch.resolution}: median ${m.medianMs.toFixed(2)} ms, cv ${m.cv.toFixed(3)}, ${m.runs} runs (${m.stopReason})`);
      }
      expect(measurer.counts()).toEqual({ measured: 3, cacheHits: 0 });
    } finally {
      await measurer.close();
    }
  });

  it('runs between minRuns and maxRuns on the real runtime: to the cap, or until out of time', async () => {
    const runner = new OnnxRuntimeRunner('test-adaptive', sessionSettings(device));
    const block = buildNetwork(randomArch('ofa-mbv3', 160)).blocks.find((b) => b.name === 'u0.l0')!;
    const source = { kind: 'blocks' as const, blocks: [block], inputShape: block.descriptor.inShape };
    try {
      const never = await runner.measureModel(source, { ...quick, minRuns: 4, maxRuns: 9, targetRelativeHalfWidth: 1e-9, maxSeconds: 60 });
      expect(never).toMatchObject({ stopReason: 'max-runs' });
      expect(never.timingsMs).toHaveLength(9);
      expect(never.warmupTimingsMs).toHaveLength(1);

      const hurried = await runner.measureModel(source, { ...quick, minRuns: 4, maxRuns: 1000, targetRelativeHalfWidth: 1e-9, maxSeconds: 1e-6 });
      expect(hurried).toMatchObject({ stopReason: 'max-seconds' });
      expect(hurried.timingsMs).toHaveLength(4);
      expect(runner.childStarts).toBe(1);
    } finally {
      await runner.close();
    }
  });

  it('calls a measurement stable once the median is pinned down, adding a quarter of the runs per batch', () => {
    const protocol: OnnxRuntimeProtocol = { warmupRuns: 0, minRuns: 8, maxRuns: 40, targetRelativeHalfWidth: 0.02, maxSeconds: 10, reference: 'none' };
    const steady = [10, 10.05, 9.95, 10.1, 9.9, 10, 10.02, 9.98];
    const noisy = [10, 14, 8, 12, 9, 15, 7, 11];
    expect(stopReason(steady.slice(0, 7), protocol, 0)).toBeUndefined();
    expect(stopReason(steady, protocol, 0)).toBe('stable');
    expect(stopReason(noisy, protocol, 0)).toBeUndefined();
    expect(stopReason(noisy, protocol, 10)).toBe('max-seconds');
    expect(stopReason([...noisy, ...noisy, ...noisy, ...noisy, ...noisy], protocol, 0)).toBe('max-runs');
    expect(nextBatchSize(noisy.slice(0, 3), protocol, 0)).toBe(5);
    expect(nextBatchSize([...noisy, ...noisy], protocol, 0)).toBe(4);
    // 50 ms left at a median of 10.5 ms a run: room for 4 more.
    expect(nextBatchSize([...noisy, ...noisy, ...noisy, ...noisy], protocol, 9.95)).toBe(4);
    // The exact binomial 95% ranks of the median for n = 20 are 6 and 15.
    expect(medianConfidenceInterval(Array.from({ length: 20 }, (_, i) => i + 1))).toEqual([6, 15]);
  });

  it('keeps the event loop free while the model runs', async () => {
    // The largest ResNet: every run blocks the runtime's thread for tens of milliseconds. Were the runs in
    // this process, the 2 ms ticker could only fire in the gaps between runs (about one tick per run);
    // with the runtime in a child process it keeps firing throughout. Counting ticks, not timing gaps,
    // keeps the check meaningful on a loaded machine.
    const arch: Architecture = {
      space: 'resnet50',
      resolution: 160,
      stem: { skip: false, hiddenWidth: 2, outWidth: 2 },
      units: [4, 4, 6, 4].map((d) => Array<string>(d).fill('e0.35')),
      widths: [2, 2, 2, 2],
    };
    const measurer = createMeasurer(onnxRuntimeDevice({ id: 'test-loop', protocol: { warmupRuns: 1, minRuns: 4, maxRuns: 4 } }), { lockDir });
    let timing = false;
    let ticks = 0;
    const ticker = setInterval(() => {
      if (timing) ticks += 1;
    }, 2);
    try {
      const m = await measurer.measure(arch, {
        onProgress: (p) => {
          if (p.phase === 'warmup') timing = true;
        },
      });
      timing = false;
      const runs = m.runs + 1;
      console.info(`largest ResNet@160: median ${m.medianMs.toFixed(1)} ms over ${runs} runs; ${ticks} event-loop ticks meanwhile`);
      expect(ticks).toBeGreaterThan(5 * runs);
    } finally {
      clearInterval(ticker);
      await measurer.close();
    }
  });

  it('reports a crashed runner clearly, recovers, and explains an unavailable execution provider', async () => {
    const runner = new OnnxRuntimeRunner('test-crash', sessionSettings(device));
    const block = buildNetwork(randomArch('ofa-mbv3', 160)).blocks[0]!;
    const source = { kind: 'blocks' as const, blocks: [block], inputShape: block.descriptor.inShape };
    try {
      // Killed from outside while it is busy with a long batch of timed runs.
      const crashed = runner.measureModel(
        source,
        { ...quick, minRuns: 1_000_000, maxRuns: 1_000_000, maxSeconds: 600 },
        {
          onRuns: () => setTimeout(() => process.kill(runner.pid!, 'SIGKILL'), 100),
        },
      );
      await expect(crashed).rejects.toThrow(/onnxruntime runner process for device test-crash was killed by SIGKILL while timed runs/);
      const again = await runner.measureModel(source, quick);
      expect(again.timingsMs.length).toBeGreaterThanOrEqual(quick.minRuns);
      expect(runner.childStarts).toBe(2);
    } finally {
      await runner.close();
    }

    const cuda = new OnnxRuntimeRunner('test-cuda', { ...sessionSettings(device), executionProvider: 'cuda' });
    try {
      await expect(cuda.measureModel(source, quick)).rejects.toThrow(/onnxruntime on device test-cuda: cannot create an onnxruntime session with execution provider cuda/);
    } finally {
      await cuda.close();
    }
  });

  it('aborts a measurement at once', async () => {
    const measurer = createMeasurer(onnxRuntimeDevice({ id: 'test-abort', protocol: { warmupRuns: 0, minRuns: 1000, maxRuns: 1000, maxSeconds: 600 } }), { lockDir });
    const controller = new AbortController();
    try {
      const started = performance.now();
      const pending = measurer.measure(randomArch('ofa-mbv3', 160), { signal: controller.signal, onProgress: (p) => p.phase === 'warmup' && controller.abort() });
      await expect(pending).rejects.toThrow(/aborted/i);
      expect(performance.now() - started).toBeLessThan(5_000);
      // The device is free again.
      const lock = await acquireDeviceLock('test-abort', { lockDir });
      await lock.release();
    } finally {
      await measurer.close();
    }
  });
});

describe('measurement cache', () => {
  it('answers a re-measure from the store without running anything, across measurer instances', async () => {
    const store = new FsArtifactStore(join(scratch, 'store'));
    const device = onnxRuntimeDevice({ id: 'test-cache', protocol: quick });
    const arch = randomArch('proxylessnas', 160, 5);
    const first = createMeasurer(device, { cache: store, lockDir });
    let measured: LatencyMeasurement;
    try {
      measured = await first.measure(arch);
    } finally {
      await first.close();
    }
    expect(measured.fromCache).toBe(false);
    const key = measurementKey({ device: 'test-cache', fingerprintHash: measured.fingerprintHash, protocolHash: protocolHash(quick), archHash: measured.archHash, resolution: 160 });
    expect(key).toMatch(/^measurements\/test-cache\/[0-9a-f]{16}\/[0-9a-f]{16}\/[0-9a-f]{64}@160\.json$/);
    expect(await store.exists(key)).toBe(true);

    // A fresh measurer, as after a restart.
    const second = createMeasurer(device, { cache: store, lockDir });
    const again = await second.measure(arch);
    await second.close();
    expect(again).toEqual({ ...measured, fromCache: true });
    expect(second.counts()).toEqual({ measured: 0, cacheHits: 1 });

    // Another protocol is another cache entry.
    expect(protocolHash({ ...quick, minRuns: 6 })).not.toBe(protocolHash(quick));
  });
});

describe('reference normalisation', () => {
  const interleaved: OnnxRuntimeProtocol = { ...quick, reference: 'interleaved' };

  it('pairs every run with the reference, scales by a calibration measured once per device and resolution, and keeps the raw runs', async () => {
    const store = new FsArtifactStore(join(scratch, 'reference-store'));
    const device = onnxRuntimeDevice({ id: 'test-reference', protocol: interleaved });
    const measurer = createMeasurer(device, { cache: store, lockDir });
    let first: LatencyMeasurement;
    let second: LatencyMeasurement;
    try {
      first = await measurer.measure(randomArch('ofa-mbv3', 160, 21));
      second = await measurer.measure(randomArch('ofa-mbv3', 160, 22));
    } finally {
      await measurer.close();
    }
    const reference = referenceArchitecture('ofa-mbv3', 160);
    const key = calibrationKey({
      device: device.id,
      fingerprintHash: first.fingerprintHash,
      protocolHash: protocolHash(interleaved),
      archHash: architectureHash(reference),
      resolution: 160,
    });
    const calibration = await store.getJson<ReferenceCalibration>(key);
    expect(calibration).toMatchObject({ archHash: architectureHash(reference), resolution: 160, runs: CALIBRATION_RUNS });
    expect(calibration.timingsMs).toHaveLength(CALIBRATION_RUNS);

    for (const m of [first, second]) {
      const norm = m.reference!;
      expect(m.protocol).toEqual(interleaved);
      expect(norm.archHash).toBe(architectureHash(reference));
      expect(norm.calibratedMs).toBe(calibration.medianMs);
      expect(norm.rawTimingsMs).toHaveLength(m.runs);
      expect(norm.referenceTimingsMs).toHaveLength(m.runs);
      m.timingsMs.forEach((ms, i) => expect(ms).toBeCloseTo((norm.rawTimingsMs[i]! / norm.referenceTimingsMs[i]!) * norm.calibratedMs, 9));
      expect(m.medianMs).toBe(summarizeTimings(m.timingsMs).medianMs);
      expect(m.breakdown.timedMs).toBeCloseTo(
        norm.rawTimingsMs.reduce((a, b) => a + b, 0),
        9,
      );
    }
    // The first measurement paid for the calibration's 200 runs; the second only for its paired runs.
    expect(first.breakdown.referenceMs!).toBeGreaterThan(calibration.timingsMs.reduce((a, b) => a + b, 0));
    expect(second.breakdown.referenceMs!).toBeLessThan((CALIBRATION_RUNS * Math.min(...calibration.timingsMs)) / 4);

    // After a restart the stored calibration is reused, so every worker of the device scales alike.
    const restarted = createMeasurer(device, { cache: store, lockDir });
    try {
      const third = await restarted.measure(randomArch('ofa-mbv3', 160, 23));
      expect(third.reference!.calibratedMs).toBe(calibration.medianMs);
      expect(third.breakdown.referenceMs!).toBeLessThan((CALIBRATION_RUNS * Math.min(...calibration.timingsMs)) / 4);
    } finally {
      await restarted.close();
    }
  });

  it('refuses to build a lookup table, whose single blocks have no reference', async () => {
    const device = onnxRuntimeDevice({ id: 'test-reference-lut', protocol: interleaved });
    await expect(buildLookupTable(device, { space: 'ofa-mbv3', resolutions: [160], lockDir })).rejects.toThrow(
      /protocol\.reference is "interleaved", but a lookup table times single blocks, which have no reference model; build it with protocol\.reference "none"/,
    );
  });

  it('refuses paired runs without a reference model', async () => {
    const runner = new OnnxRuntimeRunner('test-reference-runner', sessionSettings(CPU_LOCAL));
    try {
      const source = { kind: 'network' as const, network: buildNetwork(randomArch('ofa-mbv3', 160)) };
      await expect(runner.measureModel(source, interleaved)).rejects.toThrow(/protocol\.reference is 'interleaved', so every measurement needs a reference model/);
      expect(runner.childStarts).toBe(0);
    } finally {
      await runner.close();
    }
  });
});

describe('device lock', () => {
  it('never lets two measurements on one device overlap', async () => {
    const device = onnxRuntimeDevice({ id: 'test-lock', protocol: quick });
    const a = createMeasurer(device, { lockDir });
    const b = createMeasurer(device, { lockDir });
    try {
      const [ma, mb] = await Promise.all([a.measure(randomArch('ofa-mbv3', 160, 11)), b.measure(randomArch('ofa-mbv3', 160, 12))]);
      const [earlier, later] = ma.startedAt <= mb.startedAt ? [ma, mb] : [mb, ma];
      expect(earlier.measuredAt <= later.startedAt).toBe(true);
      expect(later.breakdown.lockWaitMs).toBeGreaterThan(earlier.breakdown.timedMs);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('waits for a lock another process holds, and reclaims the lock of a dead process', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const lockModule = pathToFileURL(join(repoRoot, 'activities/devices/lock.ts')).href;
    const holdMs = 1_500;
    const holder = spawn(
      process.execPath,
      [
        '--import',
        tsx,
        '--input-type=module',
        '-e',
        `import { acquireDeviceLock } from ${JSON.stringify(lockModule)}; const lock = await acquireDeviceLock('test-xproc', { lockDir: ${JSON.stringify(lockDir)} }); console.log('locked'); setTimeout(() => lock.release().then(() => console.log('released')), ${holdMs});`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const output: string[] = [];
    await new Promise<void>((resolve) => holder.stdout.on('data', (chunk: Buffer) => (output.push(chunk.toString()), output.join('').includes('locked') && resolve())));
    const started = performance.now();
    const lock = await acquireDeviceLock('test-xproc', { lockDir });
    const waitedMs = performance.now() - started;
    await lock.release();
    expect(output.join('')).toContain('released');
    expect(waitedMs).toBeGreaterThan(holdMs * 0.5);

    // A lock file left by a process that has exited is stale.
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.on('exit', resolve));
    const path = deviceLockPath('test-stale', lockDir);
    await writeFile(path, JSON.stringify({ pid: dead.pid, hostname: os.hostname(), token: 'dead', acquiredAt: new Date().toISOString() }));
    const reclaimed = await acquireDeviceLock('test-stale', { lockDir, signal: AbortSignal.timeout(5_000) });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await reclaimed.release();
    expect(existsSync(path)).toBe(false);
  });
});

describe('lookup tables', () => {
  // A pruned MBv3 space (two blocks per unit) keeps the table small: stem, first, head and 5 units × 2 blocks × {first, rest}.
  const pruned: SpaceDocument = { ...originalSpace('ofa-mbv3'), name: 'two-blocks', units: originalSpace('ofa-mbv3').units.map((u) => ({ ...u, blocks: ['e3k3', 'e6k5'] })) };
  const device = onnxRuntimeDevice({ id: 'test-lut', protocol: { warmupRuns: 1, minRuns: 3, maxRuns: 3 } });
  let table: LookupTable;
  const measuredOrder: string[] = [];

  beforeAll(async () => {
    const started = performance.now();
    table = await buildLookupTable(device, { space: pruned, resolutions: [160], lockDir, probeEvery: 8, onProgress: (p) => measuredOrder.push(p.key) });
    console.info(`built a ${Object.keys(table.entries).length}-entry MBv3@160 table in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  it('has one entry per distinct block of the space', () => {
    expect(Object.keys(table.entries)).toHaveLength(3 + 5 * 2 * 2);
    expect(table).toMatchObject({ kind: 'blockscope.lut/v1', device: 'test-lut', space: 'ofa-mbv3', resolutions: [160], protocol: device.protocol });
    expect(table.fingerprintHash).toBe(fingerprintHash(table.fingerprint!));
    expect(table.entries['stem:in=3x160x160:out=24x80x80:k=3:s=2:act=hswish']).toMatchObject({ block: 'stem', runs: 3 });
    // The full spaces: MBv3 and PN have 9 blocks × {first, rest} per unit (PN's last unit has one layer);
    // ResNet's shapes also follow the widths: stems skip × hidden (24, 24, 32: two distinct) × out, then per unit
    // previous width × width × expand for the first layer and width × expand for the rest, and a head per width.
    expect(distinctBlocks('ofa-mbv3', [224])).toHaveLength(3 + 5 * 9 * 2);
    expect(distinctBlocks('proxylessnas', [224])).toHaveLength(3 + 5 * 9 * 2 + 9);
    expect(distinctBlocks('resnet50', [224])).toHaveLength(2 * 2 * 3 + 4 * (3 * 3 * 3 + 3 * 3) + 3);
  });

  it('sums the entries of every block, stem and head included', async () => {
    const arch = sampleArchitectures(pruned, 1, 3, 160)[0]!;
    const network = buildNetwork(arch);
    const expected = network.blocks.reduce((total, block) => total + table.entries[blockKey(block.descriptor)]!.ms, 0);
    const estimate = lookupLatency(table, arch);
    expect(estimate.totalMs).toBeCloseTo(expected, 9);
    expect(estimate.blocks.map((b) => b.name)).toEqual(network.blocks.map((b) => b.name));
    expect(estimate.blocks[0]).toMatchObject({ name: 'stem', key: 'stem:in=3x160x160:out=24x80x80:k=3:s=2:act=hswish' });

    // Through a lookup-table device, from a YAML file.
    const tablePath = join(scratch, 'test-lut.yaml');
    await saveLookupTable(tablePath, table);
    const registry = parseDevices({ devices: [{ id: 'test-lut-estimate', backend: 'lookup-table', table: 'test-lut.yaml' }] }, { source: 'inline', baseDir: scratch });
    const measurer = createMeasurer(registry.get('test-lut-estimate'));
    const m = await measurer.measure(arch);
    expect(m).toMatchObject({ backend: 'lookup-table', stopReason: 'lookup-table', runs: 0, fromCache: false });
    expect(m.medianMs).toBeCloseTo(expected, 9);
    expect(m.fingerprint.settings).toMatchObject({ tableDevice: 'test-lut', tableFingerprintHash: table.fingerprintHash });

    // The same architecture measured whole on the device is of the same order as its table estimate (a
    // sanity check against a unit or a missing block, wide because a busy host slows the whole network more).
    const whole = createMeasurer(device, { lockDir });
    const measured = await whole.measure(arch);
    await whole.close();
    console.info(`table estimate ${expected.toFixed(2)} ms vs whole-network ${measured.medianMs.toFixed(2)} ms`);
    expect(expected / measured.medianMs).toBeGreaterThan(1 / 5);
    expect(expected / measured.medianMs).toBeLessThan(5);
  });

  it('measures in a seeded random order with drift probes, and keeps each entry raw, corrected and with its interval', () => {
    const canonical = distinctBlocks(pruned, [160]).map((b) => b.key);
    expect([...measuredOrder].sort()).toEqual([...canonical].sort());
    expect(measuredOrder).not.toEqual(canonical);
    // One probe before the first entry, after the 8th and the 16th, and after the last (23 entries).
    const drift = table.drift!;
    expect(drift.probes).toHaveLength(4);
    expect(drift.referenceKey).toBe(canonical[Math.floor(canonical.length / 2)]);
    expect(drift.range).toBeGreaterThanOrEqual(1);
    for (const entry of Object.values(table.entries)) {
      expect(entry.ci95Ms![0]).toBeLessThanOrEqual(entry.ms);
      expect(entry.ci95Ms![1]).toBeGreaterThanOrEqual(entry.ms);
      expect(entry.ms / entry.rawMs!).toBeGreaterThan(1 / drift.range - 1e-3);
      expect(entry.ms / entry.rawMs!).toBeLessThan(drift.range + 1e-3);
    }
    expect(table.contradictions).toEqual([]);
  });

  it('flags entries that contradict a neighbour beyond their intervals, and only those', () => {
    const base = { type: 'mbconv', inShape: [32, 40, 40], outShape: [48, 20, 20], stride: 2, se: true, activation: 'relu', residual: false } as const;
    const descriptors = new Map<string, BlockDescriptor>([
      ['k3', { ...base, kernel: 3, expand: 4, mid: 128 }],
      ['k7', { ...base, kernel: 7, expand: 4, mid: 128 }],
      ['e6k3', { ...base, kernel: 3, expand: 6, mid: 192 }],
    ]);
    const entry = (ms: number, half: number) => ({ ms, ci95Ms: [ms - half, ms + half] as [number, number] });
    // k7 faster than k3 beyond the intervals, and e6 faster than e4 beyond them: both flagged.
    const flagged = lookupTableContradictions({ k3: entry(1.0, 0.05), k7: entry(0.8, 0.05), e6k3: entry(0.7, 0.05) }, descriptors);
    expect(flagged.map((c) => [c.dimension, c.larger, c.smaller])).toEqual([
      ['kernel', 'k7', 'k3'],
      ['expand', 'e6k3', 'k3'],
    ]);
    expect(flagged[0]!.message).toBe('kernel 7 measured faster than kernel 3 with everything else equal, beyond their intervals: 0.8 ms (up to 0.85) vs 1 ms (from 0.95)');
    // Faster within the intervals is noise, not a contradiction.
    expect(lookupTableContradictions({ k3: entry(1.0, 0.15), k7: entry(0.8, 0.15), e6k3: entry(1.5, 0.05) }, descriptors)).toEqual([]);
  });

  it('names the missing block and key, and the uncovered resolution', () => {
    const arch: Architecture = {
      space: 'ofa-mbv3',
      resolution: 160,
      units: [
        ['e3k3', 'e3k3'],
        ['e6k5', 'e6k5'],
        ['e3k3', 'e3k3'],
        ['e3k3', 'e3k3'],
        ['e3k3', 'e3k3'],
      ],
    };
    const missingKey = blockKey(buildNetwork(arch).blocks.find((b) => b.name === 'u1.l0')!.descriptor);
    const { [missingKey]: _removed, ...rest } = table.entries;
    const holed: LookupTable = { ...table, entries: rest };
    expect(() => lookupLatency(holed, arch)).toThrow(LookupTableMissingEntryError);
    expect(() => lookupLatency(holed, arch)).toThrow(`has no entry for 1 block(s) of architecture ${architectureHash(arch).slice(0, 12)}: u1.l0: ${missingKey}`);
    expect(missingKey).toBe('mbconv:in=32x40x40:out=48x20x20:k=5:e=6:mid=192:s=2:se=1:act=relu:res=0');

    const elsewhere = { ...arch, resolution: 224 };
    expect(() => lookupLatency(table, elsewhere)).toThrow(/no entry for 13 block\(s\) .*the architecture is at resolution 224, which the table does not cover: stem: stem:in=3x224x224/);
    expect(() => lookupLatency(table, randomArch('resnet50', 160))).toThrow('cannot estimate an architecture of space resnet50');
  });
});

describe('command backend', () => {
  const bench = (overrides: Partial<Parameters<typeof commandDevice>[0]> = {}) =>
    commandDevice({
      id: 'test-cmd',
      command: 'node scripts/ort-bench.mjs {model} --resolution {resolution} --threads {threads} --warmup 1 --runs 5',
      pattern: 'median_ms=(?<ms>[0-9.]+)',
      threads: 1,
      cwd: repoRoot,
      probe: 'node -p "require(\'os\').cpus()[0].model"',
      ...overrides,
    });

  it('measures with a real local benchmark tool and parses its latency', async () => {
    const arch = randomArch('ofa-mbv3', 160, 21);
    const summary = createMeasurer(bench(), { lockDir });
    const m = await summary.measure(arch);
    expect(m).toMatchObject({ backend: 'command', stopReason: 'command', runs: 1, protocol: { repeats: 1, match: 'last' } });
    expect(m.medianMs).toBeGreaterThan(0.5);
    expect(m.fingerprint.identity).toEqual({ probe: os.cpus()[0]!.model.trim() });

    // Every per-run line as a timed run, two invocations.
    const perRun = createMeasurer(bench({ pattern: '^run_ms=(?<ms>[0-9.]+)$', match: 'all', repeats: 2 }), { lockDir });
    const runs = await perRun.measure(arch);
    expect(runs.runs).toBe(10);
    expect(runs.medianMs).toBeCloseTo(summarizeTimings(runs.timingsMs).medianMs, 9);
    console.info(`ort-bench via command: ${m.medianMs.toFixed(2)} ms; per-run median ${runs.medianMs.toFixed(2)} ms`);
  });

  it('kills a command that runs past its timeout, with everything it started', async () => {
    const pidFile = join(scratch, 'sleeper.pid');
    const device = bench({ command: `sleep 30 & echo $! > ${pidFile}; wait # {model}`, timeoutSeconds: 0.5, probe: undefined });
    const started = performance.now();
    await expect(createMeasurer(device, { lockDir }).measure(randomArch('ofa-mbv3', 160))).rejects.toThrow(
      /command device test-cmd: benchmark command timed out after 0.5 s and was killed\n {2}command: sleep 30/,
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    const sleeper = Number(await readFile(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await processIsRunning(sleeper)).toBe(false);
  });

  it('reports a non-zero exit with its stderr, and output without a latency with its tail', async () => {
    const failing = bench({ command: 'echo starting; echo "model {model} is not supported" >&2; exit 3', probe: undefined });
    await expect(createMeasurer(failing, { lockDir }).measure(randomArch('ofa-mbv3', 160))).rejects.toThrow(
      /benchmark command exited with code 3\n.*\n {2}output tail:\n {4}model '.*\.onnx' is not supported$/,
    );

    const chatty = bench({ command: 'echo "inference done in record time" # {model}', probe: undefined });
    await expect(createMeasurer(chatty, { lockDir }).measure(randomArch('ofa-mbv3', 160))).rejects.toThrow(
      /no latency in the benchmark output: \/median_ms=\(\?<ms>\[0-9\.\]\+\)\/ matched nothing\n.*\n {2}output tail:\n {4}inference done in record time$/,
    );
  });

  it('reads the unit from the named group', () => {
    expect(parseLatencies({ stdout: 'avg=1500 us\navg=1250 us\n', stderr: '' }, 'avg=(?<us>[0-9.]+) us', 'last')).toEqual([1.25]);
    expect(parseLatencies({ stdout: '', stderr: 'INFO: Inference (avg): 0.0123 s' }, 'avg\\): (?<s>[0-9.]+) s', 'all')).toEqual([12.3]);
    expect(parseLatencies({ stdout: 'nothing', stderr: '' }, 'x=(?<ms>[0-9.]+)', 'last')).toEqual([]);
  });
});
