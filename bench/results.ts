/** The shape of bench/results/*.json and the target checks every figure reports against. */

export const FIGURE_IDS = ['efficiency', 'fairness', 'fidelity', 'orchestration', 'throughput', 'predictor', 'search', 'profiles', 'pruning'] as const;
export type FigureId = (typeof FIGURE_IDS)[number];

/** How a value is shown: a ratio as "1.23x", a fraction as a percentage, anything else as a plain number. */
export type ValueFormat = 'ratio' | 'percent' | 'number';

export type Target =
  | { op: 'at-most'; bound: number }
  | { op: 'at-least'; bound: number }
  /** |value − around| ≤ tolerance, e.g. a ratio within 5% of 1. */
  | { op: 'within'; around: number; tolerance: number };

export interface Check {
  label: string;
  value: number;
  format: ValueFormat;
  target: Target;
  met: boolean;
  /** How far the value is past the target, in the value's unit; 0 when met. */
  missedBy: number;
}

export interface Headline {
  label: string;
  value: string;
}

/** How busy the (shared) machine was while a figure ran. */
export interface Conditions {
  /** Load averages (1, 5, 15 min) when the figure started and ended. */
  loadBefore: number[];
  loadAfter: number[];
  /** Share of all cores' time spent busy during the figure, this run's own work included (Linux /proc/stat; null elsewhere). */
  cpuBusy: number | null;
}

export interface FigureResult {
  id: FigureId;
  number: number;
  title: string;
  /** How the figure was computed, one sentence each. */
  method: string[];
  checks: Check[];
  /** Figures without a target (throughput, hypervolume) and context for the checks. */
  headlines: Headline[];
  /** For figures without checks: the short lines the summary tables show instead. */
  summary: Headline[];
  /** Misses (by how much, why, what would close them) and anything that qualifies the numbers. */
  notes: string[];
  /** Raw numbers behind the figure, for anyone re-deriving it. */
  details: Record<string, unknown>;
  seconds: number;
  ranAt: string;
  conditions: Conditions;
}

export interface BenchResults {
  kind: 'blockscope.bench/v1';
  mode: 'quick' | 'full';
  generatedAt: string;
  /** Wall time of the run that wrote the file (with --only, of that run). */
  totalSeconds: number;
  host: { cpu: string; cores: number; memoryGiB: number; platform: string; node: string };
  versions: { onnxruntimeNode: string; onnxruntimePython: string | null; commit: string | null; dirty: boolean | null };
  figures: FigureResult[];
}

export function atMost(label: string, value: number, bound: number, format: ValueFormat): Check {
  return { label, value, format, target: { op: 'at-most', bound }, met: value <= bound, missedBy: Math.max(0, value - bound) };
}

export function atLeast(label: string, value: number, bound: number, format: ValueFormat): Check {
  return { label, value, format, target: { op: 'at-least', bound }, met: value >= bound, missedBy: Math.max(0, bound - value) };
}

export function within(label: string, value: number, around: number, tolerance: number, format: ValueFormat): Check {
  const off = Math.abs(value - around);
  return { label, value, format, target: { op: 'within', around, tolerance }, met: off <= tolerance, missedBy: Math.max(0, off - tolerance) };
}

export function formatValue(value: number, format: ValueFormat): string {
  if (!Number.isFinite(value)) return String(value);
  switch (format) {
    case 'ratio':
      return `${value.toFixed(2)}x`;
    case 'percent':
      return `${(value * 100).toFixed(1)}%`;
    case 'number':
      return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(3);
  }
}

export function formatTarget(target: Target, format: ValueFormat): string {
  switch (target.op) {
    case 'at-most':
      return `≤ ${formatValue(target.bound, format)}`;
    case 'at-least':
      return `≥ ${formatValue(target.bound, format)}`;
    case 'within':
      return `${formatValue(target.around, format)} ± ${(target.tolerance * 100).toFixed(0)}%`;
  }
}

/** "missed by 0.12x" style text for a check, in the check's unit (percentage points for percentages). */
export function formatMiss(check: Check): string {
  if (check.met) return 'met';
  const amount = check.format === 'percent' ? `${(check.missedBy * 100).toFixed(1)} points` : check.format === 'ratio' ? `${check.missedBy.toFixed(2)}x` : check.missedBy.toFixed(3);
  return `missed by ${amount}`;
}

export function formatMs(ms: number): string {
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${ms.toFixed(1)} ms`;
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
