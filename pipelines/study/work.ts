/**
 * Work lists: a campaign's architectures cut into the batches its activities run, each with everything that
 * batch needs besides. Stored one file per batch, they let a batch read its own few kilobytes instead of the
 * whole plan (megabytes at paper scale, read once per batch).
 */
import { referenceArchitecture } from '../sampling.js';
import type { SpaceDefinition } from '../spaces/definition.js';
import type { Architecture } from '../spaces/types.js';
import { measurementList, type StudyPlan } from './plan.js';
import type { StudySpec } from './spec.js';

export interface WorkItem {
  hash: string;
  arch: Architecture;
}

/** One batch of the accuracy campaign: the plan's architectures in plan order. */
export interface AccuracyWorkList {
  kind: 'blockscope.work/accuracy/v1';
  batchIndex: number;
  items: WorkItem[];
  /** The definition of a user-defined space (absent for the paper's spaces): a worker on any host registers it from here. */
  space?: SpaceDefinition;
}

/** One batch of a device's latency campaign: its architectures in that device's measurement order. */
export interface LatencyWorkList {
  kind: 'blockscope.work/latency/v1';
  device: string;
  batchIndex: number;
  /** How many of the campaign's architectures come before this batch. */
  start: number;
  /** Architectures in the whole campaign: the batch that ends it takes the final drift probe. */
  total: number;
  /** Drift probes (docs/studies.md), or null when the spec does not track drift. */
  probes: { reference: Architecture; every: number } | null;
  items: WorkItem[];
  /** As AccuracyWorkList.space. */
  space?: SpaceDefinition;
}

function batchesOf(items: WorkItem[], batchSize: number): WorkItem[][] {
  const batches: WorkItem[][] = [];
  for (let start = 0; start < items.length; start += batchSize) batches.push(items.slice(start, start + batchSize));
  return batches;
}

export function accuracyWorkLists(plan: StudyPlan, spec: StudySpec): AccuracyWorkList[] {
  return batchesOf(plan.architectures, spec.accuracy.batchSize).map((items, batchIndex) => ({ kind: 'blockscope.work/accuracy/v1', batchIndex, items, ...spaceOf(spec) }));
}

export function latencyWorkLists(plan: StudyPlan, spec: StudySpec, device: string): LatencyWorkList[] {
  const batchSize = spec.measurement.batchSize;
  // Specs stored before drift tracking existed have no `drift`: no probes.
  const drift = spec.measurement.drift;
  const probes = drift?.track ? { reference: referenceArchitecture(plan.space, plan.resolutions[0]!), every: drift.every } : null;
  return batchesOf(measurementList(plan, device), batchSize).map((items, batchIndex) => ({
    kind: 'blockscope.work/latency/v1',
    device,
    batchIndex,
    start: batchIndex * batchSize,
    total: plan.architectures.length,
    probes,
    items,
    ...spaceOf(spec),
  }));
}

function spaceOf(spec: StudySpec): { space?: SpaceDefinition } {
  return spec.spaceDefinition ? { space: spec.spaceDefinition } : {};
}
