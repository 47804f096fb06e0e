/**
 * Accuracy scorers for the studies an orchestrator worker runs: one scorer per distinct accuracy setting,
 * all sharing one onnxruntime thread (so one proxy runs at a time on the worker's machine).
 */
import { canonicalJson } from '../../pipelines/hash.js';
import type { StudySpec } from '../../pipelines/study/spec.js';
import type { ArtifactStore } from '../storage/index.js';
import { createAccuracyScorer, type AccuracyScorer, type AccuracyScorerConfig } from './index.js';
import { OnnxThread } from './onnx-pool.js';

export interface AccuracyStudyScorers {
  forSpec: (spec: StudySpec) => Promise<AccuracyScorer>;
  close(): Promise<void>;
}

export function createAccuracyStudyScorers(store: ArtifactStore, options: { intraOpThreads?: number } = {}): AccuracyStudyScorers {
  const thread = new OnnxThread();
  const scorers = new Map<string, AccuracyScorer>();
  return {
    async forSpec(spec: StudySpec) {
      const config: AccuracyScorerConfig = { source: spec.accuracy.source, proxyBatch: spec.accuracy.proxyBatch, seed: spec.seed };
      if (spec.accuracy.table !== undefined) config.table = spec.accuracy.table;
      if (spec.accuracy.predictor !== undefined) config.predictor = { format: spec.accuracy.predictor.format, weights: spec.accuracy.predictor.weights };
      if (options.intraOpThreads !== undefined) config.intraOpThreads = options.intraOpThreads;
      const key = canonicalJson(config);
      let scorer = scorers.get(key);
      if (!scorer) {
        scorer = createAccuracyScorer(config, store, { thread });
        scorers.set(key, scorer);
      }
      return scorer;
    },
    async close() {
      await Promise.all([...scorers.values()].map((scorer) => scorer.close()));
      await thread.close();
    },
  };
}
