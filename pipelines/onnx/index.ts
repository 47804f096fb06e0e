export { exportBlocks, exportNetwork, LOGITS_OUTPUT, ONNX_IR_VERSION, ONNX_OPSET, PRODUCER_NAME, type ExportOptions, type Normalization } from './export.js';
export { analyzeOnnxGraph, countOnnxMacs, onnxWeightStats, type OnnxGraphAnalysis, type OnnxWeightStats } from './graph-macs.js';
