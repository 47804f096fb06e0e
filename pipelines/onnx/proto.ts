/**
 * Access to the ONNX protobuf classes (onnx-proto: protobufjs static code for ONNX IR v8, onnx v1.10.2).
 * The package is CommonJS assigning `module.exports = $root`, which Node's ESM loader cannot split into
 * named exports, so the namespace is taken from the default import.
 */
import onnxProto from 'onnx-proto';
import type { onnx as onnxTypes } from 'onnx-proto';

export const onnx = onnxProto.onnx;

export type ModelProto = onnxTypes.IModelProto;
export type GraphProto = onnxTypes.IGraphProto;
export type NodeProto = onnxTypes.INodeProto;
export type TensorProto = onnxTypes.ITensorProto;
export type AttributeProto = onnxTypes.IAttributeProto;
export type ValueInfoProto = onnxTypes.IValueInfoProto;

/**
 * An int64 field as a number. protobufjs decodes int64 as a Long object when the `long` package is
 * present and as a number otherwise; the declared type (number|Long) is unresolved in onnx-proto's d.ts.
 */
export function int64ToNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && 'toNumber' in value && typeof value.toNumber === 'function') {
    const n = (value as { toNumber: () => unknown }).toNumber();
    if (typeof n === 'number') return n;
  }
  throw new TypeError(`expected an int64 value, got ${String(value)}`);
}

/** Whether this machine stores typed-array elements little-endian (ONNX raw_data is little-endian). */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
