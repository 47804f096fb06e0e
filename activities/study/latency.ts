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
import { readBatches } from './batch.js';
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
}

export async function deviceLatencies(store: ArtifactStore, studyId: string, plan: StudyPlan, device: string, spec: StudySpec): Promise<DeviceLatencies> {
  const keys = studyKeys(studyId);
  const measurements = await readBatches<LatencyMeasurement>(store, keys.latencyPrefix(device));
  const raw = new Map(measurements.map((m) => [m.archHash, m.medianMs]));
  const probes = await readBatches<DriftProbe>(store, keys.driftPrefix(device));
  if (probes.length === 0) return { latencyMs: raw };
  const resolution = plan.resolutions[0]!;
  const series = driftSeries(device, architectureHash(referenceArchitecture(plan.space, resolution)), resolution, probes);
  const corrections = measurements.map((m) => correctForDrift(series, m));
  const correctionsKey = keys.driftCorrections(device);
  await store.putJson(correctionsKey, { series, corrections } satisfies DriftCorrections);
  const corrected = spec.measurement.drift?.correct ?? false;
  const probeMs = probes.reduce((acc, p) => acc + (p.deviceMs ?? Number.NaN), 0);
  const measuredMs = measurements.filter((m) => !m.fromCache).reduce((acc, m) => acc + m.breakdown.totalMs, 0);
  return {
    latencyMs: corrected ? new Map(corrections.map((c) => [c.archHash, c.correctedMs])) : raw,
    drift: { series, corrected, correctionsKey, uncorrected: corrections.filter((c) => c.factor === null).length, overhead: Number.isFinite(probeMs) && measuredMs > 0 ? probeMs / measuredMs : null },
  };
}
