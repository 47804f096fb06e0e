/** The record every device backend produces for one architecture, and the measurer interface. */
import type { Architecture } from '../../pipelines/spaces/types.js';
import type { DeviceBackend, DeviceConfig } from './config.js';
import type { DeviceFingerprint } from './fingerprint.js';
import type { StopReason, TimingSummary } from './protocol.js';

/** The settings of how a device measures (runs, repeats, table protocol); hashed into the cache key. */
export type ProtocolSettings = Record<string, string | number | boolean>;

export interface LatencyBreakdown {
  /** Building the ONNX model (0 for lookup tables). */
  exportMs: number;
  sessionCreateMs: number;
  /** Sum of the warm-up runs. */
  warmupMs: number;
  /** Sum of the timed runs (for a command device: the whole command wall time). */
  timedMs: number;
  /** Waiting for another measurement on the same device to finish. */
  lockWaitMs: number;
  /** Devices that normalise by a reference model: its warm-up and timed runs, and its calibration when this measurement did it. */
  referenceMs?: number;
  /** Everything from the call to the result. */
  totalMs: number;
}

/** The statistics of the timed runs (median, spread, CV, the median's 95% interval). */
export interface LatencyMeasurement extends Omit<TimingSummary, 'relativeHalfWidth'> {
  device: string;
  backend: DeviceBackend;
  archHash: string;
  resolution: number;
  runs: number;
  /** The timed runs, in order: raw, or for a device that normalises by a reference model, normalised (see `reference`). */
  timingsMs: number[];
  /** 'stable' | 'max-runs' | 'max-seconds' for onnxruntime, 'command' and 'lookup-table' for the others. */
  stopReason: StopReason | 'command' | 'lookup-table';
  protocol: ProtocolSettings;
  protocolHash: string;
  fingerprint: DeviceFingerprint;
  fingerprintHash: string;
  fromCache: boolean;
  /** When the device was taken (after any wait for it) and when the measurement ended, ISO 8601. */
  startedAt: string;
  measuredAt: string;
  breakdown: LatencyBreakdown;
  /** Devices with protocol.reference 'interleaved': how the timings were normalised. */
  reference?: ReferenceNormalisation;
  /** Lookup-table devices: each block's entry, in network order. */
  blocks?: { name: string; key: string; ms: number }[];
}

/**
 * Normalisation by a reference model: run i of the model was followed by run i of the reference, and
 * timingsMs[i] = rawTimingsMs[i] / referenceTimingsMs[i] × calibratedMs, so the host's slow speed changes cancel.
 */
export interface ReferenceNormalisation {
  /** The space's reference architecture at the measured resolution (referenceArchitecture in pipelines/sampling). */
  archHash: string;
  /** The reference's median latency from the device's calibration, shared by all its measurements at this resolution. */
  calibratedMs: number;
  rawTimingsMs: number[];
  rawMedianMs: number;
  referenceTimingsMs: number[];
}

/** The reference's calibration on a device: its median over many plain timed runs, measured once and then reused. */
export interface ReferenceCalibration {
  device: string;
  archHash: string;
  resolution: number;
  medianMs: number;
  runs: number;
  timingsMs: number[];
  fingerprintHash: string;
  protocolHash: string;
  measuredAt: string;
}

export interface MeasureProgress {
  device: string;
  phase: 'waiting-for-device' | 'exporting' | 'warmup' | 'timing' | 'running-command';
  /** Timed runs so far. */
  runs?: number;
  /** Current half-width of the median's 95% interval, as a fraction of the median. */
  relativeHalfWidth?: number;
  /** While waiting: how long so far, and who holds the device. */
  waitedMs?: number;
  holderPid?: number;
}

export interface MeasureOptions {
  /** Aborting kills an in-flight onnxruntime run or benchmark command at once. */
  signal?: AbortSignal;
  /** Called at every step and about once a second while waiting for the device; a good place to heartbeat. */
  onProgress?: (progress: MeasureProgress) => void;
  /** Measure now, neither from nor into the cache: a drift probe must say how fast the device is at this moment. */
  fresh?: boolean;
}

export interface Measurer {
  readonly device: DeviceConfig;
  fingerprint(): Promise<DeviceFingerprint>;
  measure(arch: Architecture, options?: MeasureOptions): Promise<LatencyMeasurement>;
  /** What this measurer did so far: models measured on the device and answers served from the cache. */
  counts(): { measured: number; cacheHits: number };
  /** Ends the measurer's child process, if any. */
  close(): Promise<void>;
}
