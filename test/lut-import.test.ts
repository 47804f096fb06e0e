/**
 * `blockscope lut import` on real published data: OFA's Samsung Note10 per-block latency tables
 * (../shared/realdata/ofa-note10, read in place), the generic CSV/JSON form, the lookup-table device that uses
 * the imported table, and the command end to end. The expected numbers come from the YAML files themselves and
 * from OFA's own formula (the plain sum of the rows a network uses), written out here independently of the importer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  LookupTableImportError,
  convertGenericRows,
  convertOfaTables,
  createMeasurer,
  distinctBlocks,
  loadLookupTable,
  lookupLatency,
  lookupTableToGeneric,
  parseDevices,
  parseGenericTable,
  formatOfaRowKey,
  parseOfaRowKey,
  saveLookupTable,
  type LutImportResult,
  type SourceFile,
} from '../activities/devices/index.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { originalSpace, type MbArchitecture } from '../pipelines/spaces/index.js';
import { blockscope } from './helpers/cli.js';
import { realData, specializedNet } from './helpers/realdata.js';

const NOTE10 = realData('ofa-note10');
const RESOLUTIONS = [160, 176, 192, 208, 224];
const Z95 = 1.959963984540054;

interface OfaRow {
  count: number;
  mean: number;
  std: number;
}

const note10Path = (resolution: number) => join(NOTE10, `${resolution}_lookup_table.yaml`);
const note10Text = (resolution: number) => readFileSync(note10Path(resolution), 'utf8');
const note10Rows = (resolution: number) => parseYaml(note10Text(resolution)) as Record<string, OfaRow>;
const source = (path: string, text = readFileSync(path, 'utf8')): SourceFile => ({ path, text });
const STEM_224 = 'stem:in=3x224x224:out=24x112x112:k=3:s=2:act=hswish';
const HEAD_224 = 'head:in=192x7x7:out=1000x1x1';
const HEAD_ROWS_224 = ['Conv_1-input:7x7x192-output:7x7x1152', 'AvgPool2D-input:7x7x1152-output:1x1x1152', 'Conv_2-input:1x1x1152-output:1x1x1536', 'Logits-input:1x1x1536-output:1000'];

/**
 * OFA's MBv3LatencyTable.predict_network_latency_given_config for an ofa-mbv3 (w1.2) architecture: the rows it
 * queries, written from OFA's code (stem 24; units 32/48/96/136/192 with strides 2/2/2/1/2, SE in units 1, 3, 4,
 * h-swish from unit 2; head 1152/1536), not from blockscope's network.
 */
function ofaRowKeys(arch: MbArchitecture): string[] {
  const channels = [32, 48, 96, 136, 192];
  const strides = [2, 2, 2, 1, 2];
  const se = [0, 1, 0, 1, 1];
  const hs = [0, 0, 1, 1, 1];
  const r = arch.resolution;
  let size = Math.floor((r + 1) / 2);
  const keys = [`Conv-input:${r}x${r}x3-output:${size}x${size}x24`, `expanded_conv-input:${size}x${size}x24-output:${size}x${size}x24-expand:24-kernel:3-stride:1-idskip:1-se:0-hs:0`];
  let cin = 24;
  arch.units.forEach((blocks, u) =>
    blocks.forEach((name, l) => {
      const [, e, k] = /^e(\d+)k(\d+)$/.exec(name)!;
      const stride = l === 0 ? strides[u]! : 1;
      const out = Math.floor((size - 1) / stride + 1);
      const cout = channels[u]!;
      const idskip = stride === 1 && cin === cout ? 1 : 0;
      keys.push(
        `expanded_conv-input:${size}x${size}x${cin}-output:${out}x${out}x${cout}-expand:${Math.round(cin * Number(e))}-kernel:${k}-stride:${stride}-idskip:${idskip}-se:${se[u]}-hs:${hs[u]}`,
      );
      size = out;
      cin = cout;
    }),
  );
  keys.push(
    `Conv_1-input:${size}x${size}x192-output:${size}x${size}x1152`,
    `AvgPool2D-input:${size}x${size}x1152-output:1x1x1152`,
    'Conv_2-input:1x1x1152-output:1x1x1536',
    'Logits-input:1x1x1536-output:1000',
  );
  return keys;
}

function ofaLatency(rows: Record<string, OfaRow>, arch: MbArchitecture): number {
  return ofaRowKeys(arch).reduce((total, key) => {
    const row = rows[key];
    if (!row) throw new Error(`test oracle: no row ${key}`);
    return total + row.mean;
  }, 0);
}

/** A row edit of a Note10 file: `edit` maps the YAML text. */
function edited(resolution: number, name: string, edit: (text: string) => string): SourceFile {
  const text = note10Text(resolution);
  const changed = edit(text);
  expect(changed, `${name}: the edit changed nothing`).not.toBe(text);
  return { path: `${name}.yaml`, text: changed };
}

/** Removes one row (its key line and its three value lines). */
function withoutRow(text: string, key: string): string {
  const lines = text.split('\n');
  const at = lines.indexOf(`${key}:`);
  expect(at, `row ${key}`).toBeGreaterThanOrEqual(0);
  return [...lines.slice(0, at), ...lines.slice(at + 4)].join('\n');
}

function refusal(run: () => unknown): LookupTableImportError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LookupTableImportError);
    return error as LookupTableImportError;
  }
  throw new Error('expected the import to be refused');
}

describe('OFA Note10 tables', () => {
  let all: LutImportResult;
  let only224: LutImportResult;

  beforeAll(() => {
    all = convertOfaTables(
      RESOLUTIONS.map((r) => source(note10Path(r))),
      { space: 'ofa-mbv3', device: 'note10' },
    );
    only224 = convertOfaTables([source(note10Path(224))], { space: 'ofa-mbv3', device: 'note10' });
  });

  it('parses and writes OFA row keys', () => {
    const key = 'expanded_conv-input:56x56x32-output:56x56x32-expand:96-kernel:5-stride:1-idskip:1-se:0-hs:0';
    expect(parseOfaRowKey(key)).toEqual({ op: 'expanded_conv', input: [56, 56, 32], output: [56, 56, 32], expand: 96, kernel: 5, stride: 1, idskip: 1, se: 0, hs: 0 });
    expect(formatOfaRowKey(parseOfaRowKey(key)!)).toBe(key);
    expect(parseOfaRowKey('Logits-input:1x1x1536-output:1000')).toEqual({ op: 'Logits', input: [1, 1, 1536], output: [1000] });
    expect(parseOfaRowKey('Logits-1x1x1536')).toBeUndefined();
  });

  it('imports all five files completely: 93 blocks per resolution, every row used', () => {
    expect(all.resolutions).toEqual(RESOLUTIONS.map((resolution) => ({ resolution, blocks: 93, files: [note10Path(resolution)] })));
    for (const resolution of RESOLUTIONS) {
      const keys = distinctBlocks('ofa-mbv3', [resolution]).map((b) => b.key);
      expect(keys).toHaveLength(93);
      for (const key of keys) expect(all.table.entries[key], `${key} at ${resolution}`).toBeDefined();
    }
    // 465 blocks over five resolutions, but a key is a block's shapes: the last unit's later layers and the head
    // have the same shapes at 176 and 192 (6x6) and at 208 and 224 (7x7), so 2 x 10 keys are shared.
    expect(Object.keys(all.table.entries)).toHaveLength(5 * 93 - 20);
    expect(new Set(all.pooled.map((p) => p.key)).size).toBe(20);
    expect(all.pooled.every((p) => !p.disagree)).toBe(true);
    expect(all.rows).toBe(5 * 96);
    expect(all.unused).toEqual([]);
    expect(all.table).toMatchObject({ kind: 'blockscope.lut/v1', device: 'note10', space: 'ofa-mbv3', resolutions: RESOLUTIONS, statistic: 'mean' });
    expect(all.table.fingerprint).toBeUndefined();
    expect(all.table.source).toMatch(/^OFA LatencyTable rows, mean of count runs/);
    for (const r of RESOLUTIONS) expect(all.table.source).toContain(`${r}_lookup_table.yaml at ${r}`);
    expect(Object.keys(only224.table.entries)).toHaveLength(93);
    expect(only224.unused).toEqual([]);
  });

  it("keeps the source's mean, spread and runs: the stem at 224 is the YAML row", () => {
    const row = note10Rows(224)['Conv-input:224x224x3-output:112x112x24']!;
    expect(row.mean).toBe(0.994418);
    const half = (Z95 * row.std) / Math.sqrt(row.count);
    for (const table of [all.table, only224.table]) {
      const entry = table.entries[STEM_224]!;
      expect(entry).toMatchObject({ ms: 0.994418, stdMs: row.std, runs: row.count, block: 'stem' });
      expect(entry.ci95Ms![0]).toBeCloseTo(row.mean - half, 12);
      expect(entry.ci95Ms![1]).toBeCloseTo(row.mean + half, 12);
    }
  });

  it('sums the four head rows into the head entry (pooling rows two files share)', () => {
    const rows = HEAD_ROWS_224.map((key) => note10Rows(224)[key]!);
    const head = only224.table.entries[HEAD_224]!;
    expect(head.ms).toBe(rows.reduce((total, r) => total + r.mean, 0));
    expect(head.stdMs).toBeCloseTo(Math.sqrt(rows.reduce((total, r) => total + r.std ** 2, 0)), 12);
    expect(head.runs).toBe(Math.min(...rows.map((r) => r.count)));
    const half = Z95 * Math.sqrt(rows.reduce((total, r) => total + r.std ** 2 / r.count, 0));
    expect(head.ci95Ms![0]).toBeCloseTo(head.ms - half, 12);
    expect(head.ci95Ms![1]).toBeCloseTo(head.ms + half, 12);

    // With all five files the 7x7 head is also 208's: each of its rows is the mean of both files' runs.
    const rows208 = HEAD_ROWS_224.map((key) => note10Rows(208)[key]!);
    const pooledMean = rows.reduce((total, r, i) => total + (r.count * r.mean + rows208[i]!.count * rows208[i]!.mean) / (r.count + rows208[i]!.count), 0);
    expect(all.table.entries[HEAD_224]!.ms).toBeCloseTo(pooledMean, 12);
    expect(all.table.entries[HEAD_224]!.runs).toBe(Math.min(...rows.map((r, i) => r.count + rows208[i]!.count)));
    expect(Math.abs(all.table.entries[HEAD_224]!.ms / head.ms - 1)).toBeLessThan(0.01);
  });

  it('refuses a table with a row removed, naming the block and the row', () => {
    const row = 'expanded_conv-input:56x56x32-output:28x28x48-expand:192-kernel:5-stride:2-idskip:0-se:1-hs:0';
    const block = 'mbconv:in=32x56x56:out=48x28x28:k=5:e=6:mid=192:s=2:se=1:act=relu:res=0';
    const error = refusal(() => convertOfaTables([edited(224, 'holed', (t) => withoutRow(t, row))], { space: 'ofa-mbv3' }));
    expect(error.missingKeys).toEqual([block]);
    expect(error.message).toBe(
      `the OFA table is incomplete for ofa-mbv3; no table was written:\nholed.yaml (resolution 224): 1 of 93 blocks of ofa-mbv3 have no row\n  ${block}: no row ${row}`,
    );
    // Without the stem row the resolution comes from the rows it does hold, and the stem is what is missing.
    const stemless = refusal(() => convertOfaTables([edited(176, 'stemless', (t) => withoutRow(t, 'Conv-input:176x176x3-output:88x88x24'))], { space: 'ofa-mbv3' }));
    expect(stemless.missingKeys).toEqual(['stem:in=3x176x176:out=24x88x88:k=3:s=2:act=hswish']);
  });

  it('says how the structure differs: other se, another width (w1.0 stem), another head', () => {
    const flipped = refusal(() =>
      convertOfaTables(
        [
          edited(224, 'se-flipped', (t) =>
            t.replace('-output:56x56x32-expand:96-kernel:3-stride:1-idskip:1-se:0-hs:0', '-output:56x56x32-expand:96-kernel:3-stride:1-idskip:1-se:1-hs:0'),
          ),
        ],
        { space: 'ofa-mbv3' },
      ),
    );
    expect(flipped.message).toContain(
      '  mbconv:in=32x56x56:out=32x56x56:k=3:e=3:mid=96:s=1:se=0:act=relu:res=1: no row expanded_conv-input:56x56x32-output:56x56x32-expand:96-kernel:3-stride:1-idskip:1-se:0-hs:0' +
        ' (the source has se:1 where ofa-mbv3 has se=0; row expanded_conv-input:56x56x32-output:56x56x32-expand:96-kernel:3-stride:1-idskip:1-se:1-hs:0)',
    );
    const hswish = refusal(() => convertOfaTables([edited(160, 'relu-unit', (t) => t.replaceAll('-se:1-hs:1', '-se:1-hs:0'))], { space: 'ofa-mbv3' }));
    expect(hswish.message).toMatch(/the source has hs:0 where ofa-mbv3 has act=hswish; row expanded_conv-input:10x10x136/);

    const w10 = refusal(() =>
      convertOfaTables([edited(224, 'w10', (t) => t.replace('Conv-input:224x224x3-output:112x112x24', 'Conv-input:224x224x3-output:112x112x16'))], { space: 'ofa-mbv3' }),
    );
    expect(w10.missingKeys).toEqual([STEM_224]);
    expect(w10.message).toContain(
      `  ${STEM_224}: no row Conv-input:224x224x3-output:112x112x24 (the source has output:112x112x16 where ofa-mbv3 has out=24x112x112: another width; row Conv-input:224x224x3-output:112x112x16)`,
    );

    const otherHead = refusal(() =>
      convertOfaTables(
        [
          edited(224, 'proxyless-head', (t) =>
            withoutRow(withoutRow(t, 'Conv_2-input:1x1x1152-output:1x1x1536'), 'AvgPool2D-input:7x7x1152-output:1x1x1152').replace(
              'Conv_1-input:7x7x192-output:7x7x1152',
              'Conv_1-input:7x7x192-output:7x7x1280',
            ),
          ),
        ],
        { space: 'ofa-mbv3' },
      ),
    );
    expect(otherHead.missingKeys).toEqual([HEAD_224]);
    expect(otherHead.message).toContain("no row Conv_1-input:7x7x192-output:7x7x1152 (the source has output:7x7x1280 where ofa-mbv3's head needs output:7x7x1152: another head");
    expect(otherHead.message).toContain(
      'no row AvgPool2D-input:7x7x1152-output:1x1x1152 (the source has no AvgPool2D row at all; its rows are Conv, Conv_1, Logits, expanded_conv: another head)',
    );
  });

  it('reports rows no block uses, and refuses resolutions and spaces it cannot fill', () => {
    const extra = 'Conv-input:224x224x3-output:112x112x16';
    const withExtra = convertOfaTables([edited(224, 'extra', (t) => `${t}${extra}:\n  count: 10\n  mean: 0.7\n  std: 0.01\n`)], { space: 'ofa-mbv3' });
    expect(withExtra.unused.map((r) => r.key)).toEqual([extra]);
    expect(Object.keys(withExtra.table.entries)).toHaveLength(93);

    expect(() => convertOfaTables([edited(224, 'r220', (t) => t.replace('Conv-input:224x224x3', 'Conv-input:220x220x3'))], { space: 'ofa-mbv3' })).toThrow(
      'r220.yaml: resolution 220 (its stem row "Conv-input:220x220x3-output:112x112x24") is not allowed in ofa-mbv3; allowed: 160, 176, 192, 208, 224',
    );
    expect(() => convertOfaTables([source(note10Path(224)), { path: 'again.yaml', text: note10Text(224) }], { space: 'ofa-mbv3' })).toThrow(
      `again.yaml: is at resolution 224, as ${note10Path(224)} is; give one file per resolution`,
    );
    expect(() => convertOfaTables([source(note10Path(224))], { space: 'proxylessnas' })).toThrow(/^--format ofa cannot fill a table of proxylessnas: .*act=relu6/);
    expect(() => convertOfaTables([source(note10Path(224))], { space: 'resnet50' })).toThrow(/this space has bottleneck blocks/);
    expect(() => convertOfaTables([edited(224, 'bad', (t) => t.replace('  mean: 0.994418', '  mean: fast'))], { space: 'ofa-mbv3' })).toThrow(
      'bad.yaml: row "Conv-input:224x224x3-output:112x112x24": mean: Invalid input: expected number, received string',
    );
  });

  it("estimates architectures as OFA does: a lookup-table device sums the architecture's rows", async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'blockscope-lut-import-'));
    try {
      await saveLookupTable(join(dir, 'note10-224.json'), only224.table);
      await saveLookupTable(join(dir, 'note10.json'), all.table);
      const registry = parseDevices(
        {
          devices: [
            { id: 'note10-224', backend: 'lookup-table', table: 'note10-224.json' },
            { id: 'note10', backend: 'lookup-table', table: 'note10.json' },
          ],
        },
        { source: 'inline', baseDir: dir },
      );
      const rows = note10Rows(224);
      const archs = sampleArchitectures(originalSpace('ofa-mbv3'), 5, 7, 224) as MbArchitecture[];
      for (const device of ['note10-224', 'note10']) {
        const measurer = createMeasurer(registry.get(device));
        try {
          for (const arch of archs) {
            const expected = ofaLatency(rows, arch);
            const m = await measurer.measure(arch);
            expect(m).toMatchObject({ backend: 'lookup-table', stopReason: 'lookup-table', resolution: 224 });
            // One file: exactly OFA's sum. All five: the rows shared with 208 are pooled, within a fraction of a percent.
            if (device === 'note10-224') expect(m.medianMs).toBeCloseTo(expected, 9);
            else expect(Math.abs(m.medianMs / expected - 1)).toBeLessThan(0.003);
          }
        } finally {
          await measurer.close();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("costs OFA's specialized net note10_lat-30ms 29.97 ms at 224, as OFA's own formula does", () => {
    // The net as OFA publishes it (../shared/realdata/ofa-specialized), through the product's importer (arch import).
    const arch = specializedNet('note10_lat-30ms_top1-78.4_finetune-75');
    expect(arch.resolution).toBe(224);
    const ofa = ofaLatency(note10Rows(224), arch);
    expect(Math.abs(ofa - 29.97)).toBeLessThan(0.01);
    expect(lookupLatency(only224.table, arch).totalMs).toBeCloseTo(ofa, 9);
    expect(Math.abs(lookupLatency(all.table, arch).totalMs - 29.97)).toBeLessThan(0.02);
  });

  describe('the generic form', () => {
    it('round-trips through CSV and JSON: the same entries', () => {
      for (const format of ['csv', 'json'] as const) {
        for (const table of [all.table, only224.table]) {
          const text = lookupTableToGeneric(table, format);
          const rows = parseGenericTable(format, text, `table.${format}`);
          const back = convertGenericRows(rows, [{ path: `table.${format}`, text }], { space: 'ofa-mbv3', device: 'note10', format, statistic: 'mean' });
          expect(back.table.entries).toEqual(table.entries);
          expect(back.table.resolutions).toEqual(table.resolutions);
          expect(back.table.statistic).toBe('mean');
          expect(back.unused).toEqual([]);
        }
      }
      const csv = lookupTableToGeneric(only224.table, 'csv').split('\n');
      expect(csv[0]).toBe('block,ms,std,count,ci95_low,ci95_high');
      expect(csv.find((line) => line.startsWith(`${STEM_224},`))).toMatch(/^stem:in=3x224x224:out=24x112x112:k=3:s=2:act=hswish,0\.994418,0\.01726798413249215,500,/);
    });

    it('takes a minimal table (block, ms) as medians, and a mean with std and count gets its interval', () => {
      const keys = distinctBlocks('ofa-mbv3', [160]).map((b) => b.key);
      const text = ['block,ms', ...keys.map((key, i) => `${key},${(0.1 + i / 100).toFixed(3)}`)].join('\n');
      const result = convertGenericRows(parseGenericTable('csv', text, 'min.csv'), [{ path: 'min.csv', text }], { space: 'ofa-mbv3', format: 'csv' });
      expect(result.table).toMatchObject({ device: 'imported', resolutions: [160] });
      expect(result.table.statistic).toBeUndefined();
      expect(result.table.entries[keys[0]!]).toEqual({ ms: 0.1, block: 'stem' });
      const json = JSON.stringify(keys.map((block) => ({ block, ms: 1, std: 0.5, count: 25 })));
      const mean = convertGenericRows(parseGenericTable('json', json, 't.json'), [{ path: 't.json', text: json }], { space: 'ofa-mbv3', format: 'json', statistic: 'mean' });
      const entry = mean.table.entries[keys[0]!]!;
      expect(entry).toMatchObject({ ms: 1, stdMs: 0.5, runs: 25, block: 'stem' });
      expect(entry.ci95Ms![0]).toBeCloseTo(1 - Z95 * 0.1, 12);
      expect(entry.ci95Ms![1]).toBeCloseTo(1 + Z95 * 0.1, 12);
    });

    it('names the file, the line or entry, the field and the allowed values', () => {
      expect(() => parseGenericTable('csv', 'block,ms,std,cnt\n', 'a.csv')).toThrow('a.csv:1: unknown column "cnt"; allowed: block, ms, std, count, ci95_low, ci95_high');
      expect(() => parseGenericTable('csv', 'block,std\n', 'a.csv')).toThrow('a.csv:1: required column "ms" missing');
      expect(() => parseGenericTable('csv', `# a comment\nblock,ms,count\n${STEM_224},abc,3\n${STEM_224},1,1.5\n${STEM_224},1\n`, 'b.csv')).toThrow(
        [
          'b.csv:3: ms: expected a number ≥ 0 (milliseconds), got "abc"',
          'b.csv:4: count: expected an integer ≥ 1 (the number of runs), got "1.5"',
          'b.csv:5: 2 fields where the header has 3 (block, ms, count)',
        ].join('\n'),
      );
      expect(() => parseGenericTable('json', JSON.stringify([{ block: STEM_224, ms: -1 }, { ms: 2 }, { block: STEM_224, ms: 1, foo: 2 }]), 'c.json')).toThrow(
        [
          'c.json: [0].ms: Too small: expected number to be >=0',
          'c.json: [1].block: required field missing (expected string)',
          'c.json: [2]: unknown field "foo"; allowed: block, ms, std, count, ci95',
        ].join('\n'),
      );
      const convert = (text: string) => () => convertGenericRows(parseGenericTable('csv', text, 'd.csv'), [{ path: 'd.csv', text }], { space: 'ofa-mbv3', format: 'csv' });
      expect(convert(`block,ms\nstem:in=3x224x224,1\n`)).toThrow('d.csv:2: block: "stem:in=3x224x224" is not a block key; expected TYPE:in=CxHxW:out=CxHxW');
      expect(convert(`block,ms\n${STEM_224},1\n${STEM_224},2\n`)).toThrow(`d.csv:3: block: "${STEM_224}" appears again (first at d.csv:2); give one row per block`);
    });

    it('refuses an incomplete generic table the same way, with the structural difference', () => {
      const keys = distinctBlocks('ofa-mbv3', [224]).map((b) => b.key);
      const flippedKey = 'mbconv:in=32x56x56:out=32x56x56:k=3:e=3:mid=96:s=1:se=0:act=relu:res=1';
      const rows = keys.filter((key) => key !== HEAD_224).map((key) => (key === flippedKey ? key.replace(':se=0:', ':se=1:') : key));
      const text = ['block,ms', ...rows.map((key) => `${key},1`)].join('\n');
      const error = refusal(() => convertGenericRows(parseGenericTable('csv', text, 'e.csv'), [{ path: 'e.csv', text }], { space: 'ofa-mbv3', format: 'csv' }));
      expect(error.missingKeys).toEqual([flippedKey, HEAD_224]);
      const line = rows.indexOf(flippedKey.replace(':se=0:', ':se=1:')) + 2;
      expect(error.message).toBe(
        [
          'e.csv is incomplete for ofa-mbv3; no table was written:',
          'resolution 224: 2 of 93 blocks of ofa-mbv3 have no row',
          `  ${flippedKey} (the source has se=1 where ofa-mbv3 has se=0; e.csv:${line}: ${flippedKey.replace(':se=0:', ':se=1:')})`,
          `  ${HEAD_224} (the source has no head row at all)`,
        ].join('\n'),
      );
    });
  });
});

describe('blockscope lut import / blocks / export', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'blockscope-lut-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('imports the Note10 tables, exports them to CSV and imports that back', async () => {
    const out = join(dir, 'note10.json');
    const imported = await blockscope(['lut', 'import', '--format', 'ofa', '--space', 'ofa-mbv3', '--in', ...RESOLUTIONS.map(note10Path), '--out', out, '--device', 'note10']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain(
      `wrote ${out}: 445 entries for ofa-mbv3 (blocks per resolution: 93 at 160, 93 at 176, 93 at 192, 93 at 208, 93 at 224) from 480 source rows; ms is the mean`,
    );
    expect(imported.stderr).toContain('20 entries are blocks with the same shapes at two resolutions');
    expect(imported.stderr).toContain('0 source rows are used by no block of ofa-mbv3');
    const { table } = await loadLookupTable(out);
    expect(table).toMatchObject({ device: 'note10', statistic: 'mean', resolutions: RESOLUTIONS });
    expect(table.entries[STEM_224]!.ms).toBe(0.994418);

    const csv = join(dir, 'note10.csv');
    expect((await blockscope(['lut', 'export', '--table', out, '--out', csv])).code).toBe(0);
    const back = join(dir, 'back.json');
    const reimported = await blockscope(['lut', 'import', '--format', 'csv', '--statistic', 'mean', '--device', 'note10', '--space', 'ofa-mbv3', '--in', csv, '--out', back]);
    expect(reimported.code, reimported.stderr).toBe(0);
    expect((await loadLookupTable(back)).table.entries).toEqual(table.entries);
  });

  it('lists the keys a complete table needs', async () => {
    const one = await blockscope(['lut', 'blocks', '--space', 'ofa-mbv3', '--resolution', '224']);
    expect(one.code).toBe(0);
    const keys = one.stdout.trim().split('\n');
    expect(keys).toEqual(distinctBlocks('ofa-mbv3', [224]).map((b) => b.key));
    expect(keys).toContain(STEM_224);
    expect(keys).toContain('first:in=24x112x112:out=24x112x112:k=3:e=1:mid=24:s=1:se=0:act=relu:res=1');
    expect(keys).toContain(HEAD_224);
    expect((await blockscope(['lut', 'blocks', '--space', 'ofa-mbv3'])).stdout.trim().split('\n')).toHaveLength(445);
  });

  it.each([
    [['--format', 'ofa', '--space', 'ofa-mbv3', '--in', '/nonexistent/224.yaml'], /^blockscope: --in: cannot read \/nonexistent\/224\.yaml \(ENOENT\)$/m],
    [['--format', 'xml', '--space', 'ofa-mbv3', '--in', note10Path(224)], /argument 'xml' is invalid\. Allowed choices are ofa, csv, json/],
    [
      ['--format', 'csv', '--space', 'ofa-mbv3', '--in', note10Path(224), '--resolution', '220'],
      /^blockscope: --resolution: 220 is not allowed in ofa-mbv3; allowed: 160, 176, 192, 208, 224$/m,
    ],
    [['--format', 'ofa', '--space', 'ofa-mbv3', '--in', note10Path(224), '--device', 'Note 10'], /^blockscope: --device: "Note 10" must match/m],
  ])('exits 2 with one message: %s', async (args, message) => {
    const outcome = await blockscope(['lut', 'import', ...args, '--out', join(dir, 'never.json')]);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(message);
    expect(outcome.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(dir, 'never.json'))).toBe(false);
  });

  it('refuses an incomplete table with exit 2 and writes nothing', async () => {
    const holed = join(dir, '224-holed.yaml');
    await writeFile(holed, withoutRow(await readFile(note10Path(224), 'utf8'), 'Logits-input:1x1x1536-output:1000'));
    const out = join(dir, 'holed.json');
    const outcome = await blockscope(['lut', 'import', '--format', 'ofa', '--space', 'ofa-mbv3', '--in', holed, '--out', out]);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toBe(
      `blockscope: the OFA table is incomplete for ofa-mbv3; no table was written:\n${holed} (resolution 224): 1 of 93 blocks of ofa-mbv3 have no row\n  ${HEAD_224}: no row Logits-input:1x1x1536-output:1000 (the source has no Logits row at all; its rows are AvgPool2D, Conv, Conv_1, Conv_2, expanded_conv: another head)\n`,
    );
    expect(existsSync(out)).toBe(false);
  });
});
