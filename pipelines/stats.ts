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
  12.706204736, 4.30265273, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135, 2.262157163, 2.228138852, 2.20098516, 2.17881283, 2.160368656, 2.144786688,
  2.131449546, 2.119905299, 2.109815578, 2.10092204, 2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.06865761, 2.063898562, 2.059538553, 2.055529439, 2.051830516, 2.048407142,
  2.045229642, 2.042272456,
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

/**
 * 95% interval of mean(a) − mean(b) for independent samples (Welch: unequal variances, Welch–Satterthwaite df).
 * Degenerate (no spread) samples give a zero-width interval.
 */
export function differenceOfMeansInterval(a: readonly number[], b: readonly number[]): { estimate: number; low: number; high: number } {
  const estimate = mean(a) - mean(b);
  const [va, vb] = [a.length > 1 ? std(a, 1) ** 2 / a.length : 0, b.length > 1 ? std(b, 1) ** 2 / b.length : 0];
  const se = Math.sqrt(va + vb);
  if (se === 0) return { estimate, low: estimate, high: estimate };
  const df = (va + vb) ** 2 / ((a.length > 1 ? va ** 2 / (a.length - 1) : 0) + (b.length > 1 ? vb ** 2 / (b.length - 1) : 0));
  const half = tCritical95(df) * se;
  return { estimate, low: estimate - half, high: estimate + half };
}

/**
 * 95% interval of mean(a) / mean(b) for independent positive samples by the delta method on the log ratio,
 * var(log R) ≈ var(ā)/ā² + var(b̄)/b̄², with the smaller sample's df (conservative for a handful of seeds).
 * Null when mean(b) is not positive.
 */
export function ratioOfMeansInterval(a: readonly number[], b: readonly number[]): { estimate: number; low: number; high: number } | null {
  const [ma, mb] = [mean(a), mean(b)];
  if (!(mb > 0) || !(ma > 0)) return null;
  const relVar = (v: readonly number[], m: number) => (v.length > 1 ? std(v, 1) ** 2 / v.length / m ** 2 : 0);
  const se = Math.sqrt(relVar(a, ma) + relVar(b, mb));
  const half = tCritical95(Math.min(a.length, b.length) - 1) * se;
  const estimate = ma / mb;
  return se === 0 ? { estimate, low: estimate, high: estimate } : { estimate, low: estimate * Math.exp(-half), high: estimate * Math.exp(half) };
}

/** Ranks with ties averaged (1-based). */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
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

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  const pLow = 0.02425;
  if (p < pLow) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - pLow) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Quantile of the chi-square distribution with `df` degrees of freedom (Wilson-Hilferty approximation). */
export function chiSquareQuantile(p: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`chiSquareQuantile: df must be positive, got ${df}`);
  const h = 2 / (9 * df);
  return df * Math.max(0, 1 - h + normalQuantile(p) * Math.sqrt(h)) ** 3;
}

/** log Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.61503916999186, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The continued fraction of the incomplete beta function (modified Lentz), for x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    for (const numerator of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(F ≤ f) for the F distribution with (d1, d2) degrees of freedom. */
export function fCdf(f: number, d1: number, d2: number): number {
  return f <= 0 ? 0 : regularizedBeta((d1 * f) / (d1 * f + d2), d1 / 2, d2 / 2);
}

/** Quantile of the F distribution with (d1, d2) degrees of freedom, by bisection on its CDF. */
export function fQuantile(p: number, d1: number, d2: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`fQuantile: p must be in (0, 1), got ${p}`);
  if (!(d1 > 0) || !(d2 > 0)) throw new RangeError(`fQuantile: degrees of freedom must be positive, got ${d1} and ${d2}`);
  let low = 0;
  let high = 1;
  while (fCdf(high, d1, d2) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
    const middle = (low + high) / 2;
    if (fCdf(middle, d1, d2) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/** Summary statistics of one group: size, mean and population (ddof 0) standard deviation. */
export interface GroupSummary {
  n: number;
  mean: number;
  std: number;
}

export interface OneWayAnova {
  dfBetween: number;
  dfWithin: number;
  /** Between-group mean square over within-group mean square. */
  fStatistic: number;
  /** Share of the total sum of squares between groups (biased upwards for small groups). */
  etaSquared: number;
  /** Bias-corrected effect size; about 0 when the groups differ only by noise, negative possible. */
  omegaSquared: number;
}

/** One-way ANOVA from group summaries, so that profiles (which keep only summaries) can be analysed. */
export function oneWayAnova(groups: readonly GroupSummary[]): OneWayAnova {
  if (groups.length < 2) throw new RangeError('oneWayAnova needs at least two groups');
  const total = groups.reduce((s, g) => s + g.n, 0);
  const grandMean = groups.reduce((s, g) => s + g.n * g.mean, 0) / total;
  const ssBetween = groups.reduce((s, g) => s + g.n * (g.mean - grandMean) ** 2, 0);
  const ssWithin = groups.reduce((s, g) => s + g.n * g.std ** 2, 0);
  const dfBetween = groups.length - 1;
  const dfWithin = total - groups.length;
  if (dfWithin <= 0) throw new RangeError('oneWayAnova needs more observations than groups');
  const msWithin = ssWithin / dfWithin;
  const ssTotal = ssBetween + ssWithin;
  return {
    dfBetween,
    dfWithin,
    fStatistic: msWithin === 0 ? (ssBetween === 0 ? 0 : Number.POSITIVE_INFINITY) : ssBetween / dfBetween / msWithin,
    etaSquared: ssTotal === 0 ? 0 : ssBetween / ssTotal,
    omegaSquared: ssTotal === 0 ? 0 : (ssBetween - dfBetween * msWithin) / (ssTotal + msWithin),
  };
}

/** Sums of squares of a two-way table without replication: row and column main effects and the rest. */
export function twoWaySumsOfSquares(table: readonly (readonly number[])[]): { rows: number; columns: number; interaction: number; total: number } {
  const rowCount = table.length;
  const columnCount = table[0]?.length ?? 0;
  if (rowCount === 0 || columnCount === 0 || table.some((row) => row.length !== columnCount)) {
    throw new RangeError('twoWaySumsOfSquares needs a non-empty rectangular table');
  }
  const grand = mean(table.flat());
  const rowMeans = table.map((row) => mean(row));
  const columnMeans = Array.from({ length: columnCount }, (_, j) => mean(table.map((row) => row[j]!)));
  const rows = columnCount * rowMeans.reduce((s, m) => s + (m - grand) ** 2, 0);
  const columns = rowCount * columnMeans.reduce((s, m) => s + (m - grand) ** 2, 0);
  const total = table.flat().reduce((s, v) => s + (v - grand) ** 2, 0);
  return { rows, columns, interaction: Math.max(0, total - rows - columns), total };
}
