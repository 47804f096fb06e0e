/** What the seeded export of an architecture predicts for a batch of images, computed in onnxruntime here. */
import * as ort from 'onnxruntime-node';
import { exportNetwork } from '../../pipelines/onnx/export.js';
import type { Seed } from '../../pipelines/rng.js';
import { buildNetwork, type Architecture } from '../../pipelines/spaces/index.js';

export function argmaxRow(values: Float32Array | number[], row: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (values[row * classes + k]! > values[row * classes + best]!) best = k;
  return best;
}

/** The argmax class of each of `n` images (image-major [n, 3, r, r]) under the seeded export of `arch`. */
export async function seededPredictions(arch: Architecture, images: Float32Array, n: number, seed: Seed): Promise<number[]> {
  const r = arch.resolution;
  const session = await ort.InferenceSession.create(exportNetwork(buildNetwork(arch), { seed, batch: n }), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const logits = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', images.slice(0, n * 3 * r * r), [n, 3, r, r]) }))[session.outputNames[0]!]!
      .data as Float32Array;
    return Array.from({ length: n }, (_, i) => argmaxRow(logits, i, logits.length / n));
  } finally {
    await session.release();
  }
}
