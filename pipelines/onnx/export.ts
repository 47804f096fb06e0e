/**
 * ONNX export of the network IR: batch 1 (or a fixed batch N on request), NCHW, float32, ONNX IR version 8
 * with opset 17.
 *
 * By default BatchNorm is folded into the convolution (a conv with BN or an explicit bias gets a B input), as
 * an inference runtime would do anyway, so what is timed is what a deployed model runs. With
 * `normalization: 'batch'` a conv with BN instead normalises by the statistics of the batch itself, as an
 * untrained PyTorch network in training mode does (what NASWOT scores). A conv's fused activation becomes
 * its own node after the Conv (and the normalisation); the runtime is free to fuse it again.
 */
import type { Activation } from '../spaces/types.js';
import type { ConvNode, IRBlock, IRNode, LinearNode, NetworkIR, PoolNode, Shape } from '../network/ir.js';
import type { Seed } from '../rng.js';
import { onnx, type AttributeProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.js';
import { BIAS_BOUND, float32LeBytes, heUniformBound, uniformTensor } from './weights.js';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
export const PRODUCER_NAME = 'blockscope';
/** Name of the classifier output of a whole-network export. */
export const LOGITS_OUTPUT = 'logits';

export interface ExportOptions {
  /** Seeds every weight tensor (together with the tensor's name); default 0. */
  seed?: Seed;
  /** Fixed batch size N of the input and of every output; default 1. */
  batch?: number;
  /**
   * Also expose the output of every code activation (see CODE_ACTIVATIONS) as an extra graph output named
   * by its IR tensor, after the main output and in graph order. Training-free proxies such as NASWOT read them.
   */
  exposeActivations?: boolean;
  /**
   * Also expose the binary code of every code activation, Greater(output, 0) as a bool tensor named
   * codeOutputName(tensor), after the main output (and any exposed activations) in graph order: a byte per
   * unit instead of a float32, and the float activations are then free for the runtime to reuse.
   */
  exposeCodes?: boolean;
  /**
   * How a conv with BN (`norm`) is exported. 'folded' (default): a Conv with a small seeded bias, BN folded
   * in. 'batch': a Conv without bias, then (x − mean) / sqrt(var + 1e-5) with the mean and biased variance
   * of each channel over the batch and the spatial positions (PyTorch's training-mode BatchNorm2d with its
   * initial gamma 1 and beta 0), from standard opset-17 ops. The conv weights are the same in both.
   */
  normalization?: Normalization;
}

export type Normalization = 'folded' | 'batch';

/** BatchNorm2d's default epsilon in PyTorch. */
export const BATCH_NORM_EPSILON = 1e-5;

/**
 * Activations whose output is positive exactly where their input is: relu and relu6 (x > 0), and
 * hswish, since x·relu6(x + 3)/6 > 0 iff x > 0. Their outputs therefore carry each unit's binary code
 * (pre-activation > 0) for NASWOT. hsigmoid, the SE gate, is a gating function, not a unit, and is left out.
 */
export const CODE_ACTIVATIONS: readonly Activation[] = ['relu', 'relu6', 'hswish'];

export interface ActivationTensor {
  /** IR tensor name, also the graph output name when exposed. */
  tensor: string;
  /** [C, H, W] of one image (the SE branch's are [C, 1, 1]). */
  shape: Shape;
  activation: Activation;
}

/** The graph output that exposeCodes gives the code of an activation tensor. */
export function codeOutputName(tensor: string): string {
  return `${tensor}.code`;
}

/** The code activations of some blocks, in graph order: what exposeActivations adds as outputs. */
export function codeActivations(blocks: readonly IRBlock[]): ActivationTensor[] {
  const found: ActivationTensor[] = [];
  for (const block of blocks) {
    for (const node of block.nodes) {
      const activation = node.op === 'conv' || node.op === 'activation' ? node.activation : undefined;
      if (activation && CODE_ACTIVATIONS.includes(activation)) found.push({ tensor: node.out, shape: node.outShape, activation });
    }
  }
  return found;
}

/** A whole network: input network.input [N, C, R, R], output 'logits' [N, numClasses], N = batch (default 1). */
export function exportNetwork(network: NetworkIR, options: ExportOptions = {}): Uint8Array {
  const last = network.blocks.at(-1);
  if (!last || last.output !== network.output) throw new Error(`network output ${network.output} is not the last block's output`);
  const classifier = last.nodes.at(-1);
  if (classifier?.op !== 'linear' || classifier.cout !== network.numClasses) {
    throw new Error(`network output ${network.output} is not a linear classifier with ${network.numClasses} classes`);
  }
  return buildModel({
    graphName: `${network.space}@${network.resolution}`,
    blocks: network.blocks,
    inputName: network.input,
    inputShape: network.inputShape,
    outputName: LOGITS_OUTPUT,
    ...modelOptions(options),
  });
}

/**
 * A contiguous sub-chain of blocks, e.g. one block for a latency lookup table. The input is the first
 * block's input tensor and the output the last block's output tensor, under their IR names. Weights are
 * the ones the same blocks get in a whole-network export with the same seed.
 */
export function exportBlocks(blocks: readonly IRBlock[], inputShape: Shape, options: ExportOptions = {}): Uint8Array {
  const first = blocks[0];
  const last = blocks.at(-1);
  if (!first || !last) throw new Error('exportBlocks: no blocks given');
  if (!sameShape(first.descriptor.inShape, inputShape)) {
    throw new Error(`exportBlocks: input shape [${inputShape.join(', ')}] differs from block ${first.name}'s [${first.descriptor.inShape.join(', ')}]`);
  }
  blocks.forEach((block, i) => {
    const previous = blocks[i - 1];
    if (previous && block.input !== previous.output) {
      throw new Error(`exportBlocks: block ${block.name} does not consume ${previous.name}'s output; blocks must be contiguous`);
    }
  });
  return buildModel({
    graphName: blocks.map((b) => b.name).join('+'),
    blocks,
    inputName: first.input,
    inputShape,
    outputName: last.output,
    ...modelOptions(options),
  });
}

function modelOptions(options: ExportOptions): Pick<ModelSpec, 'seed' | 'batch' | 'exposeActivations' | 'exposeCodes' | 'normalization'> {
  const batch = options.batch ?? 1;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`export batch must be a positive integer, got ${batch}`);
  return {
    seed: options.seed ?? 0,
    batch,
    exposeActivations: options.exposeActivations ?? false,
    exposeCodes: options.exposeCodes ?? false,
    normalization: options.normalization ?? 'folded',
  };
}

interface ModelSpec {
  graphName: string;
  blocks: readonly IRBlock[];
  inputName: string;
  inputShape: Shape;
  /** Name the final tensor gets in the ONNX graph. */
  outputName: string;
  seed: Seed;
  batch: number;
  exposeActivations: boolean;
  exposeCodes: boolean;
  normalization: Normalization;
}

function buildModel(spec: ModelSpec): Uint8Array {
  const graph = new GraphBuilder(spec.seed, spec.batch, spec.normalization);
  for (const block of spec.blocks) for (const node of block.nodes) graph.add(node);

  const lastBlock = spec.blocks[spec.blocks.length - 1]!;
  graph.renameTensor(lastBlock.output, spec.outputName);
  const outputs = [valueInfo(spec.outputName, graph.onnxShape(lastBlock.output, lastBlock.descriptor.outShape))];
  if (spec.exposeActivations) {
    // The final tensor, if it is an activation, is already an output under its graph-output name.
    for (const { tensor, shape } of codeActivations(spec.blocks)) {
      if (tensor !== lastBlock.output) outputs.push(valueInfo(tensor, graph.onnxShape(tensor, shape)));
    }
  }
  if (spec.exposeCodes) {
    for (const { tensor, shape } of codeActivations(spec.blocks)) {
      const code = codeOutputName(tensor);
      graph.code(tensor === lastBlock.output ? spec.outputName : tensor, code);
      outputs.push(valueInfo(code, graph.onnxShape(tensor, shape), onnx.TensorProto.DataType.BOOL));
    }
  }
  const model: ModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: PRODUCER_NAME,
    graph: {
      name: spec.graphName,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(spec.inputName, [spec.batch, ...spec.inputShape])],
      output: outputs,
    },
  };
  return ownedBytes(onnx.ModelProto.encode(model).finish());
}

/**
 * protobufjs returns a Node Buffer, and small ones are slices of a shared pool; callers get a plain
 * Uint8Array that owns its whole ArrayBuffer, so `bytes.buffer` is exactly the model.
 */
function ownedBytes(encoded: Uint8Array): Uint8Array {
  if (encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength) return new Uint8Array(encoded.buffer);
  return new Uint8Array(encoded);
}

/** Translates IR nodes into ONNX nodes and initializers, in order. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** Tensors that are 2-D [N, n] in ONNX (after Flatten/Gemm); the IR writes them as [n, 1, 1]. */
  private readonly matrixTensors = new Set<string>();
  private readonly sharedConstants = new Set<string>();

  constructor(
    private readonly seed: Seed,
    private readonly batch: number,
    private readonly normalization: Normalization,
  ) {}

  add(node: IRNode): void {
    switch (node.op) {
      case 'conv':
        return this.conv(node);
      case 'activation':
        return this.activation(node.input, node.out, node.activation, node.out);
      case 'add':
        return this.push('Add', node.out, [...node.inputs], node.out);
      case 'mul':
        // The SE gate [N, C, 1, 1] broadcasts over the [N, C, H, W] feature map.
        return this.push('Mul', node.out, [...node.inputs], node.out);
      case 'globalAvgPool':
        return this.push('GlobalAveragePool', node.out, [node.input], node.out);
      case 'maxPool':
      case 'avgPool':
        return this.pool(node);
      case 'flatten':
        this.matrixTensors.add(node.out);
        return this.push('Flatten', node.out, [node.input], node.out, [intAttr('axis', 1)]);
      case 'linear':
        return this.linear(node);
    }
  }

  /** Greater(input, 0) as `output`: the unit is active. */
  code(input: string, output: string): void {
    this.push('Greater', output, [input, this.scalar('code.zero', 0)], output);
  }

  /** Gives the final tensor its graph-output name (the producing node is the last one emitted). */
  renameTensor(from: string, to: string): void {
    if (from === to) return;
    for (const node of this.nodes) {
      if (node.input?.includes(from)) throw new Error(`internal: output tensor ${from} is consumed inside the graph`);
      if (node.output) node.output = node.output.map((name) => (name === from ? to : name));
    }
  }

  /** The ONNX shape of an IR tensor, batch included. */
  onnxShape(tensor: string, shape: Shape): number[] {
    if (this.matrixTensors.has(tensor)) {
      if (shape[1] !== 1 || shape[2] !== 1) throw new Error(`internal: 2-D tensor ${tensor} has IR shape [${shape.join(', ')}]`);
      return [this.batch, shape[0]];
    }
    return [this.batch, ...shape];
  }

  private conv(node: ConvNode): void {
    const [cout, cin, k, groups] = [node.cout, node.cin, node.kernel, node.groups];
    if (cin % groups !== 0 || cout % groups !== 0) throw new Error(`${node.out}: channels ${cin}->${cout} not divisible by groups ${groups}`);
    const fanIn = (cin / groups) * k * k;
    const inputs = [node.input, this.weight(`${node.out}.weight`, [cout, cin / groups, k, k], heUniformBound(fanIn, node.initGain ?? 1))];
    const batchNorm = node.norm && this.normalization === 'batch';
    // A conv followed by batch statistics has no bias (it would cancel), as in PyTorch.
    if (node.bias || (node.norm && !batchNorm)) inputs.push(this.weight(`${node.out}.bias`, [cout], BIAS_BOUND));
    const pad = Math.floor(k / 2);
    const preact = node.activation ? `${node.out}.preact` : node.out;
    this.push('Conv', batchNorm ? `${node.out}.conv` : preact, inputs, node.out, [
      intsAttr('kernel_shape', [k, k]),
      intsAttr('strides', [node.stride, node.stride]),
      intsAttr('pads', [pad, pad, pad, pad]),
      intsAttr('dilations', [1, 1]),
      intAttr('group', groups),
    ]);
    if (batchNorm) this.batchNorm(`${node.out}.conv`, preact, `${node.out}.bn`);
    if (node.activation) this.activation(preact, node.out, node.activation, `${node.out}.${node.activation}`);
  }

  /** (x − mean) / sqrt(var + eps) per channel over axes N, H, W, with the biased variance. */
  private batchNorm(input: string, output: string, prefix: string): void {
    // Opset 17's ReduceMean still takes its axes as an attribute (an input only from opset 18).
    const overBatch = [intsAttr('axes', [0, 2, 3]), intAttr('keepdims', 1)];
    this.push('ReduceMean', `${prefix}.mean`, [input], `${prefix}.mean`, overBatch);
    this.push('Sub', `${prefix}.centred`, [input, `${prefix}.mean`], `${prefix}.centred`);
    this.push('Mul', `${prefix}.squared`, [`${prefix}.centred`, `${prefix}.centred`], `${prefix}.squared`);
    this.push('ReduceMean', `${prefix}.var`, [`${prefix}.squared`], `${prefix}.var`, overBatch);
    this.push('Add', `${prefix}.varEps`, [`${prefix}.var`, this.scalar('bn.epsilon', BATCH_NORM_EPSILON)], `${prefix}.varEps`);
    this.push('Sqrt', `${prefix}.std`, [`${prefix}.varEps`], `${prefix}.std`);
    this.push('Div', output, [`${prefix}.centred`, `${prefix}.std`], `${prefix}.div`);
  }

  private activation(input: string, output: string, activation: Activation, nodeName: string): void {
    switch (activation) {
      case 'relu':
        return this.push('Relu', output, [input], nodeName);
      case 'relu6':
        // Since opset 11 Clip takes its bounds as (scalar) inputs, not attributes.
        return this.push('Clip', output, [input, this.scalar('relu6.min', 0), this.scalar('relu6.max', 6)], nodeName);
      case 'hswish':
        return this.push('HardSwish', output, [input], nodeName);
      case 'hsigmoid':
        // max(0, min(1, x/6 + 1/2)) is relu6(x + 3) / 6 exactly.
        return this.push('HardSigmoid', output, [input], nodeName, [floatAttr('alpha', 1 / 6), floatAttr('beta', 0.5)]);
      default:
        throw new Error(`${nodeName}: no ONNX mapping for activation ${String(activation)}`);
    }
  }

  private pool(node: PoolNode): void {
    const { kernel, stride } = node;
    if (kernel === undefined || stride === undefined) throw new Error(`${node.out}: ${node.op} needs kernel and stride`);
    const pad = node.pad ?? 0;
    const attributes = [intsAttr('kernel_shape', [kernel, kernel]), intsAttr('strides', [stride, stride]), intsAttr('pads', [pad, pad, pad, pad])];
    if (node.ceil) attributes.push(intAttr('ceil_mode', 1));
    // AveragePool's count_include_pad stays 0: partial ceil-mode windows average their valid cells, as in PyTorch.
    this.push(node.op === 'maxPool' ? 'MaxPool' : 'AveragePool', node.out, [node.input], node.out, attributes);
  }

  private linear(node: LinearNode): void {
    if (!this.matrixTensors.has(node.input)) throw new Error(`${node.out}: linear input ${node.input} must be flattened first`);
    this.matrixTensors.add(node.out);
    const weight = this.weight(`${node.out}.weight`, [node.cout, node.cin], heUniformBound(node.cin));
    const bias = this.weight(`${node.out}.bias`, [node.cout], BIAS_BOUND);
    this.push('Gemm', node.out, [node.input, weight, bias], node.out, [intAttr('transB', 1)]);
  }

  private push(opType: string, output: string, input: string[], name: string, attribute: AttributeProto[] = []): void {
    this.nodes.push({ name, opType, input, output: [output], attribute });
  }

  private weight(name: string, dims: number[], bound: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    this.initializers.push(floatTensor(name, dims, uniformTensor(this.seed, name, count, bound)));
    return name;
  }

  /** A float scalar shared by every node that needs it, added on first use. */
  private scalar(name: string, value: number): string {
    if (!this.sharedConstants.has(name)) {
      this.sharedConstants.add(name);
      this.initializers.push(floatTensor(name, [], new Float32Array([value])));
    }
    return name;
  }
}

function floatTensor(name: string, dims: number[], values: Float32Array): TensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: float32LeBytes(values) };
}

function valueInfo(name: string, dims: number[], elemType: number = onnx.TensorProto.DataType.FLOAT): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
  };
}

function intAttr(name: string, i: number): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

function intsAttr(name: string, ints: number[]): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}

function floatAttr(name: string, f: number): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
