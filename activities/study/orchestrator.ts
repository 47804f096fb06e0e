/**
 * Orchestrator activities: the study's analysis steps around the device campaigns. Thin adapters:
 * the work is done by the pure pipelines/ core, these only read and write the artifact store.
 */
import { ApplicationFailure } from '@temporalio/common';
import { profileToCsv, type ProfileDrift } from '../../pipelines/profile.js';
import type { ArchitectureMetrics } from '../../pipelines/records.js';
import { architectureCounts, type Architecture } from '../../pipelines/spaces/index.js';
import { planStudy, type StudyPlan } from '../../pipelines/study/plan.js';
import { planProfile } from '../../pipelines/study/profiles.js';
import { overlapsAccuracy, type StudySpec } from '../../pipelines/study/spec.js';
import type { ArtifactStore } from '../storage/index.js';
import { readBatches, runBatchActivity } from './batch.js';
import type { AccuracyRecord, AccuracyScorerFactory, BatchRequest, BatchSummary, OrchestratorActivities, PreparedStudy, ProfileRef } from './contracts.js';
import { createInsightActivities } from './insights.js';
import { studyKeys } from './keys.js';
import { deviceLatencies } from './latency.js';
import { createReportActivities } from './report.js';
import { createSearchActivities } from './search.js';
import { withStudySpaces } from './spaces.js';
import { readAccuracyWork, writeWorkLists } from './work.js';

export interface OrchestratorDependencies {
  store: ArtifactStore;
  /** The devices the deployment knows (from the device config), with their backends. */
  knownDevices: () => Promise<{ id: string; backend: string }[]>;
  accuracyScorers: AccuracyScorerFactory;
}

export function createOrchestratorActivities(deps: OrchestratorDependencies): OrchestratorActivities {
  const { store } = deps;

  async function prepareStudy(input: { studyId: string; spec: StudySpec }): Promise<PreparedStudy> {
    const backends = new Map((await deps.knownDevices()).map((d) => [d.id, d.backend]));
    const unknown = input.spec.devices.filter((d) => !backends.has(d));
    if (unknown.length > 0) {
      throw ApplicationFailure.nonRetryable(`devices: unknown device ${unknown.join(', ')}; configured devices: ${[...backends.keys()].join(', ')}`, 'DeviceConfigError');
    }
    const keys = studyKeys(input.studyId);
    await store.putJson(keys.spec, input.spec);
    const plan = planStudy(input.spec);
    await store.putJson(keys.plan, plan);
    await writeWorkLists(store, input.studyId, plan, input.spec);
    return {
      studyId: input.studyId,
      specKey: keys.spec,
      planKey: keys.plan,
      architectures: plan.architectures.length,
      specs: plan.specs.length,
      store: store.describe(),
      overlapAccuracy: overlapsAccuracy(input.spec, backends),
    };
  }

  async function scoreAccuracyBatch(input: BatchRequest & { spec: StudySpec }) {
    const scorer = await deps.accuracyScorers(input.spec);
    return runBatchActivity<AccuracyRecord>({
      store,
      request: input,
      resultKey: studyKeys(input.studyId).accuracyBatch(input.batchIndex),
      loadItems: async () => (await readAccuracyWork(store, input)).items,
      computeOne: (item, signal) => scorer.score(item.arch, signal),
    });
  }

  async function planBatch(input: BatchRequest): Promise<{ hash: string; arch: Architecture }[]> {
    return (await readAccuracyWork(store, input)).items;
  }

  async function storeAccuracyBatch(input: BatchRequest & { records: AccuracyRecord[] }): Promise<BatchSummary> {
    // Checked before anything is stored, so a fixed evaluator re-scores the batch on the study's re-run.
    for (const record of input.records) {
      if (typeof record.score !== 'number' || !Number.isFinite(record.score) || record.score < 0 || record.score > 100) {
        throw ApplicationFailure.nonRetryable(
          `batch ${input.batchIndex}: the evaluator returned top1 ${JSON.stringify(record.score) ?? 'nothing'} for architecture ${record.hash}; evaluateAccuracy must return top-1 accuracy in percent, a number in 0..100`,
          'InvalidInputError',
        );
      }
    }
    const key = studyKeys(input.studyId).accuracyBatch(input.batchIndex);
    const put = await store.putJson(key, input.records);
    return { batchIndex: input.batchIndex, key, count: input.records.length, computed: put.created ? input.records.length : 0, cached: put.created ? 0 : input.records.length };
  }

  async function aggregateProfiles(input: { studyId: string; planKey: string; spec: StudySpec }): Promise<ProfileRef[]> {
    const keys = studyKeys(input.studyId);
    const plan = await store.getJson<StudyPlan>(input.planKey);
    const accuracy = new Map(await readBatches<AccuracyRecord, [string, number]>(store, keys.accuracyPrefix, (r) => [r.hash, r.score]));
    const latency = new Map<string, Record<string, number>>();
    const drift = new Map<string, ProfileDrift>();
    const errorClusters = new Map<string, Map<string, number>>();
    for (const device of input.spec.devices) {
      const measured = await deviceLatencies(store, input.studyId, plan, device, input.spec);
      for (const [hash, ms] of measured.latencyMs) latency.set(hash, { ...latency.get(hash), [device]: ms });
      if (measured.drift) drift.set(device, measured.drift);
      if (measured.errorClusters) errorClusters.set(device, measured.errorClusters);
    }
    const metrics = new Map<string, ArchitectureMetrics>(
      plan.architectures.map(({ hash, arch }) => {
        const counts = architectureCounts(arch);
        const score = accuracy.get(hash);
        if (score === undefined) throw ApplicationFailure.nonRetryable(`no accuracy score for architecture ${hash}`, 'InvalidInputError');
        return [hash, { hash, accuracy: score, macs: counts.macs, params: counts.params, latencyMs: latency.get(hash) ?? {} }];
      }),
    );
    const depthRule = plan.design === 'shared-random' ? 'held' : input.spec.depthRule;
    const refs: ProfileRef[] = [];
    for (const device of input.spec.devices) {
      for (const resolution of plan.resolutions) {
        const profile = planProfile({
          plan,
          device,
          resolution,
          accuracySource: input.spec.accuracy.source,
          metrics,
          depthRule,
          latencyCluster: (hash) => errorClusters.get(device)?.get(hash),
        });
        const deviceDrift = drift.get(device);
        if (deviceDrift) profile.drift = deviceDrift;
        const ref = { device, resolution, jsonKey: keys.profile(device, resolution, 'json'), csvKey: keys.profile(device, resolution, 'csv') };
        await store.putJson(ref.jsonKey, profile);
        await store.put(ref.csvKey, profileToCsv(profile), { contentType: 'text/csv' });
        refs.push(ref);
      }
    }
    return refs;
  }

  return withStudySpaces({
    prepareStudy,
    scoreAccuracyBatch,
    aggregateProfiles,
    planBatch,
    storeAccuracyBatch,
    ...createInsightActivities({ store }),
    ...createSearchActivities({ store, accuracyScorers: deps.accuracyScorers }),
    ...createReportActivities({ store }),
  });
}
