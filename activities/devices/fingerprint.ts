/**
 * Device fingerprints: what executes a measurement (machine, runtime, backend settings). Every measurement
 * carries one, and the cache is keyed by its hash, so figures from different machines never mix silently.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { canonicalHashHex } from '../../pipelines/hash.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../../pipelines/onnx/index.js';
import type { CommandDevice, DeviceBackend, OnnxRuntimeDevice } from './config.js';

export interface HostFingerprint {
  cpuModel: string;
  logicalCores: number;
  platform: string;
  arch: string;
}

export interface DeviceFingerprint {
  device: string;
  backend: DeviceBackend;
  /** The machine that executes the model (onnxruntime devices). */
  host?: HostFingerprint;
  runtime?: { name: 'onnxruntime-node'; version: string; node: string };
  /** Backend settings that change the figures: threads, execution provider, command, table... */
  settings: Record<string, string | number | boolean>;
  /** Declared facts about the target and the output of its probe command. */
  identity?: Record<string, string>;
}

/** Short, stable hash of a fingerprint (sha256 of its canonical JSON, 16 hex digits). */
export function fingerprintHash(fingerprint: DeviceFingerprint): string {
  return canonicalHashHex(fingerprint).slice(0, 16);
}

export function hostFingerprint(): HostFingerprint {
  const cpus = os.cpus();
  return { cpuModel: cpus[0]?.model.trim() ?? 'unknown', logicalCores: cpus.length, platform: process.platform, arch: process.arch };
}

let cachedOrtVersion: string | undefined;

/** The installed onnxruntime-node version, read from its package.json (the package does not export one). */
export function onnxRuntimeNodeVersion(): string {
  if (cachedOrtVersion === undefined) {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    // The entry is <package>/dist/index.js.
    const manifest = JSON.parse(readFileSync(join(dirname(dirname(entry)), 'package.json'), 'utf8')) as { name?: string; version?: string };
    if (manifest.name !== 'onnxruntime-node' || typeof manifest.version !== 'string') throw new Error(`cannot read the onnxruntime-node version next to ${entry}`);
    cachedOrtVersion = manifest.version;
  }
  return cachedOrtVersion;
}

/** The model format every exported model has; a change of exporter settings is a different measurement. */
const onnxModelSettings = { onnxOpset: ONNX_OPSET, onnxIrVersion: ONNX_IR_VERSION } as const;

export function onnxRuntimeFingerprint(device: OnnxRuntimeDevice): DeviceFingerprint {
  const fingerprint: DeviceFingerprint = {
    device: device.id,
    backend: 'onnxruntime',
    host: hostFingerprint(),
    runtime: { name: 'onnxruntime-node', version: onnxRuntimeNodeVersion(), node: process.version },
    settings: {
      executionProvider: device.executionProvider,
      intraOpThreads: device.threads.intraOp,
      interOpThreads: device.threads.interOp,
      allowSpinning: device.allowSpinning,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...onnxModelSettings,
    },
  };
  if (device.identity) fingerprint.identity = { ...device.identity };
  return fingerprint;
}

/** A command device runs elsewhere (a phone, a remote host): its identity is what it declares and what its probe prints. */
export function commandFingerprint(device: CommandDevice, probeOutput: string | undefined): DeviceFingerprint {
  const settings: DeviceFingerprint['settings'] = { command: device.command, pattern: device.pattern, ...onnxModelSettings };
  if (device.threads !== undefined) settings.threads = device.threads;
  const identity: Record<string, string> = { ...device.identity };
  if (probeOutput !== undefined) identity.probe = probeOutput;
  const fingerprint: DeviceFingerprint = { device: device.id, backend: 'command', settings };
  if (Object.keys(identity).length > 0) fingerprint.identity = identity;
  return fingerprint;
}
