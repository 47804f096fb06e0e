/**
 * A device's latencies as a study's analyses use them: the measured medians, corrected for the drift the
 * campaign's probes recorded when the spec asks for it (the default). The corrections are stored next to
 * the raw figures (studies/<id>/drift/<device>/corrections.json), so every corrected number can be checked.
 */
import { correctForDrift, driftSeries, type DriftCorrection, type DriftProbe, type DriftSeries } from '../../pipelines/drift.js';
import type { ProfileDrift } from '../../pipelines/profile.js';
import { referenceArchitecture } from '../../pipelines/sampling.js';
import { architectureHash } from '../../pipelines/spaces/index.js';
import type { StudyPlan } from '../../pipelines/study/plan.js';
import type { StudySpec } from '../../pipelines/study/spec.js';
import type { LatencyMeasurement } from '../devices/index.js';
import type { ArtifactStore } from '../storage/index.js';
import { forEachRecord, readBatches } from './batch.js';
import { studyKeys } from './keys.js';

export interface DriftCorrections {
  series: DriftSeries;
  corrections: DriftCorrection[];
}

export interface DeviceLatencies {
  /** By architecture hash: corrected when `drift.corrected`, raw otherwise. */
  latencyMs: Map<string, number>;
  /** Absent when the campaign took no probes (drift tracking off, or a study from before it existed). */
  drift?: ProfileDrift;
  /**
   * Corrected campaigns: the interval between probes each architecture was measured in. Measurements of one
   * interval share its probes' noise through the correction, so the regression treats them as one cluster.
   */
  errorClusters?: Map<string, number>;
}

export async function deviceLatencies(store: ArtifactStore, studyId: string, plan: StudyPlan, device: string, spec: StudySpec): Promise<DeviceLatencies> {
  const keys = studyKeys(studyId);
  const probes = await readBatches<DriftProbe>(store, keys.driftPrefix(device));
  const resolution = plan.resolutions[0]!;
  const series = probes.length > 0 ? driftSeries(device, architectureHash(referenceArchitecture(plan.space, resolution)), resolution, probes) : undefined;
  // One pass over the campaign's batch files, keeping a median (and its correction) per architecture.
  const raw = new Map<string, number>();
  const corrections: DriftCorrection[] = [];
  let measuredMs = 0;
  await forEachRecord<LatencyMeasurement>(store, keys.latencyPrefix(device), (m) => {
    raw.set(m.archHash, m.medianMs);
    if (series) corrections.push(correctForDrift(series, m));
    if (!m.fromCache) measuredMs += m.breakdown.totalMs;
  });
  if (!series) return { latencyMs: raw };
  const correctionsKey = keys.driftCorrections(device);
  await store.putJson(correctionsKey, { series, corrections } satisfies DriftCorrections);
  const corrected = spec.measurement.drift?.correct ?? false;
  const probeMs = probes.reduce((acc, p) => acc + (p.deviceMs ?? Number.NaN), 0);
  return {
    latencyMs: corrected ? new Map(corrections.map((c) => [c.archHash, c.correctedMs])) : raw,
    ...(corrected ? { errorClusters: new Map(corrections.flatMap((c) => (c.segment === null ? [] : [[c.archHash, c.segment] as const]))) } : {}),
    drift: {
      series,
      corrected,
      correctionsKey,
      uncorrected: corrections.filter((c) => c.factor === null).length,
      overhead: Number.isFinite(probeMs) && measuredMs > 0 ? probeMs / measuredMs : null,
    },
  };
}
