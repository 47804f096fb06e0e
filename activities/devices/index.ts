/** The device/latency layer: device definitions, measurers per backend, lookup tables, cache and locks. */
export {
  BACKENDS,
  COMMAND_PLACEHOLDERS,
  CPU_LOCAL,
  DEVICE_ID_PATTERN,
  DeviceRegistry,
  REFERENCE_MODES,
  commandDevice,
  loadDevices,
  onnxRuntimeDevice,
  parseDevices,
  type CommandDevice,
  type DeviceBackend,
  type DeviceConfig,
  type LookupTableDevice,
  type OnnxRuntimeDevice,
  type OnnxRuntimeProtocol,
} from './config.js';
export { BenchmarkCommandError, DeviceConfigError, DeviceError, LookupTableMissingEntryError, RunnerError, UnknownDeviceError } from './errors.js';
export { fingerprintHash, hostFingerprint, onnxRuntimeNodeVersion, type DeviceFingerprint } from './fingerprint.js';
export { MeasurementCache, calibrationKey, measurementKey, type MeasurementStore } from './cache.js';
export { acquireDeviceLock, defaultLockDir, deviceLockPath, processIsRunning, withDeviceLock, type DeviceLock, type DeviceLockOptions } from './lock.js';
export { CALIBRATION_RUNS, createMeasurer, protocolHash, type MeasurerOptions } from './measure.js';
export { OnnxRuntimeRunner, sessionSettings, type ModelTiming } from './onnxruntime-runner.js';
export { medianConfidenceInterval, nextBatchSize, stopReason, summarizeTimings, type StopReason, type TimingSummary } from './protocol.js';
export { parseLatencies, renderCommand, runBenchmarkCommand, runShellCommand, shellQuote } from './command.js';
export {
  LUT_KIND,
  LUT_STATISTICS,
  blockKey,
  buildLookupTable,
  distinctBlocks,
  loadLookupTable,
  lookupLatency,
  lookupTableContradictions,
  parseLookupTable,
  saveLookupTable,
  type LookupTable,
  type LookupTableContradiction,
  type LookupTableEntry,
  type LookupTableStatistic,
} from './lookup-table.js';
export {
  DEFAULT_IMPORT_DEVICE,
  GENERIC_FORMATS,
  LUT_IMPORT_FORMATS,
  LookupTableImportError,
  convertGenericRows,
  convertOfaTables,
  exportLookupTableFile,
  formatOfaRowKey,
  importLookupTableFiles,
  lookupTableToGeneric,
  ofaRowsOfBlock,
  parseBlockKey,
  parseGenericTable,
  parseOfaRowKey,
  parseOfaTable,
  type GenericFormat,
  type LutImportFormat,
  type LutImportResult,
  type SourceFile,
  type SourceRow,
} from './lut-import.js';
export type { LatencyMeasurement, MeasureOptions, MeasureProgress, Measurer, ProtocolSettings, ReferenceCalibration, ReferenceNormalisation } from './types.js';
