/**
 * Records the histories the replay test checks: runs a small real study on a throwaway dev server and
 * saves the histories of its study, campaign and search workflows under test/histories/
 * (`npm run record-histories -- --fixture first|arms|overlap|evaluator|search-steps|search-steps-evaluator`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporalCliPath } from '../workers/dev-server.js';
import { startEmbedded } from '../workers/embedded.js';
import { startStudy } from '../workers/study-client.js';
import { scaleEvaluator } from './scale-model.js';

/**
 * The recorded studies. `first`: the histories recorded with the first workflow versions (keep them: they
 * guard old studies). `arms`: three search arms and searches that continue as new after every step.
 * `overlap`: the accuracy and device campaigns at once. `evaluator`: accuracy from a user's evaluator worker (the
 * campaign and the search ask for a batch's architectures at once), answering with the scale run's model.
 * `search-steps`, `search-steps-evaluator`: searches that keep their state in the store, continuing as new after
 * every step (the fixtures before them hold searches that carried their state through history).
 */
const EVALUATOR_QUEUE = 'replay-evaluator';

/** What every fixture's study shares: two block specs, a handful of architectures at 160. */
const BASE = {
  space: 'ofa-mbv3',
  resolutions: [160],
  blocks: ['u0.l0.e3k3', 'u4.l3.e6k7'],
  samplesPerSpec: 2,
  baselineSamples: 2,
  seed: 5,
  accuracy: { source: 'naswot-proxy', proxyBatch: 8, batchSize: 3 },
  measurement: { batchSize: 3 },
} as const;

const FIXTURES = {
  first: {
    spec: { ...BASE, name: 'replay-fixture', search: { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 1, budgetPerIteration: 3 } },
    options: {},
    prefix: '',
  },
  arms: {
    spec: {
      ...BASE,
      name: 'replay-arms',
      search: { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 2, budgetPerIteration: 3, spaces: ['original', 'paper:npu', 'derived'] },
    },
    options: { searchStepsPerRun: 1 },
    prefix: 'arms-',
  },
  overlap: {
    spec: { ...BASE, name: 'replay-overlap', accuracy: { ...BASE.accuracy, overlap: 'always' }, search: { objectives: [] } },
    options: {},
    prefix: 'overlap-',
  },
  evaluator: {
    spec: {
      ...BASE,
      name: 'replay-evaluator',
      accuracy: { source: 'evaluator', evaluatorTaskQueue: EVALUATOR_QUEUE, batchSize: 3 },
      search: { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 1, budgetPerIteration: 3 },
    },
    options: {},
    prefix: 'evaluator-',
  },
  /** Searches that keep their state in the store (one record per step), continuing as new after every step. */
  'search-steps': {
    spec: {
      ...BASE,
      name: 'replay-search-steps',
      search: { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 2, budgetPerIteration: 3, spaces: ['original', 'paper:npu'] },
    },
    options: { searchStepsPerRun: 1 },
    prefix: 'search-steps-',
  },
  /** The same with a user's evaluator: candidates fetched in pages, evaluated, and accepted. */
  'search-steps-evaluator': {
    spec: {
      ...BASE,
      name: 'replay-search-steps-evaluator',
      accuracy: { source: 'evaluator', evaluatorTaskQueue: EVALUATOR_QUEUE, batchSize: 3 },
      search: { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 2, budgetPerIteration: 3, spaces: ['original', 'paper:npu'] },
    },
    options: { searchStepsPerRun: 1 },
    prefix: 'search-steps-evaluator-',
  },
} as const;

const { values } = parseArgs({ options: { fixture: { type: 'string', default: 'arms' } } });
const fixture = FIXTURES[values.fixture as keyof typeof FIXTURES];
if (!fixture) throw new Error(`--fixture: one of ${Object.keys(FIXTURES).join(', ')}`);

const home = mkdtempSync(join(tmpdir(), 'blockscope-record-'));
const out = resolve(import.meta.dirname, '../test/histories');
const embedded = await startEmbedded({ home, headless: true });
const evaluatorConnection = await NativeConnection.connect({ address: embedded.server.address });
const evaluator = await Worker.create({ connection: evaluatorConnection, namespace: embedded.server.namespace, taskQueue: EVALUATOR_QUEUE, activities: scaleEvaluator });
const evaluatorRunning = evaluator.run();
try {
  const started = await startStudy(embedded.client, fixture.spec, fixture.options);
  await started.handle.result();
  // The study and every child it started (campaigns, searches) share the study id as prefix; a workflow that
  // continued as new has one execution per run, each recorded.
  const runs = new Map<string, string[]>();
  for await (const wf of embedded.client.workflow.list({ query: `WorkflowId STARTS_WITH '${started.workflowId}'` })) {
    runs.set(wf.workflowId, [...(runs.get(wf.workflowId) ?? []), wf.runId]);
  }
  for (const [workflowId, runIds] of runs) {
    const type = (await embedded.client.workflow.getHandle(workflowId).describe()).type;
    for (const [i, runId] of runIds.entries()) {
      // The Temporal CLI writes the history in the proto JSON form that replay accepts.
      const history = execFileSync(temporalCliPath(), ['workflow', 'show', '-w', workflowId, '-r', runId, '--address', embedded.server.address, '-o', 'json'], {
        maxBuffer: 64 << 20,
      }).toString();
      const name = workflowId.split('.').slice(1).join('-') || 'study';
      const file = resolve(out, `${fixture.prefix}${type}-${name}${runIds.length > 1 ? `-run${runIds.length - i}` : ''}.json`.toLowerCase());
      writeFileSync(file, `${JSON.stringify({ workflowId, workflowType: type, history: JSON.parse(history) as unknown }, null, 1)}\n`);
      console.log(`recorded ${file}`);
    }
  }
} finally {
  evaluator.shutdown();
  await evaluatorRunning;
  await evaluatorConnection.close();
  await embedded.stop();
  rmSync(home, { recursive: true, force: true });
}
