/**
 * The network intermediate representation: a chain of blocks, each a small DAG of primitive ops with
 * known shapes. The MAC/parameter counters, the ONNX builder and the lookup-table keys all read this one
 * description, so they cannot disagree about what an architecture is.
 */
import type { Activation, SpaceId } from '../spaces/types.js';

/** [channels, height, width] of one image (batch 1). */
export type Shape = readonly [number, number, number];

interface NodeBase {
  /** Name of the tensor this node produces; unique in the network. */
  out: string;
  outShape: Shape;
}

export interface ConvNode extends NodeBase {
  op: 'conv';
  input: string;
  inShape: Shape;
  cin: number;
  cout: number;
  kernel: number;
  stride: number;
  groups: number;
  /** BatchNorm after the convolution: folded into the bias on export, or normalising by batch statistics (the NASWOT proxy). */
  norm: boolean;
  /** An explicit bias (SE convolutions). */
  bias: boolean;
  activation?: Activation;
  /** Scales the initial weights; residual branches start small so deep nets keep sane activations. */
  initGain?: number;
}

export interface ActivationNode extends NodeBase {
  op: 'activation';
  input: string;
  activation: Activation;
}

export interface BinaryNode extends NodeBase {
  op: 'add' | 'mul';
  inputs: readonly [string, string];
}

export interface PoolNode extends NodeBase {
  op: 'globalAvgPool' | 'maxPool' | 'avgPool';
  input: string;
  kernel?: number;
  stride?: number;
  pad?: number;
  ceil?: boolean;
}

export interface FlattenNode extends NodeBase {
  op: 'flatten';
  input: string;
}

export interface LinearNode extends NodeBase {
  op: 'linear';
  input: string;
  cin: number;
  cout: number;
}

export type IRNode = ConvNode | ActivationNode | BinaryNode | PoolNode | FlattenNode | LinearNode;

export type BlockType = 'stem' | 'first' | 'mbconv' | 'resnet-stem' | 'bottleneck' | 'head';

/** What a block is, independent of where it sits: the key of a latency lookup table. */
export interface BlockDescriptor {
  type: BlockType;
  inShape: Shape;
  outShape: Shape;
  kernel?: number;
  expand?: number;
  mid?: number;
  stride?: number;
  se?: boolean;
  activation?: Activation;
  residual?: boolean;
}

export interface IRBlock {
  /** Position in the network, e.g. "stem", "u2.l1", "head". */
  name: string;
  descriptor: BlockDescriptor;
  input: string;
  output: string;
  nodes: IRNode[];
}

export interface NetworkIR {
  space: SpaceId;
  resolution: number;
  input: string;
  inputShape: Shape;
  output: string;
  numClasses: number;
  blocks: IRBlock[];
}

/** Output side of a "same"-padded convolution or pool: ceil(H / s). */
export function convOutSize(size: number, kernel: number, stride: number): number {
  const pad = Math.floor(kernel / 2);
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** Appends nodes with fresh tensor names to one block while tracking the current tensor and shape. */
export class BlockBuilder {
  readonly nodes: IRNode[] = [];
  private counter = 0;
  current: string;
  shape: Shape;

  constructor(
    private readonly prefix: string,
    input: string,
    inShape: Shape,
  ) {
    this.current = input;
    this.shape = inShape;
  }

  private fresh(tag: string): string {
    this.counter += 1;
    return `${this.prefix}.${tag}${this.counter}`;
  }

  conv(options: {
    cout: number;
    kernel: number;
    stride?: number;
    groups?: number;
    norm?: boolean;
    bias?: boolean;
    activation?: Activation;
    initGain?: number;
    from?: { tensor: string; shape: Shape };
  }): string {
    const input = options.from?.tensor ?? this.current;
    const inShape = options.from?.shape ?? this.shape;
    const stride = options.stride ?? 1;
    const side = convOutSize(inShape[1], options.kernel, stride);
    const out = this.fresh('conv');
    const node: ConvNode = {
      op: 'conv',
      out,
      input,
      inShape,
      outShape: [options.cout, side, side],
      cin: inShape[0],
      cout: options.cout,
      kernel: options.kernel,
      stride,
      groups: options.groups ?? 1,
      norm: options.norm ?? true,
      bias: options.bias ?? false,
    };
    if (options.activation) node.activation = options.activation;
    if (options.initGain !== undefined) node.initGain = options.initGain;
    this.nodes.push(node);
    this.current = out;
    this.shape = node.outShape;
    return out;
  }

  activation(activation: Activation): string {
    const out = this.fresh(activation);
    this.nodes.push({ op: 'activation', out, input: this.current, outShape: this.shape, activation });
    this.current = out;
    return out;
  }

  binary(op: 'add' | 'mul', a: string, b: string, outShape: Shape): string {
    const out = this.fresh(op);
    this.nodes.push({ op, out, inputs: [a, b], outShape });
    this.current = out;
    this.shape = outShape;
    return out;
  }

  globalAvgPool(from?: { tensor: string; shape: Shape }): string {
    const input = from?.tensor ?? this.current;
    const inShape = from?.shape ?? this.shape;
    const out = this.fresh('gap');
    const outShape: Shape = [inShape[0], 1, 1];
    this.nodes.push({ op: 'globalAvgPool', out, input, outShape });
    this.current = out;
    this.shape = outShape;
    return out;
  }

  maxPool(kernel: number, stride: number, pad: number): string {
    const side = Math.floor((this.shape[1] + 2 * pad - kernel) / stride) + 1;
    const out = this.fresh('maxpool');
    const outShape: Shape = [this.shape[0], side, side];
    this.nodes.push({ op: 'maxPool', out, input: this.current, outShape, kernel, stride, pad });
    this.current = out;
    this.shape = outShape;
    return out;
  }

  /** Average pool with kernel = stride = s and ceil mode (the ResNet shortcut's downsampling). */
  avgPoolCeil(stride: number, from: { tensor: string; shape: Shape }): { tensor: string; shape: Shape } {
    const side = Math.ceil(from.shape[1] / stride);
    const out = this.fresh('avgpool');
    const outShape: Shape = [from.shape[0], side, side];
    this.nodes.push({ op: 'avgPool', out, input: from.tensor, outShape, kernel: stride, stride, pad: 0, ceil: true });
    return { tensor: out, shape: outShape };
  }

  flatten(): string {
    const out = this.fresh('flatten');
    const outShape: Shape = [this.shape[0] * this.shape[1] * this.shape[2], 1, 1];
    this.nodes.push({ op: 'flatten', out, input: this.current, outShape });
    this.current = out;
    this.shape = outShape;
    return out;
  }

  linear(cout: number): string {
    const out = this.fresh('fc');
    const outShape: Shape = [cout, 1, 1];
    this.nodes.push({ op: 'linear', out, input: this.current, cin: this.shape[0], cout, outShape });
    this.current = out;
    this.shape = outShape;
    return out;
  }
}

/** Starts a block at the network's current tensor and closes it into an IRBlock. */
export function buildBlock(name: string, input: { tensor: string; shape: Shape }, describe: (builder: BlockBuilder) => Omit<BlockDescriptor, 'inShape' | 'outShape'>): IRBlock {
  const builder = new BlockBuilder(name, input.tensor, input.shape);
  const partial = describe(builder);
  return {
    name,
    descriptor: { ...partial, inShape: input.shape, outShape: builder.shape },
    input: input.tensor,
    output: builder.current,
    nodes: builder.nodes,
  };
}

/** Collects the blocks of a network in order, each starting at the previous block's output. */
export class NetworkChain {
  readonly blocks: IRBlock[] = [];
  current: { tensor: string; shape: Shape };

  constructor(readonly inputShape: Shape) {
    this.current = { tensor: 'input', shape: inputShape };
  }

  push(block: IRBlock): void {
    this.blocks.push(block);
    this.current = { tensor: block.output, shape: block.descriptor.outShape };
  }

  /** The finished network: the chain's blocks, from its input to the last block's output. */
  network(space: SpaceId, resolution: number, numClasses: number): NetworkIR {
    return { space, resolution, input: 'input', inputShape: this.inputShape, output: this.current.tensor, numClasses, blocks: this.blocks };
  }
}
