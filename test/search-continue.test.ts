/**
 * A search workflow that continues as new (against a real Temporal dev server, real workers and onnxruntime):
 * its state is in the store, one record per step, the next run carries only where the search stands, and the
 * search finds exactly what an uninterrupted one finds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchRef } from '../activities/study/search.js';
import type { SearchResult } from '../pipelines/search/index.js';
import { startStudy } from '../workers/study-client.js';
import { TEST_DEVICE, TEST_TIMEOUTS, smallSpec, startTestStack, tempDir, writeTestDevicesFile, type TestStack } from './helpers/study.js';

const SEARCH = { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 3, budgetPerIteration: 3, remeasureFront: false };
/** Without drift probes the second study's latencies are the first's, from the measurement cache: the same predictor. */
const spec = (name: string) => smallSpec(name, { search: SEARCH, measurement: { batchSize: 3, drift: { track: false } } });

describe('a search that continues as new', () => {
  let stack: TestStack;

  beforeAll(async () => {
    const dir = tempDir('search-continue');
    stack = await startTestStack(dir, { devicesFile: writeTestDevicesFile(dir), device: TEST_DEVICE });
  });

  afterAll(() => stack.close());

  it('keeps a record per step in the store and finds what an uninterrupted search finds', async () => {
    const { temporal, store } = stack;
    // The same spec under two names: the same architectures, seeds and searches (names do not seed anything).
    const whole = await startStudy(temporal.client, spec('search-whole'), { timeouts: TEST_TIMEOUTS });
    const wholeResult = await whole.handle.result();
    const stepped = await startStudy(temporal.client, spec('search-stepped'), { timeouts: TEST_TIMEOUTS, searchStepsPerRun: 1 });
    const steppedResult = await stepped.handle.result();

    const searchRefs = async (studyId: string): Promise<Map<string, SearchRef>> => {
      const refs = new Map<string, SearchRef>();
      for (const arm of ['original', 'pruned']) {
        const id = `${studyId}.search.${TEST_DEVICE}.pareto.${arm}.seed1`;
        refs.set(arm, (await temporal.client.workflow.getHandle(id).result()) as SearchRef);
      }
      return refs;
    };
    const [wholeRefs, steppedRefs] = [await searchRefs(wholeResult.studyId), await searchRefs(steppedResult.studyId)];
    for (const arm of ['original', 'pruned']) {
      const id = `${steppedResult.studyId}.search.${TEST_DEVICE}.pareto.${arm}.seed1`;
      const runs: string[] = [];
      for await (const execution of temporal.client.workflow.list({ query: `WorkflowId = "${id}"` })) runs.push(execution.status.name);
      // The initial step and three iterations: a run per step, each but the last continued as new.
      expect(runs.sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
      // The configuration and a record of each of the four steps, the same in both studies; no whole-state checkpoint.
      const stored = async (studyId: string) => (await store.list(`studies/${studyId}/search/${TEST_DEVICE}/pareto/${arm}/`)).map((k) => k.slice(k.indexOf('/search/')));
      const steps = ['config.json', ...[0, 1, 2, 3].map((step) => `step-0000${step}.json`)].map((f) => `/search/${TEST_DEVICE}/pareto/${arm}/steps/seed-1/${f}`);
      expect((await stored(steppedResult.studyId)).sort()).toEqual([...steps, `/search/${TEST_DEVICE}/pareto/${arm}/seed-1.json`].sort());
      for (const key of steps) {
        expect(await store.getJson(`studies/${steppedResult.studyId}${key}`)).toEqual(await store.getJson(`studies/${wholeResult.studyId}${key}`));
      }
      const [a, b] = [await store.getJson<SearchResult>(wholeRefs.get(arm)!.resultKey), await store.getJson<SearchResult>(steppedRefs.get(arm)!.resultKey)];
      expect(b.front.length).toBeGreaterThan(0);
      expect(b).toEqual(a);
    }
  }, 600_000);
});
