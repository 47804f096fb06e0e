/**
 * User-defined spaces: a space definition document (docs/spaces.md) of the MBConv or the bottleneck family is a space
 * like the paper's three. Checked here: the validation names the field and the allowed values; the shipped
 * MobileNetV2-like example at MobileNetV2's own settings is MobileNetV2 (torchvision's parameter count, the paper's
 * 300M multiply-adds); its architectures sample, mutate, export to ONNX that onnxruntime runs and counts the same
 * MACs in; every `arch` command and `lut build` take it; and a demo-size study of it runs end to end on a real
 * Temporal dev server with the orchestrator and the device worker as separate CLI processes, which know the space
 * only from the study's spec.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../activities/storage/index.js';
import { blockKey, distinctBlocks } from '../activities/devices/lookup-table.js';
import { readRawSpec } from '../cli/spec-file.js';
import { sha256Hex } from '../pipelines/hash.js';
import type { InsightReport } from '../pipelines/insights.js';
import { countOnnxMacs, exportNetwork } from '../pipelines/onnx/index.js';
import type { BlockProfile } from '../pipelines/profile.js';
import { Rng } from '../pipelines/rng.js';
import { sampleArchitectures, sampleWithFixedBlock } from '../pipelines/sampling.js';
import { mutateArchitecture } from '../pipelines/search/mutation.js';
import {
  SpaceValidationError,
  architectureCounts,
  architectureHash,
  blockSpecs,
  buildNetwork,
  designSpace,
  originalSpace,
  parseBlockSpec,
  parseSpaceDefinition,
  registerSpace,
  validateArchitecture,
  type Architecture,
  type SpaceDefinition,
} from '../pipelines/spaces/index.js';
import { planStudy, type StudyPlan } from '../pipelines/study/plan.js';
import { StudySpecError, parseStudySpec } from '../pipelines/study/spec.js';
import { startStudy } from '../workers/study-client.js';
import { TEST_DEVICE, TEST_TIMEOUTS, spawnWorker, startTestTemporal, tempDir, writeTestDevicesFile, type TestTemporal } from './helpers/study.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = resolve(ROOT, 'bin/blockscope.mjs');
const V2_FILE = resolve(ROOT, 'presets/spaces/mobilenetv2-like.yaml');
const v2Raw = () => parseYaml(readFileSync(V2_FILE, 'utf8')) as Record<string, unknown>;
const V2 = registerSpace(parseSpaceDefinition(v2Raw())).id;

/** A small ResNet-like space of the bottleneck family: two widths, two expand ratios, two units. */
const TINY_RESNET: SpaceDefinition = parseSpaceDefinition({
  kind: 'blockscope.space-definition/v1',
  family: 'bottleneck',
  id: 'resnet-tiny',
  title: 'ResNet-tiny',
  resolutions: [128, 160],
  widthMultipliers: [0.5, 1.0],
  expands: [0.25, 0.5],
  stem: { channels: 32 },
  units: [
    { channels: 64, stride: 1, layers: [1, 2] },
    { channels: 128, stride: 2, layers: [1, 3] },
  ],
  classes: 100,
});
registerSpace(TINY_RESNET);

function problems(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SpaceValidationError || error instanceof StudySpecError) return error.message;
    throw error;
  }
  throw new Error('expected a validation error');
}

/** The output shape onnxruntime gives for a model on one image at a resolution. */
async function outputDims(model: Uint8Array, resolution: number): Promise<readonly number[]> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const image = new ort.Tensor('float32', new Float32Array(3 * resolution * resolution).fill(0.1), [1, 3, resolution, resolution]);
    const output = await session.run({ [session.inputNames[0]!]: image });
    return output[session.outputNames[0]!]!.dims;
  } finally {
    await session.release();
  }
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('space definition documents', () => {
  it('name the field and the allowed values of every problem', () => {
    expect(problems(() => parseSpaceDefinition({ ...v2Raw(), family: 'transformer' }))).toBe('family: unknown family "transformer"; allowed: mbconv, bottleneck');
    const many = problems(() =>
      parseSpaceDefinition({
        ...v2Raw(),
        kernels: [3, 4],
        stem: { channels: 32, activation: 'gelu' },
        units: [{ channels: 24, stride: 3, activation: 'relu6', se: false, layers: [3, 2] }],
        extra: 1,
      }),
    );
    expect(many).toContain('kernels[1]: expected an odd kernel size');
    expect(many).toContain('stem.activation: got an invalid value; allowed: "relu", "relu6", "hswish"');
    expect(many).toContain('units[0].stride');
    expect(many).toContain('units[0].layers: expected [minLayers, maxLayers] with minLayers <= maxLayers');
    expect(many).toContain('extra: unknown field');
    expect(problems(() => parseSpaceDefinition({ ...v2Raw(), id: 'MobileNet V2' }))).toContain('id: expected lowercase letters, digits and dashes');
  });

  it('keep one id for one space: a built-in id or another definition under a registered id is refused', () => {
    expect(problems(() => registerSpace(parseSpaceDefinition({ ...v2Raw(), id: 'ofa-mbv3' })))).toBe('id: "ofa-mbv3" is a built-in space; give the space another id');
    expect(problems(() => registerSpace(parseSpaceDefinition({ ...v2Raw(), kernels: [3] })))).toBe(
      'id: "mobilenetv2-like" is already registered with a different definition; give the space another id',
    );
    expect(registerSpace(parseSpaceDefinition(v2Raw())).id).toBe(V2);
    expect(problems(() => designSpace('mobilenet-v9'))).toContain('unknown design space "mobilenet-v9"; allowed: ofa-mbv3, proxylessnas, resnet50, mobilenetv2-like');
  });

  it("the MobileNetV2-like example at MobileNetV2's settings is MobileNetV2 1.0: 3,504,872 parameters and 300.8M MACs at 224", () => {
    const v2: Architecture = { space: V2, resolution: 224, units: [2, 3, 4, 3, 3, 1].map((depth) => Array<string>(depth).fill('e6k3')) };
    const counts = architectureCounts(validateArchitecture(v2));
    // torchvision's mobilenet_v2 has 3,504,872 parameters (BatchNorm's included); the paper reports 300M multiply-adds.
    expect(counts.params).toBe(3_504_872);
    expect(counts.macs).toBe(300_774_272);
  });

  it('MBConv family: specs, validation, sampling, mutation and ONNX that onnxruntime runs with the counted MACs', async () => {
    const specs = blockSpecs(V2);
    expect(specs).toHaveLength((2 + 3 + 4 + 3 + 3 + 1) * 4);
    expect(parseBlockSpec(V2, '4,2,e6k5')).toEqual({ kind: 'mbconv', unit: 4, layer: 2, block: 'e6k5' });
    expect(problems(() => parseBlockSpec(V2, '4,2,e4k7'))).toContain('BLOCK one of e3k3, e3k5, e6k3, e6k5');
    expect(problems(() => validateArchitecture({ space: V2, resolution: 176, units: [] }))).toBe('resolution: expected one of 128, 160, 192, 224, got 176');

    const doc = originalSpace(V2);
    const archs = sampleArchitectures(doc, 30, 'v2', 160);
    expect(sampleArchitectures(doc, 30, 'v2', 160).map(architectureHash)).toEqual(archs.map(architectureHash));
    for (const arch of archs) expect(validateArchitecture(arch)).toEqual(arch);
    for (const arch of sampleWithFixedBlock(parseBlockSpec(V2, '4,1,e6k5'), 5, 'v2', { space: V2, resolution: 128 })) expect(arch.units[4]![1]).toBe('e6k5');
    const rng = new Rng('v2-mutation');
    let arch = archs[0]!;
    for (let i = 0; i < 100; i++) validateArchitecture((arch = mutateArchitecture(arch, doc, rng)));

    const bytes = exportNetwork(buildNetwork(archs[1]!));
    expect(sha256Hex(exportNetwork(buildNetwork(archs[1]!)))).toBe(sha256Hex(bytes));
    expect(countOnnxMacs(bytes)).toBe(architectureCounts(archs[1]!).macs);
    expect(await outputDims(bytes, 160)).toEqual([1, 1000]);
  });

  it('bottleneck family: a ResNet-like space with its own widths, expands and classes', async () => {
    const id = TINY_RESNET.id;
    const specs = blockSpecs(id);
    // Stem skip on/off, the distinct stem widths (hidden 16/32, out 16/32), then units × widths × layers × blocks.
    expect(specs).toHaveLength(2 + 2 + 2 + (2 * 2 * 2 + 2 * 3 * 2));
    expect(parseBlockSpec(id, '1,2,e0.5,1')).toEqual({ kind: 'bottleneck', unit: 1, layer: 2, block: 'e0.5', width: 1 });
    const doc = originalSpace(id);
    const rng = new Rng('tiny');
    let arch = sampleArchitectures(doc, 1, 'tiny', 128)[0]!;
    for (let i = 0; i < 50; i++) validateArchitecture((arch = mutateArchitecture(arch, doc, rng)));
    const bytes = exportNetwork(buildNetwork(arch));
    expect(countOnnxMacs(bytes)).toBe(architectureCounts(arch).macs);
    expect(await outputDims(bytes, 128)).toEqual([1, 100]);
    // Every distinct block of the space is covered by the lookup table's architectures.
    const keys = new Set(distinctBlocks(id, [128]).map((b) => b.key));
    for (const sample of sampleArchitectures(doc, 20, 'cover', 128)) {
      for (const block of buildNetwork(sample).blocks) expect(keys.has(blockKey(block.descriptor))).toBe(true);
    }
  });

  it('a study spec names its space by file; the spec carries the definition and checks resolutions against it', () => {
    const raw = readRawSpec('demo-mobilenetv2') as Record<string, unknown>;
    expect(raw.space).toBe(V2);
    const spec = parseStudySpec(raw);
    expect(spec.spaceDefinition?.title).toBe('MobileNetV2-like (width 1.0)');
    expect(planStudy(spec).architectures.every((a) => a.arch.space === V2)).toBe(true);
    expect(problems(() => parseStudySpec({ ...raw, resolutions: [176] }))).toContain('resolutions[0]: 176 is not allowed in mobilenetv2-like; allowed: 128, 160, 192, 224');
    expect(problems(() => parseStudySpec({ ...raw, space: 'mobilenet-v9' }))).toContain('space: "mobilenet-v9" differs from spaceDefinition.id "mobilenetv2-like"');
    expect(problems(() => parseStudySpec({ ...raw, spaceDefinition: { ...v2Raw(), kernels: [2] } }))).toContain('spaceDefinition.kernels[0]: expected an odd kernel size');
    expect(problems(() => parseStudySpec({ name: 'x', space: 'mobilenet-v9' }))).toContain('unknown design space "mobilenet-v9"');
  });
});

describe('the CLI takes a space definition file wherever it takes --space', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('user-space-cli');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('arch blocks | sample | stats | export', () => {
    const blocks = cli(['arch', 'blocks', '--space', V2_FILE]);
    expect(blocks.status).toBe(0);
    expect(blocks.stdout.trim().split('\n')).toHaveLength(64);
    const sample = cli(['arch', 'sample', '--space', V2_FILE, '--count', '1', '--fix', '4,2,e6k5', '--resolution', '128', '--seed', '3']);
    expect(sample.status).toBe(0);
    const arch = JSON.parse(sample.stdout) as Architecture;
    expect(arch.units[4]![2]).toBe('e6k5');
    const archFile = join(dir, 'arch.json');
    writeFileSync(archFile, sample.stdout);
    const stats = cli(['arch', 'stats', '--space', V2_FILE, '--arch', `@${archFile}`]);
    expect(JSON.parse(stats.stdout)).toMatchObject({ hash: architectureHash(arch), macs: architectureCounts(arch).macs });
    const out = join(dir, 'arch.onnx');
    expect(cli(['arch', 'export', '--space', V2_FILE, '--arch', `@${archFile}`, '--out', out]).status).toBe(0);
    expect(countOnnxMacs(readFileSync(out))).toBe(architectureCounts(arch).macs);
  });

  it('gives an edited definition under the same id other architecture hashes, so nothing measured for the old one is reused', () => {
    const edited = join(dir, 'edited.yaml');
    writeFileSync(edited, readFileSync(V2_FILE, 'utf8').replace('{ channels: 160, stride: 2', '{ channels: 176, stride: 2'));
    const arch = JSON.stringify(sampleArchitectures(originalSpace(V2), 1, 'edited', 160)[0]);
    const [before, after] = [V2_FILE, edited].map((file) => JSON.parse(cli(['arch', 'stats', '--space', file, '--arch', arch]).stdout) as { hash: string; macs: number });
    expect(before!.hash).toBe(architectureHash(JSON.parse(arch) as Architecture));
    expect(after!.hash).not.toBe(before!.hash);
    expect(after!.macs).toBeGreaterThan(before!.macs);
  });

  it('refuses a bad definition file with the field, without a stack trace', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(V2_FILE, 'utf8').replace('expands: [3, 6]', 'expands: [3, 6, 6]'));
    const result = cli(['arch', 'blocks', '--space', bad]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`--space: ${bad}: space definition: invalid space definition:\n  expands: expected distinct values`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(cli(['arch', 'blocks', '--space', join(dir, 'missing.yaml')]).stderr).toContain('cannot read the space definition');
  });

  it('lut build measures every distinct block of the space on onnxruntime', () => {
    const devicesFile = writeTestDevicesFile(dir);
    const out = join(dir, 'lut.yaml');
    const result = cli([
      'lut',
      'build',
      '--device',
      TEST_DEVICE,
      '--space',
      resolve(ROOT, 'presets/spaces/mobilenetv2-like.yaml'),
      '--resolution',
      '128',
      '--devices',
      devicesFile,
      '--out',
      out,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const table = parseYaml(readFileSync(out, 'utf8')) as { space: string; entries: Record<string, { ms: number }> };
    expect(table.space).toBe(V2);
    expect(Object.keys(table.entries).sort()).toEqual(
      distinctBlocks(V2, [128])
        .map((b) => b.key)
        .sort(),
    );
    for (const entry of Object.values(table.entries)) expect(entry.ms).toBeGreaterThan(0);
  });
});

describe('a demo-size study of a user-defined space, end to end', () => {
  let temporal: TestTemporal;
  let dir: string;
  let store: FsArtifactStore;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    dir = tempDir('user-space-study');
    temporal = await startTestTemporal(join(dir, 'temporal.db'));
    store = new FsArtifactStore(join(dir, 'store'));
    const devicesFile = writeTestDevicesFile(dir);
    // Both workers as their own processes: they know the space only from the study's spec.
    for (const role of [['--orchestrator'], ['--device', TEST_DEVICE]]) {
      workers.push(spawnWorker(role, { address: temporal.server.address, devicesFile, storeUrl: `fs://${store.root}` }));
    }
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGTERM');
    await temporal?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('profiles, derives insights, searches and reports the MobileNetV2-like space', async () => {
    const raw = {
      ...(readRawSpec('demo-mobilenetv2') as Record<string, unknown>),
      name: 'user-space',
      samplesPerSpec: 2,
      baselineSamples: 4,
      devices: [TEST_DEVICE],
      accuracy: { source: 'naswot-proxy', proxyBatch: 8, batchSize: 6 },
      measurement: { batchSize: 6 },
      search: { objectives: ['pareto'], seeds: 1, initialSize: 6, iterations: 1, budgetPerIteration: 4, remeasureFront: true },
    };
    const started = await startStudy(temporal.client, raw, { timeouts: TEST_TIMEOUTS });
    const result = await started.handle.result();

    const plan = await store.getJson<StudyPlan>(`studies/${result.studyId}/plan.json`);
    expect(plan.space).toBe(V2);
    expect(plan.architectures.map((a) => a.hash)).toEqual(planStudy(parseStudySpec(raw)).architectures.map((a) => a.hash));
    const profile = await store.getJson<BlockProfile>(`studies/${result.studyId}/profiles/${TEST_DEVICE}/r128/profile.json`);
    expect(profile.space).toBe(V2);
    expect(profile.specs.map((s) => s.label)).toContain('Unit 4 Layer 0 as MBConv6_5x5');
    for (const spec of profile.specs) expect(spec.metrics.latency!.mean).toBeGreaterThan(0);

    expect(result.insights.length).toBeGreaterThan(0);
    const insights = await store.getJson<InsightReport>(result.insights[0]!.reportKey);
    expect(insights.prunedSpace.space).toBe(V2);
    expect(insights.kernelVsExpansion).not.toBeNull();
    expect(result.comparisons.length).toBeGreaterThan(0);
    const html = await store.getText(result.report!.htmlKey);
    expect(html).toContain('mobilenetv2-like');

    // The analysis commands in fresh processes, on the study's own artifacts.
    const files = join(dir, 'cli');
    mkdirSync(files);
    const profileFile = join(files, 'profile.json');
    writeFileSync(profileFile, JSON.stringify(profile));
    const derived = join(files, 'derived.json');
    const insightsRun = cli(['insights', '--profile', profileFile, '--space', V2_FILE, '--device', TEST_DEVICE, '--objective', 'pareto', '--out', derived]);
    expect(insightsRun.status, insightsRun.stderr).toBe(0);
    expect(JSON.parse(readFileSync(derived, 'utf8'))).toMatchObject({ space: V2 });
    const predictorFile = join(files, 'predictor.json');
    writeFileSync(predictorFile, await store.getText(`studies/${result.studyId}/predictor/${TEST_DEVICE}.json`));
    const searchArgs = ['--predictor', predictorFile, '--initial', '4', '--iterations', '1', '--budget', '3', '--resolution', '128', '--out', join(files, 'search')];
    const search = cli(['search', '--space', V2_FILE, '--pruned', derived, '--device', TEST_DEVICE, '--objective', 'pareto', ...searchArgs]);
    expect(search.status, search.stderr).toBe(0);
    const report = spawnSync(process.execPath, [BIN, 'study', 'report', started.workflowId, '--address', temporal.server.address, '--out', join(files, 'report')], {
      encoding: 'utf8',
      env: { ...process.env, BLOCKSCOPE_STORE: `fs://${store.root}` },
    });
    expect(report.status, report.stderr).toBe(0);
    expect(readFileSync(join(files, 'report', 'report.html'), 'utf8')).toContain('mobilenetv2-like');
  }, 600_000);
});
