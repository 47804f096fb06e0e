/**
 * A plan's block profile on one device at one resolution, from its architectures' metrics: the per-spec
 * statistics (aggregateProfile) and the block regressions (profileRegressions), wired the one way the
 * orchestrator, `blockscope profile import` and the ground-truth tests all use.
 */
import { aggregateProfile, type BlockProfile, type ProfileMetricName } from '../profile.js';
import type { AccuracySource, ArchitectureMetrics } from '../records.js';
import { profileRegressions } from '../regression.js';
import { originalSpace, type SpecDepthRule } from '../spaces/index.js';
import type { StudyPlan } from './plan.js';

export interface PlanProfileInput {
  plan: StudyPlan;
  device: string;
  resolution: number;
  accuracySource: AccuracySource;
  metrics: ReadonlyMap<string, ArchitectureMetrics>;
  /** The block-fixed sampler's depth rule; a shared-random plan's specs are always 'held'. */
  depthRule: SpecDepthRule;
  metricNames?: readonly ProfileMetricName[];
  /** Fit the block regressions (default true). */
  regression?: boolean;
  /** The cluster of an architecture's latency error (drift-corrected campaigns, activities/study/latency.ts). */
  latencyCluster?: (hash: string) => number | undefined;
}

export function planProfile(input: PlanProfileInput): BlockProfile {
  const { plan, device, resolution, metrics } = input;
  const depthRule: SpecDepthRule = plan.design === 'shared-random' ? 'held' : input.depthRule;
  const specs = plan.specs.filter((s) => s.resolution === resolution);
  const baseline = plan.baseline.find((b) => b.resolution === resolution)?.archHashes ?? [];
  const profile = aggregateProfile({
    space: plan.space,
    device,
    resolution,
    accuracySource: input.accuracySource,
    specs,
    baseline,
    metrics,
    ...(input.metricNames ? { metricNames: input.metricNames } : {}),
    depthMatching: { baseline: new Map(plan.architectures.map(({ hash, arch }) => [hash, arch])), depthRule },
  });
  profile.depthRule = depthRule;
  if (input.regression ?? true) {
    profile.regression = profileRegressions(originalSpace(plan.space), {
      archs: plan.architectures.filter(({ arch }) => arch.resolution === resolution),
      specs,
      depthRule,
      baseline,
      latencyMs: (hash) => metrics.get(hash)?.latencyMs[device],
      ...(input.latencyCluster ? { latencyCluster: input.latencyCluster } : {}),
      // Without accuracy among the metrics (a latency-only import), there is no accuracy to model.
      accuracy: (hash) => (profile.metrics.includes('accuracy') ? metrics.get(hash)?.accuracy : undefined),
    });
  }
  return profile;
}
