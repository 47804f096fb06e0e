/**
 * A study on a user-defined space carries the space's definition in its spec (pipelines/study/spec.ts). Every study
 * activity given the spec registers the space before it runs, so that a worker on any host, or one restarted
 * mid-study, knows it. Batch activities, which are not given the spec, find the definition in their work list
 * (activities/study/work.ts); the others read the study's stored spec (registerStoredStudySpace).
 */
import { isRecord } from '../../pipelines/spaces/common.js';
import { registerStudySpace, type StudySpec } from '../../pipelines/study/spec.js';
import type { ArtifactStore } from '../storage/store.js';
import { studyKeys } from './keys.js';

type Activity = (input: never) => Promise<unknown>;

export function withStudySpaces<T extends { [K in keyof T]: Activity }>(activities: T): T {
  const wrapped = Object.entries(activities).map(([name, activity]) => [
    name,
    async (input: never) => {
      const given: unknown = input;
      if (isRecord(given) && isRecord(given.spec)) registerStudySpace(given.spec as StudySpec);
      return (activity as Activity)(input);
    },
  ]);
  return Object.fromEntries(wrapped) as T;
}

const registeredStudies = new Set<string>();

/**
 * Registers a study's space from its stored spec, once per study and process: for the activities that are given
 * neither the spec nor a work list (predicting a search's latencies, remeasuring its results).
 */
export async function registerStoredStudySpace(store: ArtifactStore, studyId: string): Promise<void> {
  if (registeredStudies.has(studyId)) return;
  registerStudySpace(await store.getJson<StudySpec>(studyKeys(studyId).spec));
  registeredStudies.add(studyId);
}
