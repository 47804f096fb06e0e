/**
 * A search workflow that continues as new (against a real Temporal dev server, real workers and onnxruntime):
 * after every step its state goes to the store and the next run picks it up by key, and the search finds
 * exactly what an uninterrupted one finds.
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

  it('checkpoints after every step and finds what an uninterrupted search finds', async () => {
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
      const checkpoints = await store.list(`studies/${steppedResult.studyId}/search/${TEST_DEVICE}/pareto/${arm}/checkpoints/`);
      expect(checkpoints).toHaveLength(3);
      const [a, b] = [await store.getJson<SearchResult>(wholeRefs.get(arm)!.resultKey), await store.getJson<SearchResult>(steppedRefs.get(arm)!.resultKey)];
      expect(b.front.length).toBeGreaterThan(0);
      expect(b).toEqual(a);
    }
    // The uninterrupted study's searches never checkpointed.
    expect(await store.list(`studies/${wholeResult.studyId}/search/${TEST_DEVICE}/pareto/original/checkpoints/`)).toEqual([]);
  }, 600_000);
});
