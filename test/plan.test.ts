/** The study plan's measurement order: a seeded permutation per device, so drift spreads over every specification. */
import { describe, expect, it } from 'vitest';
import { measurementList, measurementOrder, planStudy } from '../pipelines/study/plan.js';
import { StudySpecError, overlapsAccuracy, parseStudySpec } from '../pipelines/study/spec.js';

const spec = (overrides: Record<string, unknown> = {}) =>
  parseStudySpec({
    name: 'order',
    space: 'ofa-mbv3',
    resolutions: [160],
    blocks: ['u0.l0.e3k3', 'u0.l0.e3k7', 'u0.l0.e6k3', 'u0.l0.e6k7', 'u4.l0.e3k3', 'u4.l0.e6k7'],
    samplesPerSpec: 4,
    baselineSamples: 12,
    seed: 1,
    devices: ['cpu-a', 'phone-b'],
    ...overrides,
  });

/** Which group (a specification or the baseline) each architecture of a plan was drawn for, first drawn first. */
function groupOf(plan: ReturnType<typeof planStudy>): Map<string, string> {
  const groups = new Map<string, string>();
  for (const b of plan.baseline) for (const h of b.archHashes) if (!groups.has(h)) groups.set(h, 'baseline');
  for (const s of plan.specs) for (const h of s.archHashes) if (!groups.has(h)) groups.set(h, s.specId);
  return groups;
}

describe('measurement order', () => {
  it('is mixed by default: a permutation of the plan per device, different per device, the same on a re-run', () => {
    const plan = planStudy(spec());
    expect(spec().measurement.order).toBe('mixed');
    const n = plan.architectures.length;
    for (const device of ['cpu-a', 'phone-b']) expect([...measurementOrder(plan, device)].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
    expect(measurementOrder(plan, 'cpu-a')).not.toEqual(measurementOrder(plan, 'phone-b'));
    expect(planStudy(spec())).toEqual(plan);
    // The order depends on the seed, not on anything else of the run.
    expect(measurementOrder(planStudy(spec({ seed: 2 })), 'cpu-a')).not.toEqual(measurementOrder(plan, 'cpu-a'));
  });

  it('mixes specifications and the baseline within every batch, where the grouped order measures them back to back', () => {
    const mixed = planStudy(spec());
    const grouped = planStudy(spec({ measurement: { batchSize: 8, order: 'grouped' } }));
    expect(grouped.measurementOrders).toBeUndefined();
    expect(grouped.architectures).toEqual(mixed.architectures);
    const groups = groupOf(mixed);
    const batches = (list: { hash: string }[]) => Array.from({ length: Math.ceil(list.length / 8) }, (_, b) => new Set(list.slice(b * 8, (b + 1) * 8).map((a) => groups.get(a.hash))));
    // Grouped: the first batch is all baseline, and no batch holds more than two groups.
    const groupedBatches = batches(measurementList(grouped, 'cpu-a'));
    expect([...groupedBatches[0]!]).toEqual(['baseline']);
    expect(Math.max(...groupedBatches.map((b) => b.size))).toBeLessThanOrEqual(2);
    // Mixed: every full batch of 8 draws from at least 4 of the 7 groups.
    const mixedBatches = batches(measurementList(mixed, 'cpu-a'));
    for (const batch of mixedBatches.slice(0, -1)) expect(batch.size).toBeGreaterThanOrEqual(4);
    // Where the baseline sits in the order: spread over the campaign, not at its start.
    const baselinePositions = measurementList(mixed, 'cpu-a').flatMap((a, i) => (groups.get(a.hash) === 'baseline' ? [i / mixed.architectures.length] : []));
    expect(Math.max(...baselinePositions) - Math.min(...baselinePositions)).toBeGreaterThan(0.5);
  });

  it('falls back to plan order for a plan stored before orders existed', () => {
    const { measurementOrders: _orders, ...legacy } = planStudy(spec());
    expect(measurementList(legacy, 'cpu-a')).toEqual(legacy.architectures);
  });

  it('rejects an unknown order, naming the field and the allowed values', () => {
    expect(() => spec({ measurement: { order: 'random' } })).toThrow(StudySpecError);
    expect(() => spec({ measurement: { order: 'random' } })).toThrow('measurement.order: got an invalid value; allowed: "mixed", "grouped"');
  });
});

describe('campaigns at once', () => {
  it('overlaps accuracy with measurement unless the proxy would compute on the host of an onnxruntime device', () => {
    const backends = new Map([
      ['cpu-a', 'onnxruntime'],
      ['phone-b', 'command'],
    ]);
    // The proxy on the orchestrator's host next to cpu-a, measured there with onnxruntime: one after the other.
    expect(overlapsAccuracy(spec(), backends)).toBe(false);
    expect(overlapsAccuracy(spec({ devices: ['phone-b'] }), backends)).toBe(true);
    expect(overlapsAccuracy(spec({ accuracy: { source: 'table', table: 'a.csv' } }), backends)).toBe(true);
    expect(overlapsAccuracy(spec({ accuracy: { source: 'evaluator', evaluatorTaskQueue: 'gpu' } }), backends)).toBe(true);
    expect(overlapsAccuracy(spec({ accuracy: { overlap: 'always' } }), backends)).toBe(true);
    expect(overlapsAccuracy(spec({ devices: ['phone-b'], accuracy: { overlap: 'never' } }), backends)).toBe(false);
    expect(() => spec({ accuracy: { overlap: 'sometimes' } })).toThrow(/accuracy.overlap: got an invalid value; allowed: "auto", "always", "never"/);
  });
});
