import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OnnxThread,
  accuracyCacheKey,
  createAccuracyScorer,
  createTensorDatasetEvaluator,
  naswotMethod,
  proxySettingsHash,
  scoreNaswotProxy,
  syntheticDataset,
  writeTensorDataset,
  type LabelledImages,
} from '../activities/accuracy/index.js';
import { computeNaswot } from '../activities/accuracy/naswot-scorer.js';
import { OnnxJobCancelledError } from '../activities/accuracy/onnx-pool.js';
import { FsArtifactStore } from '../activities/storage/index.js';
import { BATCH_NORM_EPSILON, codeActivations, codeOutputName, exportBlocks, exportNetwork } from '../pipelines/onnx/export.js';
import { analyzeOnnxGraph } from '../pipelines/onnx/graph-macs.js';
import { int64ToNumber, onnx } from '../pipelines/onnx/proto.js';
import { float32FromLeBytes } from '../pipelines/onnx/weights.js';
import { IMAGENET_MEAN, IMAGENET_STD, proxyInputImages } from '../pipelines/proxy/inputs.js';
import { BinaryCodes, logDetPsd, naswotScore, naswotScoreOfKernel } from '../pipelines/proxy/naswot.js';
import { Rng } from '../pipelines/rng.js';
import type { ConvNode } from '../pipelines/network/ir.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { architectureCounts, architectureHash, architectureKey, buildNetwork, originalSpace, validateArchitecture, type MbArchitecture } from '../pipelines/spaces/index.js';
import { argmaxRow, seededPredictions } from './helpers/predictions.js';

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

const mbv3 = (depth: number, block: string, resolution = 160): MbArchitecture => ({
  space: 'ofa-mbv3',
  resolution,
  units: Array.from({ length: 5 }, () => Array<string>(depth).fill(block)),
});

/** Codes as 0/1 rows, one per image, turned into a layer's activations [N, units]. */
function layerFromCodes(codes: number[][]): Float32Array {
  return Float32Array.from(codes.flat());
}

/** log|det| by Gaussian elimination with partial pivoting: an independent reference for the Cholesky. */
function referenceLogDet(matrix: Float64Array, n: number): number {
  const a = Array.from({ length: n }, (_, i) => Array.from(matrix.subarray(i * n, (i + 1) * n)));
  let logDet = 0;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row]![col]!) > Math.abs(a[pivot]![col]!)) pivot = row;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    logDet += Math.log(Math.abs(a[col]![col]!));
    for (let row = col + 1; row < n; row++) {
      const factor = a[row]![col]! / a[col]![col]!;
      for (let k = col; k < n; k++) a[row]![k]! -= factor * a[col]![k]!;
    }
  }
  return logDet;
}

describe('NASWOT math', () => {
  it('scores one-hot codes by the known determinant of K = 2I + 2J', () => {
    // Four images, four units, image i active only in unit i: any two agree on exactly 2 units.
    const codes = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((u) => (u === i ? 1 : 0)));
    const result = naswotScore([layerFromCodes(codes)], 4);
    expect(result).toMatchObject({ layers: 1, units: 4 });
    // Eigenvalues of aI + bJ: a (n − 1 times) and a + nb, so det = 2³ · 10.
    expect(result.score).toBeCloseTo(Math.log(80), 6);
  });

  it('builds K as c_i·c_j + (1 − c_i)·(1 − c_j) summed over layers, for any unit count and sign', () => {
    const rng = new Rng('naswot-kernel-test');
    const images = 6;
    // Unit counts around word boundaries; values include negatives (hswish) and −0, which are inactive.
    const layerUnits = [1, 31, 32, 33, 70];
    const values = [-1.5, -0, 0, 1e-40, 1e-30, 0.7, 3];
    const layers = layerUnits.map((units) => Float32Array.from({ length: images * units }, () => rng.choice(values)));
    const kernel = new BinaryCodes(images, layerUnits);
    layers.forEach((layer, l) => kernel.setLayer(l, layer));
    const expected = new Float64Array(images * images);
    layers.forEach((layer, l) => {
      const units = layerUnits[l]!;
      for (let i = 0; i < images; i++) {
        for (let j = 0; j < images; j++) {
          for (let u = 0; u < units; u++) {
            const ci = layer[i * units + u]! > 0 ? 1 : 0;
            const cj = layer[j * units + u]! > 0 ? 1 : 0;
            expected[i * images + j] += ci * cj + (1 - ci) * (1 - cj);
          }
        }
      }
    });
    expect(Array.from(kernel.kernel())).toEqual(Array.from(expected));

    // Recording the images in two passes gives the same codes.
    const split = new BinaryCodes(images, layerUnits);
    layers.forEach((layer, l) => {
      split.setLayer(l, layer.subarray(0, 2 * layerUnits[l]!), 0, 2);
      split.setLayer(l, layer.subarray(2 * layerUnits[l]!), 2, images - 2);
    });
    expect(Array.from(split.kernel())).toEqual(Array.from(expected));

    // The same codes as bytes (an ONNX bool output: 1 where active) give the same K.
    const fromBytes = new BinaryCodes(images, layerUnits);
    layers.forEach((layer, l) =>
      fromBytes.setLayer(
        l,
        Uint8Array.from(layer, (v) => (v > 0 ? 1 : 0)),
      ),
    );
    expect(Array.from(fromBytes.kernel())).toEqual(Array.from(expected));
  });

  it('matches a reference log-determinant and rejects a matrix that is not PSD', () => {
    const rng = new Rng('logdet-test');
    const n = 5;
    const b = Array.from({ length: n * n }, () => rng.next() * 2 - 1);
    // B·Bᵀ + I is symmetric positive definite.
    const spd = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) spd[i * n + j] += b[i * n + k]! * b[j * n + k]! + (i === j && k === 0 ? 1 : 0);
    expect(logDetPsd(spd, n)).toBeCloseTo(referenceLogDet(spd, n), 10);
    expect(() => logDetPsd(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite/);
  });

  it('gives identical codes (a singular K) a far lower but finite score than distinct codes', () => {
    const rng = new Rng('identical-codes');
    const images = 8;
    const units = 100;
    const shared = Array.from({ length: units }, () => (rng.next() < 0.5 ? 1 : 0));
    const identical = naswotScore([layerFromCodes(Array.from({ length: images }, () => shared))], images).score;
    const distinct = naswotScore([layerFromCodes(Array.from({ length: images }, () => Array.from({ length: units }, () => (rng.next() < 0.5 ? 1 : 0))))], images).score;
    expect(Number.isFinite(identical)).toBe(true);
    expect(identical).toBeLessThan(distinct - 100);
    // Exactly: log(units·N + ε) + (N − 1)·log ε with ε = 1e-9·units.
    const epsilon = 1e-9 * units;
    expect(identical).toBeCloseTo(Math.log(units * images + epsilon) + (images - 1) * Math.log(epsilon), 3);
    expect(naswotScoreOfKernel(new BinaryCodes(2, [1]).kernel(), 2)).toBeLessThan(0);
  });
});

describe('export with a batch and exposed activations', () => {
  it('adds every relu/relu6/hswish output, batched, and leaves the logits of each image unchanged', async () => {
    const network = buildNetwork(validateArchitecture(mbv3(2, 'e3k3')));
    const activations = codeActivations(network.blocks);
    expect(new Set(activations.map((a) => a.activation))).toEqual(new Set(['relu', 'hswish']));
    const hsigmoidGates = network.blocks.flatMap((b) => b.nodes).filter((n) => n.op === 'conv' && n.activation === 'hsigmoid');
    expect(hsigmoidGates.length).toBeGreaterThan(0);

    const batched = await ort.InferenceSession.create(exportNetwork(network, { seed: 4, batch: 2, exposeActivations: true }), SESSION_OPTIONS);
    const single = await ort.InferenceSession.create(exportNetwork(network, { seed: 4 }), SESSION_OPTIONS);
    try {
      expect(batched.outputNames).toEqual(['logits', ...activations.map((a) => a.tensor)]);
      expect(single.outputNames).toEqual(['logits']);
      const rng = new Rng('batched-export');
      const images = Float32Array.from({ length: 2 * 3 * 160 * 160 }, () => rng.next() * 2 - 1);
      const out = await batched.run({ input: new ort.Tensor('float32', images, [2, 3, 160, 160]) });
      expect(out['logits']!.dims).toEqual([2, 1000]);
      for (const { tensor, shape } of activations) expect(out[tensor]!.dims).toEqual([2, ...shape]);
      for (const image of [0, 1]) {
        const alone = await single.run({ input: new ort.Tensor('float32', images.slice(image * 3 * 160 * 160, (image + 1) * 3 * 160 * 160), [1, 3, 160, 160]) });
        const expected = alone['logits']!.data as Float32Array;
        const got = (out['logits']!.data as Float32Array).subarray(image * 1000, (image + 1) * 1000);
        let maxDiff = 0;
        for (let k = 0; k < 1000; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k]! - expected[k]!));
        expect(maxDiff).toBeLessThan(1e-3);
      }
    } finally {
      await batched.release();
      await single.release();
    }
  });
});

/** Values uniform in [-1, 1) from a named stream. */
function randomValues(label: string, count: number): Float32Array {
  const rng = new Rng(label);
  return Float32Array.from({ length: count }, () => rng.next() * 2 - 1);
}

function initializerValues(model: Uint8Array, name: string): Float32Array {
  const tensor = onnx.ModelProto.decode(model).graph?.initializer?.find((t) => t.name === name);
  if (!tensor?.rawData) throw new Error(`no initializer ${name}`);
  return float32FromLeBytes(tensor.rawData);
}

/** Per-channel mean and biased variance over N, H, W of an [N, C, H, W] tensor, in float64. */
function channelMoments(values: Float32Array, [n, c, h, w]: readonly number[]): { mean: number[]; variance: number[] } {
  const plane = h! * w!;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let channel = 0; channel < c!; channel++) {
    let sum = 0;
    let sumSq = 0;
    for (let image = 0; image < n!; image++) {
      const offset = (image * c! + channel) * plane;
      for (let p = 0; p < plane; p++) sum += values[offset + p]!;
    }
    const m = sum / (n! * plane);
    for (let image = 0; image < n!; image++) {
      const offset = (image * c! + channel) * plane;
      for (let p = 0; p < plane; p++) sumSq += (values[offset + p]! - m) ** 2;
    }
    mean.push(m);
    variance.push(sumSq / (n! * plane));
  }
  return { mean, variance };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Units whose code (a bool output) is not the sign of the activation: should be none. */
function codeMismatches(codes: Uint8Array, values: Float32Array): number {
  expect(codes.length).toBe(values.length);
  let wrong = 0;
  for (let i = 0; i < codes.length; i++) if (codes[i] !== (values[i]! > 0 ? 1 : 0)) wrong += 1;
  return wrong;
}

async function runOnce(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(model, SESSION_OPTIONS);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('export with batch-statistics BatchNorm (normalization: batch)', () => {
  const network = buildNetwork(validateArchitecture(mbv3(2, 'e3k3')));
  const stem = network.blocks[0]!;
  const stemConv = stem.nodes[0] as ConvNode;

  it('exports a conv with BN as a Conv without bias and (x − mean) / sqrt(var + eps) over N, H, W in opset-17 ops, matching a JS reference', async () => {
    const folded = exportBlocks([stem], stem.descriptor.inShape, { seed: 2, batch: 4 });
    expect(exportBlocks([stem], stem.descriptor.inShape, { seed: 2, batch: 4, normalization: 'folded' })).toEqual(folded);
    const batchNorm = exportBlocks([stem], stem.descriptor.inShape, { seed: 2, batch: 4, normalization: 'batch' });
    const nodes = onnx.ModelProto.decode(batchNorm).graph?.node ?? [];
    expect(nodes.map((n) => n.opType)).toEqual(['Conv', 'ReduceMean', 'Sub', 'Mul', 'ReduceMean', 'Add', 'Sqrt', 'Div', 'HardSwish']);
    expect(nodes[0]!.input).toHaveLength(2);
    expect(onnx.ModelProto.decode(folded).graph?.node?.[0]?.input).toHaveLength(3);
    for (const reduce of nodes.filter((n) => n.opType === 'ReduceMean')) {
      const attributes = new Map((reduce.attribute ?? []).map((a) => [a.name, a]));
      expect(attributes.get('axes')?.ints?.map(int64ToNumber)).toEqual([0, 2, 3]);
      expect(int64ToNumber(attributes.get('keepdims')?.i)).toBe(1);
    }
    // The conv weights do not depend on how BN is exported.
    const weight = initializerValues(batchNorm, `${stemConv.out}.weight`);
    expect(weight).toEqual(initializerValues(folded, `${stemConv.out}.weight`));

    const [cin, side] = [stemConv.cin, stemConv.inShape[1]];
    const [cout, outSide] = [stemConv.cout, stemConv.outShape[1]];
    const images = 4;
    const input = randomValues('bn-reference', images * cin * side * side);
    const output = (await runOnce(batchNorm, { [stem.input]: new ort.Tensor('float32', input, [images, cin, side, side]) }))[stem.output]!.data as Float32Array;

    // Reference: the 3×3 stride-2 convolution (padding 1), BN by batch statistics, h-swish, in float64.
    const k = stemConv.kernel;
    const pad = Math.floor(k / 2);
    const conv = new Float32Array(images * cout * outSide * outSide);
    for (let n = 0; n < images; n++) {
      for (let o = 0; o < cout; o++) {
        for (let y = 0; y < outSide; y++) {
          for (let x = 0; x < outSide; x++) {
            let sum = 0;
            for (let i = 0; i < cin; i++) {
              for (let ky = 0; ky < k; ky++) {
                const iy = y * stemConv.stride + ky - pad;
                if (iy < 0 || iy >= side) continue;
                for (let kx = 0; kx < k; kx++) {
                  const ix = x * stemConv.stride + kx - pad;
                  if (ix < 0 || ix >= side) continue;
                  sum += weight[((o * cin + i) * k + ky) * k + kx]! * input[((n * cin + i) * side + iy) * side + ix]!;
                }
              }
            }
            conv[((n * cout + o) * outSide + y) * outSide + x] = sum;
          }
        }
      }
    }
    const { mean, variance } = channelMoments(conv, [images, cout, outSide, outSide]);
    const plane = outSide * outSide;
    const expected = conv.map((v, index) => {
      const channel = Math.floor(index / plane) % cout;
      const z = (v - mean[channel]!) / Math.sqrt(variance[channel]! + BATCH_NORM_EPSILON);
      return (z * Math.min(Math.max(z + 3, 0), 6)) / 6;
    });
    expect(maxAbsDiff(output, expected)).toBeLessThan(1e-4);
  });

  it('leaves the MACs of the graph as counted from its bytes unchanged, and exposes one code per activation', () => {
    const arch = validateArchitecture(mbv3(2, 'e3k3'));
    const analysis = analyzeOnnxGraph(exportNetwork(buildNetwork(arch), { batch: 2, normalization: 'batch', exposeCodes: true }));
    expect(analysis.macs).toBe(2 * architectureCounts(arch).macs);
    expect(analysis.outputs).toEqual([
      { name: 'logits', shape: [2, 1000] },
      ...codeActivations(network.blocks).map(({ tensor, shape }) => ({ name: codeOutputName(tensor), shape: [2, ...shape] })),
    ]);
  });

  it('gives every channel batch mean 0 and variance 1 where a BN conv has no activation; folded BN does not', async () => {
    const block = network.blocks.find((b) => b.name === 'u0.l0')!;
    expect(block.descriptor.residual).toBe(false);
    const [c, h, w] = block.descriptor.inShape;
    const images = 4;
    const input = randomValues('bn-moments', images * c * h * w);
    const feeds = { [block.input]: new ort.Tensor('float32', input, [images, c, h, w]) };
    const dims = [images, ...block.descriptor.outShape];
    const moments = async (normalization: 'batch' | 'folded') =>
      channelMoments((await runOnce(exportBlocks([block], block.descriptor.inShape, { seed: 3, batch: images, normalization }), feeds))[block.output]!.data as Float32Array, dims);

    const normalised = await moments('batch');
    expect(Math.max(...normalised.mean.map(Math.abs))).toBeLessThan(1e-4);
    expect(Math.max(...normalised.variance.map((v) => Math.abs(v - 1)))).toBeLessThan(1e-3);
    const folded = await moments('folded');
    expect(Math.max(...folded.variance.map((v) => Math.abs(v - 1)))).toBeGreaterThan(0.1);
  });

  it("makes an image's activations depend on the rest of its batch (batch statistics), unlike folded BN", async () => {
    const activations = codeActivations(network.blocks);
    const perImage = 3 * 160 * 160;
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => randomValues(`batch-image-${i}`, perImage));
    const batchOf = (images: Float32Array[]) => {
      const data = new Float32Array(images.length * perImage);
      images.forEach((image, i) => data.set(image, i * perImage));
      return { input: new ort.Tensor('float32', data, [images.length, 3, 160, 160]) };
    };
    const firstImageDiff = async (normalization: 'batch' | 'folded') => {
      const model = exportNetwork(network, { seed: 1, batch: 3, exposeActivations: true, exposeCodes: true, normalization });
      const session = await ort.InferenceSession.create(model, SESSION_OPTIONS);
      try {
        expect(session.outputNames).toEqual(['logits', ...activations.map((x) => x.tensor), ...activations.map((x) => codeOutputName(x.tensor))]);
        const one = await session.run(batchOf([a!, b!, c!]));
        const two = await session.run(batchOf([a!, d!, e!]));
        let diff = 0;
        let codeFlips = 0;
        for (const { tensor, shape } of activations) {
          const units = shape[0] * shape[1] * shape[2];
          const values = one[tensor]!.data as Float32Array;
          const codes = one[codeOutputName(tensor)]!.data as Uint8Array;
          // The exposed codes are the activations' signs: a unit is active where its output is > 0.
          expect(codeMismatches(codes, values)).toBe(0);
          diff = Math.max(diff, maxAbsDiff(values.subarray(0, units), (two[tensor]!.data as Float32Array).subarray(0, units)));
          const otherCodes = two[codeOutputName(tensor)]!.data as Uint8Array;
          for (let u = 0; u < units; u++) if (codes[u] !== otherCodes[u]) codeFlips += 1;
        }
        return { diff, codeFlips };
      } finally {
        await session.release();
      }
    };
    const batchStats = await firstImageDiff('batch');
    expect(batchStats.diff).toBeGreaterThan(0.01);
    expect(batchStats.codeFlips).toBeGreaterThan(0);
    const folded = await firstImageDiff('folded');
    expect(folded.diff).toBeLessThan(1e-5);
    expect(folded.codeFlips).toBe(0);
  });

  it('exposes the code of a block whose output is itself an activation under its graph-output name', async () => {
    const resnet = buildNetwork(validateArchitecture(sampleArchitectures(originalSpace('resnet50'), 1, 'codes-test', 160)[0]));
    const block = resnet.blocks.find((x) => x.name === 'u3.l0')!;
    const activations = codeActivations([block]);
    expect(activations.at(-1)?.tensor).toBe(block.output);
    const [c, h, w] = block.descriptor.inShape;
    const model = exportBlocks([block], block.descriptor.inShape, { batch: 2, exposeCodes: true, normalization: 'batch' });
    const out = await runOnce(model, { [block.input]: new ort.Tensor('float32', randomValues('resnet-codes', 2 * c * h * w), [2, c, h, w]) });
    const codes = out[codeOutputName(block.output)]!.data as Uint8Array;
    expect(codeMismatches(codes, out[block.output]!.data as Float32Array)).toBe(0);
    expect(codes.some((v) => v === 1) && codes.some((v) => v === 0)).toBe(true);
  });
});

describe('NASWOT input images', () => {
  it('draws each image from its own stream: the same image in any batch, another with another seed', () => {
    for (const design of ['normal-noise', 'dead-leaves', 'pink-noise'] as const) {
      const perImage = 3 * 32 * 32;
      const four = proxyInputImages(design, 1, 32, 0, 4);
      expect(proxyInputImages(design, 1, 32, 2, 1)).toEqual(four.subarray(2 * perImage, 3 * perImage));
      expect(proxyInputImages(design, 2, 32, 2, 1)).not.toEqual(four.subarray(2 * perImage, 3 * perImage));
      expect(four.every(Number.isFinite)).toBe(true);
    }
  });

  it('paints dead leaves: every pixel a disc of one ImageNet-normalised colour, in few flat regions', () => {
    const side = 160;
    const plane = side * side;
    const image = proxyInputImages('dead-leaves', 0, side, 0, 1);
    const colours = new Set<string>();
    let equalNeighbours = 0;
    let outOfRange = 0;
    for (let p = 0; p < plane; p++) {
      const rgb = [0, 1, 2].map((c) => image[c * plane + p]!);
      // A colour channel in [0, 1] becomes (v − mean) / std.
      rgb.forEach((v, c) => {
        if (v < (0 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]! - 1e-6 || v > (1 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]! + 1e-6) outOfRange += 1;
      });
      colours.add(rgb.join());
      if (p % side > 0 && rgb.every((v, c) => v === image[c * plane + p - 1])) equalNeighbours += 1;
    }
    expect(outOfRange).toBe(0);
    // Discs, not noise: most horizontal neighbours share a disc, yet there are hundreds of discs.
    expect(equalNeighbours / plane).toBeGreaterThan(0.8);
    expect(colours.size).toBeGreaterThan(100);
    expect(colours.size).toBeLessThan(5000);
  });

  it('makes pink noise with zero mean and unit variance per channel and correlated neighbours', () => {
    const side = 64;
    const plane = side * side;
    const image = proxyInputImages('pink-noise', 0, side, 0, 1);
    for (let c = 0; c < 3; c++) {
      const channel = image.subarray(c * plane, (c + 1) * plane);
      const { mean, variance } = channelMoments(channel, [1, 1, side, side]);
      expect(mean[0]).toBeCloseTo(0, 5);
      expect(variance[0]).toBeCloseTo(1, 4);
      let products = 0;
      for (let p = 0; p < plane; p++) if (p % side > 0) products += channel[p]! * channel[p - 1]!;
      // White noise would give ~0: a 1/f spectrum makes neighbours strongly alike.
      expect(products / (plane - side)).toBeGreaterThan(0.5);
    }
  });
});

describe('NASWOT proxy scorer (onnxruntime)', () => {
  let root: string;
  let thread: OnnxThread;
  const settings = { seed: 5, batch: 8 };
  const archs = sampleArchitectures(originalSpace('ofa-mbv3'), 4, 'accuracy-test', 160).map((a) => validateArchitecture(a));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'blockscope-accuracy-'));
    thread = new OnnxThread();
  });
  afterAll(async () => {
    await thread.close();
    await rm(root, { recursive: true, force: true });
  });

  it('scores random architectures with distinct scores, reproduces them, and caches them', async () => {
    const store = new FsArtifactStore(root);
    const scorer = createAccuracyScorer({ source: 'naswot-proxy', proxyBatch: settings.batch, seed: settings.seed }, store, { thread });
    const first = [];
    for (const arch of archs) first.push(await scorer.score(arch));
    expect(first.map((r) => r.fromCache)).toEqual([false, false, false, false]);
    const scores = first.map((r) => r.value.score);
    expect(scores.every(Number.isFinite)).toBe(true);
    expect(new Set(scores).size).toBe(4);
    expect(first[0]!.value).toMatchObject({ source: 'naswot-proxy', batch: 8, seed: 5, resolution: 160, hash: architectureHash(archs[0]!) });

    // Computed again from scratch (no cache), the score is the same number.
    const again = await scoreNaswotProxy(archs[0]!, settings, thread);
    expect(again.score).toBe(scores[0]);

    const cached = await scorer.score(archs[0]!);
    expect(cached).toEqual({ value: first[0]!.value, fromCache: true });
    const key = accuracyCacheKey('naswot-proxy', proxySettingsHash({ ...settings, resolution: 160, method: naswotMethod() }), architectureHash(archs[0]!));
    expect(key).toMatch(/^cache\/accuracy\/naswot-proxy\/[0-9a-f]{64}\/[0-9a-f]{64}\.json$/);
    expect(await store.exists(key)).toBe(true);
  });

  it('keys the cache by the batch-statistics, dead-leaves, one-pass method, so scores of the old method are never reused', () => {
    const version = ort.env.versions.node ?? ort.env.versions.common;
    expect(naswotMethod()).toBe(`batch-norm dead-leaves/v1 one-pass onnxruntime-node ${version}`);
    const old = proxySettingsHash({ ...settings, resolution: 160, method: `normal-noise/v1 onnxruntime-node ${version}` });
    expect(proxySettingsHash({ ...settings, resolution: 160, method: naswotMethod() })).not.toBe(old);
  });

  it('depends on the seed', async () => {
    const base = await scoreNaswotProxy(archs[1]!, settings, thread);
    const reseeded = await scoreNaswotProxy(archs[1]!, { ...settings, seed: 6 }, thread);
    expect(reseeded.score).not.toBe(base.score);
  });

  it('scores a network mostly by its size: N·ln N_A plus a log det(K / N_A) that barely changes', async () => {
    // With batch statistics the codes of different images become nearly independent, so K ≈ N_A·(I + J)/2
    // for any architecture and the score follows the unit count N_A (docs/accuracy.md).
    const smallest = await scoreNaswotProxy(validateArchitecture(mbv3(2, 'e3k3')), settings, thread);
    const largest = await scoreNaswotProxy(validateArchitecture(mbv3(4, 'e6k7')), settings, thread);
    const n = settings.batch;
    const residual = (r: { score: number; units: number }) => r.score - n * Math.log(r.units);
    expect(largest.units).toBeGreaterThan(2 * smallest.units);
    expect(largest.score).toBeGreaterThan(smallest.score + 5);
    expect(Math.abs(residual(largest) - residual(smallest))).toBeLessThan(0.5);
    // Independent codes, each unit active for half the images: log det((I + J) / 2) = (N − 1)·ln ½ + ln((N + 1) / 2).
    const independent = (n - 1) * Math.log(0.5) + Math.log((n + 1) / 2);
    for (const r of [smallest, largest]) expect(residual(r)).toBeCloseTo(independent, 0);
  });

  it('rejects an aborted job at once, stops it before its forward pass, and keeps working', async () => {
    // A long job runs on the thread; a second one queued behind it is aborted: it must reject at once, while
    // the first still runs (an order, not a timer), and the thread must go on working.
    const finished: string[] = [];
    const running = scoreNaswotProxy(validateArchitecture(mbv3(4, 'e6k7')), { ...settings, batch: 32 }, thread).then((r) => {
      finished.push('running job');
      return r;
    });
    const controller = new AbortController();
    const queued = scoreNaswotProxy(validateArchitecture(mbv3(4, 'e6k7')), { ...settings, batch: 32 }, thread, controller.signal);
    controller.abort(new Error('stop'));
    await expect(queued).rejects.toThrow('stop');
    expect(finished).toEqual([]);
    expect(Number.isFinite((await running).score)).toBe(true);
    const after = await scoreNaswotProxy(archs[0]!, settings, thread);
    expect(Number.isFinite(after.score)).toBe(true);

    const cancelled = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(cancelled, 0, 1);
    await expect(computeNaswot({ arch: archs[0]!, seed: 5, batch: 8, intraOpThreads: 1 }, cancelled)).rejects.toThrow(OnnxJobCancelledError);
  });
});

describe('table source', () => {
  let dir: string;
  const archs = sampleArchitectures(originalSpace('ofa-mbv3'), 3, 'table-test', 224).map((a) => validateArchitecture(a));
  const [a, b, c] = archs as [MbArchitecture, MbArchitecture, MbArchitecture];
  const csvQuote = (text: string) => `"${text.replaceAll('"', '""')}"`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blockscope-table-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function tableScorer(name: string, text: string) {
    const file = join(dir, name);
    await writeFile(file, text);
    return createAccuracyScorer({ source: 'table', table: file, proxyBatch: 8, seed: 0 }, new FsArtifactStore(join(dir, `store-${name}`)));
  }

  it('loads a CSV keyed by arch or hash and caches lookups', async () => {
    const csv = ['arch,hash,top1,notes', `${csvQuote(architectureKey(a))},,76.5,first`, `,${architectureHash(b)},74.25,`, ''].join('\r\n');
    const scorer = await tableScorer('acc.csv', csv);
    const scoredA = await scorer.score(a);
    expect(scoredA.fromCache).toBe(false);
    expect(scoredA.value).toMatchObject({ source: 'table', score: 76.5, hash: architectureHash(a) });
    expect((await scorer.score(b)).value.score).toBe(74.25);
    expect(await scorer.score(a)).toEqual({ value: scoredA.value, fromCache: true });
    await expect(scorer.score(c)).rejects.toThrow(`architecture ${architectureHash(c)} is not in accuracy table`);
  });

  it('loads a JSON array with arch objects or hashes', async () => {
    const json = JSON.stringify(
      [
        { arch: a, top1: 71 },
        { hash: architectureHash(c), accuracy: 79.9 },
      ],
      null,
      2,
    );
    const scorer = await tableScorer('acc.json', json);
    expect((await scorer.score(a)).value.score).toBe(71);
    expect((await scorer.score(c)).value.score).toBe(79.9);
  });

  it('names the file, line and column of a bad CSV value', async () => {
    const badTop1 = await tableScorer('bad-top1.csv', `hash,top1\n${architectureHash(a)},76\n${architectureHash(b)},high\n`);
    await expect(badTop1.score(a)).rejects.toThrow(/bad-top1\.csv, line 3, column 2 \(top1\): expected a top-1 accuracy in percent/);
    const badArch = await tableScorer('bad-arch.csv', `top1,arch\n70,${csvQuote(JSON.stringify({ ...a, units: a.units.slice(1) }))}\n`);
    await expect(badArch.score(a)).rejects.toThrow(/bad-arch\.csv, line 2, column 2 \(arch\): invalid architecture: units: expected 5 entries/);
    const noKey = await tableScorer('no-key.csv', 'name,top1\nx,70\n');
    await expect(noKey.score(a)).rejects.toThrow(/no-key\.csv, line 1: the header needs an "arch" or a "hash" column/);
    const conflict = await tableScorer('conflict.csv', `hash,top1\n${architectureHash(a)},70\n\n${architectureHash(a)},71\n`);
    await expect(conflict.score(a)).rejects.toThrow(/conflict\.csv, line 4: architecture [0-9a-f]{64} already has top-1 70 at line 2/);
  });

  it('names the entry and line of a bad JSON entry, and the line of a syntax error', async () => {
    const badEntry = await tableScorer('bad-entry.json', `[\n  {"hash": "${architectureHash(a)}", "top1": 70},\n  {"hash": "abc", "top1": 71}\n]`);
    await expect(badEntry.score(a)).rejects.toThrow(/bad-entry\.json, entry \[1\] \(line 3\)\.hash: expected an architecture hash/);
    const syntax = await tableScorer('syntax.json', `[\n  {"hash": "x", "top1": 70,}\n]`);
    await expect(syntax.score(a)).rejects.toThrow(/syntax\.json, line 2, column \d+: invalid JSON/);
  });

  it('leaves the evaluator source to the evaluator queue', () => {
    expect(() => createAccuracyScorer({ source: 'evaluator', proxyBatch: 8, seed: 0 }, new FsArtifactStore(dir))).toThrow(/evaluatorTaskQueue/);
  });
});

/** A "trained" classifier for the synthetic data: logits = W · (mean of x² per channel), any batch size. */
function channelEnergyModel(weights: number[][]): Uint8Array {
  const classes = weights.length;
  const floatInfo = (name: string, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'channel-energy',
      node: [
        { opType: 'Mul', input: ['image', 'image'], output: ['squared'] },
        { opType: 'GlobalAveragePool', input: ['squared'], output: ['energy'] },
        { opType: 'Flatten', input: ['energy'], output: ['features'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        { opType: 'Gemm', input: ['features', 'w'], output: ['logits'], attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      ],
      initializer: [{ name: 'w', dims: [classes, 3], dataType: onnx.TensorProto.DataType.FLOAT, floatData: weights.flat() }],
      input: [floatInfo('image', ['N', 3, 160, 160])],
      output: [floatInfo('logits', ['N', classes])],
    },
  }).finish();
  return new Uint8Array(model);
}

describe('tensor-dataset evaluator (the evaluateAccuracy contract)', () => {
  let dir: string;
  let dataset: LabelledImages;
  const arch = validateArchitecture(sampleArchitectures(originalSpace('ofa-mbv3'), 1, 'evaluator-test', 160)[0]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blockscope-evaluator-'));
    dataset = syntheticDataset({ n: 64, classes: 3, resolution: 160, seed: 1 });
    await writeTensorDataset(join(dir, 'synthetic.json'), dataset);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reports the top-1 of the seeded export, equal to argmax over logits computed here', async () => {
    // The seeded export's own predictions, computed here; the labels then make exactly the even images right,
    // so an evaluator that scored by anything but its argmax (or always answered one class) would be found out.
    const predicted = await seededPredictions(arch, dataset.images, 64, 3);
    const labels = predicted.map((p, i) => (i % 2 === 0 ? p : (p + 1) % 1000));
    await writeTensorDataset(join(dir, 'relabelled.json'), { ...dataset, labels });

    const evaluator = createTensorDatasetEvaluator({ dataset: join(dir, 'relabelled.json'), seed: 3, batchSize: 24 });
    try {
      const result = await evaluator.evaluateAccuracy({ arch, resolution: 160 });
      expect(result.samples).toBe(64);
      expect(result.top1).toBe(50);
      expect(result.evaluator).toMatch(/^tensor-dataset:relabelled\.json@[0-9a-f]{12} seeded-export:3$/);
    } finally {
      await evaluator.close();
    }
  });

  it('evaluates a user model from the models directory, keyed by architecture hash', async () => {
    const models = join(dir, 'models');
    await mkdir(models);
    const weights = [
      [1, 0.2, 1.3],
      [0.6, 1, 0],
      [0.3, 0.7, 1],
    ];
    await writeFile(join(models, `${architectureHash(arch)}.onnx`), channelEnergyModel(weights));
    const evaluator = createTensorDatasetEvaluator({ dataset: join(dir, 'synthetic.json'), models, batchSize: 24 });
    try {
      const result = await evaluator.evaluateAccuracy({ arch, resolution: 160 });
      // The same classifier computed here: per-channel mean of squares, then the weights.
      const plane = 160 * 160;
      let correct = 0;
      dataset.labels.forEach((label, i) => {
        const energy = [0, 1, 2].map((c) => {
          let sum = 0;
          for (let p = 0; p < plane; p++) sum += dataset.images[(i * 3 + c) * plane + p]! ** 2;
          return sum / plane;
        });
        const logits = weights.map((row) => row.reduce((s, w, c) => s + w * energy[c]!, 0));
        if (argmaxRow(logits, 0, 3) === label) correct += 1;
      });
      expect(correct).toBeGreaterThan(0);
      expect(correct).toBeLessThan(64);
      expect(result).toEqual({ top1: (100 * correct) / 64, samples: 64, evaluator: expect.stringMatching(/ onnx-dir:models$/) });

      const other = validateArchitecture(mbv3(2, 'e3k3'));
      await expect(evaluator.evaluateAccuracy({ arch: other, resolution: 160 })).rejects.toThrow(`no model for architecture ${architectureHash(other)}`);
    } finally {
      await evaluator.close();
    }
  });

  it('rejects a resolution the dataset was not made for', async () => {
    const evaluator = createTensorDatasetEvaluator({ dataset: join(dir, 'synthetic.json') });
    try {
      await expect(evaluator.evaluateAccuracy({ arch, resolution: 176 })).rejects.toThrow(/holds images of shape \[3, 160, 160\]; evaluating at resolution 176 needs \[3, 176, 176\]/);
    } finally {
      await evaluator.close();
    }
  });
});
