/** Descriptive statistics and rank agreement, shared by profiling, insights, the predictor and benchmarks. */

function requireNonEmpty(values: readonly number[], what: string): void {
  if (values.length === 0) throw new RangeError(`${what} of an empty list`);
}

export function mean(values: readonly number[]): number {
  requireNonEmpty(values, 'mean');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Population (ddof 0) by default, as the paper's numpy code reports; ddof 1 for the sample estimate. */
export function std(values: readonly number[], ddof: 0 | 1 = 0): number {
  requireNonEmpty(values, 'std');
  if (values.length - ddof <= 0) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - ddof));
}

export function sortedAscending(values: readonly number[]): number[] {
  return values.slice().sort((a, b) => a - b);
}

/** numpy's default (linear) quantile: position q·(n−1) in the sorted list, interpolated. */
export function quantile(values: readonly number[], q: number): number {
  requireNonEmpty(values, 'quantile');
  return quantileOfSorted(sortedAscending(values), q);
}

export function quantileOfSorted(sorted: readonly number[], q: number): number {
  if (q < 0 || q > 1) throw new RangeError(`quantile q must be in [0, 1], got ${q}`);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Coefficient of variation (sample std / mean). */
export function coefficientOfVariation(values: readonly number[]): number {
  return values.length < 2 ? 0 : std(values, 1) / mean(values);
}

const T95 = [
  12.706204736, 4.30265273, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135, 2.262157163, 2.228138852,
  2.20098516, 2.178812830, 2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040, 2.093024054, 2.085963447,
  2.079613845, 2.073873068, 2.068657610, 2.063898562, 2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
];

/** Two-sided Student-t critical value for a 95% interval with `df` degrees of freedom. */
export function tCritical95(df: number): number {
  if (df <= 0) return Number.POSITIVE_INFINITY;
  if (df <= T95.length) return T95[Math.ceil(df) - 1]!;
  // Cornish-Fisher expansion of the t quantile around the normal one (error < 1e-4 for df > 30).
  const z = 1.959963984540054;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

/** 95% confidence interval of the mean (Student t, sample std). */
export function meanConfidenceInterval(values: readonly number[]): { low: number; high: number } {
  const m = mean(values);
  if (values.length < 2) return { low: m, high: m };
  const half = (tCritical95(values.length - 1) * std(values, 1)) / Math.sqrt(values.length);
  return { low: m - half, high: m + half };
}

/** Ranks with ties averaged (1-based). */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]![1]] = rank;
    i = j + 1;
  }
  return out;
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError('pearson: lists differ in length');
  requireNonEmpty(a, 'pearson');
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

export function spearman(a: readonly number[], b: readonly number[]): number {
  return pearson(ranks(a), ranks(b));
}

/** Kendall's tau-b (handles ties). O(n²), fine for the few thousand points we compare. */
export function kendallTau(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError('kendallTau: lists differ in length');
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const da = Math.sign(a[i]! - a[j]!);
      const db = Math.sign(b[i]! - b[j]!);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
  return denom === 0 ? 0 : (concordant - discordant) / denom;
}

/** Mean absolute percentage error of predictions against measured values, as a fraction (0.05 = 5%). */
export function meanAbsolutePercentageError(measured: readonly number[], predicted: readonly number[]): number {
  if (measured.length !== predicted.length) throw new RangeError('MAPE: lists differ in length');
  return mean(measured.map((m, i) => Math.abs(predicted[i]! - m) / Math.abs(m)));
}
