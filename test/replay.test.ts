/**
 * Determinism guard: histories recorded from real study runs (test/histories/, written by
 * `npm run record-histories`) and from the time-skipping workflow tests (test/histories/tws-*.json: pause and
 * resume, cancellation, a campaign continuing as new, a failed study; written by
 * `BLOCKSCOPE_RECORD_HISTORIES=1 npx vitest run test/workflows.test.ts`) must replay against the current
 * workflow code. A change that breaks them needs the SDK's patching API (patched()/deprecatePatch()), not a
 * re-recording.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../workers/temporal.js';

const HISTORIES = resolve(import.meta.dirname, 'histories');
const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));

describe('replay of recorded study histories', () => {
  it('has recorded histories of every workflow type', () => {
    const types = files.map((f) => (JSON.parse(readFileSync(resolve(HISTORIES, f), 'utf8')) as { workflowType: string }).workflowType);
    expect(new Set(types)).toEqual(new Set(['studyWorkflow', 'campaignWorkflow', 'searchWorkflow']));
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const recorded = JSON.parse(readFileSync(resolve(HISTORIES, file), 'utf8')) as { workflowId: string; history: unknown };
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, recorded.history, recorded.workflowId)).resolves.toBeUndefined();
  });
});
