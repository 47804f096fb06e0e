/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32).
 * Math.random is never used: the same seed must give the same draws on any machine and inside
 * Temporal workflows, where only deterministic code may run.
 */
import { canonicalHashHex } from './hash.js';

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

export type Seed = number | string;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: Seed) {
    let state = typeof seed === 'number' ? seedFromNumber(seed) : seedFromString(seed);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, value] = splitmix32(state);
      state = next;
      words.push(value);
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal draw (Box-Muller, two uniforms). */
  gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }

  /** An integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** An integer in [lo, hi], both inclusive. */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.choice: cannot choose from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Fisher-Yates shuffle into a new array. */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** An independent child generator for a named sub-stream, so adding one stream never shifts another. */
  fork(label: string): Rng {
    return new Rng(`${this.nextUint32()}:${label}`);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function seedFromNumber(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer or a string, got ${seed}`);
  // Fold both 32-bit halves so large seeds stay distinct.
  const high = Math.floor(seed / 4294967296);
  return (seed ^ Math.imul(high, 0x27d4eb2d)) | 0;
}

function seedFromString(seed: string): number {
  return Number.parseInt(canonicalHashHex(seed).slice(0, 8), 16) | 0;
}

/** A seed for a named sub-task of a seeded job (e.g. one block specification of a study). */
export function deriveSeed(seed: Seed, ...labels: (string | number)[]): string {
  return canonicalHashHex([String(seed), ...labels.map(String)]).slice(0, 16);
}
