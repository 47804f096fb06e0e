/**
 * Pareto fronts and 2-D hypervolume for the search's two objectives: maximise accuracy, minimise latency
 * (§8.6 of the design-space reference).
 */

export interface Objectives {
  accuracy: number;
  latencyMs: number;
}

/**
 * The box that bounds the hypervolume: only the part of the objective plane above `accuracyFloor` and
 * below `latencyCeilingMs` counts. Original and pruned fronts must share one to be comparable.
 */
export interface ReferencePoint {
  accuracyFloor: number;
  latencyCeilingMs: number;
}

function checkFinite(points: readonly Objectives[]): void {
  points.forEach((p, i) => {
    if (!Number.isFinite(p.accuracy) || !Number.isFinite(p.latencyMs)) {
      throw new RangeError(`point ${i}: accuracy and latency must be finite, got (${p.accuracy}, ${p.latencyMs})`);
    }
  });
}

/** a is at least as good as b in both objectives and strictly better in one. */
export function dominates(a: Objectives, b: Objectives): boolean {
  const noWorse = a.accuracy >= b.accuracy && a.latencyMs <= b.latencyMs;
  return noWorse && (a.accuracy > b.accuracy || a.latencyMs < b.latencyMs);
}

/**
 * Indices (ascending) of the non-dominated points. Among points with equal objectives only the one with
 * the lowest index survives, as in the original (the archive is in insertion order).
 */
export function paretoFrontIndices(points: readonly Objectives[]): number[] {
  checkFinite(points);
  // Best accuracy first; within one accuracy the lowest latency, then the earliest point, leads its group.
  const order = points.map((_, i) => i).sort((i, j) => points[j]!.accuracy - points[i]!.accuracy || points[i]!.latencyMs - points[j]!.latencyMs || i - j);
  const front: number[] = [];
  let lowestLatencySoFar = Number.POSITIVE_INFINITY;
  for (let k = 0; k < order.length;) {
    const leader = points[order[k]!]!;
    // Only a group's leader can survive: the rest of the group is dominated by it or equal to it.
    if (leader.latencyMs < lowestLatencySoFar) {
      front.push(order[k]!);
      lowestLatencySoFar = leader.latencyMs;
    }
    while (k < order.length && points[order[k]!]!.accuracy === leader.accuracy) k++;
  }
  return front.sort((a, b) => a - b);
}

/**
 * The first `count` non-dominated layers: layer 0 is the front, layer 1 the front of what remains once
 * layer 0 is removed, and so on. Each layer lists indices into `points` in ascending order.
 */
export function paretoLayerIndices(points: readonly Objectives[], count: number): number[][] {
  const layers: number[][] = [];
  let remaining = points.map((_, i) => i);
  while (layers.length < count && remaining.length > 0) {
    const layer = paretoFrontIndices(remaining.map((i) => points[i]!)).map((k) => remaining[k]!);
    layers.push(layer);
    const peeled = new Set(layer);
    remaining = remaining.filter((i) => !peeled.has(i));
  }
  return layers;
}

/** The non-dominated points, in input order. */
export function paretoFront<T extends Objectives>(points: readonly T[]): T[] {
  return paretoFrontIndices(points).map((i) => points[i]!);
}

/** The original's output order: by (accuracy, latency) descending. */
export function sortByAccuracyThenLatencyDescending<T extends Objectives>(points: readonly T[]): T[] {
  return points.slice().sort((a, b) => b.accuracy - a.accuracy || b.latencyMs - a.latencyMs);
}

/**
 * Area of the objective plane dominated by the points and bounded by the reference point. Points that do
 * not beat the reference in both objectives add nothing.
 */
export function hypervolume(points: readonly Objectives[], reference: ReferencePoint): number {
  checkFinite(points);
  const inside = points.filter((p) => p.accuracy > reference.accuracyFloor && p.latencyMs < reference.latencyCeilingMs);
  // On a front, latency and accuracy rise together; each point owns the strip up to the next one's latency.
  const front = paretoFront(inside).sort((a, b) => a.latencyMs - b.latencyMs);
  let area = 0;
  front.forEach((p, i) => {
    const stripEnd = front[i + 1]?.latencyMs ?? reference.latencyCeilingMs;
    area += (p.accuracy - reference.accuracyFloor) * (stripEnd - p.latencyMs);
  });
  return area;
}

/** How far past the worst observed values the shared reference point lies, as a fraction of their range. */
export const DEFAULT_REFERENCE_MARGIN = 0.1;

/**
 * One reference point for several fronts (e.g. every seed of the original and the pruned search on one
 * device): the worst accuracy and the worst latency seen in any of them, pushed out by `margin` times the
 * observed range so the extreme points still add area. A zero range falls back to the value's magnitude.
 */
export function sharedReferencePoint(pointSets: readonly (readonly Objectives[])[], margin = DEFAULT_REFERENCE_MARGIN): ReferencePoint {
  const points = pointSets.flat();
  if (points.length === 0) throw new RangeError('sharedReferencePoint: no points');
  if (!(margin >= 0)) throw new RangeError(`sharedReferencePoint: margin must be >= 0, got ${margin}`);
  checkFinite(points);
  const accuracy = extent(points.map((p) => p.accuracy));
  const latency = extent(points.map((p) => p.latencyMs));
  return {
    accuracyFloor: accuracy.min - margin * accuracy.spread,
    latencyCeilingMs: latency.max + margin * latency.spread,
  };
}

function extent(values: readonly number[]): { min: number; max: number; spread: number } {
  const min = values.reduce((a, b) => Math.min(a, b));
  const max = values.reduce((a, b) => Math.max(a, b));
  return { min, max, spread: max - min || Math.abs(max) || 1 };
}
