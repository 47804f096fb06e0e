/**
 * A trained accuracy predictor as an accuracy source: Once-for-All's pretrained ImageNet top-1 predictor for
 * OFA-MobileNetV3 w1.2 (blockscope's `ofa-mbv3`), format `ofa-mlp` (docs/accuracy.md "OFA's accuracy predictor").
 *
 * The predictor is an MLP 128 → 400 → 400 → 400 → 1 with ReLU between the linear layers (once-for-all,
 * ofa/tutorial/accuracy_predictor.py, `AccuracyPredictor`); its output is top-1 as a fraction. Its input encodes an
 * architecture as OFA's `spec2feats` does, in 128 values:
 *
 *   [0, 60)    kernel size: 20 layer slots (5 units × 4 layers, slot = 4·unit + layer), each a one-hot over
 *              3, 5, 7 (index 0, 1, 2) at 3·slot; all zero for a slot beyond its unit's depth;
 *   [60, 120)  expand ratio: the same slots, a one-hot over 3, 4, 6 (index 0, 1, 2) at 60 + 3·slot;
 *   [120, 128) resolution: a one-hot at 120 + (r − 112) / 16, for r = 112, 128, ..., 224.
 *
 * OFA's first block (expand 1, kernel 3, before the five units) is fixed and not encoded. What it predicts is the
 * top-1 of the supernet's subnet with inherited weights, not of a fine-tuned net.
 *
 * Pure, no I/O: weights parsed from the JSON form (the .pth's tensors as nested arrays), the encoding and a forward
 * pass in float64.
 */
import type { Architecture } from './spaces/types.js';

/** The one predictor format blockscope reads: OFA's MLP as JSON tensors. */
export const PREDICTOR_FORMATS = ['ofa-mlp'] as const;
export type PredictorFormat = (typeof PREDICTOR_FORMATS)[number];

/** The only space the OFA predictor was trained for. */
export const OFA_PREDICTOR_SPACE = 'ofa-mbv3';
/** The resolutions its encoding has a slot for: 112..224 in steps of 16. */
export const OFA_PREDICTOR_RESOLUTIONS: readonly number[] = [112, 128, 144, 160, 176, 192, 208, 224];
export const OFA_PREDICTOR_KERNELS: readonly number[] = [3, 5, 7];
export const OFA_PREDICTOR_EXPANDS: readonly number[] = [3, 4, 6];
export const OFA_PREDICTOR_UNITS = 5;
export const OFA_PREDICTOR_MAX_DEPTH = 4;
/** The depths OFA's supernet (and so the predictor's training data) has per unit. */
export const OFA_PREDICTOR_MIN_DEPTH = 2;
export const OFA_FEATURES = 128;
const SLOTS = OFA_PREDICTOR_UNITS * OFA_PREDICTOR_MAX_DEPTH;
const EXPAND_OFFSET = 3 * SLOTS;
const RESOLUTION_OFFSET = 6 * SLOTS;

/** How the weights were used, for the cache's settings hash: change it when the encoding or the arithmetic changes. */
export const OFA_MLP_METHOD = 'ofa-mlp/v1 spec2feats-128 float64';

/** What the report and the CLI call the figure: a prediction, never a measurement and never a proxy. */
export const PREDICTOR_LABEL = 'predicted top-1 (OFA accuracy predictor)';

/** The tensors of the OFA predictor's state dict, in order, with their shapes ([out, in] for a weight). */
export const OFA_MLP_TENSORS: readonly { name: string; shape: readonly number[] }[] = [
  { name: '0.weight', shape: [400, 128] },
  { name: '0.bias', shape: [400] },
  { name: '2.weight', shape: [400, 400] },
  { name: '2.bias', shape: [400] },
  { name: '4.weight', shape: [400, 400] },
  { name: '4.bias', shape: [400] },
  { name: '6.weight', shape: [1, 400] },
  { name: '6.bias', shape: [1] },
];

/** A problem with predictor weights or with an architecture the predictor cannot encode; the message names the tensor or field. */
export class AccuracyPredictorError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** One linear layer: `weight` row-major [out][in]. */
export interface LinearLayer {
  inputs: number;
  outputs: number;
  weight: Float64Array;
  bias: Float64Array;
}

/** The parsed MLP: linear layers with ReLU between them (none after the last). */
export interface OfaMlpWeights {
  format: 'ofa-mlp';
  layers: LinearLayer[];
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The shape a nested array appears to have, following first elements; for messages only. */
function apparentShape(value: unknown): string {
  const shape: number[] = [];
  let x = value;
  while (Array.isArray(x)) {
    shape.push(x.length);
    x = x[0];
  }
  if (shape.length === 0) return value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  return shapeText(shape);
}

function readTensor(raw: unknown, name: string, shape: readonly number[]): Float64Array {
  const fail = (detail: string): never => {
    throw new AccuracyPredictorError(`tensor "${name}": expected shape ${shapeText(shape)}, ${detail}`);
  };
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let offset = 0;
  const walk = (value: unknown, depth: number, where: string): void => {
    if (depth === shape.length) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new AccuracyPredictorError(`tensor "${name}"${where}: expected a finite number, got ${JSON.stringify(value) ?? String(value)}`);
      }
      out[offset++] = value;
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[depth]) {
      fail(`got ${apparentShape(value)}${where ? ` at ${name}${where}` : ''}${depth > 0 ? ` (a ragged or mis-shaped tensor)` : ''}`);
    }
    (value as unknown[]).forEach((item, i) => walk(item, depth + 1, `${where}[${i}]`));
  };
  if (!Array.isArray(raw)) fail(`got ${apparentShape(raw)}`);
  if (apparentShape(raw) !== shapeText(shape)) fail(`got ${apparentShape(raw)}`);
  walk(raw, 0, '');
  return out;
}

/**
 * Parses OFA's accuracy predictor from its JSON form: an object with the state dict's tensors as nested arrays
 * (`"0.weight"` 400×128, `"0.bias"` 400, `"2.*"`, `"4.*"` 400×400, `"6.weight"` 1×400, `"6.bias"` 1). Every
 * tensor's shape is checked; an error names the tensor and the expected shape.
 */
export function parseOfaMlpWeights(raw: unknown): OfaMlpWeights {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AccuracyPredictorError(`expected a JSON object of tensors (${OFA_MLP_TENSORS.map((t) => t.name).join(', ')}), got ${apparentShape(raw)}`);
  }
  const record = raw as Record<string, unknown>;
  const expected = OFA_MLP_TENSORS.map((t) => t.name);
  const unknown = Object.keys(record).filter((key) => !expected.includes(key));
  if (unknown.length > 0) {
    throw new AccuracyPredictorError(`unknown tensor ${unknown.map((k) => JSON.stringify(k)).join(', ')}; OFA's predictor (format ofa-mlp) has exactly ${expected.join(', ')}`);
  }
  const tensors = OFA_MLP_TENSORS.map(({ name, shape }) => {
    if (!(name in record)) throw new AccuracyPredictorError(`tensor "${name}": missing; expected shape ${shapeText(shape)}`);
    return readTensor(record[name], name, shape);
  });
  const layers: LinearLayer[] = [];
  for (let i = 0; i < tensors.length; i += 2) {
    const [outputs, inputs] = OFA_MLP_TENSORS[i]!.shape as [number, number];
    layers.push({ inputs, outputs, weight: tensors[i]!, bias: tensors[i + 1]! });
  }
  return { format: 'ofa-mlp', layers };
}

/** Why the predictor cannot score architectures of `space` at `resolution`, or undefined when it can. */
export function predictorCoverageProblem(space: string, resolution: number): string | undefined {
  if (space !== OFA_PREDICTOR_SPACE) return `OFA's accuracy predictor (format ofa-mlp) covers space ${OFA_PREDICTOR_SPACE} only, not ${space}`;
  if (!OFA_PREDICTOR_RESOLUTIONS.includes(resolution)) {
    return `OFA's accuracy predictor encodes resolutions ${OFA_PREDICTOR_RESOLUTIONS.join(', ')} only, not ${resolution}`;
  }
  return undefined;
}

function parseBlock(block: unknown, field: string): { kernel: number; expand: number } {
  const match = typeof block === 'string' ? /^e(\d+)k(\d+)$/.exec(block) : null;
  const expand = match ? Number(match[1]) : NaN;
  const kernel = match ? Number(match[2]) : NaN;
  if (!OFA_PREDICTOR_EXPANDS.includes(expand) || !OFA_PREDICTOR_KERNELS.includes(kernel)) {
    throw new AccuracyPredictorError(
      `${field}: block ${JSON.stringify(block)} is not one the predictor encodes; expected e{${OFA_PREDICTOR_EXPANDS.join(',')}}k{${OFA_PREDICTOR_KERNELS.join(',')}}, e.g. "e4k5"`,
    );
  }
  return { kernel, expand };
}

/**
 * OFA's 128-value encoding of an `ofa-mbv3` architecture (spec2feats; see the file's comment). Refuses other spaces,
 * resolutions outside 112..224 in steps of 16, unit counts other than 5 and depths outside 2..4.
 */
export function encodeOfaArchitecture(arch: Architecture): Float64Array {
  const coverage = predictorCoverageProblem(arch.space, arch.resolution);
  if (coverage) throw new AccuracyPredictorError(`${arch.space === OFA_PREDICTOR_SPACE ? 'resolution' : 'space'}: ${coverage}`);
  if (!Array.isArray(arch.units) || arch.units.length !== OFA_PREDICTOR_UNITS) {
    throw new AccuracyPredictorError(`units: expected ${OFA_PREDICTOR_UNITS} units, got ${Array.isArray(arch.units) ? arch.units.length : apparentShape(arch.units)}`);
  }
  const features = new Float64Array(OFA_FEATURES);
  arch.units.forEach((blocks, u) => {
    if (!Array.isArray(blocks) || blocks.length < OFA_PREDICTOR_MIN_DEPTH || blocks.length > OFA_PREDICTOR_MAX_DEPTH) {
      throw new AccuracyPredictorError(
        `units[${u}]: depth ${Array.isArray(blocks) ? blocks.length : apparentShape(blocks)} out of the predictor's range ${OFA_PREDICTOR_MIN_DEPTH}..${OFA_PREDICTOR_MAX_DEPTH}`,
      );
    }
    blocks.forEach((block, l) => {
      const { kernel, expand } = parseBlock(block, `units[${u}][${l}]`);
      const slot = u * OFA_PREDICTOR_MAX_DEPTH + l;
      features[3 * slot + OFA_PREDICTOR_KERNELS.indexOf(kernel)] = 1;
      features[EXPAND_OFFSET + 3 * slot + OFA_PREDICTOR_EXPANDS.indexOf(expand)] = 1;
    });
  });
  features[RESOLUTION_OFFSET + (arch.resolution - OFA_PREDICTOR_RESOLUTIONS[0]!) / 16] = 1;
  return features;
}

/** The MLP's output for one feature vector, in float64: linear layers with ReLU between them. */
export function forwardOfaMlp(weights: OfaMlpWeights, features: Float64Array): number {
  const first = weights.layers[0]!;
  if (features.length !== first.inputs) throw new AccuracyPredictorError(`features: expected ${first.inputs} values, got ${features.length}`);
  let x: Float64Array = features;
  const last = weights.layers.length - 1;
  for (let i = 0; i <= last; i++) {
    const { inputs, outputs, weight, bias } = weights.layers[i]!;
    const y = new Float64Array(outputs);
    for (let o = 0, row = 0; o < outputs; o++, row += inputs) {
      let sum = bias[o]!;
      for (let j = 0; j < inputs; j++) sum += weight[row + j]! * x[j]!;
      y[o] = i < last && sum < 0 ? 0 : sum;
    }
    x = y;
  }
  return x[0]!;
}

/** The predicted top-1 in percent (the MLP's fraction × 100) of an `ofa-mbv3` architecture. */
export function predictTop1(weights: OfaMlpWeights, arch: Architecture): number {
  return 100 * forwardOfaMlp(weights, encodeOfaArchitecture(arch));
}
