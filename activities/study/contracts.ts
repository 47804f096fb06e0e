/**
 * The activity contracts of a study: what the workflows may call, with small inputs and outputs.
 * Large data (plans, measurements, profiles) stays in the artifact store; only keys travel through
 * workflow history.
 */
import type { StudySpec } from '../../pipelines/study/spec.js';

export interface PreparedStudy {
  studyId: string;
  specKey: string;
  planKey: string;
  architectures: number;
  specs: number;
  store: string;
}

export type CampaignKind = 'latency' | 'accuracy';

export interface BatchRequest {
  studyId: string;
  planKey: string;
  batchIndex: number;
  batchSize: number;
}

export interface BatchSummary {
  batchIndex: number;
  key: string;
  count: number;
  /** Items computed now (the rest came from the measurement cache or an earlier attempt). */
  computed: number;
  cached: number;
}

export interface ProfileRef {
  device: string;
  resolution: number;
  jsonKey: string;
  csvKey: string;
}

export interface OrchestratorActivities {
  prepareStudy(input: { studyId: string; spec: StudySpec }): Promise<PreparedStudy>;
  scoreAccuracyBatch(input: BatchRequest & { spec: StudySpec }): Promise<BatchSummary>;
  aggregateProfiles(input: { studyId: string; planKey: string; spec: StudySpec }): Promise<ProfileRef[]>;
}

export interface DeviceActivities {
  measureBatch(input: BatchRequest & { device: string }): Promise<BatchSummary>;
}

/** Heartbeat details of a batch activity: how far it got, so a retry resumes after the last item. */
export interface BatchHeartbeat {
  batchIndex: number;
  completed: number;
}
