/**
 * Procedural input images for training-free proxies: no dataset needed, deterministic from a seed.
 * Image i of a design at a resolution is drawn from its own stream, so every architecture scored at that
 * resolution sees the same images, and the first 16 images of a batch of 32 are the batch of 16.
 *
 * - 'normal-noise': i.i.d. standard normal pixels (the original NASWOT inputs here).
 * - 'dead-leaves': the dead-leaves model of natural images (Lee, Mumford & Huang 2001; used for
 *   pre-training by Baradad et al. 2021, "Learning to See by Looking at Noise"): opaque discs of uniformly
 *   random colour, radii with density ∝ r⁻³ (scale invariant) between 2% and 50% of the side, stacked
 *   until the image is covered; then normalised per channel with ImageNet's mean and std.
 * - 'pink-noise': a Gaussian field per channel with a 1/f amplitude spectrum (natural images' power
 *   law), standardised per image and channel.
 */
import { Rng, deriveSeed, type Seed } from '../rng.js';

export const INPUT_DESIGNS = ['normal-noise', 'dead-leaves', 'pink-noise'] as const;
export type InputDesign = (typeof INPUT_DESIGNS)[number];

/** ImageNet's per-channel mean and std (torchvision), applied to dead-leaves pixels in [0, 1]. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Disc radii relative to the image side, and the density exponent r^-DEAD_LEAVES_ALPHA. */
export const DEAD_LEAVES_RADII = { min: 0.02, max: 0.5 } as const;
const DEAD_LEAVES_ALPHA = 3;
/** Stops a pathological stream; at the radii above an image is covered after about 1-3 thousand discs. */
const DEAD_LEAVES_MAX_DISCS = 100_000;

/** Images [first, first + count) of a design at a resolution, as one [count, 3, R, R] float32 buffer. */
export function proxyInputImages(design: InputDesign, seed: Seed, resolution: number, first: number, count: number): Float32Array {
  if (!Number.isSafeInteger(resolution) || resolution < 1) throw new RangeError(`resolution must be a positive integer, got ${resolution}`);
  const perImage = 3 * resolution * resolution;
  const images = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) {
    const image = images.subarray(i * perImage, (i + 1) * perImage);
    // normal-noise keeps the stream label it had before the other designs existed, so old scores reproduce.
    const rng = new Rng(design === 'normal-noise' ? deriveSeed(seed, 'naswot-input', resolution, first + i) : deriveSeed(seed, 'naswot-input', design, resolution, first + i));
    switch (design) {
      case 'normal-noise':
        normalNoise(rng, image);
        break;
      case 'dead-leaves':
        deadLeaves(rng, image, resolution);
        break;
      case 'pink-noise':
        pinkNoise(rng, image, resolution);
        break;
    }
  }
  return images;
}

/** Box-Muller: two uniforms give two independent standard normal values. */
function normalNoise(rng: Rng, out: Float32Array | Float64Array): void {
  for (let p = 0; p < out.length; p += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const angle = 2 * Math.PI * rng.next();
    out[p] = radius * Math.cos(angle);
    if (p + 1 < out.length) out[p + 1] = radius * Math.sin(angle);
  }
}

/**
 * Front to back: each new disc only paints pixels no earlier (nearer) disc covers, which gives the same
 * picture as stacking infinitely many discs back to front, and stops once every pixel is painted.
 */
function deadLeaves(rng: Rng, out: Float32Array, side: number): void {
  const plane = side * side;
  const covered = new Uint8Array(plane);
  let uncovered = plane;
  const rMin = DEAD_LEAVES_RADII.min * side;
  const rMax = DEAD_LEAVES_RADII.max * side;
  // Inverse CDF of p(r) ∝ r^-α on [rMin, rMax].
  const power = 1 - DEAD_LEAVES_ALPHA;
  const lowPow = rMin ** power;
  const spanPow = rMax ** power - lowPow;
  for (let disc = 0; disc < DEAD_LEAVES_MAX_DISCS && uncovered > 0; disc++) {
    const radius = (lowPow + rng.next() * spanPow) ** (1 / power);
    const cx = rng.next() * side;
    const cy = rng.next() * side;
    const colour = [rng.next(), rng.next(), rng.next()].map((v, c) => (v - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!);
    const y0 = Math.max(0, Math.ceil(cy - radius - 0.5));
    const y1 = Math.min(side - 1, Math.floor(cy + radius - 0.5));
    const r2 = radius * radius;
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy;
      const half = Math.sqrt(Math.max(0, r2 - dy * dy));
      const x0 = Math.max(0, Math.ceil(cx - half - 0.5));
      const x1 = Math.min(side - 1, Math.floor(cx + half - 0.5));
      for (let x = x0; x <= x1; x++) {
        const p = y * side + x;
        if (covered[p]) continue;
        covered[p] = 1;
        uncovered -= 1;
        out[p] = colour[0]!;
        out[plane + p] = colour[1]!;
        out[2 * plane + p] = colour[2]!;
      }
    }
  }
  // Only a stream that hit the disc cap leaves pixels: they keep the value 0, ImageNet's mean colour.
}

/**
 * Complex white noise shaped by 1/f and inverse-transformed on a power-of-two grid (cropped to the
 * image): the real and imaginary parts are two independent real fields with that spectrum, so two
 * transforms give the three channels.
 */
function pinkNoise(rng: Rng, out: Float32Array, side: number): void {
  const size = 2 ** Math.ceil(Math.log2(side));
  const plane = side * side;
  const fields: Float64Array[] = [];
  for (let transform = 0; transform < 2; transform++) {
    const re = new Float64Array(size * size);
    const im = new Float64Array(size * size);
    normalNoise(rng, re);
    normalNoise(rng, im);
    for (let v = 0; v < size; v++) {
      const fy = Math.min(v, size - v);
      for (let u = 0; u < size; u++) {
        const fx = Math.min(u, size - u);
        const f = Math.hypot(fx, fy);
        // The mean (f = 0) is set by the standardisation below.
        const gain = f === 0 ? 0 : 1 / f;
        re[v * size + u]! *= gain;
        im[v * size + u]! *= gain;
      }
    }
    fft2d(re, im, size);
    fields.push(re, im);
  }
  for (let c = 0; c < 3; c++) {
    const field = fields[c]!;
    let sum = 0;
    let sumSq = 0;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = field[y * size + x]!;
        sum += v;
        sumSq += v * v;
      }
    }
    const mean = sum / plane;
    const std = Math.sqrt(Math.max(sumSq / plane - mean * mean, Number.MIN_VALUE));
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) out[c * plane + y * side + x] = (field[y * size + x]! - mean) / std;
  }
}

/** In-place 2-D FFT (rows, then columns) of a size×size complex array; size a power of two. */
function fft2d(re: Float64Array, im: Float64Array, size: number): void {
  const cos = new Float64Array(size / 2);
  const sin = new Float64Array(size / 2);
  for (let k = 0; k < size / 2; k++) {
    cos[k] = Math.cos((-2 * Math.PI * k) / size);
    sin[k] = Math.sin((-2 * Math.PI * k) / size);
  }
  for (let row = 0; row < size; row++) fft1d(re, im, row * size, 1, size, cos, sin);
  for (let column = 0; column < size; column++) fft1d(re, im, column, size, size, cos, sin);
}

/**
 * Iterative radix-2 Cooley-Tukey FFT in place of the n values at offset, offset + stride, …, with the
 * twiddles of size n; the sign convention does not matter for noise.
 */
function fft1d(re: Float64Array, im: Float64Array, offset: number, stride: number, n: number, cos: Float64Array, sin: Float64Array): void {
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const a = offset + i * stride;
      const b = offset + j * stride;
      [re[a], re[b]] = [re[b]!, re[a]!];
      [im[a], im[b]] = [im[b]!, im[a]!];
    }
  }
  for (let length = 2; length <= n; length <<= 1) {
    const half = length / 2;
    const step = n / length;
    for (let start = 0; start < n; start += length) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step]!;
        const wi = sin[k * step]!;
        const a = offset + (start + k) * stride;
        const b = a + half * stride;
        const tr = re[b]! * wr - im[b]! * wi;
        const ti = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
}
