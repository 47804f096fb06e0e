/**
 * A study on a user-defined space carries the space's definition in its spec (pipelines/study/spec.ts). Every study
 * activity registers it before it runs, so that a worker on any host, or one restarted mid-study, knows the space:
 * from the spec in the activity's input, else from the study's stored spec (read once per study and process).
 */
import { registerStudySpace, type StudySpec } from '../../pipelines/study/spec.js';
import type { ArtifactStore } from '../storage/store.js';
import { studyKeys } from './keys.js';

type Activity = (input: never) => Promise<unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function withStudySpaces<T extends { [K in keyof T]: Activity }>(store: ArtifactStore, activities: T): T {
  const registered = new Set<string>();
  const register = async (input: unknown) => {
    if (!isRecord(input)) return;
    if (isRecord(input.spec)) return registerStudySpace(input.spec as StudySpec);
    const studyId = input.studyId;
    if (typeof studyId !== 'string' || registered.has(studyId)) return;
    const key = studyKeys(studyId).spec;
    if (await store.exists(key)) registerStudySpace(await store.getJson<StudySpec>(key));
    registered.add(studyId);
  };
  const wrapped = Object.entries(activities).map(([name, activity]) => [
    name,
    async (input: never) => {
      await register(input);
      return (activity as Activity)(input);
    },
  ]);
  return Object.fromEntries(wrapped) as T;
}
