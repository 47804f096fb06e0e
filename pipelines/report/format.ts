/** Names and number formats shared by the report's figures, HTML and CSV. */
import { PREDICTOR_LABEL } from '../accuracy-predictor.js';
import type { AccuracySource } from '../records.js';

/** How the accuracy figure is named: a proxy is never called accuracy, and a prediction is never called a measurement. */
export function accuracyLabel(source: AccuracySource): string {
  switch (source) {
    case 'naswot-proxy':
      return 'NASWOT proxy score';
    case 'predictor':
      return PREDICTOR_LABEL;
    case 'table':
    case 'evaluator':
      return 'top-1 accuracy (%)';
  }
}

/** The order metrics are shown in: what the paper profiles first, then the counts. */
const METRIC_ORDER = ['accuracy', 'latency', 'macs', 'params'];

export function sortMetrics(metrics: readonly string[]): string[] {
  const rank = (m: string) => (METRIC_ORDER.includes(m) ? METRIC_ORDER.indexOf(m) : METRIC_ORDER.length);
  return [...metrics].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Sorts labels with their numbers as numbers: "u2" before "u10", "e3k7" before "e4k3". */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** How a profile metric is titled; the accuracy figure is named for what it is (a proxy, or top-1). */
export function metricTitle(metric: string, source: AccuracySource): string {
  switch (metric) {
    case 'accuracy':
      return accuracyLabel(source);
    case 'latency':
      return 'latency (ms)';
    case 'macs':
      return 'MACs';
    case 'params':
      return 'parameters';
    default:
      return metric;
  }
}

/** 4 significant digits, with k/M/G for large counts (MACs, parameters). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const scaled = (divisor: number, suffix: string) => `${Number((value / divisor).toPrecision(4))}${suffix}`;
  if (abs >= 1e9) return scaled(1e9, 'G');
  if (abs >= 1e6) return scaled(1e6, 'M');
  if (abs >= 1e4) return scaled(1e3, 'k');
  return String(Number(value.toPrecision(4)));
}

export function formatMeanStd(stats: { mean: number; std: number }): string {
  return `${formatNumber(stats.mean)} ± ${formatNumber(stats.std)}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
