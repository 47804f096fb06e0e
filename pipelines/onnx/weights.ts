/**
 * Deterministic synthetic weights for exported models. The values only have to be realistic enough for
 * timing (no NaN, inf or denormals, which take slow paths on CPUs) and activations that stay in range.
 * Each tensor draws from its own stream keyed by (seed, tensor name), so the same IR and seed give the
 * same bytes, and adding a layer leaves every other layer's weights unchanged.
 */
import { Rng, deriveSeed, type Seed } from '../rng.js';
import { HOST_IS_LITTLE_ENDIAN } from './proto.js';

/** Bias bound: small, like a freshly initialised or BN-folded bias. */
export const BIAS_BOUND = 0.05;

/** He-uniform bound sqrt(6 / fan_in), scaled by a gain (residual branches start smaller). */
export function heUniformBound(fanIn: number, gain = 1): number {
  if (!Number.isInteger(fanIn) || fanIn <= 0) throw new RangeError(`fan_in must be a positive integer, got ${fanIn}`);
  return Math.sqrt(6 / fanIn) * gain;
}

/** `count` values uniform in [-bound, bound), from the stream of this tensor name. */
export function uniformTensor(seed: Seed, tensorName: string, count: number, bound: number): Float32Array {
  if (!Number.isFinite(bound) || bound <= 0) throw new RangeError(`${tensorName}: bound must be finite and positive, got ${bound}`);
  const rng = new Rng(deriveSeed(seed, 'onnx-weight', tensorName));
  const values = new Float32Array(count);
  const width = 2 * bound;
  // Draws are multiples of width / 2^32, so any nonzero value is far above float32's denormal range.
  for (let i = 0; i < count; i++) values[i] = rng.next() * width - bound;
  assertFiniteNormal(values, tensorName);
  return values;
}

/** Throws on NaN, ±inf or a denormal, any of which would distort CPU timings. */
export function assertFiniteNormal(values: Float32Array, tensorName: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const magnitude = Math.abs(v);
    if (!Number.isFinite(v) || (magnitude !== 0 && magnitude < FLOAT32_MIN_NORMAL)) {
      throw new RangeError(`${tensorName}[${i}] = ${v} is not a finite normal float32`);
    }
  }
}

export const FLOAT32_MIN_NORMAL = 2 ** -126;

/** float32 values as little-endian bytes (ONNX raw_data), without copying on little-endian hosts. */
export function float32LeBytes(values: Float32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

/** Little-endian float32 bytes (ONNX raw_data) back to values. */
export function float32FromLeBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`float32 raw_data length ${bytes.byteLength} is not a multiple of 4`);
  const values = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  return values;
}
