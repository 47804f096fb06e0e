/**
 * The sampling stage: which architectures a study measures. In the paper's block-fixed design every block
 * specification draws its own seeded samples; the same architecture drawn by several specifications is
 * measured once per device. In the shared-random design the study measures only random architectures and a
 * spec's samples are those that hold its block.
 */
import { Rng, deriveSeed } from '../rng.js';
import { sampleArchitectures, sampleWithFixedBlock } from '../sampling.js';
import { architectureHash, architectureHasBlock, blockSpecId, blockSpecs, originalSpace, parseBlockSpec, type Architecture, type BlockSpec } from '../spaces/index.js';
import type { StudySpec } from './spec.js';

export interface PlannedSpec {
  specId: string;
  spec: BlockSpec;
  resolution: number;
  archHashes: string[];
  /** Samples that really contain the block (the legacy depth rule can leave it out). */
  present: number;
}

export interface StudyPlan {
  kind: 'blockscope.plan/v1';
  /** Absent in block-fixed plans (and plans made before designs existed). */
  design?: 'shared-random';
  space: StudySpec['space'];
  resolutions: number[];
  specs: PlannedSpec[];
  /** Random (unfixed) architectures per resolution: the baseline distribution. */
  baseline: { resolution: number; archHashes: string[] }[];
  /** Every distinct architecture, in first-drawn order: the accuracy work list. */
  architectures: { hash: string; arch: Architecture }[];
  /**
   * Per device, indices into `architectures` in the order that device measures them (a seeded random
   * permutation, different per device, the same on a re-run). Absent for a device, or in plans made before
   * it existed: plan order ('grouped').
   */
  measurementOrders?: Record<string, number[]>;
}

/** A device's measurement order: a permutation of the plan's indices (plan order when none is stored). */
export function measurementOrder(plan: StudyPlan, device: string): number[] {
  return plan.measurementOrders?.[device] ?? plan.architectures.map((_, i) => i);
}

/** The plan's architectures in the order a device measures them: its latency campaign's work list. */
export function measurementList(plan: StudyPlan, device: string): { hash: string; arch: Architecture }[] {
  return measurementOrder(plan, device).map((i) => plan.architectures[i]!);
}

export function selectedBlockSpecs(spec: StudySpec): BlockSpec[] {
  return spec.blocks === 'all' ? blockSpecs(spec.space) : spec.blocks.map((text, i) => parseBlockSpec(spec.space, text, `blocks[${i}]`));
}

export function planStudy(spec: StudySpec): StudyPlan {
  const unique = new Map<string, Architecture>();
  const remember = (arch: Architecture): string => {
    const hash = architectureHash(arch);
    if (!unique.has(hash)) unique.set(hash, arch);
    return hash;
  };
  const randomCount = spec.design?.kind === 'shared-random' ? spec.design.architectures : (spec.baselineSamples ?? spec.samplesPerSpec);
  const baseline = spec.resolutions.map((resolution) => ({
    resolution,
    archHashes: sampleArchitectures(originalSpace(spec.space), randomCount, spec.seed, resolution).map(remember),
  }));
  const specs = spec.design?.kind === 'shared-random' ? heldSpecs(selectedBlockSpecs(spec), baseline, unique) : fixedSpecs(spec, remember);
  const architectures = [...unique].map(([hash, arch]) => ({ hash, arch }));
  const plan: StudyPlan = {
    kind: 'blockscope.plan/v1',
    ...(spec.design?.kind === 'shared-random' ? { design: 'shared-random' as const } : {}),
    space: spec.space,
    resolutions: spec.resolutions,
    specs,
    baseline,
    architectures,
  };
  if (spec.measurement.order === 'mixed') {
    const indices = architectures.map((_, i) => i);
    plan.measurementOrders = Object.fromEntries(spec.devices.map((device) => [device, new Rng(deriveSeed(spec.seed, 'measurement-order', device)).shuffled(indices)]));
  }
  return plan;
}

/** The paper's design: each spec draws its own samples with its block fixed. */
function fixedSpecs(spec: StudySpec, remember: (arch: Architecture) => string): PlannedSpec[] {
  return spec.resolutions.flatMap((resolution) =>
    selectedBlockSpecs(spec).map((blockSpec): PlannedSpec => {
      const archs = sampleWithFixedBlock(blockSpec, spec.samplesPerSpec, spec.seed, { space: spec.space, resolution, depthRule: spec.depthRule });
      return {
        specId: blockSpecId(blockSpec),
        spec: blockSpec,
        resolution,
        archHashes: archs.map(remember),
        present: archs.filter((a) => architectureHasBlock(a, blockSpec)).length,
      };
    }),
  );
}

/**
 * A shared-random plan over architectures measured elsewhere (`blockscope profile import`): each resolution's
 * architectures are its baseline, and every block specification of the space gets those that hold its block.
 * Duplicates count once.
 */
export function importedPlan(space: StudySpec['space'], archs: readonly Architecture[]): StudyPlan {
  const unique = new Map(archs.map((arch) => [architectureHash(arch), arch]));
  const resolutions = [...new Set([...unique.values()].map((a) => a.resolution))].sort((a, b) => a - b);
  const baseline = resolutions.map((resolution) => ({ resolution, archHashes: [...unique].filter(([, arch]) => arch.resolution === resolution).map(([hash]) => hash) }));
  return {
    kind: 'blockscope.plan/v1',
    design: 'shared-random',
    space,
    resolutions,
    specs: heldSpecs(blockSpecs(space), baseline, unique),
    baseline,
    architectures: [...unique].map(([hash, arch]) => ({ hash, arch })),
  };
}

/** The shared-random design: a spec's samples are the random architectures that hold its block. */
function heldSpecs(specs: readonly BlockSpec[], baseline: StudyPlan['baseline'], unique: ReadonlyMap<string, Architecture>): PlannedSpec[] {
  return baseline.flatMap(({ resolution, archHashes }) =>
    specs.map((blockSpec): PlannedSpec => {
      const held = archHashes.filter((hash) => architectureHasBlock(unique.get(hash)!, blockSpec));
      return { specId: blockSpecId(blockSpec), spec: blockSpec, resolution, archHashes: held, present: held.length };
    }),
  );
}
