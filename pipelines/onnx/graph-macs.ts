/**
 * An independent MAC counter for ONNX models. It reads only the model bytes (the graph input's shape,
 * initializer dims and node attributes), propagates shapes itself and counts with the convention of
 * network/counts.ts: Conv = Cout × (Cin / groups) × kh × kw × Hout × Wout, Gemm = in × out, and
 * everything else 0. Agreement with the analytical count therefore checks the exporter, not just itself.
 */
import { int64ToNumber, onnx, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './proto.js';
import { FLOAT32_MIN_NORMAL, float32FromLeBytes } from './weights.js';

export interface OnnxGraphAnalysis {
  macs: number;
  /** Shapes of the graph outputs, batch included, in output order. */
  outputs: { name: string; shape: number[] }[];
  /** MACs per node, keyed by node name (or output tensor where a node has no name), for debugging. */
  nodeMacs: Map<string, number>;
}

export function countOnnxMacs(modelBytes: Uint8Array): number {
  return analyzeOnnxGraph(modelBytes).macs;
}

export function analyzeOnnxGraph(modelBytes: Uint8Array): OnnxGraphAnalysis {
  const graph = decodeGraph(modelBytes);
  const shapes = new Map<string, number[]>();
  const initializerNames = new Set<string>();
  for (const tensor of graph.initializer ?? []) {
    const name = requireName(tensor.name, 'initializer');
    initializerNames.add(name);
    shapes.set(name, (tensor.dims ?? []).map(int64ToNumber));
  }
  for (const input of graph.input ?? []) {
    const name = requireName(input.name, 'graph input');
    if (initializerNames.has(name)) continue;
    const dims = input.type?.tensorType?.shape?.dim ?? [];
    shapes.set(
      name,
      dims.map((d, i) => {
        // A symbolic dimension (dim_param) cannot be counted; protobufjs gives dim_value a default of 0 then.
        if (d.dimParam || d.dimValue === null || d.dimValue === undefined) throw new Error(`graph input ${name}: dimension ${i} is not fixed`);
        return int64ToNumber(d.dimValue);
      }),
    );
  }

  let macs = 0;
  const nodeMacs = new Map<string, number>();
  for (const node of graph.node ?? []) {
    const { outShape, macs: nodeCount } = inferNode(node, (tensor) => {
      const shape = shapes.get(tensor);
      if (!shape) throw new Error(`node ${nodeLabel(node)}: input ${tensor} is not produced before use`);
      return shape;
    });
    const outputs = node.output ?? [];
    if (outputs.length !== 1) throw new Error(`node ${nodeLabel(node)}: expected one output, got ${outputs.length}`);
    shapes.set(outputs[0]!, outShape);
    nodeMacs.set(nodeLabel(node), nodeCount);
    macs += nodeCount;
  }

  const outputs = (graph.output ?? []).map((output) => {
    const name = requireName(output.name, 'graph output');
    const shape = shapes.get(name);
    if (!shape) throw new Error(`graph output ${name} is never produced`);
    return { name, shape };
  });
  return { macs, outputs, nodeMacs };
}

export interface OnnxWeightStats {
  tensors: number;
  values: number;
  nonFinite: number;
  denormal: number;
  maxAbs: number;
}

/** Scans every float initializer for NaN, ±inf and denormals. */
export function onnxWeightStats(modelBytes: Uint8Array): OnnxWeightStats {
  const stats: OnnxWeightStats = { tensors: 0, values: 0, nonFinite: 0, denormal: 0, maxAbs: 0 };
  for (const tensor of decodeGraph(modelBytes).initializer ?? []) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const values = floatValues(tensor);
    stats.tensors += 1;
    stats.values += values.length;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const magnitude = Math.abs(v);
      if (!Number.isFinite(v)) stats.nonFinite += 1;
      else if (magnitude !== 0 && magnitude < FLOAT32_MIN_NORMAL) stats.denormal += 1;
      else if (magnitude > stats.maxAbs) stats.maxAbs = magnitude;
    }
  }
  return stats;
}

function decodeGraph(modelBytes: Uint8Array): GraphProto {
  const model: ModelProto = onnx.ModelProto.decode(modelBytes);
  if (!model.graph) throw new Error('ONNX model has no graph');
  return model.graph;
}

function floatValues(tensor: TensorProto): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) return float32FromLeBytes(tensor.rawData);
  return Float32Array.from(tensor.floatData ?? []);
}

interface NodeResult {
  outShape: number[];
  macs: number;
}

const UNARY_OPS = new Set(['Relu', 'Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Tanh', 'Identity', 'BatchNormalization', 'Sqrt']);
// Greater (the exported codes) broadcasts like the arithmetic ops; its bool output has the same shape.
const BROADCAST_OPS = new Set(['Add', 'Mul', 'Sub', 'Div', 'Greater']);

function inferNode(node: NodeProto, shapeOf: (tensor: string) => number[]): NodeResult {
  const opType = node.opType ?? '';
  const inputs = node.input ?? [];
  const input = (i: number): number[] => {
    const name = inputs[i];
    if (!name) throw new Error(`node ${nodeLabel(node)}: missing input ${i}`);
    return shapeOf(name);
  };
  if (opType === 'Conv') return inferConv(node, input(0), input(1));
  if (opType === 'Gemm') return inferGemm(node, input(0), input(1));
  if (UNARY_OPS.has(opType)) return { outShape: input(0), macs: 0 };
  if (BROADCAST_OPS.has(opType)) return { outShape: broadcast(node, input(0), input(1)), macs: 0 };
  if (opType === 'GlobalAveragePool' || opType === 'GlobalMaxPool') {
    const [n, c, ...spatial] = input(0);
    return { outShape: [n!, c!, ...spatial.map(() => 1)], macs: 0 };
  }
  if (opType === 'MaxPool' || opType === 'AveragePool') return { outShape: inferPool(node, input(0)), macs: 0 };
  if (opType === 'ReduceMean') {
    // Opset 17: axes is an attribute; none means every axis.
    const shape = input(0);
    const axes = intsAttribute(
      node,
      'axes',
      shape.map((_, i) => i),
    ).map((a) => (a < 0 ? a + shape.length : a));
    const keep = intAttribute(node, 'keepdims', 1) === 1;
    return { outShape: shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d])), macs: 0 };
  }
  if (opType === 'Flatten') {
    const shape = input(0);
    const axis = intAttribute(node, 'axis', 1);
    const split = axis < 0 ? axis + shape.length : axis;
    return { outShape: [product(shape.slice(0, split)), product(shape.slice(split))], macs: 0 };
  }
  throw new Error(`node ${nodeLabel(node)}: unsupported op type ${opType}`);
}

function inferConv(node: NodeProto, x: number[], w: number[]): NodeResult {
  if (x.length !== 4 || w.length !== 4) throw new Error(`node ${nodeLabel(node)}: only 2-D convolutions are supported`);
  const autoPad = stringAttribute(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET') throw new Error(`node ${nodeLabel(node)}: auto_pad ${autoPad} is not supported`);
  const [n, cin, h, wIn] = x as [number, number, number, number];
  const [cout, cinPerGroup, kh, kw] = w as [number, number, number, number];
  const groups = intAttribute(node, 'group', 1);
  if (cinPerGroup * groups !== cin || cout % groups !== 0) {
    throw new Error(`node ${nodeLabel(node)}: weight [${w.join(', ')}] with group ${groups} does not fit input channels ${cin}`);
  }
  const kernel = intsAttribute(node, 'kernel_shape', [kh, kw]);
  if (kernel[0] !== kh || kernel[1] !== kw) throw new Error(`node ${nodeLabel(node)}: kernel_shape disagrees with the weight`);
  const [sh, sw] = intsAttribute(node, 'strides', [1, 1]) as [number, number];
  const [dh, dw] = intsAttribute(node, 'dilations', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = intsAttribute(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const hOut = Math.floor((h + pt + pb - (dh * (kh - 1) + 1)) / sh) + 1;
  const wOut = Math.floor((wIn + pl + pr - (dw * (kw - 1) + 1)) / sw) + 1;
  if (hOut <= 0 || wOut <= 0) throw new Error(`node ${nodeLabel(node)}: empty output`);
  return { outShape: [n, cout, hOut, wOut], macs: n * cout * cinPerGroup * kh * kw * hOut * wOut };
}

function inferGemm(node: NodeProto, a: number[], b: number[]): NodeResult {
  if (a.length !== 2 || b.length !== 2) throw new Error(`node ${nodeLabel(node)}: Gemm needs 2-D inputs`);
  const [m, k] = intAttribute(node, 'transA', 0) ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [kB, nOut] = intAttribute(node, 'transB', 0) ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (k !== kB) throw new Error(`node ${nodeLabel(node)}: Gemm inner dimensions ${k} and ${kB} differ`);
  return { outShape: [m, nOut], macs: m * k * nOut };
}

function inferPool(node: NodeProto, x: number[]): number[] {
  if (x.length !== 4) throw new Error(`node ${nodeLabel(node)}: only 2-D pooling is supported`);
  const [n, c, h, w] = x as [number, number, number, number];
  const kernel = intsAttribute(node, 'kernel_shape', []);
  if (kernel.length !== 2) throw new Error(`node ${nodeLabel(node)}: kernel_shape must have 2 entries`);
  const [kh, kw] = kernel as [number, number];
  const [sh, sw] = intsAttribute(node, 'strides', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = intsAttribute(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const ceil = intAttribute(node, 'ceil_mode', 0) === 1;
  const side = (size: number, k: number, s: number, padBegin: number, padEnd: number): number => {
    const span = size + padBegin + padEnd - k;
    let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    // In ceil mode the last window must start inside the input or the leading padding.
    if (ceil && (out - 1) * s >= size + padBegin) out -= 1;
    return out;
  };
  return [n, c, side(h, kh, sh, pt, pb), side(w, kw, sw, pl, pr)];
}

/** Numpy-style broadcasting of two shapes. */
function broadcast(node: NodeProto, a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`node ${nodeLabel(node)}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

function findAttribute(node: NodeProto, name: string) {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const attribute = findAttribute(node, name);
  return attribute?.i === null || attribute?.i === undefined ? fallback : int64ToNumber(attribute.i);
}

function intsAttribute(node: NodeProto, name: string, fallback: number[]): number[] {
  const attribute = findAttribute(node, name);
  return attribute?.ints && attribute.ints.length > 0 ? attribute.ints.map(int64ToNumber) : fallback;
}

function stringAttribute(node: NodeProto, name: string, fallback: string): string {
  const bytes = findAttribute(node, name)?.s;
  return bytes && bytes.length > 0 ? new TextDecoder().decode(bytes) : fallback;
}

function product(values: number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

function requireName(name: string | null | undefined, what: string): string {
  if (!name) throw new Error(`ONNX ${what} without a name`);
  return name;
}

function nodeLabel(node: NodeProto): string {
  return node.name || node.output?.[0] || node.opType || '?';
}
