import { describe, expect, it } from 'vitest';
import { aggregateProfile, metricStats, profileToCsv, type BlockProfile, type MetricStats, type ProfileSpecInput } from '../pipelines/profile.js';
import type { ArchitectureMetrics } from '../pipelines/records.js';
import { Rng, deriveSeed } from '../pipelines/rng.js';
import { sampleArchitectures, sampleWithFixedBlock } from '../pipelines/sampling.js';
import { architectureHasBlock, architectureHash, originalSpace, parseMbBlock, type Architecture, type BlockSpec } from '../pipelines/spaces/index.js';
import { mean, tCritical95 } from '../pipelines/stats.js';
import { planStudy } from '../pipelines/study/plan.js';
import { parseStudySpec } from '../pipelines/study/spec.js';

const SEED = 'profile-test';
const N = 600;

/** Per-layer latency on two synthetic devices: the NPU pays for kernel size, the CPU for expansion. */
function layerLatency(device: 'npu' | 'cpu', block: string): number {
  const { expand, kernel } = parseMbBlock(block)!;
  return device === 'npu' ? 0.5 * kernel : 0.5 * expand;
}

function synthesise(arch: Architecture): ArchitectureMetrics {
  const hash = architectureHash(arch);
  const rng = new Rng(deriveSeed(SEED, hash));
  const blocks = arch.units.flat();
  const noise = () => rng.next() - 0.5;
  return {
    hash,
    accuracy: 70 + blocks.reduce((s, b) => s + parseMbBlock(b)!.expand * 0.1, 0) + noise(),
    macs: blocks.length * 1e6,
    params: blocks.length * 1e4,
    latencyMs: {
      npu: 2 + blocks.reduce((s, b) => s + layerLatency('npu', b), 0) + noise(),
      cpu: 2 + blocks.reduce((s, b) => s + layerLatency('cpu', b), 0) + noise(),
    },
  };
}

const specs: BlockSpec[] = [
  { kind: 'mbconv', unit: 0, layer: 0, block: 'e3k3' },
  { kind: 'mbconv', unit: 0, layer: 0, block: 'e3k7' },
  { kind: 'mbconv', unit: 4, layer: 3, block: 'e6k3' },
];
const sampled = specs.map((spec) => ({ spec, archs: sampleWithFixedBlock(spec, N, SEED, { space: 'ofa-mbv3' }) }));
const baselineArchs = sampleArchitectures(originalSpace('ofa-mbv3'), N, SEED);
const measured = new Map<string, ArchitectureMetrics>();
for (const arch of [...sampled.flatMap((s) => s.archs), ...baselineArchs]) {
  const m = synthesise(arch);
  measured.set(m.hash, m);
}
const specInputs: ProfileSpecInput[] = sampled.map(({ spec, archs }) => ({
  spec,
  archHashes: archs.map(architectureHash),
  present: archs.filter((a) => architectureHasBlock(a, spec)).length,
}));
const input = {
  space: 'ofa-mbv3' as const,
  device: 'npu',
  resolution: 224,
  accuracySource: 'table' as const,
  specs: specInputs,
  baseline: baselineArchs.map(architectureHash),
  metrics: measured,
};

describe('metricStats', () => {
  it('reports the paper statistics (population std, numpy linear quantiles) and a t-based 95% CI', () => {
    const s = metricStats([3, 1, 4, 10, 5, 9, 2, 6, 8, 7]);
    expect(s.n).toBe(10);
    expect(s.mean).toBe(5.5);
    expect(s.std).toBeCloseTo(Math.sqrt(8.25), 12);
    // numpy: np.quantile(range(1, 11), [.01, .05, .95, .99]) = 1.09, 1.45, 9.55, 9.91
    expect(s.q01).toBeCloseTo(1.09, 12);
    expect(s.q05).toBeCloseTo(1.45, 12);
    expect(s.q95).toBeCloseTo(9.55, 12);
    expect(s.q99).toBeCloseTo(9.91, 12);
    expect([s.min, s.max]).toEqual([1, 10]);
    // t(0.975, 9) = 2.262157, sample std = 3.0276504
    const half = (2.262157163 * 3.0276503540974917) / Math.sqrt(10);
    expect(s.ciLow).toBeCloseTo(5.5 - half, 6);
    expect(s.ciHigh).toBeCloseTo(5.5 + half, 6);
  });
});

describe('aggregateProfile', () => {
  const profile = aggregateProfile(input);

  it('keeps the given spec order with ids, labels and grid coordinates', () => {
    expect(profile.kind).toBe('blockscope.profile/v1');
    expect(profile.metrics).toEqual(['accuracy', 'macs', 'params', 'latency']);
    expect(profile.specs.map((s) => s.specId)).toEqual(['u0.l0.e3k3', 'u0.l0.e3k7', 'u4.l3.e6k3']);
    expect(profile.specs[1]).toMatchObject({ label: 'Unit 0 Layer 0 as MBConv3_7x7', unit: 'u0', layer: 0, block: 'e3k7', n: N, present: N });
    expect(profile.baseline.n).toBe(N);
  });

  it('computes each statistic from exactly the spec samples, with latency of the profiled device', () => {
    const values = sampled[2]!.archs.map((a) => measured.get(architectureHash(a))!.latencyMs.npu!);
    expect(profile.specs[2]!.metrics.latency).toEqual(metricStats(values));
    const baselineAccuracy = mean(baselineArchs.map((a) => measured.get(architectureHash(a))!.accuracy));
    expect(profile.baseline.metrics.accuracy!.mean).toBeCloseTo(baselineAccuracy, 12);
  });

  it('gives effects against the baseline that follow the synthetic ground truth per device', () => {
    const se = (s: MetricStats) => (s.ciHigh - s.ciLow) / 2 / tCritical95(s.n - 1);
    const kernelStep = (p: BlockProfile) => {
      const [k3, k7] = [p.specs[0]!.metrics.latency!, p.specs[1]!.metrics.latency!];
      return { diff: k7.mean - k3.mean, se: Math.hypot(se(k3), se(k7)) };
    };
    // Swapping one kernel 3 for kernel 7 costs 0.5 * (7 - 3) = 2 ms on the NPU and nothing on the CPU.
    const npu = kernelStep(profile);
    expect(npu.diff).toBeGreaterThan(4 * npu.se);
    expect(Math.abs(npu.diff - 2)).toBeLessThan(4 * npu.se);
    const cpu = kernelStep(aggregateProfile({ ...input, device: 'cpu' }));
    expect(Math.abs(cpu.diff)).toBeLessThan(4 * cpu.se);
    const k7 = profile.specs[1]!;
    expect(k7.effect.latency!.absolute).toBeCloseTo(k7.metrics.latency!.mean - profile.baseline.metrics.latency!.mean, 12);
    expect(k7.effect.latency!.relative).toBeCloseTo(k7.effect.latency!.absolute / profile.baseline.metrics.latency!.mean, 12);
    // Forcing depth 4 in unit 4 always adds layers, so MACs rise against the baseline.
    expect(profile.specs[2]!.effect.macs!.absolute).toBeGreaterThan(0);
  });

  it("gives a depth-matched effect: against random architectures reweighted to the spec's depth law in its unit", () => {
    // Latency depends only on unit 2's depth (2 ms a layer); no block matters.
    const plan = planStudy(parseStudySpec({ name: 'depth', space: 'ofa-mbv3', blocks: ['u2.l0.e3k3', 'u2.l3.e6k7', 'u4.l2.e4k5'], samplesPerSpec: 40, baselineSamples: 300, seed: 9 }));
    const metrics = new Map(plan.architectures.map(({ hash, arch }) => [hash, { hash, accuracy: 70, macs: 1, params: 1, latencyMs: { d: 10 + 2 * arch.units[2]!.length } }]));
    const profile = aggregateProfile({
      space: 'ofa-mbv3',
      device: 'd',
      resolution: 224,
      accuracySource: 'table',
      specs: plan.specs,
      baseline: plan.baseline[0]!.archHashes,
      metrics,
      depthMatching: { baseline: new Map(plan.architectures.map(({ hash, arch }) => [hash, arch])), depthRule: 'intended' },
    });
    const [l0, l3, other] = profile.specs;
    // A block at layer 3 forces 4 layers: against plain random architectures that reads as +2 ms a layer over
    // the average depth; against those with 4 layers it is exactly nothing.
    expect(l3!.effect['latency']!.relative).toBeGreaterThan(0.08);
    expect(l3!.depthMatchedEffect!['latency']!.absolute).toBeCloseTo(0, 12);
    expect(Math.abs(l0!.depthMatchedEffect!['latency']!.relative)).toBeLessThan(0.03);
    // Another unit's depth law leaves unit 2's depth as random: both effects agree.
    expect(other!.depthMatchedEffect!['latency']!.relative).toBeCloseTo(other!.effect['latency']!.relative, 1);
    // Without the architectures there is no depth-matched effect.
    expect(
      aggregateProfile({ space: 'ofa-mbv3', device: 'd', resolution: 224, accuracySource: 'table', specs: plan.specs, baseline: plan.baseline[0]!.archHashes, metrics }).specs[0]!
        .depthMatchedEffect,
    ).toBeUndefined();
  });

  it('records how many samples contain the block under the legacy depth rule', () => {
    const spec: BlockSpec = { kind: 'mbconv', unit: 2, layer: 3, block: 'e4k5' };
    const archs = sampleWithFixedBlock(spec, N, SEED, { space: 'ofa-mbv3', depthRule: 'legacy' });
    const withLegacy = new Map(measured);
    for (const a of archs) withLegacy.set(architectureHash(a), synthesise(a));
    const present = archs.filter((a) => architectureHasBlock(a, spec)).length;
    // Layer 3 exists only when the random depth was already 4: about a third of the samples.
    expect(present).toBeGreaterThan(N / 6);
    expect(present).toBeLessThan(N / 2);
    const legacy = aggregateProfile({ ...input, metrics: withLegacy, specs: [{ spec, archHashes: archs.map(architectureHash), present }] });
    expect(legacy.specs[0]!.present).toBe(present);
  });

  it('accepts a plain record of measurements and honours metricNames', () => {
    const fromRecord = aggregateProfile({ ...input, metrics: Object.fromEntries(measured), metricNames: ['latency', 'accuracy'] });
    expect(fromRecord.metrics).toEqual(['latency', 'accuracy']);
    expect(fromRecord.specs[0]!.metrics.latency).toEqual(profile.specs[0]!.metrics.latency);
    expect(Object.keys(fromRecord.specs[0]!.metrics)).toEqual(['latency', 'accuracy']);
  });

  it('names the architecture and metric when a measurement is missing', () => {
    const missingHash = specInputs[0]!.archHashes[3]!;
    const without = new Map(measured);
    without.delete(missingHash);
    expect(() => aggregateProfile({ ...input, metrics: without })).toThrow(new RegExp(`${missingHash}.*u0\\.l0\\.e3k3`));
    expect(() => aggregateProfile({ ...input, device: 'gpu' })).toThrow(/latency on device gpu/);
    const broken = new Map(measured);
    broken.set(missingHash, { ...measured.get(missingHash)!, accuracy: Number.NaN });
    expect(() => aggregateProfile({ ...input, metrics: broken })).toThrow(new RegExp(`${missingHash}.*finite accuracy`));
  });

  it('rejects inconsistent inputs', () => {
    expect(() => aggregateProfile({ ...input, specs: [specInputs[0]!, specInputs[0]!] })).toThrow(/listed twice/);
    expect(() => aggregateProfile({ ...input, specs: [{ ...specInputs[0]!, present: N + 1 }] })).toThrow(/present/);
    expect(() => aggregateProfile({ ...input, baseline: [] })).toThrow(/baseline/);
    expect(() => aggregateProfile({ ...input, space: 'resnet50' })).toThrow(/not a block specification of resnet50/);
  });
});

/** A minimal RFC 4180 reader, so the test checks the quoting independently of the writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  return rows;
}

describe('profileToCsv', () => {
  const profile = aggregateProfile({ ...input, metricNames: ['accuracy', 'latency'] });

  it('writes a baseline row first and the paper columns per metric', () => {
    const rows = parseCsv(profileToCsv(profile));
    expect(rows).toHaveLength(1 + 1 + profile.specs.length);
    const header = rows[0]!;
    expect(header.slice(0, 7)).toEqual(['specId', 'label', 'unit', 'layer', 'block', 'n', 'present']);
    expect(header.slice(7, 19)).toEqual([
      'accuracy mu',
      'accuracy sig',
      'accuracy 1%',
      'accuracy 5%',
      'accuracy 95%',
      'accuracy 99%',
      'accuracy min',
      'accuracy max',
      'accuracy ci_low',
      'accuracy ci_high',
      'accuracy effect_abs',
      'accuracy effect_rel',
    ]);
    expect(header).toHaveLength(7 + 2 * 12);
    expect(rows[1]![0]).toBe('baseline');
    expect(Number(rows[1]![header.indexOf('latency mu')])).toBe(profile.baseline.metrics.latency!.mean);
    const spec = profile.specs[1]!;
    const row = rows[3]!;
    expect(row.slice(0, 7)).toEqual([spec.specId, spec.label, 'u0', '0', 'e3k7', String(N), String(N)]);
    expect(Number(row[header.indexOf('latency sig')])).toBe(spec.metrics.latency!.std);
    expect(Number(row[header.indexOf('latency effect_rel')])).toBe(spec.effect.latency!.relative);
  });

  it('quotes cells with commas, quotes or line breaks', () => {
    const tricky: BlockProfile = { ...profile, specs: [{ ...profile.specs[0]!, label: 'a "quoted", label\nwith a break' }] };
    const text = profileToCsv(tricky);
    expect(text).toContain('"a ""quoted"", label\nwith a break"');
    expect(parseCsv(text)[2]![1]).toBe('a "quoted", label\nwith a break');
  });
});
