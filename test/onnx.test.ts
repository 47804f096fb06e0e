import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { uniformMb as mb, uniformResNet as resnet } from './helpers/reference-archs.js';
import { blockCounts, networkCounts } from '../pipelines/network/counts.js';
import type { IRBlock, NetworkIR, Shape } from '../pipelines/network/ir.js';
import { analyzeOnnxGraph, countOnnxMacs, exportBlocks, exportNetwork, onnxWeightStats } from '../pipelines/onnx/index.js';
import { int64ToNumber, onnx } from '../pipelines/onnx/proto.js';
import { sha256Hex } from '../pipelines/hash.js';
import { Rng } from '../pipelines/rng.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { architectureCounts, buildNetwork, originalSpace, validateArchitecture, type Activation, type Architecture, type SpaceId } from '../pipelines/spaces/index.js';

/** One ORT session at a time on one thread: the machine's two cores are shared. */
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

function deterministicInput(shape: readonly number[]): ort.Tensor {
  const rng = new Rng(`onnx-test-input:${shape.join('x')}`);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.next() * 2 - 1;
  return new ort.Tensor('float32', data, [...shape]);
}

async function runModel(bytes: Uint8Array, inputName: string, inputShape: readonly number[], outputName: string): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  try {
    expect(session.inputNames).toEqual([inputName]);
    expect(session.outputNames).toEqual([outputName]);
    const outputs = await session.run({ [inputName]: deterministicInput(inputShape) });
    const output = outputs[outputName];
    if (!output) throw new Error(`no output ${outputName}`);
    return output;
  } finally {
    await session.release();
  }
}

function expectAllFinite(tensor: ort.Tensor): void {
  const data = tensor.data;
  if (!(data instanceof Float32Array)) throw new Error(`expected float32 output, got ${tensor.type}`);
  let bad = 0;
  for (const v of data) if (!Number.isFinite(v)) bad += 1;
  expect(bad).toBe(0);
}

/** Float weights a model should hold: BN's gamma and beta fold into one bias per channel; relu6 adds two scalars. */
function expectedWeightCount(network: NetworkIR): number {
  const counts = networkCounts(network);
  const usesRelu6 = network.blocks.some((b) => b.nodes.some((n) => (n.op === 'conv' && n.activation === 'relu6') || (n.op === 'activation' && n.activation === 'relu6')));
  return counts.params - counts.bnParams / 2 + (usesRelu6 ? 2 : 0);
}

function decode(bytes: Uint8Array) {
  return onnx.ModelProto.decode(bytes);
}

function initializerBytes(bytes: Uint8Array): Map<string, string> {
  const graph = decode(bytes).graph;
  return new Map((graph?.initializer ?? []).map((t): [string, string] => [t.name ?? '', sha256Hex(t.rawData ?? new Uint8Array())]));
}

describe('exported random architectures run in onnxruntime', () => {
  const cases: [string, Architecture][] = [];
  const plan: [SpaceId, number[], number][] = [
    ['ofa-mbv3', [160, 192, 224], 2],
    ['proxylessnas', [160, 192, 224], 2],
    // ResNet models are 25-190 MB; one per resolution keeps the file fast.
    ['resnet50', [160, 224], 1],
  ];
  for (const [space, resolutions, count] of plan) {
    for (const resolution of resolutions) {
      sampleArchitectures(originalSpace(space), count, 'onnx-test', resolution).forEach((arch, i) => {
        cases.push([`${space} @${resolution} #${i}`, arch]);
      });
    }
  }

  it.each(cases)('%s', async (_name, raw) => {
    const arch = validateArchitecture(raw);
    const network = buildNetwork(arch);
    const bytes = exportNetwork(network, { seed: 7 });

    const model = decode(bytes);
    expect(int64ToNumber(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain, int64ToNumber(o.version)])).toEqual([['', 17]]);
    expect(model.producerName).toBe('blockscope');
    const input = model.graph?.input?.[0];
    expect(input?.name).toBe(network.input);
    expect(input?.type?.tensorType?.shape?.dim?.map((d) => int64ToNumber(d.dimValue))).toEqual([1, 3, arch.resolution, arch.resolution]);

    // (b) the graph counter, reading only the ONNX bytes, agrees with the analytical count.
    const analysis = analyzeOnnxGraph(bytes);
    expect(analysis.macs).toBe(architectureCounts(arch).macs);
    expect(analysis.outputs).toEqual([{ name: 'logits', shape: [1, 1000] }]);

    // (e) weights: finite, no denormals, and exactly the parameters of the BN-folded network.
    const stats = onnxWeightStats(bytes);
    expect(stats.nonFinite).toBe(0);
    expect(stats.denormal).toBe(0);
    expect(stats.maxAbs).toBeLessThanOrEqual(6);
    expect(stats.values).toBe(expectedWeightCount(network));

    // (a) onnxruntime accepts the model and produces finite logits.
    const logits = await runModel(bytes, network.input, [1, ...network.inputShape], 'logits');
    expect(logits.dims).toEqual([1, 1000]);
    expectAllFinite(logits);
  });
});

describe('graph-counted MACs of the reference architectures (§9)', () => {
  const reference: [string, Architecture, number][] = [
    ['MBv3 smallest @160', mb('ofa-mbv3', 2, 'e3k3', 160), 100_320_888],
    ['MBv3 smallest @224', mb('ofa-mbv3', 2, 'e3k3'), 193_078_200],
    ['MBv3 largest @160', mb('ofa-mbv3', 4, 'e6k7', 160), 433_563_888],
    ['MBv3 largest @224', mb('ofa-mbv3', 4, 'e6k7'), 843_101_040],
    ['PN smallest', mb('proxylessnas', 2, 'e3k3'), 265_526_256],
    ['PN largest', mb('proxylessnas', 4, 'e6k7'), 1_004_908_032],
    ['ResNet smallest', resnet([0, 0, 0, 0, 0], 'e0.2', 0), 962_192_128],
    ['ResNet-50-D', resnet([2, 1, 2, 2, 1], 'e0.25', 2), 4_328_824_832],
    ['ResNet largest', resnet([2, 2, 2, 2, 2], 'e0.35', 2), 7_491_643_904],
  ];

  it.each(reference)('%s', async (name, raw, macs) => {
    const arch = validateArchitecture(raw);
    const bytes = exportNetwork(buildNetwork(arch));
    expect(countOnnxMacs(bytes)).toBe(macs);
    expect(architectureCounts(arch).macs).toBe(macs);
    // The extremes must run too: the largest models are the ones most likely to overflow activations.
    if (/largest|smallest/.test(name) && arch.resolution === 224) {
      const logits = await runModel(bytes, 'input', [1, 3, 224, 224], 'logits');
      expect(logits.dims).toEqual([1, 1000]);
      expectAllFinite(logits);
    }
  });
});

describe('deterministic weights', () => {
  const arch = validateArchitecture(mb('ofa-mbv3', 3, 'e4k5', 160));

  it('gives byte-identical models for the same architecture and seed, and different ones for another seed', () => {
    const first = sha256Hex(exportNetwork(buildNetwork(arch), { seed: 11 }));
    const again = sha256Hex(exportNetwork(buildNetwork(arch), { seed: 11 }));
    const other = sha256Hex(exportNetwork(buildNetwork(arch), { seed: 12 }));
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(sha256Hex(exportNetwork(buildNetwork(arch)))).toBe(sha256Hex(exportNetwork(buildNetwork(arch), { seed: 0 })));
  });

  it('keeps every other tensor unchanged when a layer is added', () => {
    const shallow = validateArchitecture({ ...arch, units: arch.units.map((u, i) => (i === 4 ? u.slice(0, 2) : u)) });
    const before = initializerBytes(exportNetwork(buildNetwork(shallow), { seed: 3 }));
    const after = initializerBytes(exportNetwork(buildNetwork(arch), { seed: 3 }));
    expect(after.size).toBeGreaterThan(before.size);
    for (const [name, hash] of before) expect([name, after.get(name)]).toEqual([name, hash]);
  });
});

describe('exportBlocks', () => {
  const network = buildNetwork(validateArchitecture(mb('ofa-mbv3', 3, 'e6k5', 224)));
  const seBlock = network.blocks.find((b) => b.descriptor.se && b.descriptor.residual);

  it('exports one MBConv block with SE that runs and has the block output shape', async () => {
    if (!seBlock) throw new Error('no residual SE block in the network');
    expect(seBlock.nodes.some((n) => n.op === 'mul')).toBe(true);
    const bytes = exportBlocks([seBlock], seBlock.descriptor.inShape, { seed: 5 });
    const analysis = analyzeOnnxGraph(bytes);
    expect(analysis.macs).toBe(blockCounts(seBlock).macs);
    expect(analysis.outputs).toEqual([{ name: seBlock.output, shape: [1, ...seBlock.descriptor.outShape] }]);

    const output = await runModel(bytes, seBlock.input, [1, ...seBlock.descriptor.inShape], seBlock.output);
    expect(output.dims).toEqual([1, ...seBlock.descriptor.outShape]);
    expectAllFinite(output);

    // The block carries the weights it has inside the whole network with the same seed.
    const whole = initializerBytes(exportNetwork(network, { seed: 5 }));
    for (const [name, hash] of initializerBytes(bytes)) expect([name, whole.get(name)]).toEqual([name, hash]);
  });

  it('exports a sub-chain ending in the classifier with a 2-D output', async () => {
    const tail = network.blocks.slice(-2);
    const head = tail[1]!;
    const bytes = exportBlocks(tail, tail[0]!.descriptor.inShape);
    expect(countOnnxMacs(bytes)).toBe(tail.map((b) => blockCounts(b).macs).reduce((a, b) => a + b));
    const output = await runModel(bytes, tail[0]!.input, [1, ...tail[0]!.descriptor.inShape], head.output);
    expect(output.dims).toEqual([1, 1000]);
  });

  it('rejects blocks that are not contiguous or a wrong input shape', () => {
    const [stem, first, u0] = network.blocks as [IRBlock, IRBlock, IRBlock];
    expect(() => exportBlocks([stem, u0], stem.descriptor.inShape)).toThrow(/contiguous/);
    expect(() => exportBlocks([first], stem.descriptor.inShape)).toThrow(/input shape/);
    expect(() => exportBlocks([], stem.descriptor.inShape)).toThrow(/no blocks/);
  });
});

describe('activation mapping', () => {
  const relu6 = (x: number) => Math.min(Math.max(x, 0), 6);
  // §1.2 of the design-space reference.
  const reference: Record<Activation, (x: number) => number> = {
    relu: (x) => Math.max(x, 0),
    relu6,
    hswish: (x) => (x * relu6(x + 3)) / 6,
    hsigmoid: (x) => relu6(x + 3) / 6,
  };
  const inputs = [-7, -3.5, -3, -1, -0.25, 0, 0.5, 2.9, 3, 4.5, 6, 9];

  it.each(Object.keys(reference) as Activation[])('%s', async (activation) => {
    const shape: Shape = [inputs.length, 1, 1];
    const block: IRBlock = {
      name: 'act',
      descriptor: { type: 'head', inShape: shape, outShape: shape },
      input: 'x',
      output: 'y',
      nodes: [{ op: 'activation', out: 'y', input: 'x', outShape: shape, activation }],
    };
    const bytes = exportBlocks([block], shape);
    // A model this small would be a slice of Node's shared Buffer pool if handed out as protobufjs returns it.
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
    const result = await session.run({ x: new ort.Tensor('float32', Float32Array.from(inputs), [1, inputs.length, 1, 1]) });
    await session.release();
    const values = Array.from(result['y']!.data as Float32Array);
    values.forEach((v, i) => expect(v).toBeCloseTo(reference[activation](inputs[i]!), 6));
  });
});
