#!/usr/bin/env node
/**
 * A small real benchmark tool, the local stand-in for a vendor's benchmark binary (the `command` device
 * backend runs it in tests and as an example): loads an ONNX model in onnxruntime-node, runs a warm-up and N
 * timed runs, prints one `run_ms=<ms>` line per timed run and finally `median_ms=<ms>`.
 *
 *   node scripts/ort-bench.mjs MODEL.onnx --resolution 224 [--threads 1] [--warmup 3] [--runs 10]
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    resolution: { type: 'string' },
    threads: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '3' },
    runs: { type: 'string', default: '10' },
  },
});

function positiveInteger(name, text, min = 1) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`ort-bench: --${name} must be an integer >= ${min}, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return n;
}

if (positionals.length !== 1 || values.resolution === undefined) {
  process.stderr.write('usage: ort-bench.mjs MODEL.onnx --resolution R [--threads N] [--warmup N] [--runs N]\n');
  process.exit(2);
}
const resolution = positiveInteger('resolution', values.resolution);
const threads = positiveInteger('threads', values.threads);
const warmup = positiveInteger('warmup', values.warmup, 0);
const runs = positiveInteger('runs', values.runs);

const session = await ort.InferenceSession.create(positionals[0], {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
});
const shape = [1, 3, resolution, resolution];
const data = new Float32Array(3 * resolution * resolution);
for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 2001) / 1000 - 1;
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };

for (let i = 0; i < warmup; i++) await session.run(feeds);
const timings = [];
for (let i = 0; i < runs; i++) {
  const started = process.hrtime.bigint();
  await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  timings.push(ms);
  process.stdout.write(`run_ms=${ms.toFixed(4)}\n`);
}
await session.release();
const sorted = timings.sort((a, b) => a - b);
const middle = sorted.length / 2;
const median = sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
process.stdout.write(`runs=${runs} median_ms=${median.toFixed(4)}\n`);
