/**
 * The accuracy cache in the artifact store: one JSON score per architecture under
 *
 *   cache/accuracy/<source>/<settingsHash>/<archHash>.json
 *
 * where the settings hash covers everything else the score depends on: for the proxy its seed, batch,
 * resolution, input design and runtime version; for a table the file's sha256; for a trained predictor its format,
 * method and the weights file's sha256; for an evaluator its name.
 */
import type { ArtifactStore } from '../storage/index.js';
import { ArtifactConflictError } from '../storage/index.js';
import { canonicalHashHex } from '../../pipelines/hash.js';
import type { AccuracySource } from '../../pipelines/records.js';
import type { Seed } from '../../pipelines/rng.js';

export const ACCURACY_CACHE_PREFIX = 'cache/accuracy';

export function accuracyCacheKey(source: AccuracySource, settingsHash: string, archHash: string): string {
  return `${ACCURACY_CACHE_PREFIX}/${source}/${settingsHash}/${archHash}.json`;
}

/** `method` is naswotMethod(): the input design and the onnxruntime version. */
export function proxySettingsHash(settings: { seed: Seed; batch: number; resolution: number; method: string }): string {
  return canonicalHashHex({ source: 'naswot-proxy', seed: settings.seed, batch: settings.batch, resolution: settings.resolution, method: settings.method });
}

export function tableSettingsHash(tableSha256: string): string {
  return canonicalHashHex({ source: 'table', sha256: tableSha256 });
}

/** `method` is the predictor's encoding and arithmetic (OFA_MLP_METHOD); `sha256` the weights file's. */
export function predictorSettingsHash(settings: { format: string; method: string; sha256: string }): string {
  return canonicalHashHex({ source: 'predictor', format: settings.format, method: settings.method, sha256: settings.sha256 });
}

export function evaluatorSettingsHash(evaluator: string): string {
  return canonicalHashHex({ source: 'evaluator', evaluator });
}

/** The stored value at `key`, or `compute()`'s, stored there first. */
export async function cachedAccuracy<T>(store: ArtifactStore, key: string, compute: () => Promise<T>): Promise<{ value: T; fromCache: boolean }> {
  if (await store.exists(key)) return { value: await store.getJson<T>(key), fromCache: true };
  const value = await compute();
  try {
    await store.putJson(key, value);
  } catch (error) {
    // Another worker stored this score meanwhile; keep the first one so every reader sees the same value.
    if (error instanceof ArtifactConflictError) return { value: await store.getJson<T>(key), fromCache: true };
    throw error;
  }
  return { value, fromCache: false };
}
