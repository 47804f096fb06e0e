/**
 * Measures the NASWOT proxy's variants, to choose its input design and batch size and to state what it
 * costs (docs/accuracy.md). Results go to bench/results/naswot-proxy.json and .md; each command updates
 * the JSON and rewrites the Markdown from it, so the quality runs can be split to stay short:
 *
 *   npx tsx scripts/naswot-study.ts quality --archs 0-9     (then 10-19 and 20-29; ~4 min of one core each)
 *   npx tsx scripts/naswot-study.ts resources               (peak RSS and time of the scorer itself)
 *   npx tsx scripts/naswot-study.ts report                  (only rewrites the summary and the .md)
 *
 * quality: 30 random OFA-MobileNetV3 architectures at 160. For every architecture, two weight seeds, the
 * old variant (BN folded into a small bias, i.i.d. normal noise, batch 16) and batch-statistics BN with each
 * input design at batches 16, 32 and 64. One session per (architecture, weight seed, normalisation,
 * batch) scores every input design; the images come from input seed 0 for every weight seed, so the
 * seed figures show the weights' effect alone.
 *
 * resources: each configuration in a fresh process (so its peak RSS is its own), scoring through
 * computeNaswot, the scorer's own path (export, session, inputs, one forward pass, codes, log-det).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { computeNaswot, NASWOT_VARIANT, NaswotSession } from '../activities/accuracy/naswot-scorer.js';
import { codeActivations, type Normalization } from '../pipelines/onnx/export.js';
import { INPUT_DESIGNS, proxyInputImages, type InputDesign } from '../pipelines/proxy/inputs.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { architectureCounts, buildNetwork, originalSpace, validateArchitecture, type Architecture } from '../pipelines/spaces/index.js';
import { mean, spearman, std } from '../pipelines/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = resolve(ROOT, 'bench/results/naswot-proxy.json');
const SCRIPT = fileURLToPath(import.meta.url);

const QUALITY = { space: 'ofa-mbv3', resolution: 160, architectures: 30, sampleSeed: 'naswot-study', inputSeed: 0, weightSeeds: [0, 1], batches: [16, 32, 64], oldBatch: 16 } as const;
const RESOURCE_BATCHES = { largest: [16, 32, 64], random: [16, 32] } as const;
const RESOURCE_RANDOM_ARCHS = 3;
const RESOLUTION_224 = 224;

type VariantId = string;
/** One architecture's measurements. Scores: variant → one per weight seed; times in ms. */
interface QualityRow {
  index: number;
  arch: Architecture;
  units: number;
  macs: number;
  params: number;
  scores: Record<VariantId, number[]>;
  /** Session creation (export + onnxruntime) per normalisation and batch, mean over the weight seeds. */
  createMs: Record<string, number>;
  /** Input generation per design and batch. */
  inputsMs: Record<string, number>;
  /** Forward pass + codes + log-det per variant, mean over the weight seeds. */
  scoreMs: Record<VariantId, number>;
}

interface ResourceRow {
  space: 'ofa-mbv3' | 'resnet50';
  which: 'largest' | 'random';
  batch: number;
  architectures: number;
  units: number;
  /** Mean wall time of computeNaswot per architecture. */
  msPerArch: number;
  peakRssMiB: number;
}

interface Results {
  quality: QualityRow[];
  resources: ResourceRow[];
  runs: { command: string; at: string; minutes: number; load: number[]; machine: string }[];
}

const variantId = (normalization: Normalization, design: InputDesign, batch: number) => `${normalization === 'batch' ? 'bn' : 'folded'}/${design}/${batch}`;
const OLD: VariantId = variantId('folded', 'normal-noise', QUALITY.oldBatch);
const NEW_VARIANTS = QUALITY.batches.flatMap((batch) => INPUT_DESIGNS.map((design) => ({ id: variantId('batch', design, batch), design, batch })));

function loadResults(): Results {
  if (!existsSync(RESULTS)) return { quality: [], resources: [], runs: [] };
  const stored = JSON.parse(readFileSync(RESULTS, 'utf8')) as Results & { summary?: unknown };
  return { quality: stored.quality, resources: stored.resources, runs: stored.runs };
}

function machine(): string {
  return `${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), Node ${process.version}, onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`;
}

async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: performance.now() - start };
}

async function measureQuality(first: number, last: number): Promise<QualityRow[]> {
  const archs = sampleArchitectures(originalSpace(QUALITY.space), QUALITY.architectures, QUALITY.sampleSeed, QUALITY.resolution).map((a) => validateArchitecture(a));
  const rows: QualityRow[] = [];
  // Every architecture sees the same images: made once per design, the first 16 of 64 being the batch of 16.
  const largest = Math.max(...QUALITY.batches);
  const images = new Map<InputDesign, Float32Array>();
  const inputsMs: Record<string, number> = {};
  for (const design of INPUT_DESIGNS) {
    for (const batch of QUALITY.batches) {
      const made = await timed(() => proxyInputImages(design, QUALITY.inputSeed, QUALITY.resolution, 0, batch));
      inputsMs[`${design}/${batch}`] = made.ms;
      if (batch === largest) images.set(design, made.value);
    }
  }
  const perImage = 3 * QUALITY.resolution * QUALITY.resolution;
  const batchOf = (design: InputDesign, batch: number) => images.get(design)!.subarray(0, batch * perImage);

  for (let index = first; index <= last; index++) {
    const arch = archs[index]!;
    const network = buildNetwork(arch);
    const counts = architectureCounts(arch);
    const row: QualityRow = {
      index,
      arch,
      units: codeActivations(network.blocks).reduce((sum, { shape }) => sum + shape[0] * shape[1] * shape[2], 0),
      macs: counts.macs,
      params: counts.params,
      scores: {},
      createMs: {},
      inputsMs,
      scoreMs: {},
    };
    const sessions: { normalization: Normalization; batch: number; variants: { id: VariantId; design: InputDesign }[] }[] = [
      { normalization: 'folded', batch: QUALITY.oldBatch, variants: [{ id: OLD, design: 'normal-noise' }] },
      ...QUALITY.batches.map((batch) => ({ normalization: 'batch' as const, batch, variants: NEW_VARIANTS.filter((v) => v.batch === batch) })),
    ];
    for (const { normalization, batch, variants } of sessions) {
      const createKey = `${normalization}/${batch}`;
      for (const weightSeed of QUALITY.weightSeeds) {
        const created = await timed(() => NaswotSession.create(network, { seed: weightSeed, batch, normalization, intraOpThreads: 1 }));
        row.createMs[createKey] = (row.createMs[createKey] ?? 0) + created.ms / QUALITY.weightSeeds.length;
        try {
          for (const { id, design } of variants) {
            const scored = await timed(() => created.value.score(batchOf(design, batch)));
            (row.scores[id] ??= []).push(scored.value.score);
            row.scoreMs[id] = (row.scoreMs[id] ?? 0) + scored.ms / QUALITY.weightSeeds.length;
          }
        } finally {
          await created.value.release();
        }
      }
    }
    rows.push(row);
    process.stdout.write(
      `arch ${index}: units ${row.units}, old ${row.scores[OLD]!.map((s) => s.toFixed(2)).join('/')}, bn/dead-leaves/16 ${row.scores[variantId('batch', 'dead-leaves', 16)]!.map((s) => s.toFixed(2)).join('/')}\n`,
    );
  }
  return rows;
}

function largestArchitecture(space: 'ofa-mbv3' | 'resnet50', resolution: number): Architecture {
  if (space === 'resnet50') {
    return validateArchitecture({
      space,
      resolution,
      stem: { skip: false, hiddenWidth: 2, outWidth: 2 },
      widths: [2, 2, 2, 2],
      units: [4, 4, 6, 4].map((d) => Array<string>(d).fill('e0.35')),
    });
  }
  return validateArchitecture({ space, resolution, units: Array.from({ length: 5 }, () => Array<string>(4).fill('e6k7')) });
}

/** In a child process: computeNaswot on the configuration's architectures; prints one JSON line. */
async function probe(space: 'ofa-mbv3' | 'resnet50', which: 'largest' | 'random', batch: number): Promise<void> {
  const archs =
    which === 'largest'
      ? [largestArchitecture(space, RESOLUTION_224)]
      : sampleArchitectures(originalSpace(space), RESOURCE_RANDOM_ARCHS, 'naswot-study-resources', RESOLUTION_224).map((a) => validateArchitecture(a));
  let ms = 0;
  let units = 0;
  for (const arch of archs) {
    const measured = await timed(() => computeNaswot({ arch, seed: 0, batch, intraOpThreads: 1 }));
    ms += measured.ms;
    units += measured.value.units;
  }
  const row: ResourceRow = {
    space,
    which,
    batch,
    architectures: archs.length,
    units: Math.round(units / archs.length),
    msPerArch: ms / archs.length,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

function runProbe(space: string, which: string, batch: number): Promise<ResourceRow> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, SCRIPT, 'probe', space, which, String(batch)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || !line) reject(new Error(`probe ${space} ${which} ${batch} exited with ${code}`));
      else resolvePromise(JSON.parse(line) as ResourceRow);
    });
  });
}

async function measureResources(): Promise<ResourceRow[]> {
  const rows: ResourceRow[] = [];
  for (const space of ['ofa-mbv3', 'resnet50'] as const) {
    for (const which of ['random', 'largest'] as const) {
      for (const batch of RESOURCE_BATCHES[which]) {
        const row = await runProbe(space, which, batch);
        process.stdout.write(`${space} ${which} batch ${batch}: ${(row.msPerArch / 1000).toFixed(2)} s/arch, peak RSS ${row.peakRssMiB.toFixed(0)} MiB\n`);
        rows.push(row);
      }
    }
  }
  return rows;
}

interface VariantSummary {
  id: VariantId;
  archs: number;
  /** Sample std of the scores across architectures (weight seed 0). */
  spreadAcross: number;
  /** Std of one architecture's score from the weight seed alone: std of (s0 − s1) / √2 over architectures. */
  seedNoise: number;
  /** spreadAcross / seedNoise. */
  signalToNoise: number;
  seedSpearman: number;
  spearmanUnits: number;
  spearmanMacs: number;
  spearmanParams: number;
  spearmanOld: number;
  /** Spearman with the scores of normal-noise inputs at the same normalisation and batch. */
  spearmanNormalNoise: number;
  /** The same figures for the score less N·ln N_A (log det of K / N_A), the part not set by the unit count. */
  residualMean: number;
  residualSpread: number;
  residualSeedNoise: number;
  residualSignalToNoise: number;
  residualSeedSpearman: number;
  residualSpearmanUnits: number;
  residualSpearmanMacs: number;
  /** Spearman of the residual with that of normal noise at the same normalisation and batch. */
  residualSpearmanNormalNoise: number;
  /** Per architecture: session creation + input generation + forward/codes/log-det, at 160. */
  msPerArch: number;
}

/** Spread of per-architecture values across architectures (seed 0), and how much the weight seed alone moves one: std((a − b)/√2). */
function seedStability(seed0: readonly number[], seed1: readonly number[]): { spread: number; seedNoise: number } {
  return {
    spread: std(seed0, 1),
    seedNoise: std(
      seed0.map((v, i) => (v - seed1[i]!) / Math.SQRT2),
      1,
    ),
  };
}

function summarise(rows: readonly QualityRow[]): VariantSummary[] {
  const ids = [OLD, ...NEW_VARIANTS.map((v) => v.id)];
  const column = (id: VariantId, seed: number) => rows.map((r) => r.scores[id]![seed]!);
  return ids.map((id) => {
    const [normalization, design, batchText] = id.split('/') as [string, InputDesign, string];
    const batch = Number(batchText);
    const s0 = column(id, 0);
    const s1 = column(id, 1);
    const residual = (scores: number[]) => scores.map((s, i) => s - batch * Math.log(rows[i]!.units));
    const { spread: spreadAcross, seedNoise } = seedStability(s0, s1);
    const [r0, r1] = [residual(s0), residual(s1)];
    const { spread: residualSpread, seedNoise: residualSeedNoise } = seedStability(r0, r1);
    const createKey = `${normalization === 'bn' ? 'batch' : 'folded'}/${batch}`;
    return {
      id,
      archs: rows.length,
      spreadAcross,
      seedNoise,
      signalToNoise: spreadAcross / seedNoise,
      seedSpearman: spearman(s0, s1),
      spearmanUnits: spearman(
        s0,
        rows.map((r) => r.units),
      ),
      spearmanMacs: spearman(
        s0,
        rows.map((r) => r.macs),
      ),
      spearmanParams: spearman(
        s0,
        rows.map((r) => r.params),
      ),
      spearmanOld: spearman(s0, column(OLD, 0)),
      spearmanNormalNoise: spearman(s0, column(`${normalization}/normal-noise/${batch}`, 0)),
      residualMean: mean(r0),
      residualSpread,
      residualSeedNoise,
      residualSignalToNoise: residualSpread / residualSeedNoise,
      residualSeedSpearman: spearman(r0, r1),
      residualSpearmanUnits: spearman(
        r0,
        rows.map((r) => r.units),
      ),
      residualSpearmanMacs: spearman(
        r0,
        rows.map((r) => r.macs),
      ),
      residualSpearmanNormalNoise: spearman(r0, residual(column(`${normalization}/normal-noise/${batch}`, 0))),
      msPerArch: mean(rows.map((r) => r.createMs[createKey]! + r.inputsMs[`${design}/${batch}`]! + r.scoreMs[id]!)),
    };
  });
}

function markdown(results: Results, summary: VariantSummary[]): string {
  const f = (v: number, digits = 2) => v.toFixed(digits);
  const lines = [
    '# NASWOT proxy: variants, input designs and batch sizes',
    '',
    'Written by `scripts/naswot-study.ts` (see its header for the commands). Runs:',
    '',
    ...results.runs.map((r) => `- \`${r.command}\` at ${r.at}: ${f(r.minutes, 1)} min, 1-minute load ${r.load.map((l) => f(l, 1)).join(' → ')} on ${r.machine}`),
    '',
    '## Quality',
    '',
    `${summary[0]?.archs ?? 0} random OFA-MobileNetV3 architectures at ${QUALITY.resolution} (sample seed "${QUALITY.sampleSeed}"), weight seeds ${QUALITY.weightSeeds.join(' and ')}, input seed ${QUALITY.inputSeed}, one intra-op thread.`,
    'Variant `normalisation/inputs/batch`: `folded` is the old proxy (BN folded into a small random bias), `bn` normalises by the batch statistics (as published).',
    '',
    "- spread: sample std of the scores across architectures (weight seed 0); seed noise: std of one architecture's score change from the weight seed alone, std((s0 − s1)/√2); S/N = spread / seed noise;",
    "- ρ: Spearman rank correlation of the seed-0 scores with the seed-1 scores, the number of code units N_A, MACs, parameters, the old variant's scores and those of normal-noise inputs at the same normalisation and batch;",
    '- time: session creation (export + onnxruntime) + input generation + forward pass, codes and log-det, per architecture at 160.',
    '',
    '| variant | spread | seed noise | S/N | ρ seeds | ρ units | ρ MACs | ρ params | ρ old | ρ normal noise | time (s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...summary.map(
      (s) =>
        `| ${s.id} | ${f(s.spreadAcross)} | ${f(s.seedNoise)} | ${f(s.signalToNoise, 1)} | ${f(s.seedSpearman)} | ${f(s.spearmanUnits)} | ${f(s.spearmanMacs)} | ${f(s.spearmanParams)} | ${f(s.spearmanOld)} | ${f(s.spearmanNormalNoise)} | ${f(s.msPerArch / 1000)} |`,
    ),
    '',
    "The residual: the score less N·ln N_A, i.e. log det(K / N_A), the part of the score the unit count does not set (N·ln N_A is the upper bound of the score, by Hadamard's inequality det K ≤ ∏ K_ii = N_A^N); ρ normal noise: Spearman with the residual of normal-noise inputs at the same normalisation and batch.",
    '',
    '| variant | residual mean | spread | seed noise | S/N | ρ seeds | ρ units | ρ MACs | ρ normal noise |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...summary.map(
      (s) =>
        `| ${s.id} | ${f(s.residualMean)} | ${f(s.residualSpread)} | ${f(s.residualSeedNoise)} | ${f(s.residualSignalToNoise, 1)} | ${f(s.residualSeedSpearman)} | ${f(s.residualSpearmanUnits)} | ${f(s.residualSpearmanMacs)} | ${f(s.residualSpearmanNormalNoise)} |`,
    ),
    '',
    '## Resources of the scorer (computeNaswot) at 224',
    '',
    `Each configuration in its own process: the largest architecture of the space, or the mean over ${RESOURCE_RANDOM_ARCHS} random ones (sample seed "naswot-study-resources"); peak RSS of the whole process, time per architecture (export, session, inputs, one forward pass, codes, log-det), one intra-op thread. Scorer variant: ${NASWOT_VARIANT.normalization}-statistics BN, ${NASWOT_VARIANT.inputs}.`,
    '',
    '| space | architecture | batch | code units per image | time per arch (s) | peak RSS (MiB) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.resources.map(
      (r) =>
        `| ${r.space} | ${r.which === 'largest' ? 'largest' : `${r.architectures} random`} | ${r.batch} | ${(r.units / 1e6).toFixed(2)} M | ${f(r.msPerArch / 1000)} | ${f(r.peakRssMiB, 0)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

function save(results: Results): void {
  const rows = [...results.quality].sort((a, b) => a.index - b.index);
  const summary = rows.length >= 3 ? summarise(rows) : [];
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    `${JSON.stringify({ settings: { quality: QUALITY, resources: { batches: RESOURCE_BATCHES, randomArchs: RESOURCE_RANDOM_ARCHS, resolution: RESOLUTION_224 } }, summary, ...results, quality: rows }, null, 1)}\n`,
  );
  writeFileSync(RESULTS.replace(/\.json$/, '.md'), markdown(results, summary));
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'probe') {
    const [space, which, batch] = args;
    if ((space !== 'ofa-mbv3' && space !== 'resnet50') || (which !== 'largest' && which !== 'random')) throw new Error(`probe: bad arguments ${args.join(' ')}`);
    return probe(space, which, Number(batch));
  }
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  const results = loadResults();
  if (command === 'quality') {
    const range = /^(\d+)-(\d+)$/.exec(args[args.indexOf('--archs') + 1] ?? `0-${QUALITY.architectures - 1}`);
    if (!range) throw new Error('quality: --archs FIRST-LAST');
    const [first, last] = [Number(range[1]), Number(range[2])];
    const measured = await measureQuality(first, Math.min(last, QUALITY.architectures - 1));
    results.quality = [...results.quality.filter((r) => !measured.some((m) => m.index === r.index)), ...measured];
  } else if (command === 'resources') {
    results.resources = await measureResources();
  } else if (command === 'report') {
    return save(results);
  } else {
    throw new Error('usage: naswot-study.ts quality [--archs FIRST-LAST] | resources | report');
  }
  results.runs.push({
    command: [command, ...args].join(' '),
    at: new Date().toISOString(),
    minutes: (performance.now() - started) / 60000,
    load: [loadBefore, loadavg()[0]!],
    machine: machine(),
  });
  save(results);
}

await main();
