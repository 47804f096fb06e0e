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
import { codeActivations, exportNetwork } from '../pipelines/onnx/export.js';
import { onnx } from '../pipelines/onnx/proto.js';
import { BinaryCodes, logDetPsd, naswotScore, naswotScoreOfKernel } from '../pipelines/proxy/naswot.js';
import { Rng } from '../pipelines/rng.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { architectureHash, architectureKey, buildNetwork, originalSpace, validateArchitecture, type MbArchitecture } from '../pipelines/spaces/index.js';

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

  it('depends on the seed', async () => {
    const base = await scoreNaswotProxy(archs[1]!, settings, thread);
    const reseeded = await scoreNaswotProxy(archs[1]!, { ...settings, seed: 6 }, thread);
    expect(reseeded.score).not.toBe(base.score);
  });

  it('scores the largest MBv3 network well above the smallest', async () => {
    const smallest = await scoreNaswotProxy(validateArchitecture(mbv3(2, 'e3k3')), settings, thread);
    const largest = await scoreNaswotProxy(validateArchitecture(mbv3(4, 'e6k7')), settings, thread);
    expect(largest.units).toBeGreaterThan(2 * smallest.units);
    expect(largest.score).toBeGreaterThan(smallest.score + 5);
  });

  it('rejects an aborted job at once, stops it at the next forward pass, and keeps working', async () => {
    const controller = new AbortController();
    const pending = scoreNaswotProxy(validateArchitecture(mbv3(4, 'e6k7')), { ...settings, batch: 32 }, thread, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 300);
    await expect(pending).rejects.toThrow('stop');
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
    const json = JSON.stringify([{ arch: a, top1: 71 }, { hash: architectureHash(c), accuracy: 79.9 }], null, 2);
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

function argmaxRow(values: Float32Array | number[], row: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (values[row * classes + k]! > values[row * classes + best]!) best = k;
  return best;
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
    const evaluator = createTensorDatasetEvaluator({ dataset: join(dir, 'synthetic.json'), seed: 3, batchSize: 24 });
    try {
      const result = await evaluator.evaluateAccuracy({ arch, resolution: 160 });
      expect(result.samples).toBe(64);
      expect(result.top1).toBeGreaterThanOrEqual(0);
      expect(result.top1).toBeLessThanOrEqual(100);
      expect(result.evaluator).toMatch(/^tensor-dataset:synthetic\.json@[0-9a-f]{12} seeded-export:3$/);

      const perImage = 3 * 160 * 160;
      const session = await ort.InferenceSession.create(exportNetwork(buildNetwork(arch), { seed: 3, batch: 24 }), SESSION_OPTIONS);
      let correct = 0;
      for (let first = 0; first < 64; first += 24) {
        const images = new Float32Array(24 * perImage);
        images.set(dataset.images.subarray(first * perImage, Math.min(64, first + 24) * perImage));
        const logits = (await session.run({ input: new ort.Tensor('float32', images, [24, 3, 160, 160]) }))['logits']!.data as Float32Array;
        for (let i = 0; i < Math.min(24, 64 - first); i++) if (argmaxRow(logits, i, 1000) === dataset.labels[first + i]) correct += 1;
      }
      await session.release();
      expect(result.top1).toBe((100 * correct) / 64);
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
