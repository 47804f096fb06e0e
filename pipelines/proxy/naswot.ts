/**
 * NASWOT, "Neural Architecture Search without Training" (Mellor et al., ICML 2021): a training-free
 * proxy, not an accuracy. Every rectified unit of an untrained network gives each image of a mini-batch
 * a binary code (unit active or not). With c_i the concatenated code of image i over N_A units,
 *
 *   K_ij = N_A − Hamming(c_i, c_j) = c_i·c_j + (1 − c_i)·(1 − c_j),
 *
 * and the score is log|det K|: networks that give different images more different codes score higher.
 *
 * Pure math, no I/O. Codes are packed 32 units to a word, so K costs O(N² · N_A / 32) word operations.
 */

/**
 * The diagonal jitter, relative to K's mean diagonal (N_A), that keeps log|det K| finite when codes
 * coincide (a dead or degenerate network): such a K is singular and would otherwise score −∞.
 */
export const NASWOT_JITTER = 1e-9;

/** The binary codes of a mini-batch, packed per image: one bit per unit, each layer starting on a word. */
export class BinaryCodes {
  readonly images: number;
  readonly layerUnits: readonly number[];
  readonly units: number;
  private readonly layerWordOffsets: number[];
  private readonly wordsPerImage: number;
  private readonly words: Uint32Array;

  /** `layerUnits[l]`: units of layer l for one image (e.g. C·H·W). */
  constructor(images: number, layerUnits: readonly number[]) {
    if (!Number.isSafeInteger(images) || images < 1) throw new RangeError(`images must be a positive integer, got ${images}`);
    this.images = images;
    this.layerUnits = [...layerUnits];
    this.layerWordOffsets = [];
    let words = 0;
    let units = 0;
    for (const [l, count] of this.layerUnits.entries()) {
      if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`layer ${l}: units must be a positive integer, got ${count}`);
      this.layerWordOffsets.push(words);
      words += Math.ceil(count / 32);
      units += count;
    }
    this.units = units;
    this.wordsPerImage = words;
    // Padding bits stay 0 in every image, so they never add to a Hamming distance.
    this.words = new Uint32Array(images * words);
  }

  /**
   * Records layer `layer` for images [firstImage, firstImage + count) from its activations
   * [count, ...units] (or the first count·units values of a larger buffer). A unit's code is 1 where the
   * activation is > 0; a Uint8Array holds the codes themselves (an ONNX bool tensor: 1 where active).
   */
  setLayer(layer: number, activations: Float32Array | Uint8Array, firstImage = 0, count = this.images - firstImage): void {
    const units = this.layerUnits[layer];
    if (units === undefined) throw new RangeError(`layer ${layer} out of range 0..${this.layerUnits.length - 1}`);
    if (firstImage < 0 || count < 1 || firstImage + count > this.images) {
      throw new RangeError(`images ${firstImage}..${firstImage + count - 1} out of range 0..${this.images - 1}`);
    }
    if (activations.length < count * units) {
      throw new RangeError(`layer ${layer}: ${activations.length} activations for ${count} images of ${units} units`);
    }
    // A float32 is > 0 exactly when its bits read as an int32 v are > 0 (−0 is not), and then the sign bit
    // of (−v & ~v) is set: packing without a branch per unit is about twice as fast on random codes.
    const floats = activations instanceof Float32Array;
    const bits = floats ? new Int32Array(activations.buffer, activations.byteOffset, count * units) : activations;
    for (let image = 0; image < count; image++) {
      let source = image * units;
      let target = (firstImage + image) * this.wordsPerImage + this.layerWordOffsets[layer]!;
      const end = source + units;
      while (source < end) {
        const take = Math.min(32, end - source);
        let word = 0;
        if (floats) {
          for (let bit = 0; bit < take; bit++) {
            const v = bits[source + bit]!;
            word |= ((-v & ~v) >>> 31) << bit;
          }
        } else {
          for (let bit = 0; bit < take; bit++) word |= (bits[source + bit]! === 0 ? 0 : 1) << bit;
        }
        this.words[target++] = word;
        source += take;
      }
    }
  }

  /** K as a dense row-major N×N float64 matrix. */
  kernel(): Float64Array {
    const n = this.images;
    const stride = this.wordsPerImage;
    const codes = this.words;
    const kernel = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      kernel[i * n + i] = this.units;
      for (let j = i + 1; j < n; j++) {
        let distance = 0;
        const a = i * stride;
        const b = j * stride;
        for (let w = 0; w < stride; w++) distance += popcount32(codes[a + w]! ^ codes[b + w]!);
        kernel[i * n + j] = kernel[j * n + i] = this.units - distance;
      }
    }
    return kernel;
  }
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * log det of a symmetric positive semi-definite n×n matrix (row-major), by a float64 Cholesky
 * factorisation of M + jitter·I: log det = 2·Σ log L_ii. Throws if M is not PSD (a pivot ≤ 0).
 */
export function logDetPsd(matrix: Float64Array, n: number, jitter = 0): number {
  if (matrix.length !== n * n) throw new RangeError(`expected ${n}×${n} = ${n * n} entries, got ${matrix.length}`);
  const lower = new Float64Array(n * n);
  let logDet = 0;
  for (let j = 0; j < n; j++) {
    let pivot = matrix[j * n + j]! + jitter;
    for (let k = 0; k < j; k++) pivot -= lower[j * n + k]! ** 2;
    if (!(pivot > 0)) throw new RangeError(`matrix is not positive definite (pivot ${pivot} at row ${j}); is it a NASWOT kernel?`);
    const diagonal = Math.sqrt(pivot);
    lower[j * n + j] = diagonal;
    logDet += 2 * Math.log(diagonal);
    for (let i = j + 1; i < n; i++) {
      let sum = matrix[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= lower[i * n + k]! * lower[j * n + k]!;
      lower[i * n + j] = sum / diagonal;
    }
  }
  return logDet;
}

/** The NASWOT score log|det K| of a kernel from BinaryCodes.kernel(), with the NASWOT_JITTER regulariser. */
export function naswotScoreOfKernel(kernel: Float64Array, images: number): number {
  let trace = 0;
  for (let i = 0; i < images; i++) trace += kernel[i * images + i]!;
  return logDetPsd(kernel, images, (NASWOT_JITTER * trace) / images);
}

export interface NaswotResult {
  score: number;
  layers: number;
  units: number;
}

/**
 * The NASWOT score of a mini-batch of `images` from each layer's activations, each a flat [N, ...]
 * buffer (post-activation values of relu/relu6/hswish units, whose sign is the pre-activation's).
 */
export function naswotScore(layers: readonly Float32Array[], images: number): NaswotResult {
  if (layers.length === 0) throw new RangeError('naswotScore: no layers given');
  const layerUnits = layers.map((values, l) => {
    if (values.length % images !== 0) throw new RangeError(`layer ${l}: ${values.length} values do not split into ${images} images`);
    return values.length / images;
  });
  const codes = new BinaryCodes(images, layerUnits);
  layers.forEach((values, l) => codes.setLayer(l, values));
  return { score: naswotScoreOfKernel(codes.kernel(), images), layers: layers.length, units: codes.units };
}
