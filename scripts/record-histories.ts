/**
 * Records the histories the replay test checks: runs a small real study on a throwaway dev server and
 * saves the study and campaign workflow histories under test/histories/.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { temporalCliPath } from '../workers/dev-server.js';
import { startEmbedded } from '../workers/embedded.js';
import { startStudy } from '../workers/study-client.js';

const home = mkdtempSync(join(tmpdir(), 'blockscope-record-'));
const out = resolve(import.meta.dirname, '../test/histories');
const embedded = await startEmbedded({ home, headless: true });
try {
  const started = await startStudy(embedded.client, {
    name: 'replay-fixture',
    space: 'ofa-mbv3',
    resolutions: [160],
    blocks: ['u0.l0.e3k3', 'u4.l3.e6k7'],
    samplesPerSpec: 2,
    baselineSamples: 2,
    seed: 5,
    accuracy: { source: 'naswot-proxy', proxyBatch: 8, batchSize: 3 },
    measurement: { batchSize: 3 },
    search: { objectives: ['pareto'], seeds: 1, initialSize: 4, iterations: 1, budgetPerIteration: 3 },
  });
  await started.handle.result();
  // The study and every child it started (campaigns, searches) share the study id as prefix.
  const ids: string[] = [];
  for await (const wf of embedded.client.workflow.list({ query: `WorkflowId STARTS_WITH '${started.workflowId}'` })) ids.push(wf.workflowId);
  for (const workflowId of ids) {
    const handle = embedded.client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    // The Temporal CLI writes the history in the proto JSON form that replay accepts.
    const history = execFileSync(temporalCliPath(), ['workflow', 'show', '-w', workflowId, '--address', embedded.server.address, '-o', 'json'], { maxBuffer: 64 << 20 }).toString();
    const file = resolve(out, `${description.type}-${workflowId.split('.').slice(1).join('-') || 'study'}.json`.toLowerCase());
    writeFileSync(file, `${JSON.stringify({ workflowId, workflowType: description.type, history: JSON.parse(history) }, null, 1)}\n`);
    console.log(`recorded ${file}`);
  }
} finally {
  await embedded.stop();
  rmSync(home, { recursive: true, force: true });
}
