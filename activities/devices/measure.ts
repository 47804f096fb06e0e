/**
 * `createMeasurer(device)`: latency of architectures on one device, whatever its backend.
 *
 * Every measurement goes: validate the architecture → cache → take the device's lock → cache again (another
 * process may have measured it while we waited) → measure → store → release. Lookup tables are computed, not
 * measured, so they skip the lock and the cache.
 */
import { canonicalHashHex } from '../../pipelines/hash.js';
import type { NetworkIR } from '../../pipelines/network/ir.js';
import { architectureHash, buildNetwork, validateArchitecture, type Architecture } from '../../pipelines/spaces/index.js';
import { MeasurementCache, measurementKey, type MeasurementStore } from './cache.js';
import { createCommandEngine } from './command.js';
import type { DeviceConfig, OnnxRuntimeDevice } from './config.js';
import { fingerprintHash, onnxRuntimeFingerprint, type DeviceFingerprint } from './fingerprint.js';
import { acquireDeviceLock } from './lock.js';
import { createLookupTableEngine } from './lookup-table.js';
import { OnnxRuntimeRunner, sessionSettings } from './onnxruntime-runner.js';
import { summarizeTimings, type TimingSummary } from './protocol.js';
import type { Measurer, LatencyMeasurement, MeasureOptions, ProtocolSettings } from './types.js';

export interface MeasurerOptions {
  /** Where measurements are cached (an ArtifactStore); no caching without one. */
  cache?: MeasurementStore;
  /** Lock directory shared by all processes measuring on this host (default `${os.tmpdir()}/blockscope-locks`). */
  lockDir?: string;
}

/** What a backend contributes; createMeasurer adds identity, caching, locking and timestamps. */
export interface MeasurementEngine {
  /** Whether measurements hold the device's lock and go to the cache (false for computed estimates). */
  measuresDevice: boolean;
  /** What executes the measurements and how; may probe the device or read its table, so it is async. */
  identity(): Promise<{ fingerprint: DeviceFingerprint; protocol: ProtocolSettings }>;
  run(arch: Architecture, network: NetworkIR, options: MeasureOptions): Promise<EngineResult>;
  close(): Promise<void>;
}

export interface EngineResult {
  summary: TimingSummary;
  runs: number;
  timingsMs: number[];
  stopReason: LatencyMeasurement['stopReason'];
  breakdown: Omit<LatencyMeasurement['breakdown'], 'lockWaitMs' | 'totalMs'>;
  blocks?: LatencyMeasurement['blocks'];
}

export function protocolHash(protocol: ProtocolSettings): string {
  return canonicalHashHex(protocol).slice(0, 16);
}

export function createMeasurer(device: DeviceConfig, options: MeasurerOptions = {}): Measurer {
  const engine = createEngine(device);
  const cache = options.cache ? new MeasurementCache(options.cache) : undefined;
  const counts = { measured: 0, cacheHits: 0 };

  async function measure(rawArch: Architecture, measureOptions: MeasureOptions = {}): Promise<LatencyMeasurement> {
    const callStarted = performance.now();
    const arch = validateArchitecture(rawArch);
    const archHash = architectureHash(arch);
    const { fingerprint, protocol } = await engine.identity();
    const fingerprintKey = fingerprintHash(fingerprint);
    const protocolKey = protocolHash(protocol);
    const key = measurementKey({ device: device.id, fingerprintHash: fingerprintKey, protocolHash: protocolKey, archHash, resolution: arch.resolution });
    const cached = cache && engine.measuresDevice ? await cache.get(key) : undefined;
    if (cached) {
      counts.cacheHits += 1;
      return cached;
    }

    const { signal, onProgress } = measureOptions;
    const lock = engine.measuresDevice
      ? await acquireDeviceLock(device.id, {
          lockDir: options.lockDir,
          signal,
          onWait: (holder, waitedMs) => onProgress?.({ device: device.id, phase: 'waiting-for-device', waitedMs, holderPid: holder?.pid }),
        })
      : undefined;
    try {
      const lockWaitMs = performance.now() - callStarted;
      const measuredMeanwhile = cache && lock ? await cache.get(key) : undefined;
      if (measuredMeanwhile) {
        counts.cacheHits += 1;
        return measuredMeanwhile;
      }
      const startedAt = new Date().toISOString();
      const result = await engine.run(arch, buildNetwork(arch), measureOptions);
      const measurement: LatencyMeasurement = {
        device: device.id,
        backend: device.backend,
        archHash,
        resolution: arch.resolution,
        medianMs: result.summary.medianMs,
        meanMs: result.summary.meanMs,
        p10Ms: result.summary.p10Ms,
        p90Ms: result.summary.p90Ms,
        iqrMs: result.summary.iqrMs,
        cv: result.summary.cv,
        medianCi95Ms: result.summary.medianCi95Ms,
        runs: result.runs,
        timingsMs: result.timingsMs,
        stopReason: result.stopReason,
        protocol,
        protocolHash: protocolKey,
        fingerprint,
        fingerprintHash: fingerprintKey,
        fromCache: false,
        startedAt,
        measuredAt: new Date().toISOString(),
        breakdown: { ...result.breakdown, lockWaitMs, totalMs: performance.now() - callStarted },
      };
      if (result.blocks) measurement.blocks = result.blocks;
      if (engine.measuresDevice) counts.measured += 1;
      return cache && engine.measuresDevice ? await cache.put(key, measurement) : measurement;
    } finally {
      await lock?.release();
    }
  }

  return {
    device,
    fingerprint: async () => (await engine.identity()).fingerprint,
    measure,
    counts: () => ({ ...counts }),
    close: () => engine.close(),
  };
}

function createEngine(device: DeviceConfig): MeasurementEngine {
  switch (device.backend) {
    case 'onnxruntime':
      return createOnnxRuntimeEngine(device);
    case 'lookup-table':
      return createLookupTableEngine(device);
    case 'command':
      return createCommandEngine(device);
  }
}

/** The whole network exported to ONNX and timed in the device's onnxruntime child process. */
function createOnnxRuntimeEngine(device: OnnxRuntimeDevice): MeasurementEngine {
  const runner = new OnnxRuntimeRunner(device.id, sessionSettings(device));
  const identity = { fingerprint: onnxRuntimeFingerprint(device), protocol: { ...device.protocol } };
  return {
    measuresDevice: true,
    identity: () => Promise.resolve(identity),
    async run(_arch, network, { signal, onProgress }) {
      onProgress?.({ device: device.id, phase: 'exporting' });
      const timing = await runner.measureModel({ kind: 'network', network }, device.protocol, {
        signal,
        onRuns: (phase, timingsMs) =>
          onProgress?.({
            device: device.id,
            phase,
            runs: phase === 'timing' ? timingsMs.length : 0,
            relativeHalfWidth: phase === 'timing' ? summarizeTimings(timingsMs).relativeHalfWidth : undefined,
          }),
      });
      return {
        summary: summarizeTimings(timing.timingsMs),
        runs: timing.timingsMs.length,
        timingsMs: timing.timingsMs,
        stopReason: timing.stopReason,
        breakdown: { exportMs: timing.exportMs, sessionCreateMs: timing.sessionCreateMs, warmupMs: sum(timing.warmupTimingsMs), timedMs: sum(timing.timingsMs) },
      };
    },
    close: () => runner.close(),
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
