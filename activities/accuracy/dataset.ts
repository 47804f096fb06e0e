/**
 * A labelled image dataset stored as tensors (docs/accuracy.md): a JSON header
 *
 *   { "format": "blockscope.tensors/v1", "n": 64, "shape": [3, 160, 160], "dtype": "float32",
 *     "labels": [0, 2, 1, ...], "data": "images.bin" }
 *
 * and a raw file of n·C·H·W little-endian float32 values, image after image, each in CHW order (what
 * numpy's `x.astype('<f4').tofile(...)` writes for an [n, C, H, W] array). `data` is relative to the header
 * and defaults to the header's name with `.bin` instead of `.json`. Images go to the model as they are:
 * any normalisation is the writer's job.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { float32FromLeBytes, float32LeBytes } from '../../pipelines/onnx/weights.js';
import { Rng, deriveSeed, type Seed } from '../../pipelines/rng.js';
import { AccuracyInputError } from './errors.js';

export const TENSOR_DATASET_FORMAT = 'blockscope.tensors/v1';

export interface LabelledImages {
  /** [C, H, W] of one image. */
  shape: [number, number, number];
  labels: number[];
  /** n·C·H·W values, image-major. */
  images: Float32Array;
}

export interface TensorDataset extends LabelledImages {
  headerPath: string;
  dataPath: string;
  /** sha256 of the header bytes followed by the data bytes: identifies the dataset's content. */
  sha256: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function defaultDataFile(headerPath: string): string {
  return basename(headerPath).replace(/\.json$/i, '') + '.bin';
}

export async function readTensorDataset(headerPath: string): Promise<TensorDataset> {
  function fail(message: string): never {
    throw new AccuracyInputError(`dataset ${headerPath}: ${message}`);
  }
  let headerBytes: Uint8Array;
  let header: unknown;
  try {
    headerBytes = await readFile(headerPath);
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch (error) {
    fail(`cannot read the JSON header: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isRecord(header)) fail('the header must be a JSON object');
  if (header.format !== TENSOR_DATASET_FORMAT) fail(`format: expected ${JSON.stringify(TENSOR_DATASET_FORMAT)}, got ${JSON.stringify(header.format)}`);
  if (header.dtype !== 'float32') fail(`dtype: only "float32" is supported, got ${JSON.stringify(header.dtype)}`);
  const n = header.n;
  if (!isCount(n)) fail(`n: expected a positive integer, got ${JSON.stringify(n)}`);
  const shape = listOf(header.shape);
  if (shape.length !== 3 || !shape.every(isCount)) fail(`shape: expected [channels, height, width] of positive integers, got ${JSON.stringify(header.shape)}`);
  const [channels, height, width] = shape as [number, number, number];
  const rawLabels = listOf(header.labels);
  if (rawLabels.length !== n) fail(`labels: expected a list of n = ${n} class indices`);
  const labels = rawLabels.map((label, i) => {
    if (typeof label !== 'number' || !Number.isSafeInteger(label) || label < 0) fail(`labels[${i}]: expected a class index >= 0, got ${JSON.stringify(label)}`);
    return label;
  });
  const dataFile = header.data ?? defaultDataFile(headerPath);
  if (typeof dataFile !== 'string' || dataFile === '') fail(`data: expected a file name, got ${JSON.stringify(dataFile)}`);
  const dataPath = join(dirname(headerPath), dataFile);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(dataPath);
  } catch (error) {
    fail(`cannot read the data file ${dataPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const expected = n * channels * height * width * 4;
  if (bytes.byteLength !== expected) {
    fail(`data file ${dataPath} has ${bytes.byteLength} bytes; n·C·H·W float32 values take ${expected} (n = ${n}, shape [${shape.join(', ')}])`);
  }
  const sha256 = createHash('sha256').update(headerBytes).update(bytes).digest('hex');
  return { headerPath, dataPath, sha256, shape: [channels, height, width], labels, images: float32FromLeBytes(bytes) };
}

/** Writes `<headerPath>` and the `.bin` data file next to it. */
export async function writeTensorDataset(headerPath: string, dataset: LabelledImages): Promise<void> {
  const [c, h, w] = dataset.shape;
  if (dataset.images.length !== dataset.labels.length * c * h * w) {
    throw new RangeError(`${dataset.images.length} values are not ${dataset.labels.length} images of shape [${dataset.shape.join(', ')}]`);
  }
  const dataFile = defaultDataFile(headerPath);
  const header = { format: TENSOR_DATASET_FORMAT, n: dataset.labels.length, shape: dataset.shape, dtype: 'float32', labels: dataset.labels, data: dataFile };
  await writeFile(join(dirname(headerPath), dataFile), float32LeBytes(dataset.images));
  await writeFile(headerPath, JSON.stringify(header));
}

/**
 * A small deterministic labelled dataset for tests and smoke runs: class k is a sinusoidal grating at
 * angle k·π/classes, brightest in channel k mod 3, plus Gaussian-ish noise. Labels cycle 0, 1, 2, ...
 */
export function syntheticDataset(options: { n?: number; classes?: number; resolution: number; seed?: Seed }): LabelledImages {
  const n = options.n ?? 64;
  const classes = options.classes ?? 3;
  const side = options.resolution;
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'synthetic-dataset', n, classes, side));
  const plane = side * side;
  const images = new Float32Array(n * 3 * plane);
  const labels = Array.from({ length: n }, (_, i) => i % classes);
  labels.forEach((label, i) => {
    const angle = (label * Math.PI) / classes;
    const [fx, fy] = [Math.cos(angle), Math.sin(angle)].map((v) => (v * 6 * 2 * Math.PI) / side) as [number, number];
    const phase = rng.next() * 2 * Math.PI;
    for (let c = 0; c < 3; c++) {
      const gain = c === label % 3 ? 1 : 0.3;
      const base = (i * 3 + c) * plane;
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          // The sum of two uniforms is a cheap, bounded stand-in for Gaussian pixel noise.
          const noise = (rng.next() + rng.next() - 1) * 0.5;
          images[base + y * side + x] = gain * Math.sin(fx * x + fy * y + phase) + noise;
        }
      }
    }
  });
  return { shape: [3, side, side], labels, images };
}
