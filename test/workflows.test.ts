/**
 * Fast workflow tests: the study, campaign and search workflows against Temporal's time-skipping test server
 * (TestWorkflowEnvironment.createTimeSkipping, the binary scripts/install-test-server.sh puts at
 * .tools/bin/temporal-test-server) with stubbed activities. They are about workflow logic only: pause and
 * resume (also forwarded from a study to its campaign), cancellation, continue-as-new with carried counters,
 * the evaluator path scheduling a batch at once, and failures that end a study instead of leaving it running.
 * The real activities are tested against real services elsewhere (study.test.ts and others).
 *
 * Time skipping: retry backoffs (minutes of server time) and the hour a paused workflow is left alone are
 * skipped, so the file runs in seconds. The server does not skip time while an activity is running, so the
 * stubs that hold an activity open heartbeat and are released by the test.
 *
 * `BLOCKSCOPE_RECORD_HISTORIES=1 npx vitest run test/workflows.test.ts` also writes the histories of the
 * pause, cancel, continue-as-new and failure runs to test/histories/tws-*.json (the replay fixtures of
 * test/replay.test.ts), in the Temporal CLI's JSON form, as scripts/record-histories.ts does.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure, ChildWorkflowFailure, defaultPayloadConverter, type Duration } from '@temporalio/common';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EvaluateAccuracyInput, EvaluateAccuracyResult, EvaluatorActivities } from '../activities/accuracy/contracts.js';
import type { AccuracyRecord, BatchRequest, BatchSummary, DeviceActivities, OrchestratorActivities, SearchLocator, SearchRef, SearchRequest } from '../activities/study/contracts.js';
import type { EvaluationOutcome, SearchProgress, SearchResult, SearchState } from '../pipelines/search/search.js';
import { acceptResults, nextBatch, searchConfig, searchProgress, searchResult, startSearch } from '../pipelines/search/search.js';
import { originalSpace } from '../pipelines/spaces/index.js';
import type { Architecture } from '../pipelines/spaces/types.js';
import type { StudySpec } from '../pipelines/study/spec.js';
import { temporalCliPath } from '../workers/dev-server.js';
import { workflowBundle } from '../workers/temporal.js';
import {
  ORCHESTRATOR_QUEUE,
  SEARCH_ATTRIBUTES,
  campaignProgressQuery,
  deviceQueue,
  pauseSignal,
  resumeSignal,
  studyProgressQuery,
  type CampaignInput,
  type StudyTimeouts,
  type StudyWorkflowInput,
} from '../workflows/definitions.js';
import type { campaignWorkflow, searchWorkflow, studyWorkflow } from '../workflows/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const HISTORIES = resolve(import.meta.dirname, 'histories');
const RECORD = process.env.BLOCKSCOPE_RECORD_HISTORIES === '1';
const DEVICE = 'tws-dev';
const EVALUATOR_QUEUE = 'tws-evaluator';
/** Heartbeats are sent every 250 ms (maxHeartbeatThrottleInterval below), far inside this timeout. */
const TIMEOUTS: StudyTimeouts = { batchStartToCloseMinutes: 10, heartbeatSeconds: 10 };
const { EventType, IndexedValueType } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/**
 * The spec fields the workflows read (the stubbed activities ignore the rest): a hand-written value, not
 * parseStudySpec's, so these tests depend on the workflows' contract only.
 */
function studySpec(overrides: { accuracy?: Record<string, unknown>; search?: Record<string, unknown> } = {}): StudySpec {
  return {
    name: 'tws',
    space: 'ofa-mbv3',
    resolutions: [160],
    blocks: ['u0.l0.e3k3', 'u4.l3.e6k7'],
    samplesPerSpec: 2,
    baselineSamples: 2,
    seed: 5,
    devices: [DEVICE],
    accuracy: { source: 'naswot-proxy', proxyBatch: 8, batchSize: 2, ...overrides.accuracy },
    measurement: { batchSize: 2 },
    search: { objectives: [], seeds: 1, initialSize: 4, iterations: 2, budgetPerIteration: 3, remeasureFront: false, ...overrides.search },
  } as unknown as StudySpec;
}

// ---------------------------------------------------------------------------------------------------------------
// Stubbed activities: every call is recorded; a test replaces an activity's behaviour through `overrides`.

type Activities = OrchestratorActivities & DeviceActivities & EvaluatorActivities;
interface Call {
  activity: keyof Activities;
  input: unknown;
  attempt: number;
}
const calls: Call[] = [];
let overrides: Partial<Activities> = {};
const callsOf = (activity: keyof Activities) => calls.filter((c) => c.activity === activity);
const batchIndices = (activity: keyof Activities) => callsOf(activity).map((c) => (c.input as BatchRequest).batchIndex);

const summary = (request: BatchRequest, total: number, cached = 0): BatchSummary => {
  const count = Math.min(request.batchSize, total - request.batchIndex * request.batchSize);
  return { batchIndex: request.batchIndex, key: `batch-${request.batchIndex}`, count, computed: count - cached, cached };
};
/** Architectures in the plan of every study here. */
const ARCHITECTURES = 4;
const checkpoints = new Map<string, SearchState>();
/** The stub store of searches kept step by step: every state of each search, by its locator. */
const searchStates = new Map<string, SearchState[]>();
const finishedSearches: SearchResult[] = [];
const storedSearchId = (s: SearchLocator) => `${s.studyId}/${s.arm}/${s.seed}`;
const storedSearchState = (search: SearchLocator, step: number): SearchState => searchStates.get(storedSearchId(search))!.find((state) => state.step === step)!;
function advanceStoredSearch(search: SearchLocator, state: SearchState, outcomes: EvaluationOutcome[]): SearchProgress {
  const after = acceptResults(state, outcomes);
  searchStates.get(storedSearchId(search))!.push(after);
  return searchProgress(after);
}
/** A deterministic number in [0, 1) from a JSON value. */
const unit = (value: unknown, salt: string): number => {
  let h = 2166136261;
  for (const ch of salt + JSON.stringify(value)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0) / 2 ** 32;
};

const defaults: Activities = {
  prepareStudy: async ({ studyId }) => ({
    studyId,
    specKey: `${studyId}/spec`,
    planKey: `${studyId}/plan`,
    architectures: ARCHITECTURES,
    specs: 2,
    store: 'stub',
    overlapAccuracy: false,
  }),
  scoreAccuracyBatch: async (request) => summary(request, ARCHITECTURES),
  measureBatch: async (request) => summary(request, ARCHITECTURES),
  remeasureSearchResults: async () => ({ batchIndex: 0, key: 'remeasured', count: 0, computed: 0, cached: 0 }),
  aggregateProfiles: async ({ studyId }) => [{ device: DEVICE, resolution: 160, jsonKey: `${studyId}/profile.json`, csvKey: `${studyId}/profile.csv` }],
  deriveStudyInsights: async () => [],
  planBatch: async (request) =>
    Array.from({ length: request.batchSize }, (_, i) => request.batchIndex * request.batchSize + i).map((n) => ({
      hash: `arch-${n}`,
      arch: { resolution: 160, n } as unknown as Architecture,
    })),
  storeAccuracyBatch: async (request) => ({ ...summary(request, Number.POSITIVE_INFINITY), count: request.records.length, computed: request.records.length }),
  searchSetup: async (request) =>
    searchConfig(originalSpace('ofa-mbv3'), request.objective, { seed: request.seed, resolution: 160, initialSize: 4, iterations: 2, budgetPerIteration: 3 }),
  predictLatencies: async ({ archs }) => archs.map((arch) => ({ latencyMs: 5 + 10 * unit(arch, 'latency') })),
  evaluateCandidates: async ({ archs }) => archs.map((arch) => ({ accuracy: 60 + 20 * unit(arch, 'accuracy'), latencyMs: 5 + 10 * unit(arch, 'latency') })),
  openSearch: async (request) => {
    const state = request.checkpointKey ? checkpoints.get(request.checkpointKey)! : startSearch(await defaults.searchSetup(request));
    searchStates.set(storedSearchId(request), [state]);
    return searchProgress(state);
  },
  searchCandidates: async ({ search, step, offset }) => {
    const batch = nextBatch(storedSearchState(search, step));
    // Two a page, so that a step of the evaluator path needs several pages.
    return { archs: batch.slice(offset, offset + 2), total: batch.length };
  },
  acceptSearchStep: async ({ search, step, accuracies }) => {
    const state = storedSearchState(search, step);
    const latencies = await defaults.predictLatencies({ ...search, archs: nextBatch(state) });
    return advanceStoredSearch(
      search,
      state,
      accuracies.map((accuracy, i) => ({ accuracy, latencyMs: (latencies[i] as { latencyMs: number }).latencyMs })),
    );
  },
  runSearchStep: async ({ search, step }) => {
    const state = storedSearchState(search, step);
    return advanceStoredSearch(search, state, await defaults.evaluateCandidates({ ...search, spec: studySpec(), archs: nextBatch(state) }));
  },
  finishSearch: async ({ search, step }) => {
    const result = searchResult(storedSearchState(search, step));
    finishedSearches.push(result);
    return { device: search.device, objective: search.objective, arm: search.arm, seed: search.seed, resultKey: 'result', evaluations: result.evaluationCount };
  },
  checkpointSearch: async ({ state }) => {
    const key = `checkpoint-${checkpoints.size + 1}`;
    checkpoints.set(key, state);
    return key;
  },
  resumeSearch: async ({ checkpointKey }) => checkpoints.get(checkpointKey)!,
  storeSearchResult: async (request) => ({
    device: request.device,
    objective: request.objective,
    arm: request.arm,
    seed: request.seed,
    resultKey: 'result',
    evaluations: request.result.evaluationCount,
  }),
  compareStudySearches: async (request) => ({ device: request.device, objective: request.objective, key: 'comparison', hypervolumeRatios: [] }),
  renderStudyReport: async ({ studyId }) => ({ htmlKey: `${studyId}/report.html`, jsonKey: `${studyId}/report.json`, csvKeys: [] }),
  evaluateAccuracy: async ({ arch }) => ({ top1: 50, samples: 10, evaluator: `stub ${JSON.stringify(arch)}` }),
};

const stubs = Object.fromEntries(
  (Object.keys(defaults) as (keyof Activities)[]).map((name) => [
    name,
    async (input: never) => {
      calls.push({ activity: name, input, attempt: Context.current().info.attempt });
      const implementations = { ...defaults, ...overrides } as unknown as Record<keyof Activities, (input: never) => Promise<unknown>>;
      return implementations[name](input);
    },
  ]),
) as unknown as Activities;

/** Opened by the test to release an activity that `hold` keeps running. */
class Gate {
  opened = false;
  private release!: () => void;
  readonly promise = new Promise<void>((done) => (this.release = done));
  open(): void {
    this.opened = true;
    this.release();
  }
}

/** Keeps the calling activity running until the gate opens, heartbeating, so that a cancellation reaches it (and throws). */
async function hold(gate: Gate): Promise<void> {
  const context = Context.current();
  while (!gate.opened) {
    context.heartbeat();
    await Promise.race([gate.promise, context.sleep(50)]);
  }
}

/** An error type the workflows' retry policy lists as non-retryable (by its name, as Temporal reports it). */
class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers on the test server

let env: TestWorkflowEnvironment;
let workers: Worker[] = [];
let running: Promise<void[]>;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function events(handle: WorkflowHandle, runId?: string): Promise<HistoryEvent[]> {
  const target = runId ? env.client.workflow.getHandle(handle.workflowId, runId) : handle;
  return (await target.fetchHistory()).events ?? [];
}
const ofType = (list: HistoryEvent[], type: proto.temporal.api.enums.v1.EventType) => list.filter((e) => e.eventType === type);
const eventMs = (e: HistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6);

/** The run ids of a workflow from `firstRunId` on, following continue-as-new. */
async function runIds(workflowId: string, firstRunId: string): Promise<string[]> {
  const runs = [firstRunId];
  for (;;) {
    const last = (await events(env.client.workflow.getHandle(workflowId), runs.at(-1))).at(-1);
    const next = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next) return runs;
    runs.push(next);
  }
}

const statusOf = async (handle: WorkflowHandle) => (await handle.describe()).status.name;
const studyStatusAttribute = async (handle: WorkflowHandle) => (await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.status);

/** A workflow that processed everything it was given: its last event is a completed workflow task. */
const idle = async (handle: WorkflowHandle) => (await events(handle)).at(-1)?.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;

/** Skips `duration` of server time (nothing may be running then: the server keeps real time while an activity runs). */
const skip = (duration: Duration) => env.sleep(duration);

function startStudy(studyId: string, spec = studySpec(), extra: Partial<StudyWorkflowInput> = {}) {
  const input: StudyWorkflowInput = { studyId, specHash: 'tws', spec, timeouts: TIMEOUTS, ...extra };
  return env.client.workflow.start<typeof studyWorkflow>('studyWorkflow', { taskQueue: ORCHESTRATOR_QUEUE, workflowId: studyId, args: [input] });
}

function campaignInput(studyId: string, overridesOfInput: Partial<CampaignInput>): CampaignInput {
  return {
    studyId,
    kind: 'latency',
    target: DEVICE,
    taskQueue: deviceQueue(DEVICE),
    planKey: `${studyId}/plan`,
    spec: studySpec(),
    total: 4,
    batchSize: 1,
    timeouts: TIMEOUTS,
    startBatch: 0,
    carried: { computed: 0, cached: 0, paused: false, elapsedMs: 0 },
    batchesPerRun: 200,
    ...overridesOfInput,
  };
}

const startCampaign = (workflowId: string, input: CampaignInput) =>
  env.client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', { taskQueue: ORCHESTRATOR_QUEUE, workflowId, args: [input] });

/** The workflow's failure (it must fail): the WorkflowFailedError and the messages of its chain of causes. */
async function failureOf(handle: WorkflowHandle): Promise<{ error: WorkflowFailedError; messages: string[] }> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const messages: string[] = [];
  for (let cause: Error | undefined = (error as WorkflowFailedError).cause; cause; cause = (cause as { cause?: Error }).cause) messages.push(cause.message);
  return { error: error as WorkflowFailedError, messages };
}

/** With BLOCKSCOPE_RECORD_HISTORIES=1: writes every run of these workflows as a replay fixture (tws-<name>-<type>[-<suffix>][-runN].json). */
async function record(name: string, workflows: { workflowId: string; firstRunId?: string; suffix?: string }[]): Promise<void> {
  if (!RECORD) return;
  for (const { workflowId, firstRunId, suffix } of workflows) {
    const handle = env.client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    const runs = await runIds(workflowId, firstRunId ?? description.runId);
    for (const [i, runId] of runs.entries()) {
      // The Temporal CLI writes the history in the proto JSON form that replay accepts (as scripts/record-histories.ts).
      const history = execFileSync(temporalCliPath(), ['workflow', 'show', '-w', workflowId, '-r', runId, '--address', env.address, '-o', 'json'], { maxBuffer: 64 << 20 }).toString();
      const file = resolve(HISTORIES, `tws-${name}-${description.type}${suffix ? `-${suffix}` : ''}${runs.length > 1 ? `-run${i + 1}` : ''}.json`.toLowerCase());
      writeFileSync(file, `${JSON.stringify({ workflowId, workflowType: description.type, history: JSON.parse(history) }, null, 1)}\n`);
    }
  }
}

beforeAll(async () => {
  const server = process.env.TEMPORAL_TEST_SERVER ?? resolve(ROOT, '.tools/bin/temporal-test-server');
  if (!existsSync(server)) execFileSync('bash', [resolve(ROOT, 'scripts/install-test-server.sh')], { stdio: 'inherit' });
  // Activity failures are the point of some tests: keep the worker's and core's warnings out of the output.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: server } } });
  // The study upserts blockscope's search attributes; the test server knows only those registered.
  const types: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
    KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((key) => [key.name, types[key.type]!])),
  });
  const common = { connection: env.nativeConnection, activities: stubs, maxHeartbeatThrottleInterval: '250 ms' } as const;
  workers = [
    await Worker.create({ ...common, taskQueue: ORCHESTRATOR_QUEUE, workflowBundle: await workflowBundle() }),
    await Worker.create({ ...common, taskQueue: deviceQueue(DEVICE) }),
    await Worker.create({ ...common, taskQueue: EVALUATOR_QUEUE }),
  ];
  running = Promise.all(workers.map((w) => w.run()));
});

afterAll(async () => {
  for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await env?.teardown();
});

beforeEach(() => {
  calls.length = 0;
  overrides = {};
  checkpoints.clear();
  searchStates.clear();
  finishedSearches.length = 0;
});

// ---------------------------------------------------------------------------------------------------------------

describe('pause and resume', () => {
  it('a paused campaign starts no batch, even an hour later, reports paused, and finishes every batch once resumed', async () => {
    const gate = new Gate();
    overrides.measureBatch = async (request) => {
      if (request.batchIndex === 0) await hold(gate);
      return summary(request, 4);
    };
    const handle = await startCampaign('tws-campaign-pause', campaignInput('tws-campaign-pause', { total: 4, batchSize: 1 }));
    await waitFor('the first batch to start', () => callsOf('measureBatch').length === 1);

    await handle.signal(pauseSignal);
    await waitFor('the campaign to report paused', async () => (await handle.query(campaignProgressQuery)).paused);
    gate.open();
    await waitFor('the first batch to be counted', async () => (await handle.query(campaignProgressQuery)).done === 1 && (await idle(handle)));
    await skip('1 hour');

    expect(batchIndices('measureBatch')).toEqual([0]);
    expect(ofType(await events(handle), EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toHaveLength(1);
    expect(await handle.query(campaignProgressQuery)).toMatchObject({ paused: true, state: 'paused', done: 1, total: 4, computed: 1 });
    expect((await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails).toBe('paused at batch 2 of 4');

    await handle.signal(resumeSignal);
    expect(await handle.result()).toEqual({ kind: 'latency', target: DEVICE, batches: 4, total: 4, computed: 4, cached: 0 });
    expect(batchIndices('measureBatch')).toEqual([0, 1, 2, 3]);
    expect(await handle.query(campaignProgressQuery)).toMatchObject({ paused: false, state: 'completed', done: 4 });
    await record('campaign-pause', [{ workflowId: handle.workflowId }]);
  });

  it('a study paused while sampling starts no campaign until resumed, and forwards a later pause to its running campaign', async () => {
    const prepared = new Gate();
    const firstBatch = new Gate();
    overrides.prepareStudy = async (input) => {
      await hold(prepared);
      return defaults.prepareStudy(input);
    };
    overrides.scoreAccuracyBatch = async (request) => {
      if (request.batchIndex === 0) await hold(firstBatch);
      return summary(request, ARCHITECTURES);
    };
    const handle = await startStudy('tws-study-pause');
    await waitFor('prepareStudy to start', () => callsOf('prepareStudy').length === 1);

    // Paused while sampling: the stage's activity finishes, no campaign starts.
    await handle.signal(pauseSignal);
    await waitFor('the study to report paused', async () => (await handle.query(studyProgressQuery)).paused);
    expect(await handle.query(studyProgressQuery)).toMatchObject({ paused: true, status: 'paused', stage: 'sampling', campaigns: [] });
    prepared.open();
    await waitFor('prepareStudy to complete', async () => ofType(await events(handle), EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).length === 1 && (await idle(handle)));
    await skip('1 hour');
    expect(ofType(await events(handle), EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)).toHaveLength(0);
    expect(callsOf('scoreAccuracyBatch')).toHaveLength(0);
    expect(await studyStatusAttribute(handle)).toBe('paused');

    // Resumed: the accuracy campaign starts; a pause now reaches it (the study signals its campaigns).
    await handle.signal(resumeSignal);
    await waitFor('the first accuracy batch to start', () => callsOf('scoreAccuracyBatch').length === 1);
    const accuracy = env.client.workflow.getHandle('tws-study-pause.accuracy');
    expect(await handle.query(studyProgressQuery)).toMatchObject({
      paused: false,
      status: 'running',
      stage: 'accuracy',
      campaigns: [{ kind: 'accuracy', workflowId: accuracy.workflowId }],
    });
    await handle.signal(pauseSignal);
    await waitFor('the campaign to be paused by its study', async () => (await accuracy.query(campaignProgressQuery)).paused);
    firstBatch.open();
    await waitFor('the first batch to be counted', async () => (await accuracy.query(campaignProgressQuery)).done === 2 && (await idle(accuracy)));
    await skip('1 hour');
    expect(batchIndices('scoreAccuracyBatch')).toEqual([0]);
    expect(await accuracy.query(campaignProgressQuery)).toMatchObject({ state: 'paused', done: 2, total: ARCHITECTURES });
    expect(callsOf('measureBatch')).toHaveLength(0);

    await handle.signal(resumeSignal);
    const result = await handle.result();
    expect(result.profiles).toHaveLength(1);
    expect(batchIndices('scoreAccuracyBatch')).toEqual([0, 1]);
    expect(batchIndices('measureBatch')).toEqual([0, 1]);
    expect(await accuracy.result()).toMatchObject({ batches: 2, computed: ARCHITECTURES });
    expect(await handle.query(studyProgressQuery)).toMatchObject({ paused: false, status: 'completed', stage: 'done' });
    expect(await studyStatusAttribute(handle)).toBe('completed');
    const history = await events(handle);
    expect(ofType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)).toHaveLength(4);
    // Only the second pause and resume had a campaign to forward to.
    expect(ofType(history, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)).toHaveLength(2);
    await record('study-pause', [
      { workflowId: handle.workflowId },
      { workflowId: accuracy.workflowId, suffix: 'accuracy' },
      { workflowId: `tws-study-pause.latency.${DEVICE}`, suffix: 'latency' },
    ]);
  });
});

describe('continue-as-new', () => {
  it('a campaign continues as new every two batches and carries computed, cached and elapsed time to the end', async () => {
    // Each batch fails twice before it succeeds: 1 s + 2 s of retry backoff (skipped) per batch, so elapsed time grows.
    overrides.measureBatch = async (request) => {
      if (Context.current().info.attempt <= 2) throw new Error('device busy');
      return summary(request, 9, request.batchIndex % 2);
    };
    const handle = await startCampaign('tws-campaign-continue', campaignInput('tws-campaign-continue', { total: 9, batchSize: 2, batchesPerRun: 2 }));
    // Batches of 2, 2, 2, 2, 1 architectures; batches 1 and 3 have one from the cache.
    expect(await handle.result()).toEqual({ kind: 'latency', target: DEVICE, batches: 5, total: 9, computed: 7, cached: 2 });

    const runs = await runIds(handle.workflowId, handle.firstExecutionRunId);
    expect(runs).toHaveLength(3);
    const carried: CampaignInput[] = [];
    for (const runId of runs.slice(0, -1)) {
      const last = (await events(handle, runId)).at(-1)!;
      expect(last.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
      carried.push(defaultPayloadConverter.fromPayload<CampaignInput>(last.workflowExecutionContinuedAsNewEventAttributes!.input!.payloads![0]! as never));
    }
    expect(carried.map((c) => [c.startBatch, c.carried.computed, c.carried.cached, c.carried.paused])).toEqual([
      [2, 3, 1, false],
      [4, 6, 2, false],
    ]);
    // At least the skipped backoff of every batch so far, and carried forward (not restarted) by the second run.
    expect(carried[0]!.carried.elapsedMs).toBeGreaterThanOrEqual(2 * 3_000);
    expect(carried[1]!.carried.elapsedMs).toBeGreaterThanOrEqual(carried[0]!.carried.elapsedMs + 2 * 3_000);
    // Every batch succeeded once, on its third attempt, none redone after a new run started.
    expect(
      callsOf('measureBatch')
        .filter((c) => c.attempt === 3)
        .map((c) => (c.input as BatchRequest).batchIndex),
    ).toEqual([0, 1, 2, 3, 4]);
    expect(callsOf('measureBatch')).toHaveLength(15);
    expect(await handle.query(campaignProgressQuery)).toMatchObject({ done: 9, computed: 7, cached: 2, state: 'completed', etaSeconds: 0 });
    await record('campaign-continue', [{ workflowId: handle.workflowId, firstRunId: handle.firstExecutionRunId }]);
  });

  it('a search keeps its state in the store: continuing as new after every step carries only its progress and finds what an uninterrupted search finds', async () => {
    const request = { planKey: 'plan', spec: studySpec(), device: DEVICE, objective: 'pareto', arm: 'original', seed: 1, timeouts: TIMEOUTS } as const;
    const search = (workflowId: string, stepsPerRun?: number) =>
      env.client.workflow.start<typeof searchWorkflow>('searchWorkflow', {
        taskQueue: ORCHESTRATOR_QUEUE,
        workflowId,
        args: [{ ...request, studyId: workflowId, ...(stepsPerRun ? { stepsPerRun } : {}) }],
      });

    const whole = await search('tws-search-whole');
    const wholeRef: SearchRef = await whole.result();
    const stepped = await search('tws-search-stepped', 1);
    const steppedRef: SearchRef = await stepped.result();

    // The initial population and two iterations: one step activity each, three runs, no state in any payload.
    expect(callsOf('runSearchStep').map((c) => (c.input as { step: number }).step)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(callsOf('checkpointSearch')).toHaveLength(0);
    const runs = await runIds(stepped.workflowId, stepped.firstExecutionRunId);
    expect(runs).toHaveLength(3);
    const carried: SearchRequest[] = [];
    for (const runId of runs.slice(0, -1)) {
      const last = (await events(stepped, runId)).at(-1)!;
      carried.push(defaultPayloadConverter.fromPayload<SearchRequest>(last.workflowExecutionContinuedAsNewEventAttributes!.input!.payloads![0]! as never));
    }
    expect(carried.map((c) => c.resume?.step)).toEqual([1, 2]);
    // The store was opened once, by the first run.
    expect(callsOf('openSearch').map((c) => (c.input as SearchRequest).studyId)).toEqual(['tws-search-whole', 'tws-search-stepped']);
    const [a, b] = finishedSearches;
    expect(b!.completedIterations).toBe(2);
    expect(b!.front.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(steppedRef).toEqual(wholeRef);
  });

  it("a search resumed from an older version's checkpoint goes on from it in the store and finds what an uninterrupted search finds", async () => {
    const request = { planKey: 'plan', spec: studySpec(), device: DEVICE, objective: 'pareto', arm: 'original', seed: 1, timeouts: TIMEOUTS } as const;
    const whole = await env.client.workflow.start<typeof searchWorkflow>('searchWorkflow', {
      taskQueue: ORCHESTRATOR_QUEUE,
      workflowId: 'tws-search-reference',
      args: [{ ...request, studyId: 'tws-search-reference' }],
    });
    await whole.result();
    // What a run of the previous version left when it continued as new after its first step: the whole state under a key.
    const first = searchStates.get(storedSearchId({ ...request, studyId: 'tws-search-reference' }))![1]!;
    checkpoints.set('old-checkpoint', first);
    const resumed = await env.client.workflow.start<typeof searchWorkflow>('searchWorkflow', {
      taskQueue: ORCHESTRATOR_QUEUE,
      workflowId: 'tws-search-resumed',
      args: [{ ...request, studyId: 'tws-search-resumed', checkpointKey: 'old-checkpoint' }],
    });
    await resumed.result();
    expect(callsOf('runSearchStep').map((c) => (c.input as { step: number; search: SearchLocator }).step)).toEqual([0, 1, 2, 1, 2]);
    expect((callsOf('runSearchStep').at(-1)!.input as { search: SearchLocator }).search.checkpointKey).toBe('old-checkpoint');
    expect(finishedSearches[1]).toEqual(finishedSearches[0]);
  });

  it("with a user's evaluator, a search fetches each step's candidates in pages and advances with their top-1 in order", async () => {
    overrides.evaluateAccuracy = async ({ arch }: EvaluateAccuracyInput) => ({ top1: 60 + 20 * unit(arch, 'accuracy'), samples: 10, evaluator: 'stub' });
    const spec = studySpec({ accuracy: { source: 'evaluator', evaluatorTaskQueue: EVALUATOR_QUEUE, batchSize: 3 } });
    const handle = await env.client.workflow.start<typeof searchWorkflow>('searchWorkflow', {
      taskQueue: ORCHESTRATOR_QUEUE,
      workflowId: 'tws-search-evaluator',
      args: [{ studyId: 'tws-search-evaluator', planKey: 'plan', spec, device: DEVICE, objective: 'pareto', arm: 'original', seed: 1, timeouts: TIMEOUTS }],
    });
    await handle.result();
    const pages = callsOf('searchCandidates').map((c) => c.input as { step: number; offset: number });
    const accepted = callsOf('acceptSearchStep').map((c) => c.input as { step: number; accuracies: number[] });
    // The initial population of 4 in two pages; every step's candidates evaluated, none twice, and accepted in order.
    expect(pages.filter((p) => p.step === 0).map((p) => p.offset)).toEqual([0, 2]);
    expect(accepted.map((a) => a.step)).toEqual([0, 1, 2]);
    const evaluated = callsOf('evaluateAccuracy').map((c) => 60 + 20 * unit((c.input as EvaluateAccuracyInput).arch, 'accuracy'));
    expect(accepted.flatMap((a) => a.accuracies).sort()).toEqual(evaluated.sort());
    expect(accepted[0]!.accuracies).toHaveLength(4);
    expect(callsOf('runSearchStep')).toHaveLength(0);
    expect(finishedSearches[0]!.evaluationCount).toBe(evaluated.length);
  });
});

describe('the evaluator path', () => {
  it("schedules a batch's evaluations at once and stores their accuracies in the batch's order", async () => {
    const log: { event: 'start' | 'finish'; n: number }[] = [];
    overrides.evaluateAccuracy = async ({ arch }: EvaluateAccuracyInput): Promise<EvaluateAccuracyResult> => {
      const { n } = arch as unknown as { n: number };
      const batch = Math.floor(n / 3);
      log.push({ event: 'start', n });
      // Every architecture of the batch must have started before any finishes (a sequential workflow would stall here).
      await waitFor(`all of batch ${batch} to start`, () => log.filter((e) => e.event === 'start' && Math.floor(e.n / 3) === batch).length === 3, 5_000);
      // Later architectures finish first: each waits for the next one's result.
      if (n % 3 < 2) await waitFor(`architecture ${n + 1} to finish`, () => log.some((e) => e.event === 'finish' && e.n === n + 1), 5_000);
      log.push({ event: 'finish', n });
      return { top1: 40 + n, samples: 100, evaluator: 'stub' };
    };
    const spec = studySpec({ accuracy: { source: 'evaluator', evaluatorTaskQueue: EVALUATOR_QUEUE, batchSize: 3 } });
    const input = campaignInput('tws-evaluator', { kind: 'accuracy', target: 'accuracy', taskQueue: ORCHESTRATOR_QUEUE, spec, total: 6, batchSize: 3 });
    const handle = await startCampaign('tws-evaluator', input);
    expect(await handle.result()).toMatchObject({ kind: 'accuracy', batches: 2, total: 6, computed: 6 });

    for (const batch of [0, 1]) {
      const ofBatch = log.filter((e) => Math.floor(e.n / 3) === batch);
      expect(ofBatch.slice(0, 3).every((e) => e.event === 'start')).toBe(true);
      expect(ofBatch.slice(3).map((e) => e.n)).toEqual([3 * batch + 2, 3 * batch + 1, 3 * batch]);
    }
    const stored = callsOf('storeAccuracyBatch').map((c) => (c.input as { records: AccuracyRecord[] }).records);
    expect(stored).toEqual([0, 1].map((batch) => [0, 1, 2].map((i) => ({ hash: `arch-${3 * batch + i}`, score: 40 + 3 * batch + i, source: 'evaluator' }))));
    // In the history: each batch's three evaluations scheduled by one workflow task, and the patch recorded.
    const history = await events(handle);
    const scheduled = ofType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'evaluateAccuracy');
    const byTask = new Map<string, number>();
    for (const e of scheduled) {
      const task = String(e.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId);
      byTask.set(task, (byTask.get(task) ?? 0) + 1);
    }
    expect([...byTask.values()]).toEqual([3, 3]);
    const markers = ofType(history, EventType.EVENT_TYPE_MARKER_RECORDED).map(
      (e) => defaultPayloadConverter.fromPayload<{ id: string }>(e.markerRecordedEventAttributes!.details!['patch-data']!.payloads![0]! as never).id,
    );
    expect(markers).toEqual(['concurrent-evaluations']);
  });
});

describe('failures', () => {
  it('an activity failing non-retryably fails the study at once, with the reason', async () => {
    overrides.measureBatch = async () => {
      throw new InvalidInputError('architecture 3 is not in the ofa-mbv3 space');
    };
    const handle = await startStudy('tws-study-failure');
    const { error, messages } = await failureOf(handle);
    expect(error.cause).toBeInstanceOf(ChildWorkflowFailure);
    expect(messages).toContain(`latency campaign on ${DEVICE} failed at batch 0`);
    expect(messages).toContain('architecture 3 is not in the ofa-mbv3 space');
    expect(callsOf('measureBatch').map((c) => c.attempt)).toEqual([1]);
    expect(callsOf('aggregateProfiles')).toHaveLength(0);
    expect(await statusOf(handle)).toBe('FAILED');
    expect(await studyStatusAttribute(handle)).toBe('failed');
    await record('study-failure', [
      { workflowId: handle.workflowId },
      { workflowId: 'tws-study-failure.accuracy', suffix: 'accuracy' },
      { workflowId: `tws-study-failure.latency.${DEVICE}`, suffix: 'latency' },
    ]);
  });

  it('an activity that keeps failing is retried with backoff (minutes, skipped) and then fails the study with its last error', async () => {
    overrides.scoreAccuracyBatch = async () => {
      throw new Error('store unreachable');
    };
    const started = Date.now();
    const handle = await startStudy('tws-study-retries');
    const { error, messages } = await failureOf(handle);
    expect(error.cause).toBeInstanceOf(ChildWorkflowFailure);
    expect(messages).toContain('accuracy campaign on accuracy failed at batch 0');
    expect(messages).toContain('store unreachable');
    // DEFAULT_MAXIMUM_ATTEMPTS starts, with 1, 2, 4, ... 60 s between them: 243 s of server time.
    expect(callsOf('scoreAccuracyBatch').map((c) => c.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const campaign = await events(env.client.workflow.getHandle('tws-study-retries.accuracy'));
    const [scheduled] = ofType(campaign, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    const [failed] = ofType(campaign, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
    expect(eventMs(failed!) - eventMs(scheduled!)).toBeGreaterThanOrEqual(243_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await studyStatusAttribute(handle)).toBe('failed');
  });
});

// Last: the test server keeps time skipping locked after an activity it no longer knows (the batch cancelled here
// learns of it after its workflow closed), so later tests would wait out their backoffs in real time.
describe('cancellation', () => {
  it('a cancelled study ends cancelled, cancels its running campaign and the batch in flight, and stops there', async () => {
    const gate = new Gate();
    let batchCancelled: unknown;
    overrides.measureBatch = async (request) => {
      try {
        await hold(gate);
      } catch (error) {
        batchCancelled = error;
        throw error;
      }
      return summary(request, ARCHITECTURES);
    };
    const handle = await startStudy('tws-study-cancel');
    await waitFor('the first device batch to start', () => callsOf('measureBatch').length === 1);
    await handle.cancel();

    const { error } = await failureOf(handle);
    expect(error.cause).toBeInstanceOf(CancelledFailure);
    expect(await statusOf(handle)).toBe('CANCELLED');
    expect(await studyStatusAttribute(handle)).toBe('cancelled');
    const latency = env.client.workflow.getHandle(`tws-study-cancel.latency.${DEVICE}`);
    expect(await statusOf(latency)).toBe('CANCELLED');
    // The campaign asked for its batch to be cancelled; the activity learns it from its next heartbeat.
    expect(ofType(await events(latency), EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)).toHaveLength(1);
    expect(await waitFor('the batch in flight to be cancelled', () => batchCancelled)).toBeInstanceOf(CancelledFailure);
    expect(await statusOf(env.client.workflow.getHandle('tws-study-cancel.accuracy'))).toBe('COMPLETED');
    expect(callsOf('measureBatch')).toHaveLength(1);
    expect(callsOf('aggregateProfiles')).toHaveLength(0);
    await record('study-cancel', [
      { workflowId: handle.workflowId },
      { workflowId: 'tws-study-cancel.accuracy', suffix: 'accuracy' },
      { workflowId: latency.workflowId, suffix: 'latency' },
    ]);
  });
});
