/**
 * Drift of a device's speed over a latency campaign, and the correction of measurements by it.
 *
 * During a campaign the device measures a fixed reference architecture of the space (a drift probe) at
 * the start of every batch, optionally after every k architectures, and at the end of the campaign,
 * through the same path as every other measurement. If the device is slower by a factor d(t) at time t,
 * a model measured at t took L·d(t) and a probe R·d(t), so L = measured × R / probe(t), with probe(t)
 * interpolated linearly in time between the neighbouring smoothed probes and R the median of all probes.
 *
 * Each probe is one measurement with its own noise; used raw, that noise lands on every measurement it corrects
 * (about 20, a batch). The probes are smoothed first by a running median over SMOOTHING_WINDOW probes (centred,
 * narrowing symmetrically at the ends): it cuts the noise each correction carries while keeping a step in the
 * host's speed a step, which a mean would smear over its neighbours, and it leaves a linear drift unbiased.
 */
import { median } from './stats.js';

export interface DriftProbe {
  /** The batch that took it, and how many of the campaign's architectures were measured before it. */
  batchIndex: number;
  position: number;
  /** When the probe was measured (the midpoint of its run), ISO 8601. */
  at: string;
  medianMs: number;
  /** Device time the probe took, warm-up included (absent in probes stored before it was recorded). */
  deviceMs?: number;
}

export interface DriftSeries {
  device: string;
  /** The reference architecture measured by every probe. */
  referenceHash: string;
  resolution: number;
  /** In time order. */
  probes: DriftProbe[];
  /** Each probe's running median over its neighbours (SMOOTHING_WINDOW), in the probes' order: what the correction interpolates. */
  smoothedMs: number[];
  /** The median of all probes: what the correction scales every measurement to. */
  referenceMs: number;
  /** Slowest / fastest probe: how far the host moved over the campaign (1 = not at all). */
  range: number;
}

/** A measurement's correction, recorded next to its raw figure. */
export interface DriftCorrection {
  archHash: string;
  rawMs: number;
  /** rawMs × factor; equal to rawMs when no correction applies. */
  correctedMs: number;
  /** referenceMs / probe(t); null when the measurement lies outside the probed span (e.g. from an earlier campaign). */
  factor: number | null;
  /**
   * Which interval between consecutive probes the measurement fell in (1 = between the first two); null outside the
   * span. The measurements of one interval share its probes' noise through their correction: their errors correlate.
   */
  segment: number | null;
}

/** The midpoint of an interval given as ISO times, in ms since the epoch. */
export function midpointMs(startedAt: string, endedAt: string): number {
  return (Date.parse(startedAt) + Date.parse(endedAt)) / 2;
}

/** Probes per running median: two on each side. */
export const SMOOTHING_WINDOW = 5;

/** The running median of `values`, centred, its window narrowed symmetrically where it would run off an end. */
export function runningMedian(values: readonly number[], window: number): number[] {
  const half = Math.floor(window / 2);
  return values.map((_, i) => {
    const reach = Math.min(half, i, values.length - 1 - i);
    return median(values.slice(i - reach, i + reach + 1));
  });
}

export function driftSeries(device: string, referenceHash: string, resolution: number, probes: readonly DriftProbe[]): DriftSeries {
  if (probes.length === 0) throw new RangeError(`driftSeries: no probes for ${device}`);
  for (const p of probes) {
    if (!(p.medianMs > 0) || !Number.isFinite(p.medianMs)) throw new RangeError(`drift probe of batch ${p.batchIndex}: medianMs must be a positive number, got ${p.medianMs}`);
    if (Number.isNaN(Date.parse(p.at))) throw new RangeError(`drift probe of batch ${p.batchIndex}: at must be an ISO time, got ${JSON.stringify(p.at)}`);
  }
  const sorted = [...probes].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.position - b.position);
  const values = sorted.map((p) => p.medianMs);
  return {
    device,
    referenceHash,
    resolution,
    probes: sorted,
    smoothedMs: runningMedian(values, SMOOTHING_WINDOW),
    referenceMs: median(values),
    range: Math.max(...values) / Math.min(...values),
  };
}

/**
 * The probes' times in ms, parsed once per probe list: a paper-scale campaign corrects 18,100 measurements
 * against ~900 probes, and parsing every probe's time for every measurement took 3 s per device (now 0.3 s).
 */
const probeTimes = new WeakMap<readonly DriftProbe[], number[]>();

function timesOf(probes: readonly DriftProbe[]): number[] {
  let times = probeTimes.get(probes);
  if (!times || times.length !== probes.length) {
    times = probes.map((p) => Date.parse(p.at));
    probeTimes.set(probes, times);
  }
  return times;
}

/** The smoothed probes' latency interpolated at a time; undefined outside the probed span. */
export function probeAt(series: DriftSeries, timeMs: number): number | undefined {
  return probeInterval(series, timeMs)?.ms;
}

/** The probe's latency interpolated at a time and the interval between probes it lies in; undefined outside the span. */
function probeInterval(series: DriftSeries, timeMs: number): { ms: number; segment: number } | undefined {
  const { probes, smoothedMs } = series;
  const times = timesOf(probes);
  if (timeMs < times[0]! || timeMs > times[times.length - 1]!) return undefined;
  if (probes.length === 1) return { ms: smoothedMs[0]!, segment: 0 };
  // times[last] >= timeMs, so this stops at a probe.
  let i = 1;
  while (times[i]! < timeMs) i++;
  const [t0, t1, v0, v1] = [times[i - 1]!, times[i]!, smoothedMs[i - 1]!, smoothedMs[i]!];
  return { ms: t1 === t0 ? (v0 + v1) / 2 : v0 + ((v1 - v0) * (timeMs - t0)) / (t1 - t0), segment: i };
}

/**
 * How far the host's speed wanders between probes, as a relative standard deviation: each interior probe
 * against the interpolation of its two neighbours (leave one out), on the log scale. 0 with fewer than 3
 * probes. A corrected figure is uncertain by about this much beyond its own timing runs.
 */
export function driftResidualStd(series: DriftSeries): number {
  const { probes } = series;
  if (probes.length < 3) return 0;
  const residuals: number[] = [];
  for (let i = 1; i < probes.length - 1; i++) {
    const [t0, t, t1] = [probes[i - 1]!, probes[i]!, probes[i + 1]!].map((p) => Date.parse(p.at));
    const span = t1! - t0!;
    const expected =
      span === 0 ? (probes[i - 1]!.medianMs + probes[i + 1]!.medianMs) / 2 : probes[i - 1]!.medianMs + ((probes[i + 1]!.medianMs - probes[i - 1]!.medianMs) * (t! - t0!)) / span;
    residuals.push(Math.log(probes[i]!.medianMs / expected));
  }
  return Math.sqrt(residuals.reduce((acc, r) => acc + r * r, 0) / residuals.length);
}

/** Corrects one measurement taken between startedAt and measuredAt. */
export function correctForDrift(series: DriftSeries, measurement: { archHash: string; medianMs: number; startedAt: string; measuredAt: string }): DriftCorrection {
  const probe = probeInterval(series, midpointMs(measurement.startedAt, measurement.measuredAt));
  if (probe === undefined) return { archHash: measurement.archHash, rawMs: measurement.medianMs, correctedMs: measurement.medianMs, factor: null, segment: null };
  const factor = series.referenceMs / probe.ms;
  return { archHash: measurement.archHash, rawMs: measurement.medianMs, correctedMs: measurement.medianMs * factor, factor, segment: probe.segment };
}
