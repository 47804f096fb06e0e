/**
 * OFA's trained accuracy predictor as the 'predictor' accuracy source: the encoding against OFA's spec2feats, the
 * pretrained weights (read in place from ../shared/realdata, never copied) on OFA's specialized nets, the weights'
 * validation, the spec's edge checks, the scorer's cache, the CLI, and one small study through Temporal.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccuracyInputError, accuracyCacheKey, createAccuracyScorer, loadAccuracyPredictor, predictorSettingsHash, type PredictorScore } from '../activities/accuracy/index.js';
import { saveLookupTable } from '../activities/devices/lookup-table.js';
import { FsArtifactStore } from '../activities/storage/index.js';
import { studyKeys } from '../activities/study/keys.js';
import {
  AccuracyPredictorError,
  OFA_MLP_METHOD,
  OFA_MLP_TENSORS,
  encodeOfaArchitecture,
  forwardOfaMlp,
  parseOfaMlpWeights,
  predictTop1,
  type OfaMlpWeights,
} from '../pipelines/accuracy-predictor.js';
import type { InsightReport } from '../pipelines/insights.js';
import type { BlockProfile } from '../pipelines/profile.js';
import { originalSpace } from '../pipelines/spaces/index.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import type { MbArchitecture } from '../pipelines/spaces/types.js';
import { StudySpecError, parseStudySpec } from '../pipelines/study/spec.js';
import { startStudy } from '../workers/study-client.js';
import { kernelBoundTable } from './helpers/synthetic-device.js';
import { realData, specializedNet } from './helpers/realdata.js';
import { TEST_TIMEOUTS, smallSpec, startTestStack, tempDir, type TestStack } from './helpers/study.js';

const WEIGHTS = realData('ofa-accuracy-predictor', 'acc_predictor.weights.json');
const PTH = realData('ofa-accuracy-predictor', 'acc_predictor.pth');
const BIN = resolve(import.meta.dirname, '../bin/blockscope.mjs');

/** OFA's four specialized ofa-mbv3 (w1.2) nets at 224, in the order of their published top-1. */
const SPECIALIZED_NETS = [
  { name: 'note10_lat-30ms_top1-78.4_finetune-75', top1: 78.4 },
  { name: 'pixel1_lat-79ms_top1-78.7_finetune-75', top1: 78.7 },
  { name: 'flops-389M_top1-79.1_finetune-75', top1: 79.1 },
  { name: 'flops-482M_top1-79.6_finetune-75', top1: 79.6 },
];

/**
 * OFA's own encoder, ported line for line (once-for-all ofa/tutorial/accuracy_predictor.py, spec2feats): 20 kernel
 * and expand values (one per slot, the slots beyond a unit's depth holding anything), the depths and the resolution.
 */
function spec2feats(ksList: number[], exList: number[], dList: number[], r: number): number[] {
  const ks = [...ksList];
  const ex = [...exList];
  let start = 0;
  let end = 4;
  for (const d of dList) {
    for (let j = start + d; j < end; j++) {
      ks[j] = 0;
      ex[j] = 0;
    }
    start += 4;
    end += 4;
  }
  const ksOnehot = Array<number>(60).fill(0);
  const exOnehot = Array<number>(60).fill(0);
  const rOnehot = Array<number>(8).fill(0);
  const ksMap: Record<number, number> = { 3: 0, 5: 1, 7: 2 };
  const exMap: Record<number, number> = { 3: 0, 4: 1, 6: 2 };
  for (let i = 0; i < 20; i++) {
    if (ks[i] !== 0) ksOnehot[i * 3 + ksMap[ks[i]!]!] = 1;
    if (ex[i] !== 0) exOnehot[i * 3 + exMap[ex[i]!]!] = 1;
  }
  rOnehot[Math.floor((r - 112) / 16)] = 1;
  return [...ksOnehot, ...exOnehot, ...rOnehot];
}

/** Weights of the right shapes, all zero but the output bias: every architecture is predicted `top1` percent. */
function constantWeights(top1: number): Record<string, unknown> {
  const tensor = (shape: readonly number[]): unknown => (shape.length === 1 ? Array<number>(shape[0]!).fill(0) : Array.from({ length: shape[0]! }, () => tensor(shape.slice(1))));
  return Object.fromEntries(OFA_MLP_TENSORS.map(({ name, shape }) => [name, name === '6.bias' ? [top1 / 100] : tensor(shape)]));
}

const HAND: MbArchitecture = {
  space: 'ofa-mbv3',
  resolution: 176,
  units: [
    ['e3k5', 'e6k7'],
    ['e4k3', 'e3k3', 'e6k5'],
    ['e6k7', 'e6k7', 'e6k7', 'e6k7'],
    ['e3k3', 'e4k5'],
    ['e4k7', 'e3k5', 'e6k3'],
  ],
};

describe('the OFA encoding (pure)', () => {
  it('encodes a hand-written architecture as the 128-vector computed by hand', () => {
    // slot = 4·unit + layer; kernel one-hot at 3·slot + {3:0, 5:1, 7:2}; expand at 60 + 3·slot + {3:0, 4:1, 6:2}.
    const kernelOnes = [1, 5, /* u1 */ 12, 15, 19, /* u2 */ 26, 29, 32, 35, /* u3 */ 36, 40, /* u4 */ 50, 52, 54];
    const expandOnes = [60, 65, /* u1 */ 73, 75, 80, /* u2 */ 86, 89, 92, 95, /* u3 */ 96, 100, /* u4 */ 109, 111, 116];
    const resolutionOne = 120 + (176 - 112) / 16; // 124
    const expected = Array<number>(128).fill(0);
    for (const i of [...kernelOnes, ...expandOnes, resolutionOne]) expected[i] = 1;
    const features = encodeOfaArchitecture(HAND);
    expect(features).toHaveLength(128);
    expect([...features]).toEqual(expected);
    // Unit 0 has depth 2: its slots 2 and 3 are all zero, in the kernel and in the expand part.
    expect([...features.slice(6, 12)]).toEqual(Array(6).fill(0));
    expect([...features.slice(66, 72)]).toEqual(Array(6).fill(0));
    // Resolution one-hot: 112 at index 120, 224 at 127.
    expect(encodeOfaArchitecture({ ...HAND, resolution: 112 })[120]).toBe(1);
    expect(encodeOfaArchitecture({ ...HAND, resolution: 224 })[127]).toBe(1);
  });

  it("equals OFA's spec2feats, ported line for line, on 200 sampled architectures at every resolution", () => {
    const doc = originalSpace('ofa-mbv3');
    for (const resolution of doc.resolutions) {
      for (const arch of sampleArchitectures(doc, 40, `enc-${resolution}`, resolution) as MbArchitecture[]) {
        // The slots beyond a unit's depth hold a block anyway, as OFA's sample does: spec2feats zeroes them.
        const slots = arch.units.flatMap((blocks) => [...blocks, ...Array<string>(4 - blocks.length).fill('e6k7')]);
        const ks = slots.map((b) => Number(/k(\d)/.exec(b)![1]));
        const ex = slots.map((b) => Number(/e(\d)/.exec(b)![1]));
        expect([...encodeOfaArchitecture(arch)]).toEqual(
          spec2feats(
            ks,
            ex,
            arch.units.map((u) => u.length),
            resolution,
          ),
        );
      }
    }
  });

  it('refuses other spaces, resolutions it has no slot for, and blocks or depths it does not encode, naming the field', () => {
    const refuse = (arch: unknown, message: RegExp) => expect(() => encodeOfaArchitecture(arch as MbArchitecture)).toThrow(message);
    refuse({ ...HAND, space: 'proxylessnas' }, /^space: .*covers space ofa-mbv3 only, not proxylessnas/);
    refuse({ ...HAND, resolution: 232 }, /^resolution: .*112, 128, 144, 160, 176, 192, 208, 224 only, not 232/);
    refuse({ ...HAND, resolution: 100 }, /not 100/);
    refuse({ ...HAND, units: HAND.units.slice(0, 4) }, /^units: expected 5 units, got 4/);
    refuse({ ...HAND, units: [['e3k5'], ...HAND.units.slice(1)] }, /^units\[0\]: depth 1 out of the predictor's range 2\.\.4/);
    refuse({ ...HAND, units: [['e3k5', 'e5k3'], ...HAND.units.slice(1)] }, /^units\[0\]\[1\]: block "e5k3" is not one the predictor encodes/);
    expect(() => encodeOfaArchitecture({ ...HAND, space: 'resnet50' })).toThrow(AccuracyPredictorError);
  });
});

describe('predictor weights (pure)', () => {
  it('parses the eight tensors and computes the MLP in float64, with ReLU between the layers only', () => {
    const weights = parseOfaMlpWeights(constantWeights(70));
    expect(weights.layers.map((l) => [l.outputs, l.inputs])).toEqual([
      [400, 128],
      [400, 400],
      [400, 400],
      [1, 400],
    ]);
    expect(predictTop1(weights, HAND)).toBeCloseTo(70, 12);
    // A two-unit check of the arithmetic: a negative hidden value is cut by ReLU, the output is not.
    const tiny: OfaMlpWeights = {
      format: 'ofa-mlp',
      layers: [
        { inputs: 2, outputs: 2, weight: Float64Array.from([1, 2, -1, -1]), bias: Float64Array.from([0.5, 0]) },
        { inputs: 2, outputs: 1, weight: Float64Array.from([-1, 10]), bias: Float64Array.from([0.25]) },
      ],
    };
    // hidden = relu([1·1 + 2·1 + 0.5, −1 − 1]) = [3.5, 0]; out = −3.5 + 0 + 0.25 (no ReLU on the output).
    expect(forwardOfaMlp(tiny, Float64Array.from([1, 1]))).toBe(-3.25);
  });

  it('refuses a tensor of the wrong shape, a missing or unknown tensor and a non-number, naming the tensor', () => {
    const good = constantWeights(70);
    const refuse = (change: (w: Record<string, unknown>) => void, message: RegExp) => {
      const w = structuredClone(good);
      change(w);
      expect(() => parseOfaMlpWeights(w)).toThrow(message);
    };
    refuse((w) => (w['2.weight'] = (w['2.weight'] as number[][]).map((row) => row.slice(1))), /^tensor "2\.weight": expected shape \[400, 400\], got \[400, 399\]/);
    refuse((w) => (w['0.weight'] = (w['0.weight'] as number[][]).slice(0, 300)), /^tensor "0\.weight": expected shape \[400, 128\], got \[300, 128\]/);
    refuse((w) => ((w['4.weight'] as number[][])[17] = Array<number>(401).fill(0)), /^tensor "4\.weight": expected shape \[400, 400\], got \[401\] at 4\.weight\[17\]/);
    refuse((w) => (w['6.bias'] = 0.7), /^tensor "6\.bias": expected shape \[1\], got a number/);
    refuse((w) => delete w['4.bias'], /^tensor "4\.bias": missing; expected shape \[400\]/);
    refuse((w) => (w['8.weight'] = [[1]]), /^unknown tensor "8\.weight"; OFA's predictor \(format ofa-mlp\) has exactly 0\.weight, 0\.bias/);
    refuse((w) => ((w['0.bias'] as unknown[])[3] = 'x'), /^tensor "0\.bias"\[3\]: expected a finite number, got "x"/);
    expect(() => parseOfaMlpWeights([1, 2])).toThrow(/expected a JSON object of tensors/);
  });
});

describe("OFA's pretrained predictor on its specialized nets", () => {
  let weights: OfaMlpWeights;
  beforeAll(() => {
    weights = parseOfaMlpWeights(JSON.parse(readFileSync(WEIGHTS, 'utf8')));
  });

  it('predicts the four ofa-mbv3 nets at 224 in the order of their published top-1, deterministically, between 60 and 85', () => {
    const rows = SPECIALIZED_NETS.map(({ name, top1 }) => {
      const arch = specializedNet(name);
      expect(arch.resolution).toBe(224);
      expect(arch.units).toHaveLength(5);
      const predicted = predictTop1(weights, arch);
      // Deterministic: the same value again, and from weights parsed afresh.
      expect(predictTop1(weights, arch)).toBe(predicted);
      return { name, published: top1, predicted, arch };
    });
    const again = parseOfaMlpWeights(JSON.parse(readFileSync(WEIGHTS, 'utf8')));
    for (const row of rows) expect(predictTop1(again, row.arch)).toBe(row.predicted);
    console.log(rows.map((r) => `${r.name}: predicted ${r.predicted.toFixed(2)} (published, fine-tuned: ${r.published})`).join('\n'));
    for (const row of rows) {
      expect(row.predicted).toBeGreaterThan(60);
      expect(row.predicted).toBeLessThan(85);
    }
    const predicted = rows.map((r) => r.predicted);
    expect(predicted).toEqual([...predicted].sort((a, b) => a - b));
    expect(new Set(predicted).size).toBe(4);
  });

  it('loads the JSON form with its sha256, and refuses the .pth, pointing to the conversion', async () => {
    const loaded = await loadAccuracyPredictor({ format: 'ofa-mlp', weights: WEIGHTS });
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(predictTop1(loaded.weights, specializedNet(SPECIALIZED_NETS[0]!.name))).toBe(predictTop1(weights, specializedNet(SPECIALIZED_NETS[0]!.name)));
    if (existsSync(PTH)) {
      await expect(loadAccuracyPredictor({ format: 'ofa-mlp', weights: PTH })).rejects.toThrow(
        /this is a PyTorch file \(\.pth\); blockscope reads the JSON form only: .*docs\/accuracy\.md/,
      );
    }
  });
});

describe('the predictor source: spec, scorer, CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('predictor');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('validates the spec at the edge: format, weights, space and resolutions', () => {
    const predictor = { format: 'ofa-mlp', weights: 'acc_predictor.weights.json' };
    const spec = (overrides: Record<string, unknown>) => smallSpec('predictor-spec', { accuracy: { source: 'predictor', predictor }, ...overrides });
    const issues = (raw: Record<string, unknown>): string[] => {
      try {
        parseStudySpec(raw);
      } catch (error) {
        if (error instanceof StudySpecError) return error.issues;
        throw error;
      }
      return [];
    };
    expect(parseStudySpec(spec({ resolutions: [160, 176, 192, 208, 224] })).accuracy).toMatchObject({ source: 'predictor', predictor });
    expect(issues(spec({ space: 'resnet50', blocks: 'all' }))).toEqual([
      'accuracy.source: "predictor" (format ofa-mlp) covers space ofa-mbv3 only, not resnet50; allowed sources for resnet50: "naswot-proxy", "table", "evaluator"',
    ]);
    expect(issues(spec({ space: 'proxylessnas', blocks: 'all' }))[0]).toMatch(/^accuracy\.source: .*covers space ofa-mbv3 only, not proxylessnas/);
    expect(issues(spec({ accuracy: { source: 'predictor', predictor: { format: 'onnx', weights: 'w.json' } } }))).toEqual([
      'accuracy.predictor.format: got an invalid value; allowed: "ofa-mlp"',
    ]);
    expect(issues(spec({ accuracy: { source: 'predictor', predictor: { format: 'ofa-mlp' } } }))).toEqual(['accuracy.predictor.weights: expected string']);
    expect(issues(spec({ accuracy: { source: 'predictor' } }))).toEqual(['accuracy.predictor: required when source is "predictor": { format: ofa-mlp, weights: PATH }']);
    expect(issues(spec({ accuracy: { source: 'table', table: 'a.csv', predictor } }))).toEqual(['accuracy.predictor: used only when source is "predictor", but source is "table"']);
    expect(issues(spec({ accuracy: { source: 'oracle' } }))[0]).toBe('accuracy.source: got an invalid value; allowed: "naswot-proxy", "table", "evaluator", "predictor"');
  });

  it('caches by the weights file: the second score is from the cache, a changed file (another sha256) is scored afresh', async () => {
    const file = join(dir, 'weights.json');
    writeFileSync(file, JSON.stringify(constantWeights(70)));
    const store = new FsArtifactStore(join(dir, 'store'));
    const scorer = createAccuracyScorer({ source: 'predictor', predictor: { format: 'ofa-mlp', weights: file }, proxyBatch: 8, seed: 0 }, store);
    expect(scorer.source).toBe('predictor');
    const arch = { ...HAND, resolution: 224 };
    const first = await scorer.score(arch);
    expect(first.fromCache).toBe(false);
    expect(first.value.source).toBe('predictor');
    expect(first.value.score).toBeCloseTo(70, 12);
    const sha70 = (first.value as PredictorScore).predictor.sha256;
    expect(first.value).toMatchObject({ predictor: { format: 'ofa-mlp', weights: file } });
    const second = await scorer.score(arch);
    expect(second).toEqual({ value: first.value, fromCache: true });
    const key70 = accuracyCacheKey('predictor', predictorSettingsHash({ format: 'ofa-mlp', method: OFA_MLP_METHOD, sha256: sha70 }), first.value.hash);
    expect(await store.exists(key70)).toBe(true);

    // The same scorer (a long-running worker) notices the new file; a fresh scorer does too.
    writeFileSync(file, JSON.stringify(constantWeights(75)));
    const changed = await scorer.score(arch);
    expect(changed.fromCache).toBe(false);
    expect(changed.value.score).toBeCloseTo(75, 12);
    expect((changed.value as PredictorScore).predictor.sha256).not.toBe(sha70);
    const fresh = createAccuracyScorer({ source: 'predictor', predictor: { format: 'ofa-mlp', weights: file }, proxyBatch: 8, seed: 0 }, store);
    expect(await fresh.score(arch)).toEqual({ value: changed.value, fromCache: true });
    await scorer.close();
    await fresh.close();
  });

  it('refuses what it cannot score, as an AccuracyInputError naming the file or the field', async () => {
    const store = new FsArtifactStore(join(dir, 'store-errors'));
    const scorerFor = (weights: string) => createAccuracyScorer({ source: 'predictor', predictor: { format: 'ofa-mlp', weights }, proxyBatch: 8, seed: 0 }, store);
    const bad = join(dir, 'bad.json');
    const w = constantWeights(70);
    w['6.weight'] = [Array<number>(399).fill(0)];
    writeFileSync(bad, JSON.stringify(w));
    const arch = { ...HAND, resolution: 224 };
    await expect(scorerFor(bad).score(arch)).rejects.toThrow(
      new AccuracyInputError(`accuracy predictor ${bad} (format ofa-mlp): tensor "6.weight": expected shape [1, 400], got [1, 399]`),
    );
    await expect(scorerFor(join(dir, 'absent.json')).score(arch)).rejects.toThrow(/^accuracy predictor .*absent\.json \(format ofa-mlp\): cannot read it/);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(constantWeights(70)));
    await expect(scorerFor(good).score({ space: 'proxylessnas', resolution: 224, units: [...HAND.units, ['e3k3']] })).rejects.toThrow(
      /^accuracy\.predictor: OFA's accuracy predictor \(format ofa-mlp\) covers space ofa-mbv3 only, not proxylessnas/,
    );
    expect(() => createAccuracyScorer({ source: 'predictor', proxyBatch: 8, seed: 0 }, store)).toThrow(/accuracy\.predictor: required/);
  });

  it('blockscope accuracy --source predictor prints the predicted top-1, labelled as a prediction', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, BLOCKSCOPE_STORE: `fs://${join(dir, 'cli-store')}` };
    const arch = specializedNet(SPECIALIZED_NETS[3]!.name);
    const archFile = join(dir, 'arch.json');
    writeFileSync(archFile, JSON.stringify(arch));
    const { stdout } = await run(process.execPath, [BIN, 'accuracy', '--source', 'predictor', '--weights', WEIGHTS, '--space', 'ofa-mbv3', '--arch', `@${archFile}`], { env });
    const printed = JSON.parse(stdout) as PredictorScore & { label: string; fromCache: boolean };
    const expected = predictTop1(parseOfaMlpWeights(JSON.parse(readFileSync(WEIGHTS, 'utf8'))), arch);
    expect(printed).toMatchObject({ source: 'predictor', label: 'predicted top-1 (OFA accuracy predictor)', fromCache: false, predictor: { format: 'ofa-mlp', weights: WEIGHTS } });
    expect(printed.score).toBe(expected);
    console.log(`blockscope accuracy --source predictor: ${stdout.trim()}`);

    const fail = (args: string[]) =>
      run(process.execPath, [BIN, 'accuracy', '--source', 'predictor', ...args], { env }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
    const [otherSpace, noWeights] = await Promise.all([fail(['--weights', WEIGHTS, '--space', 'resnet50', '--arch', '{}']), fail(['--space', 'ofa-mbv3', '--arch', `@${archFile}`])]);
    expect(otherSpace.code).toBe(2);
    expect(otherSpace.stderr).toMatch(/--space: --source predictor \(format ofa-mlp\) covers ofa-mbv3 only, not resnet50/);
    expect(noWeights.code).toBe(2);
    expect(noWeights.stderr).toMatch(/--weights: required with --source predictor/);
  });
});

describe('a study with accuracy from the predictor, through Temporal', () => {
  const DEVICE = 'kernel-bound-lut';
  let stack: TestStack;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('predictor-study');
    await saveLookupTable(join(dir, 'kernel-bound.yaml'), kernelBoundTable(160, DEVICE));
    const devicesFile = join(dir, 'devices.yaml');
    writeFileSync(devicesFile, `devices:\n  - id: ${DEVICE}\n    backend: lookup-table\n    table: kernel-bound.yaml\n`);
    stack = await startTestStack(dir, { devicesFile, device: DEVICE });
  });

  afterAll(() => stack?.close());

  it('profiles, derives insights, searches and reports with the predicted top-1, named as such', async () => {
    const spec = smallSpec('predictor-study', {
      devices: [DEVICE],
      accuracy: { source: 'predictor', predictor: { format: 'ofa-mlp', weights: WEIGHTS }, batchSize: 5 },
      search: { objectives: ['pareto'], seeds: 1, initialSize: 6, iterations: 1, budgetPerIteration: 4, remeasureFront: false },
    });
    const started = await startStudy(stack.temporal.client, spec, { timeouts: TEST_TIMEOUTS });
    const result = await started.handle.result();
    // The predictor computes next to nothing on the orchestrator's host: the campaigns run at once.
    expect(result.prepared.overlapAccuracy).toBe(true);
    const keys = studyKeys(started.workflowId);
    const profile = await stack.store.getJson<BlockProfile>(keys.profile(DEVICE, 160, 'json'));
    expect(profile.accuracySource).toBe('predictor');
    for (const spec of profile.specs) {
      expect(spec.metrics.accuracy!.mean).toBeGreaterThan(50);
      expect(spec.metrics.accuracy!.mean).toBeLessThan(90);
    }
    // The insights call the figure what it is: "predicted top-1", never plain "accuracy" or a "proxy score".
    const insights = await stack.store.getJson<InsightReport>(keys.insights(DEVICE, 'pareto', 'report.json'));
    expect(insights.accuracySource).toBe('predictor');
    const sentences = insights.insights.map((i) => i.sentence);
    console.log(`insights (pareto):\n${sentences.join('\n')}`);
    expect(sentences.some((text) => text.includes('predicted top-1'))).toBe(true);
    for (const text of sentences) expect(text.replaceAll('predicted top-1', '').replaceAll('max-accuracy', '')).not.toMatch(/accuracy|proxy score/);
    const cached = await stack.store.list('cache/accuracy/predictor/');
    expect(cached.length).toBeGreaterThanOrEqual(result.prepared.architectures);
    const html = await stack.store.getText(keys.report('report.html'));
    expect(html).toContain('predicted top-1 (OFA accuracy predictor)');
    expect(html).toContain('not measured, and not the accuracy of a fine-tuned net');
    expect(html).not.toContain('NASWOT proxy');
    expect(html).not.toContain('top-1 accuracy (%)');
  }, 300_000);
});
