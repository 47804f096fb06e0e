/**
 * No payload grows with a study (against a real Temporal dev server, real workers and onnxruntime, and an
 * evaluator worker on its own queue, as a user serves one): a study whose Pareto search takes the paper's steps
 * (100 + 5 × 200, its searches continuing as new as their histories grow), and a search whose steps are the
 * largest a spec accepts (MAX_SEARCH_STEP candidates), complete, and every payload in every run of every workflow
 * of the study, read from the recorded histories, is at most 64 KB.
 *
 * With BLOCKSCOPE_FULL_SEARCH=1 the study's search runs 100 + 40 × 200 evaluations (MAX_SEARCH_EVALUATIONS, the
 * most a spec accepts): the same payloads, four times the steps and continue-as-new runs, and about six minutes on
 * two cores, too long for the default suite (docs/architecture.md "Payloads").
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchRef, SearchRequest } from '../activities/study/contracts.js';
import type { SearchResult } from '../pipelines/search/index.js';
import { MAX_SEARCH_EVALUATIONS, MAX_SEARCH_STEP, parseStudySpec } from '../pipelines/study/spec.js';
import { startStudy } from '../workers/study-client.js';
import { ORCHESTRATOR_QUEUE } from '../workflows/definitions.js';
import { scaleEvaluator } from '../scripts/scale-model.js';
import { TEST_DEVICE, TEST_TIMEOUTS, smallSpec, startTestStack, tempDir, writeTestDevicesFile, type TestStack } from './helpers/study.js';

const EVALUATOR_QUEUE = 'payloads-evaluator';
const ITERATIONS = process.env.BLOCKSCOPE_FULL_SEARCH === '1' ? 40 : 5;
/** The bound docs/architecture.md states for every payload of a study. */
const PAYLOAD_BOUND = 64 * 1024;

interface LargestPayload {
  bytes: number;
  where: string;
}

/** Every payload group (a Payloads message: an input, a result, a marker's details) of a history, with its size. */
function largestPayload(history: unknown, label: string): LargestPayload {
  let largest: LargestPayload = { bytes: 0, where: 'none' };
  const payloadSize = (p: { data?: Uint8Array | null; metadata?: Record<string, Uint8Array> | null }) =>
    (p.data?.length ?? 0) + Object.entries(p.metadata ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
  const visit = (node: unknown, path: string): void => {
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    if (Array.isArray(node)) return node.forEach((child, i) => visit(child, `${path}[${i}]`));
    const record = node as Record<string, unknown>;
    if (Array.isArray(record.payloads)) {
      const bytes = (record.payloads as Parameters<typeof payloadSize>[0][]).reduce((n, p) => n + payloadSize(p), 0);
      if (bytes > largest.bytes) largest = { bytes, where: `${label} ${path}` };
    }
    for (const [key, child] of Object.entries(record)) visit(child, `${path}.${key}`);
  };
  visit(history, '');
  return largest;
}

/** Every run of every workflow whose id starts with the study's, with its largest payload and event count. */
async function studyHistories(stack: TestStack, studyId: string): Promise<{ workflowId: string; events: number; largest: LargestPayload }[]> {
  const out: { workflowId: string; events: number; largest: LargestPayload }[] = [];
  for await (const execution of stack.temporal.client.workflow.list({ query: `WorkflowId STARTS_WITH '${studyId}'` })) {
    const history = await stack.temporal.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    out.push({ workflowId: execution.workflowId, events: history.events?.length ?? 0, largest: largestPayload(history, `${execution.workflowId} (${execution.runId})`) });
  }
  return out;
}

describe('payloads at the largest search budgets', () => {
  let stack: TestStack;
  let connection: NativeConnection;
  let evaluator: Worker;
  let evaluatorRunning: Promise<void>;

  /** The SDK's payload-size warnings (TMPRL1103), forwarded from its core; the workers' other logs are dropped. */
  const payloadWarnings: string[] = [];

  beforeAll(async () => {
    Runtime.install({
      logger: new DefaultLogger('WARN', ({ message }) => void (/TMPRL1103/.test(message) && payloadWarnings.push(message))),
      telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } },
    });
    const dir = tempDir('search-payloads');
    stack = await startTestStack(dir, { devicesFile: writeTestDevicesFile(dir), device: TEST_DEVICE });
    connection = await NativeConnection.connect({ address: stack.temporal.server.address });
    // A user's evaluator answering at once with a stated model: the test is about what travels, not what it costs.
    evaluator = await Worker.create({ connection, namespace: stack.temporal.server.namespace, taskQueue: EVALUATOR_QUEUE, activities: scaleEvaluator });
    evaluatorRunning = evaluator.run();
  });

  afterAll(async () => {
    evaluator.shutdown();
    await evaluatorRunning;
    await connection.close();
    await stack.close();
  });

  it(`a study whose Pareto search runs 100 + ${ITERATIONS} × 200 evaluations with an evaluator, and a search of the largest steps accepted, keep every payload under 64 KB`, async () => {
    const raw = smallSpec('search-payloads', {
      accuracy: { source: 'evaluator', evaluatorTaskQueue: EVALUATOR_QUEUE, batchSize: 5 },
      search: { objectives: ['pareto'], seeds: 1, initialSize: 100, iterations: ITERATIONS, budgetPerIteration: 200, spaces: ['original', 'paper:max_acc'], remeasureFront: false },
    });
    const started = await startStudy(stack.temporal.client, raw, { timeouts: TEST_TIMEOUTS });
    const study = await started.handle.result();
    const searches = await Promise.all(
      ['original', 'paper-max_acc'].map((arm) => stack.temporal.client.workflow.getHandle(`${study.studyId}.search.${TEST_DEVICE}.pareto.${arm}.seed1`).result() as Promise<SearchRef>),
    );
    for (const ref of searches) {
      const result = await stack.store.getJson<SearchResult>(ref.resultKey);
      expect(result.completedIterations).toBe(ITERATIONS);
      // Mutation proposes duplicates, which cost nothing: at most the budget, and most of it.
      expect(ref.evaluations).toBeLessThanOrEqual(100 + ITERATIONS * 200);
      expect(ref.evaluations).toBeGreaterThan(0.5 * (100 + ITERATIONS * 200));
      expect(result.front.length).toBeGreaterThan(0);
    }

    // The largest steps a spec accepts: MAX_SEARCH_STEP candidates each (the full run's study is the largest search).
    expect(100 + 40 * 200).toBe(MAX_SEARCH_EVALUATIONS);
    const budget = { initialSize: MAX_SEARCH_STEP, iterations: 1, budgetPerIteration: MAX_SEARCH_STEP };
    const spec = parseStudySpec({ ...raw, search: { ...(raw.search as object), objectives: ['max-accuracy'], maxAccuracy: budget } });
    expect(() => parseStudySpec({ ...raw, search: { ...(raw.search as object), objectives: ['max-accuracy'], maxAccuracy: { ...budget, iterations: 8 } } })).toThrow(
      /search\.maxAccuracy: initialSize \+ iterations × budgetPerIteration is 1000 \+ 8 × 1000 = 9000 evaluations; at most 8100/,
    );
    expect(() => parseStudySpec({ ...raw, search: { ...(raw.search as object), budgetPerIteration: MAX_SEARCH_STEP + 1 } })).toThrow(/search\.budgetPerIteration: .*at most 1000/);
    const request: SearchRequest = {
      studyId: study.studyId,
      planKey: study.prepared.planKey,
      spec,
      device: TEST_DEVICE,
      objective: 'max-accuracy',
      arm: 'original',
      seed: 1,
      timeouts: TEST_TIMEOUTS,
    };
    const largest: WorkflowHandle = await stack.temporal.client.workflow.start('searchWorkflow', {
      taskQueue: ORCHESTRATOR_QUEUE,
      workflowId: `${study.studyId}.search.largest`,
      args: [request],
    });
    const ref = (await largest.result()) as SearchRef;
    const result = await stack.store.getJson<SearchResult>(ref.resultKey);
    expect(result.completedIterations).toBe(budget.iterations);
    expect(result.trace[0]!.evaluated).toBe(MAX_SEARCH_STEP);
    expect(result.trace[1]!.candidates).toBe(MAX_SEARCH_STEP);

    const histories = await studyHistories(stack, study.studyId);
    // The study, its two campaigns, and every run of the three searches (which continue as new as their histories grow).
    for (const arm of ['original', 'paper-max_acc', 'largest']) {
      const runs = histories.filter((h) => h.workflowId.endsWith(arm === 'largest' ? '.search.largest' : `.pareto.${arm}.seed1`));
      expect(runs.length, `${arm}: continued as new`).toBeGreaterThan(1);
    }
    const worst = histories.reduce((a, b) => (b.largest.bytes > a.largest.bytes ? b : a));
    console.log(
      `largest payload in ${histories.length} histories: ${worst.largest.bytes} B at ${worst.largest.where}; most events in one run: ${Math.max(...histories.map((h) => h.events))}`,
    );
    for (const history of histories) expect(history.largest.bytes, history.largest.where).toBeLessThanOrEqual(PAYLOAD_BOUND);
    expect(payloadWarnings).toEqual([]);
  }, 1_200_000);
});
