/**
 * `blockscope profile import` (issue 25): a profile from measurements taken elsewhere. The "elsewhere" here is
 * real published data: 3,000 random ofa-mbv3 architectures at 224 costed on OFA's Note10 per-block table
 * (../shared/realdata, read in place, imported as `lut import` does) and scored by OFA's accuracy predictor, written
 * as JSON lines with two bad records. The profile must come out of the shared-random path, identify every block
 * (the table is a sum of its rows: R² 1), and read as a phone's table does: within a position, a larger kernel or
 * expand ratio never costs less, and latency follows the expand ratio more than the kernel, as the paper-scale
 * block-fixed study of the same table found (bench/results/reproduce.md).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLookupTableFiles, lookupLatency, type LookupTable } from '../activities/devices/index.js';
import { loadAccuracyPredictor } from '../activities/accuracy/predictor-source.js';
import { predictTop1 } from '../pipelines/accuracy-predictor.js';
import { deriveInsights } from '../pipelines/insights.js';
import type { BlockProfile } from '../pipelines/profile.js';
import type { BlockRegression } from '../pipelines/regression.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { originalSpace, parseMbBlock, type MbArchitecture } from '../pipelines/spaces/index.js';
import { blockscope, type CliOutcome } from './helpers/cli.js';
import { realData } from './helpers/realdata.js';

let dir: string;
let table: LookupTable;
let result: CliOutcome;
let profile: BlockProfile;

beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'blockscope-profile-import-'));
  table = (await importLookupTableFiles([realData('ofa-note10', '224_lookup_table.yaml')], { format: 'ofa', space: 'ofa-mbv3', device: 'note10' })).table;
  const predictor = await loadAccuracyPredictor({ format: 'ofa-mlp', weights: realData('ofa-accuracy-predictor', 'acc_predictor.weights.json') });
  const archs = sampleArchitectures(originalSpace('ofa-mbv3'), 3000, 'profile-import', 224);
  const lines = archs.map((arch) => JSON.stringify({ arch, latencyMs: lookupLatency(table, arch).totalMs, accuracy: predictTop1(predictor.weights, arch) }));
  // Two records that are not measured members of the space: another space's block, and no latency.
  lines.splice(10, 0, JSON.stringify({ arch: { ...archs[0]!, units: [['e5k3', 'e3k3'], ...archs[0]!.units.slice(1)] }, latencyMs: 20, accuracy: 80 }));
  lines.splice(20, 0, JSON.stringify({ arch: archs[1], accuracy: 80 }));
  await writeFile(join(dir, 'note10.jsonl'), `${lines.join('\n')}\n`);
  result = await blockscope(['profile', 'import', '--space', 'ofa-mbv3', '--measurements', join(dir, 'note10.jsonl'), '--device', 'note10', '--out', join(dir, 'out')]);
  profile = JSON.parse(await readFile(join(dir, 'out', 'profile-r224.json'), 'utf8')) as BlockProfile;
}, 300_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('blockscope profile import', () => {
  it('refuses the records outside the space, naming the line and the field', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('refused 2 of 3002 records');
    expect(result.stderr).toMatch(/note10\.jsonl:11: arch: .*e5k3/);
    expect(result.stderr).toMatch(/note10\.jsonl:21: latencyMs: expected a positive number \(ms\), got undefined/);
  });

  it('builds the shared-random profile, identifies every block and fits the latency predictor', () => {
    expect(profile.kind).toBe('blockscope.profile/v1');
    expect(profile.depthRule).toBe('held');
    expect(profile.baseline.n).toBe(3000);
    const fit = profile.regression!.latency as BlockRegression;
    expect(fit.rSquared).toBeGreaterThan(0.9999);
    expect(fit.blocks).toHaveLength(5 * 4 * 9);
    expect(result.stdout).toMatch(/r224: 3000 architectures; 180 block effects from 3000 architectures \(R² 1\.000/);
    const mape = Number(/MAPE ([\d.]+)%/.exec(result.stdout)![1]);
    expect(mape).toBeLessThan(3);
  });

  it('reads as the phone table does: larger kernels and expand ratios never cheaper, latency following the expand ratio', () => {
    const fit = profile.regression!.latency as BlockRegression;
    for (const b of fit.blocks) {
      const { expand, kernel } = parseMbBlock(b.block)!;
      const at = (block: string) => fit.blocks.find((o) => o.unit === b.unit && o.layer === b.layer && o.block === block)!;
      if (kernel < 7) expect(at(`e${expand}k${kernel + 2}`).effect).toBeGreaterThanOrEqual(b.effect - 1e-6);
      if (expand < 6) expect(at(`e${expand === 3 ? 4 : 6}k${kernel}`).effect).toBeGreaterThanOrEqual(b.effect - 1e-6);
    }
    const report = deriveInsights(profile, { objective: 'pareto' });
    expect(report.kernelVsExpansion!.dominant).toBe('expand');
    expect(report.estimates.map((e) => e.source)).toEqual(['regression', 'regression']);
  });

  it('profiles latency alone when the records carry no accuracy', async () => {
    const text = readFileSync(join(dir, 'note10.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 400)
      .map((line) => {
        const { accuracy: _, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify(rest);
      });
    await writeFile(join(dir, 'latency-only.jsonl'), text.join('\n'));
    const only = await blockscope([
      'profile',
      'import',
      '--space',
      'ofa-mbv3',
      '--measurements',
      join(dir, 'latency-only.jsonl'),
      '--device',
      'note10',
      '--out',
      join(dir, 'latency-only'),
    ]);
    expect(only.code, only.stderr).toBe(0);
    expect(only.stderr).toContain('the profiles hold latency, MACs and parameters only');
    const latencyOnly = JSON.parse(await readFile(join(dir, 'latency-only', 'profile-r224.json'), 'utf8')) as BlockProfile;
    expect(latencyOnly.metrics).not.toContain('accuracy');
    expect(latencyOnly.regression!.accuracy).toMatchObject({ skipped: expect.stringMatching(/cannot identify/) });
  });

  it("reads OFA's subnet settings from CSV into the very same profile, refusing what the space lacks", async () => {
    // The same records as CSV in OFA's form: ks, e (20 slots, inactive ones filled with 7 and 6, which OFA ignores),
    // d and r. Three bad rows: an expand ratio the space lacks, a short ks, a depth of 5.
    const records = readFileSync(join(dir, 'note10.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { arch: MbArchitecture; latencyMs?: number; accuracy: number })
      .filter((r) => r.latencyMs !== undefined && !r.arch.units[0]!.includes('e5k3'));
    const slots = (arch: MbArchitecture, part: 'kernel' | 'expand') =>
      arch.units.flatMap((blocks) => [0, 1, 2, 3].map((l) => (blocks[l] ? parseMbBlock(blocks[l])![part] : part === 'kernel' ? 7 : 6)));
    const quoted = (values: unknown) => `"${JSON.stringify(values)}"`;
    const row = (ks: unknown, e: unknown, d: unknown, latencyMs: number, accuracy: number) => [quoted(ks), quoted(e), quoted(d), 224, latencyMs, accuracy].join(',');
    const rows = records.map(({ arch, latencyMs, accuracy }) =>
      row(
        slots(arch, 'kernel'),
        slots(arch, 'expand'),
        arch.units.map((u) => u.length),
        latencyMs!,
        accuracy,
      ),
    );
    const first = records[0]!.arch;
    const badExpand = slots(first, 'expand').map((e, i) => (i === 0 ? 5 : e));
    rows.splice(
      4,
      0,
      row(
        slots(first, 'kernel'),
        badExpand,
        first.units.map((u) => u.length),
        20,
        80,
      ),
    );
    rows.splice(
      6,
      0,
      row(
        slots(first, 'kernel').slice(1),
        slots(first, 'expand'),
        first.units.map((u) => u.length),
        20,
        80,
      ),
    );
    rows.splice(8, 0, row(slots(first, 'kernel'), slots(first, 'expand'), [5, 2, 2, 2, 2], 20, 80));
    await writeFile(join(dir, 'note10.csv'), `ks,e,d,r,lat_ms,acc\n${rows.join('\n')}\n`);
    const args = ['--measurements', join(dir, 'note10.csv'), '--device', 'note10', '--arch-format', 'ofa-subnet', '--latency-field', 'lat_ms'];
    const csv = await blockscope(['profile', 'import', '--space', 'ofa-mbv3', ...args, '--accuracy-field', 'acc', '--out', join(dir, 'csv')]);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stderr).toContain(`refused 3 of ${records.length + 3} records`);
    expect(csv.stderr).toMatch(/note10\.csv:6: ofa-subnet ks\/e\/d\/r: units\[0\]\[0\]: unknown block "e5k\d"; allowed: e3k3, /);
    expect(csv.stderr).toMatch(/note10\.csv:8: ofa-subnet ks\/e\/d\/r: ks: expected a list of 20 integers/);
    expect(csv.stderr).toMatch(/note10\.csv:10: ofa-subnet ks\/e\/d\/r: d\[0\]: depth 5 exceeds unit 0's 4 layers/);
    const fromCsv = JSON.parse(await readFile(join(dir, 'csv', 'profile-r224.json'), 'utf8')) as BlockProfile;
    expect(fromCsv).toEqual(profile);
    // A bottleneck space has no kernel and expand slots: refused with the reason, nothing written.
    const resnet = await blockscope(['profile', 'import', '--space', 'resnet50', ...args, '--out', join(dir, 'resnet')]);
    expect(resnet.code).toBe(2);
    expect(resnet.stderr).toMatch(/resnet50 is a bottleneck space; OFA subnet settings \(ks, e, d\) describe MBConv-family spaces/);
  });

  it('exits 2 with the reason when no record is usable', async () => {
    await writeFile(join(dir, 'bad.jsonl'), '{"arch": 1}\nnot json\n');
    const bad = await blockscope(['profile', 'import', '--space', 'ofa-mbv3', '--measurements', join(dir, 'bad.jsonl'), '--device', 'x', '--out', join(dir, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: not a JSON object/);
    expect(bad.stderr).toMatch(/no record of .*bad\.jsonl is a measured architecture of ofa-mbv3/);
  });
});
