/**
 * The 'predictor' accuracy source's file side: reads a trained accuracy predictor's weights (OFA's pretrained top-1
 * predictor for ofa-mbv3 in its JSON form, format 'ofa-mlp'), hashes the bytes for the cache and parses them with the
 * pure code in pipelines/accuracy-predictor.ts. docs/accuracy.md "OFA's accuracy predictor (`predictor`)".
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { AccuracyPredictorError, parseOfaMlpWeights, type OfaMlpWeights, type PredictorFormat } from '../../pipelines/accuracy-predictor.js';
import { AccuracyInputError } from './errors.js';

export interface PredictorConfig {
  format: PredictorFormat;
  /** Path of the weights file (relative paths resolve against the working directory). */
  weights: string;
}

export interface LoadedPredictor {
  format: PredictorFormat;
  file: string;
  /** sha256 of the file's bytes: the cache's settings hash covers it. */
  sha256: string;
  weights: OfaMlpWeights;
}

const CONVERT_HINT = 'convert it to the JSON form as docs/accuracy.md shows ("OFA\'s accuracy predictor": torch.load, then json.dump of each tensor\'s tolist())';

/** Whether the bytes are a PyTorch file: a zip archive (torch ≥ 1.6) or the legacy pickle stream (0x80, protocol 2..5). */
function looksLikeTorchFile(bytes: Uint8Array): boolean {
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  const pickle = bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5;
  return zip || pickle;
}

/** Reads, hashes and parses a predictor's weights; every problem is an AccuracyInputError naming the file (and the tensor). */
export async function loadAccuracyPredictor(config: PredictorConfig): Promise<LoadedPredictor> {
  const file = config.weights;
  const where = `accuracy predictor ${file} (format ${config.format})`;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new AccuracyInputError(`${where}: cannot read it: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (looksLikeTorchFile(bytes)) throw new AccuracyInputError(`${where}: this is a PyTorch file (.pth); blockscope reads the JSON form only: ${CONVERT_HINT}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes).replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new AccuracyInputError(`${where}: not valid JSON (${error instanceof Error ? error.message : String(error)}); ${CONVERT_HINT}`);
  }
  try {
    return { format: config.format, file, sha256: createHash('sha256').update(bytes).digest('hex'), weights: parseOfaMlpWeights(raw) };
  } catch (error) {
    if (error instanceof AccuracyPredictorError) throw new AccuracyInputError(`${where}: ${error.message}`);
    throw error;
  }
}

/**
 * A predictor file kept loaded, and loaded again when the file changes (size, modification or change time, to the
 * nanosecond): a long-running orchestrator worker then scores with the weights the file holds now, and caches under
 * their sha256.
 */
export class PredictorFile {
  private loaded: { stamp: string; predictor: Promise<LoadedPredictor> } | undefined;

  constructor(readonly config: PredictorConfig) {}

  async current(): Promise<LoadedPredictor> {
    let stamp: string;
    try {
      const s = await stat(this.config.weights, { bigint: true });
      stamp = `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
    } catch (error) {
      throw new AccuracyInputError(
        `accuracy predictor ${this.config.weights} (format ${this.config.format}): cannot read it: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (this.loaded?.stamp !== stamp) this.loaded = { stamp, predictor: loadAccuracyPredictor(this.config) };
    return this.loaded.predictor;
  }
}
