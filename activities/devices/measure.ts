/**
 * `createMeasurer(device)`: latency of architectures on one device, whatever its backend.
 *
 * Every measurement goes: validate the architecture → cache → take the device's lock → cache again (another
 * process may have measured it while we waited) → measure → store → release. Lookup tables are computed, not
 * measured, so they skip the lock and the cache.
 */
import { canonicalHashHex } from '../../pipelines/hash.js';
import { referenceArchitecture } from '../../pipelines/sampling.js';
import { median } from '../../pipelines/stats.js';
import type { NetworkIR } from '../../pipelines/network/ir.js';
import { architectureHash, buildNetwork, validateArchitecture, type Architecture } from '../../pipelines/spaces/index.js';
import { MeasurementCache, calibrationKey, measurementKey, type MeasurementStore } from './cache.js';
import { createCommandEngine } from './command.js';
import type { DeviceConfig, OnnxRuntimeDevice } from './config.js';
import { fingerprintHash, onnxRuntimeFingerprint, type DeviceFingerprint } from './fingerprint.js';
import { acquireDeviceLock } from './lock.js';
import { createLookupTableEngine } from './lookup-table.js';
import { OnnxRuntimeRunner, sessionSettings } from './onnxruntime-runner.js';
import type { ReferenceModel } from './runner-protocol.js';
import { summarizeTimings, type TimingSummary } from './protocol.js';
import type { LatencyMeasurement, MeasureOptions, Measurer, ProtocolSettings, ReferenceCalibration, ReferenceNormalisation } from './types.js';

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
  reference?: ReferenceNormalisation;
  blocks?: LatencyMeasurement['blocks'];
}

/** Plain timed runs of the reference model that calibrate its latency on a device (once per resolution). */
export const CALIBRATION_RUNS = 200;

export function protocolHash(protocol: ProtocolSettings): string {
  return canonicalHashHex(protocol).slice(0, 16);
}

export function createMeasurer(device: DeviceConfig, options: MeasurerOptions = {}): Measurer {
  const cache = options.cache ? new MeasurementCache(options.cache) : undefined;
  const engine = createEngine(device, cache);
  const counts = { measured: 0, cacheHits: 0 };

  async function measure(rawArch: Architecture, measureOptions: MeasureOptions = {}): Promise<LatencyMeasurement> {
    const callStarted = performance.now();
    const arch = validateArchitecture(rawArch);
    const archHash = architectureHash(arch);
    const { fingerprint, protocol } = await engine.identity();
    const fingerprintKey = fingerprintHash(fingerprint);
    const protocolKey = protocolHash(protocol);
    const key = measurementKey({ device: device.id, fingerprintHash: fingerprintKey, protocolHash: protocolKey, archHash, resolution: arch.resolution });
    const useCache = cache && engine.measuresDevice && !measureOptions.fresh ? cache : undefined;
    const cached = useCache ? await useCache.get(key) : undefined;
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
      const measuredMeanwhile = useCache && lock ? await useCache.get(key) : undefined;
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
      if (result.reference) measurement.reference = result.reference;
      if (result.blocks) measurement.blocks = result.blocks;
      if (engine.measuresDevice) counts.measured += 1;
      return useCache ? await useCache.put(key, measurement) : measurement;
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

function createEngine(device: DeviceConfig, cache: MeasurementCache | undefined): MeasurementEngine {
  switch (device.backend) {
    case 'onnxruntime':
      return createOnnxRuntimeEngine(device, cache);
    case 'lookup-table':
      return createLookupTableEngine(device);
    case 'command':
      return createCommandEngine(device);
  }
}

/**
 * The whole network exported to ONNX and timed in the device's onnxruntime child process; with
 * protocol.reference 'interleaved', each run paired with one of the space's reference architecture.
 */
function createOnnxRuntimeEngine(device: OnnxRuntimeDevice, cache: MeasurementCache | undefined): MeasurementEngine {
  const runner = new OnnxRuntimeRunner(device.id, sessionSettings(device));
  const identity = { fingerprint: onnxRuntimeFingerprint(device), protocol: { ...device.protocol } };
  const identityKeys = { device: device.id, fingerprintHash: fingerprintHash(identity.fingerprint), protocolHash: protocolHash(identity.protocol) };
  /** Per space and resolution: the reference model (built once) and its calibration. */
  const references = new Map<string, { model: ReferenceModel; calibration: ReferenceCalibration }>();

  /**
   * The reference of the architecture's space at its resolution, with its calibrated latency: from memory, else
   * the cache, else measured now (run() holds the device's lock). spentMs is the time a calibration took here.
   */
  async function referenceFor(arch: Architecture, signal: AbortSignal | undefined): Promise<{ model: ReferenceModel; calibration: ReferenceCalibration; spentMs: number }> {
    const memoKey = `${arch.space}@${arch.resolution}`;
    const known = references.get(memoKey);
    if (known) return { ...known, spentMs: 0 };
    const reference = referenceArchitecture(arch.space, arch.resolution);
    const archHash = architectureHash(reference);
    const model: ReferenceModel = { key: `${archHash}@${arch.resolution}`, source: { kind: 'network', network: buildNetwork(reference) } };
    const key = calibrationKey({ ...identityKeys, archHash, resolution: arch.resolution });
    let calibration = await cache?.getCalibration(key);
    let spentMs = 0;
    if (!calibration) {
      const started = performance.now();
      const plain = { ...device.protocol, reference: 'none' as const, minRuns: CALIBRATION_RUNS, maxRuns: CALIBRATION_RUNS };
      const timing = await runner.measureModel(model.source, plain, { signal });
      const measured: ReferenceCalibration = {
        archHash,
        resolution: arch.resolution,
        medianMs: median(timing.timingsMs),
        runs: timing.timingsMs.length,
        timingsMs: timing.timingsMs,
        ...identityKeys,
        measuredAt: new Date().toISOString(),
      };
      calibration = cache ? await cache.putCalibration(key, measured) : measured;
      spentMs = performance.now() - started;
    }
    references.set(memoKey, { model, calibration });
    return { model, calibration, spentMs };
  }

  return {
    measuresDevice: true,
    identity: () => Promise.resolve(identity),
    async run(arch, network, { signal, onProgress }) {
      const reference = device.protocol.reference === 'interleaved' ? await referenceFor(arch, signal) : undefined;
      onProgress?.({ device: device.id, phase: 'exporting' });
      const timing = await runner.measureModel({ kind: 'network', network }, device.protocol, {
        signal,
        onRuns: (phase, values) =>
          onProgress?.({
            device: device.id,
            phase,
            runs: phase === 'timing' ? values.length : 0,
            relativeHalfWidth: phase === 'timing' ? summarizeTimings(values).relativeHalfWidth : undefined,
          }),
        ...(reference ? { reference: reference.model } : {}),
      });
      const breakdown = { exportMs: timing.exportMs, sessionCreateMs: timing.sessionCreateMs, warmupMs: sum(timing.warmupTimingsMs), timedMs: sum(timing.timingsMs) };
      const referenceTimingsMs = timing.referenceTimingsMs;
      if (!reference || !referenceTimingsMs) {
        return { summary: summarizeTimings(timing.timingsMs), runs: timing.timingsMs.length, timingsMs: timing.timingsMs, stopReason: timing.stopReason, breakdown };
      }
      const calibratedMs = reference.calibration.medianMs;
      const normalised = timing.timingsMs.map((ms, i) => (ms / referenceTimingsMs[i]!) * calibratedMs);
      return {
        summary: summarizeTimings(normalised),
        runs: normalised.length,
        timingsMs: normalised,
        stopReason: timing.stopReason,
        breakdown: { ...breakdown, referenceMs: sum(timing.referenceWarmupTimingsMs ?? []) + sum(referenceTimingsMs) + reference.spentMs },
        reference: {
          archHash: reference.calibration.archHash,
          calibratedMs,
          rawTimingsMs: timing.timingsMs,
          rawMedianMs: median(timing.timingsMs),
          referenceTimingsMs,
        },
      };
    },
    close: () => runner.close(),
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
