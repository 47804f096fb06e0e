/** make_divisible of the OFA code (§1.1): nearest multiple of the divisor, ties up, never more than 10% down. */
export function makeDivisible(value: number, divisor = 8, min = divisor): number {
  let n = Math.max(min, Math.floor((value + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * value) n += divisor;
  return n;
}

/** Allowed input resolutions of every space (OFA's elastic resolutions); profiling accuracy uses 224. */
export const RESOLUTIONS = [160, 176, 192, 208, 224] as const;
export const DEFAULT_RESOLUTION = 224;
