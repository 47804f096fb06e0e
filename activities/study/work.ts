/**
 * A study's work lists in the store: written once by prepareStudy, one small file per batch of every campaign,
 * and read by the batch activities, so a batch reads its own architectures instead of the whole plan.
 */
import { ArtifactNotFoundError, type ArtifactStore } from '../storage/index.js';
import type { StudyPlan } from '../../pipelines/study/plan.js';
import { registerSpace, type SpaceDefinition } from '../../pipelines/spaces/index.js';
import { registerStudySpace, type StudySpec } from '../../pipelines/study/spec.js';
import { accuracyWorkLists, latencyWorkLists, type AccuracyWorkList, type LatencyWorkList } from '../../pipelines/study/work.js';
import type { BatchRequest } from './contracts.js';
import { studyKeys } from './keys.js';

/**
 * Puts in flight at once: each fs put waits on fsyncs and each S3 put on two round trips. The 1,810 lists of
 * paper-ofa-mbv3 on one device took 6.1-6.7 s one at a time and 4.0-4.4 s 16 at a time on the fs store, and
 * 8.9-11.2 s vs 4.8-5.4 s on a loopback MinIO (2-core machine); S3 over a network gains more.
 */
const PUT_CONCURRENCY = 16;

/** Writes every batch's work list of the accuracy campaign and of each device's latency campaign. */
export async function writeWorkLists(store: ArtifactStore, studyId: string, plan: StudyPlan, spec: StudySpec): Promise<number> {
  const keys = studyKeys(studyId);
  const files: [string, AccuracyWorkList | LatencyWorkList][] = [
    ...accuracyWorkLists(plan, spec).map((list): [string, AccuracyWorkList] => [keys.accuracyWork(list.batchIndex), list]),
    ...spec.devices.flatMap((device) => latencyWorkLists(plan, spec, device).map((list): [string, LatencyWorkList] => [keys.latencyWork(device, list.batchIndex), list])),
  ];
  let next = 0;
  const putNext = async (): Promise<void> => {
    for (let index = next++; index < files.length; index = next++) {
      const [key, list] = files[index]!;
      // Immutable puts of deterministic lists: a retried prepareStudy finds them stored and writes nothing.
      await store.putJson(key, list);
    }
  };
  await Promise.all(Array.from({ length: PUT_CONCURRENCY }, putNext));
  return files.length;
}

export function readAccuracyWork(store: ArtifactStore, request: BatchRequest): Promise<AccuracyWorkList> {
  return readWorkList(store, request, studyKeys(request.studyId).accuracyWork(request.batchIndex), (plan, spec) => accuracyWorkLists(plan, spec));
}

export function readLatencyWork(store: ArtifactStore, request: BatchRequest & { device: string }): Promise<LatencyWorkList> {
  return readWorkList(store, request, studyKeys(request.studyId).latencyWork(request.device, request.batchIndex), (plan, spec) => latencyWorkLists(plan, spec, request.device));
}

/**
 * A batch's work list. A study prepared before work lists existed has none stored: its batches derive the same
 * list from the plan and spec, and so read the whole plan per batch, as they did then.
 */
async function readWorkList<T extends { space?: SpaceDefinition }>(
  store: ArtifactStore,
  request: BatchRequest,
  key: string,
  derive: (plan: StudyPlan, spec: StudySpec) => T[],
): Promise<T> {
  try {
    const list = await store.getJson<T>(key);
    // A user-defined space travels with every work list, so a worker on another host knows it.
    if (list.space) registerSpace(list.space);
    return list;
  } catch (error) {
    if (!(error instanceof ArtifactNotFoundError)) throw error;
  }
  const [plan, spec] = await Promise.all([store.getJson<StudyPlan>(request.planKey), store.getJson<StudySpec>(studyKeys(request.studyId).spec)]);
  registerStudySpace(spec);
  const list = derive(plan, spec)[request.batchIndex];
  if (list === undefined) throw new RangeError(`batch ${request.batchIndex} is beyond the plan of study ${request.studyId}`);
  return list;
}
