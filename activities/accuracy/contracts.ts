/**
 * Types of the accuracy layer, shared by the study's activities, its workflows and a user's evaluator
 * worker. Type-only (plus constants), so workflow code may import it. docs/accuracy.md gives the JSON
 * shapes for workers written in other languages.
 */
import type { AccuracySource } from '../../pipelines/records.js';
import type { Architecture } from '../../pipelines/spaces/types.js';
import type { SpaceDefinition } from '../../pipelines/spaces/definition.js';

interface ScoreBase {
  /** architectureHash of the scored architecture. */
  hash: string;
  source: AccuracySource;
  /** What the study ranks by: the proxy score for 'naswot-proxy', predicted top-1 (%) for 'predictor', top-1 accuracy (%) otherwise. */
  score: number;
}

/** A NASWOT proxy score (log|det K| of binary activation codes): a training-free proxy, never an accuracy. */
export interface ProxyScore extends ScoreBase {
  source: 'naswot-proxy';
  /** Images in the mini-batch (N). */
  batch: number;
  /** The study seed the inputs and the untrained weights derive from. */
  seed: number | string;
  resolution: number;
  /** Activation layers and units (per image) whose codes entered K. */
  layers: number;
  units: number;
  /** Identifies the input design and the runtime, e.g. "normal-noise/v1 onnxruntime-node 1.30.0". */
  method: string;
}

/** Top-1 accuracy (%) imported from a table file. */
export interface TableScore extends ScoreBase {
  source: 'table';
  /** The table file as configured, and the sha256 of its bytes. */
  table: { file: string; sha256: string };
}

/**
 * Top-1 (%) predicted by a trained accuracy predictor (OFA's, format 'ofa-mlp'): a prediction for the supernet's subnet
 * with inherited weights, never a measurement.
 */
export interface PredictorScore extends ScoreBase {
  source: 'predictor';
  /** The predictor as configured: its format, the weights file and the sha256 of its bytes. */
  predictor: { format: 'ofa-mlp'; weights: string; sha256: string };
}

/** Top-1 accuracy (%) reported by an evaluator implementing `evaluateAccuracy`. */
export interface EvaluatorScore extends ScoreBase {
  source: 'evaluator';
  samples: number;
  evaluator: string;
}

export type AccuracyScore = ProxyScore | TableScore | PredictorScore | EvaluatorScore;

// ---------------------------------------------------------------------------------------------------------------
// The evaluator contract

/** The activity type name an evaluator worker registers on its task queue. */
export const EVALUATE_ACCURACY_ACTIVITY = 'evaluateAccuracy';

export interface EvaluateAccuracyInput {
  /** The architecture, as validateArchitecture accepts it (canonical JSON in docs/accuracy.md). */
  arch: Architecture;
  /** Input resolution to evaluate at (one of the space's resolutions); usually arch.resolution. */
  resolution: number;
  /** The space's definition when arch.space is a user-defined space (docs/spaces.md); absent for the paper's spaces. */
  space?: SpaceDefinition;
}

export interface EvaluateAccuracyResult {
  /** Top-1 accuracy in percent, 0..100. */
  top1: number;
  /** Number of labelled images evaluated. */
  samples: number;
  /** Identifies the evaluator and its data (model source, dataset), so results are never mixed up. */
  evaluator: string;
}

/** What an evaluator worker serves on the study's `accuracy.evaluatorTaskQueue`. */
export interface EvaluatorActivities {
  evaluateAccuracy(input: EvaluateAccuracyInput): Promise<EvaluateAccuracyResult>;
}
