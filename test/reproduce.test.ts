/**
 * `npm run reproduce` reduced (issue 24): the same pipeline as the full run (scripts/reproduce-run.ts) on the real
 * published inputs in ../shared/realdata (OFA's Note10 table and accuracy predictor, read in place) with few
 * samples, seeds and evaluations, through a real Temporal dev server. It checks the import's ground truth (OFA's
 * specialized nets: which are members, note10_lat-30ms at about 30 ms, the predictor ordering the four 224 nets
 * as their published top-1) and that the reproduction's artifacts come out complete: every difference between
 * the derived and the paper's spaces carries its evidence. The full run's figures are in bench/results/reproduce.*.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILES, checkDataDir, runReproduction, type ReproduceResult } from '../scripts/reproduce-run.js';
import { REALDATA, realData } from './helpers/realdata.js';

const MEMBERS_AT_224 = ['flops@389M_top1@79.1_finetune@75', 'flops@482M_top1@79.6_finetune@75', 'note10_lat@30ms_top1@78.4_finetune@75', 'pixel1_lat@79ms_top1@78.7_finetune@75'].map(
  (n) => n.replace(/@/g, '-'),
);

let tmp: string;
let result: ReproduceResult;

beforeAll(async () => {
  realData(DATA_FILES.table);
  tmp = await mkdtemp(join(os.tmpdir(), 'blockscope-reproduce-'));
  result = await runReproduction({
    data: REALDATA,
    home: join(tmp, 'home'),
    out: join(tmp, 'out'),
    overrides: {
      samplesPerSpec: 3,
      seeds: 2,
      pareto: { initialSize: 20, iterations: 2, budgetPerIteration: 20 },
      maxAccuracy: { initialSize: 10, iterations: 2, budgetPerIteration: 10 },
    },
  });
}, 600_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('reproduce: the import ground truth', () => {
  it("imports exactly OFA's four w1.2 nets at 224 and refuses the rest with a reason", () => {
    const members = result.subnets.filter((s) => s.member).map((s) => s.net);
    expect(members.sort()).toEqual([...MEMBERS_AT_224].sort());
    expect(result.subnets).toHaveLength(50);
    for (const s of result.subnets.filter((n) => !n.member)) expect(s.reason).toMatch(/\w/);
  });

  it('costs note10_lat-30ms about 30 ms on the imported table (OFA: 29.97 ms)', () => {
    const net = result.subnets.find((s) => s.net.startsWith('note10_lat-30ms'))!;
    expect(Math.abs(net.note10Ms! - 30) / 30).toBeLessThan(0.01);
    expect(Math.abs(net.note10Ms! - 29.97)).toBeLessThan(0.02);
  });

  it('predicts the four members in the order of their published top-1', () => {
    const members = result.subnets.filter((s) => s.member);
    const byPublished = [...members].sort((a, b) => a.publishedTop1! - b.publishedTop1!).map((s) => s.net);
    const byPredicted = [...members].sort((a, b) => a.predictedTop1! - b.predictedTop1!).map((s) => s.net);
    expect(byPredicted).toEqual(byPublished);
    expect(result.predictorExtremes.smallest).toBeLessThan(result.baseline.accuracy);
    expect(result.baseline.accuracy).toBeLessThan(result.predictorExtremes.largest);
  });
});

describe('reproduce: the artifacts', () => {
  it('writes reproduce.json and reproduce.md with Table 2, Fig. 8 and the space comparison', () => {
    const json = JSON.parse(readFileSync(join(tmp, 'out', 'reproduce.json'), 'utf8')) as ReproduceResult;
    expect(json.kind).toBe('blockscope.reproduce/v1');
    expect(json.data.files.map((f) => f.path)).toEqual([DATA_FILES.table, DATA_FILES.predictor]);
    const md = readFileSync(join(tmp, 'out', 'reproduce.md'), 'utf8');
    for (const heading of ['## Targets', "## The derived spaces against the paper's", '## Table 2', '## Fig. 8', '## Blocks:', '## Layer ranges', "## OFA's specialized nets"]) {
      expect(md).toContain(heading);
    }
    expect(existsSync(result.reportHtml)).toBe(true);
    expect(readFileSync(result.reportHtml, 'utf8')).toContain("Reproduction: the paper's spaces and figures");
  });

  it("sets Table 2's rows beside the paper's and Fig. 8's ratios with intervals", () => {
    const table2 = result.paper.table2!;
    expect(table2.rows.map((r) => r.arm)).toEqual(['original', 'derived', 'paper:n10', 'paper:max_acc']);
    expect(table2.rows.find((r) => r.arm === 'original')!.published).toEqual({ mean: 78.9, std: 0.07 });
    expect(table2.rows.find((r) => r.arm === 'paper:max_acc')!.published).toEqual({ mean: 79.2, std: 0.04 });
    for (const r of table2.rows) {
      expect(r.accuracy.values).toHaveLength(2);
      if (r.arm === 'original') expect(r.vsBaseline).toBeNull();
      else expect(r.vsBaseline!.low).toBeLessThanOrEqual(r.vsBaseline!.high);
    }
    const fig8 = result.paper.fig8!;
    expect(fig8.rows.map((r) => r.arm)).toEqual(['original', 'derived', 'paper:n10', 'paper:max_acc']);
    for (const r of fig8.rows.filter((x) => x.arm !== 'original')) expect(r.ratio!.low).toBeLessThanOrEqual(r.ratio!.estimate);
    expect(result.targets).toHaveLength(2);
    // Which space the searches support, derived against each paper space on its own objective.
    expect(result.paper.verdicts.map((v) => [v.paper, v.measure])).toEqual([
      ['n10', 'hypervolume ratio'],
      ['max_acc', 'accuracy difference'],
    ]);
    for (const v of result.paper.verdicts) expect(v.derivedVsPaper.low).toBeLessThanOrEqual(v.derivedVsPaper.high);
  });

  it('compares the derived spaces with n10 and max_acc and explains every difference with evidence', () => {
    const spaces = result.paper.spaces.map((c) => [c.paper, c.objective]);
    expect(spaces).toEqual([
      ['n10', 'pareto'],
      ['max_acc', 'max-accuracy'],
    ]);
    for (const c of result.paper.spaces) {
      expect(c.blocks).toHaveLength(9);
      expect(c.caps).toHaveLength(5);
      for (const b of c.blocks.filter((x) => !x.agree)) {
        // The contrasts that decide it: the block against each of the 8 others.
        expect(b.contrasts).toHaveLength(8);
        // A block the derived space dropped names the insight that dropped it.
        if (b.derivedUnits.length < b.paperUnits.length) expect(b.insights.length).toBeGreaterThan(0);
      }
      for (const cap of c.caps.filter((x) => !x.agree)) {
        expect(cap.layers.length).toBeGreaterThan(0);
        const derivedNarrower = cap.derived.max - cap.derived.min < cap.paper.max - cap.paper.min;
        if (derivedNarrower) expect(cap.insights.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('reproduce: bad input', () => {
  it('names the missing file and the layout a data folder needs', () => {
    expect(() => checkDataDir(tmp)).toThrow(/ofa-note10\/224_lookup_table\.yaml is missing; the folder must be laid out like \.\.\/shared\/realdata/);
  });
});
