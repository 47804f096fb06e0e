/**
 * The accuracy sources of a study (docs/accuracy.md): the NASWOT proxy (default), a table of measured
 * accuracies, a trained accuracy predictor (OFA's), or a user's evaluator. A scorer scores one architecture at a
 * time, through the cache.
 */
import { AccuracyPredictorError, OFA_MLP_METHOD, predictTop1, predictorCoverageProblem } from '../../pipelines/accuracy-predictor.js';
import type { AccuracySource } from '../../pipelines/records.js';
import type { Seed } from '../../pipelines/rng.js';
import { architectureHash, validateArchitecture, type Architecture } from '../../pipelines/spaces/index.js';
import type { ArtifactStore } from '../storage/index.js';
import { accuracyCacheKey, cachedAccuracy, predictorSettingsHash, proxySettingsHash, tableSettingsHash } from './cache.js';
import type { AccuracyScore, PredictorScore, ProxyScore, TableScore } from './contracts.js';
import { AccuracyInputError } from './errors.js';
import { naswotMethod, scoreNaswotProxy } from './naswot-scorer.js';
import { OnnxThread } from './onnx-pool.js';
import { PredictorFile, type PredictorConfig } from './predictor-source.js';
import { loadAccuracyTable, type AccuracyTable } from './table-source.js';

export * from './contracts.js';
export { AccuracyInputError } from './errors.js';
export { accuracyCacheKey, cachedAccuracy, evaluatorSettingsHash, predictorSettingsHash, proxySettingsHash, tableSettingsHash } from './cache.js';
export { readTensorDataset, syntheticDataset, writeTensorDataset, type LabelledImages, type TensorDataset } from './dataset.js';
export { createTensorDatasetEvaluator, type TensorDatasetEvaluatorOptions } from './evaluator.js';
export { NASWOT_INPUTS, naswotInputImages, naswotMethod, scoreNaswotProxy, type NaswotSettings } from './naswot-scorer.js';
export { OnnxThread } from './onnx-pool.js';
export { PredictorFile, loadAccuracyPredictor, type LoadedPredictor, type PredictorConfig } from './predictor-source.js';
export { loadAccuracyTable, type AccuracyTable } from './table-source.js';

export interface AccuracyScorerConfig {
  source: AccuracySource;
  /** 'table': path of the CSV or JSON file (relative paths resolve against the working directory). */
  table?: string;
  /** 'predictor': the format and the weights file (relative paths resolve against the working directory). */
  predictor?: PredictorConfig;
  /** NASWOT mini-batch size N. */
  proxyBatch: number;
  /** The study seed: NASWOT's inputs and untrained weights derive from it. */
  seed: Seed;
  /** onnxruntime intra-op threads for the proxy; default 1. */
  intraOpThreads?: number;
}

export interface AccuracyScorer {
  readonly source: AccuracySource;
  score(arch: Architecture, signal?: AbortSignal): Promise<{ value: AccuracyScore; fromCache: boolean }>;
  close(): Promise<void>;
}

/**
 * A scorer for the 'naswot-proxy', 'table' or 'predictor' source. The 'evaluator' source is not scored here: the
 * study workflow calls `evaluateAccuracy` on the evaluator's own task queue.
 */
export function createAccuracyScorer(config: AccuracyScorerConfig, store: ArtifactStore, options: { thread?: OnnxThread } = {}): AccuracyScorer {
  switch (config.source) {
    case 'naswot-proxy':
      return naswotScorer(config, store, options.thread);
    case 'table':
      return tableScorer(config, store);
    case 'predictor':
      return predictorScorer(config, store);
    case 'evaluator':
      throw new AccuracyInputError(
        "accuracy source 'evaluator' is not scored by this worker: the study calls evaluateAccuracy on accuracy.evaluatorTaskQueue, where your evaluator worker serves it",
      );
  }
}

function naswotScorer(config: AccuracyScorerConfig, store: ArtifactStore, sharedThread: OnnxThread | undefined): AccuracyScorer {
  const thread = sharedThread ?? new OnnxThread();
  const settings = { seed: config.seed, batch: config.proxyBatch, intraOpThreads: config.intraOpThreads ?? 1 };
  return {
    source: 'naswot-proxy',
    score(arch: Architecture, signal?: AbortSignal) {
      const canonical = validateArchitecture(arch);
      const settingsHash = proxySettingsHash({ seed: settings.seed, batch: settings.batch, resolution: canonical.resolution, method: naswotMethod() });
      const key = accuracyCacheKey('naswot-proxy', settingsHash, architectureHash(canonical));
      return cachedAccuracy<ProxyScore>(store, key, () => scoreNaswotProxy(canonical, settings, thread, signal));
    },
    async close() {
      if (!sharedThread) await thread.close();
    },
  };
}

function tableScorer(config: AccuracyScorerConfig, store: ArtifactStore): AccuracyScorer {
  const file = config.table;
  if (!file) throw new AccuracyInputError("accuracy.table: required when the accuracy source is 'table'");
  let table: Promise<AccuracyTable> | undefined;
  return {
    source: 'table',
    async score(arch: Architecture) {
      table ??= loadAccuracyTable(file);
      const loaded = await table;
      const hash = architectureHash(validateArchitecture(arch));
      const key = accuracyCacheKey('table', tableSettingsHash(loaded.sha256), hash);
      return cachedAccuracy<TableScore>(store, key, async () => ({
        hash,
        source: 'table',
        score: loaded.top1(arch),
        table: { file, sha256: loaded.sha256 },
      }));
    },
    async close() {},
  };
}

/**
 * OFA's trained accuracy predictor: predicted top-1 (%) of the supernet's subnet with inherited weights, cached under
 * the weights file's sha256 (a changed file starts a fresh cache).
 */
function predictorScorer(config: AccuracyScorerConfig, store: ArtifactStore): AccuracyScorer {
  const predictor = config.predictor;
  if (!predictor) throw new AccuracyInputError("accuracy.predictor: required when the accuracy source is 'predictor' ({ format: ofa-mlp, weights: PATH })");
  const file = new PredictorFile(predictor);
  return {
    source: 'predictor',
    async score(arch: Architecture) {
      const canonical = validateArchitecture(arch);
      const problem = predictorCoverageProblem(canonical.space, canonical.resolution);
      if (problem) throw new AccuracyInputError(`accuracy.predictor: ${problem}`);
      const loaded = await file.current();
      const hash = architectureHash(canonical);
      const key = accuracyCacheKey('predictor', predictorSettingsHash({ format: loaded.format, method: OFA_MLP_METHOD, sha256: loaded.sha256 }), hash);
      return cachedAccuracy<PredictorScore>(store, key, async () => {
        let top1: number;
        try {
          top1 = predictTop1(loaded.weights, canonical);
        } catch (error) {
          if (error instanceof AccuracyPredictorError) throw new AccuracyInputError(`accuracy predictor ${loaded.file}, architecture ${hash}: ${error.message}`);
          throw error;
        }
        return { hash, source: 'predictor', score: top1, predictor: { format: loaded.format, weights: loaded.file, sha256: loaded.sha256 } };
      });
    },
    async close() {},
  };
}
