/** Messages between the onnxruntime runner (parent) and its child process. Structured clone (advanced serialization). */
import type { IRBlock, NetworkIR, Shape } from '../../pipelines/network/ir.js';

/** What to build the ONNX model from; the child exports it, so the parent's event loop never carries that work. */
export type ModelSource = { kind: 'network'; network: NetworkIR } | { kind: 'blocks'; blocks: IRBlock[]; inputShape: Shape };

export interface SessionSettings {
  executionProvider: 'cpu' | 'cuda';
  intraOpThreads: number;
  interOpThreads: number;
  allowSpinning: boolean;
}

/** A reference model that stays loaded across models; `key` names it, so it is built again only when it changes. */
export interface ReferenceModel {
  key: string;
  source: ModelSource;
}

export type RunnerRequest =
  /** Exports the model and creates its session (replacing any loaded one) with a deterministic input; loads the reference too if given. */
  | { id: number; type: 'load'; source: ModelSource; settings: SessionSettings; reference?: ReferenceModel }
  /** Runs the loaded session `count` times and returns each run's wall time; `paired`: each run is followed by one of the reference. */
  | { id: number; type: 'run'; count: number; paired: boolean }
  | { id: number; type: 'unload' };

export type RunnerResult =
  { type: 'loaded'; exportMs: number; sessionCreateMs: number } | { type: 'timings'; timingsMs: number[]; referenceTimingsMs?: number[] } | { type: 'unloaded' };

export type RunnerResponse = ({ id: number; ok: true } & RunnerResult) | { id: number; ok: false; error: string };
