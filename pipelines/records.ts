/**
 * The plain-data records that flow between stages: what was measured for one architecture, and on which
 * device. Profiles, insights, the latency predictor and the search all read these.
 */
import type { Architecture } from './spaces/types.js';

/**
 * Which accuracy figure a study uses; a proxy is never called accuracy in reports, and a predictor's figure is
 * always called a prediction ('predictor': OFA's trained accuracy predictor, pipelines/accuracy-predictor.ts).
 */
export type AccuracySource = 'naswot-proxy' | 'table' | 'evaluator' | 'predictor';

/** The metrics of one architecture. Latency is per device id, in milliseconds (median of the timed runs). */
export interface ArchitectureMetrics {
  hash: string;
  /** Top-1 accuracy (%) for 'table'/'evaluator', predicted top-1 (%) for 'predictor', or the training-free proxy score for 'naswot-proxy'. */
  accuracy: number;
  macs: number;
  params: number;
  latencyMs: Record<string, number>;
}

export interface ArchitectureRecord extends ArchitectureMetrics {
  arch: Architecture;
}
