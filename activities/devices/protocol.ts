/**
 * The measurement protocol's statistics: summaries of timed runs and the adaptive stopping rule.
 *
 * Latency distributions are skewed (a run now and then is slowed by the OS), so the protocol reports the
 * median and stops on the distribution-free 95% confidence interval of the median, not on the mean's.
 */
import { coefficientOfVariation, mean, quantileOfSorted, sortedAscending } from '../../pipelines/stats.js';
import type { OnnxRuntimeProtocol } from './config.js';

export interface TimingSummary {
  medianMs: number;
  meanMs: number;
  p10Ms: number;
  p90Ms: number;
  /** Interquartile range, p75 − p25. */
  iqrMs: number;
  /** Coefficient of variation (sample std / mean). */
  cv: number;
  /** 95% confidence interval of the median (order statistics). */
  medianCi95Ms: [number, number];
  /** Half the width of that interval, as a fraction of the median. */
  relativeHalfWidth: number;
}

export function summarizeTimings(timingsMs: readonly number[]): TimingSummary {
  const sorted = sortedAscending(timingsMs);
  const medianMs = quantileOfSorted(sorted, 0.5);
  const medianCi95Ms = medianConfidenceInterval(sorted);
  return {
    medianMs,
    meanMs: mean(sorted),
    p10Ms: quantileOfSorted(sorted, 0.1),
    p90Ms: quantileOfSorted(sorted, 0.9),
    iqrMs: quantileOfSorted(sorted, 0.75) - quantileOfSorted(sorted, 0.25),
    cv: coefficientOfVariation(sorted),
    medianCi95Ms,
    relativeHalfWidth: medianMs > 0 ? (medianCi95Ms[1] - medianCi95Ms[0]) / 2 / medianMs : 0,
  };
}

/**
 * The 95% interval [x(l), x(u)] of the median from the sorted sample, with the normal approximation of the
 * binomial ranks l = round((n − 1.96√n)/2) and u = round(1 + (n + 1.96√n)/2) (1-based), clamped to the
 * sample; these are the exact binomial ranks for n = 20 and n = 40. Below nine runs it is the whole range.
 */
export function medianConfidenceInterval(sorted: readonly number[]): [number, number] {
  const n = sorted.length;
  if (n === 0) throw new RangeError('medianConfidenceInterval of an empty list');
  const spread = 1.959963984540054 * Math.sqrt(n);
  const lower = Math.max(1, Math.round((n - spread) / 2));
  const upper = Math.min(n, Math.round(1 + (n + spread) / 2));
  return [sorted[lower - 1]!, sorted[upper - 1]!];
}

export type StopReason = 'stable' | 'max-runs' | 'max-seconds';

/** Why the protocol stops after these timed runs, or undefined to go on. minRuns always run. */
export function stopReason(timingsMs: readonly number[], protocol: OnnxRuntimeProtocol, elapsedSeconds: number): StopReason | undefined {
  const runs = timingsMs.length;
  if (runs < protocol.minRuns) return undefined;
  if (summarizeTimings(timingsMs).relativeHalfWidth <= protocol.targetRelativeHalfWidth) return 'stable';
  if (runs >= protocol.maxRuns) return 'max-runs';
  if (elapsedSeconds >= protocol.maxSeconds) return 'max-seconds';
  return undefined;
}

/**
 * How many runs to add before checking again: a quarter of those so far (the interval narrows with √n),
 * at least two, and no more than the run cap and the remaining time allow.
 */
export function nextBatchSize(timingsMs: readonly number[], protocol: OnnxRuntimeProtocol, elapsedSeconds: number): number {
  const runs = timingsMs.length;
  if (runs < protocol.minRuns) return protocol.minRuns - runs;
  const typicalMs = quantileOfSorted(sortedAscending(timingsMs), 0.5);
  const affordable = typicalMs > 0 ? Math.floor(((protocol.maxSeconds - elapsedSeconds) * 1000) / typicalMs) : Number.POSITIVE_INFINITY;
  return Math.max(1, Math.min(protocol.maxRuns - runs, Math.max(2, Math.ceil(runs / 4)), affordable));
}
