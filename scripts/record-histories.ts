/**
 * Records the histories the replay test checks: runs a small real study on a throwaway dev server and
 * saves the study and campaign workflow histories under test/histories/.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { startEmbedded } from '../workers/embedded.js';
import { startStudy, studyStatus } from '../workers/study-client.js';

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
  });
  await started.handle.result();
  const status = await studyStatus(embedded.client, started.workflowId);
  const ids = [started.workflowId, ...(status.progress?.campaigns.map((c) => c.workflowId) ?? [])];
  for (const workflowId of ids) {
    const handle = embedded.client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    const history = await handle.fetchHistory();
    const file = resolve(out, `${description.type}-${workflowId.split('.').slice(1).join('-') || 'study'}.json`);
    writeFileSync(file, `${JSON.stringify({ workflowId, workflowType: description.type, history: JSON.parse(historyToJSON(history)) }, null, 1)}\n`);
    console.log(`recorded ${file}`);
  }
} finally {
  await embedded.stop();
  rmSync(home, { recursive: true, force: true });
}
