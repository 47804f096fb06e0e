/** `blockscope dev`: the embedded default, optionally running the demo study end to end. */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { DEFAULT_HOME, startEmbedded } from '../../workers/embedded.js';
import { startStudy, studyResult } from '../../workers/study-client.js';
import { workflowUiLink } from '../../workers/temporal.js';
import { parseIntegerOption } from '../input.js';
import { readRawSpec } from '../spec-file.js';
import { watchStudy } from './study.js';

export function devCommand(): Command {
  return new Command('dev')
    .description('Start a local Temporal dev server (SQLite, Web UI), the orchestrator and the cpu-local device worker')
    .option('--home <dir>', 'folder for the Temporal database and the artifact store', DEFAULT_HOME)
    .option('--port <port>', 'Temporal gRPC port', parseIntegerOption('--port', 1, 65535), 7233)
    .option('--ui-port <port>', 'Web UI port', parseIntegerOption('--ui-port', 1, 65535), 8233)
    .option('--devices <file>', 'device config file (cpu-local is built in)')
    .option('--run <spec>', 'start this study (preset or spec file) and wait for it')
    .option('--exit', 'stop everything once the --run study finishes')
    .action(async (opts: { home: string; port: number; uiPort: number; devices?: string; run?: string; exit?: boolean }) => {
      const embedded = await startEmbedded({ home: opts.home, port: opts.port, uiPort: opts.uiPort, ...(opts.devices ? { devicesFile: opts.devices } : {}) });
      const settings = { address: embedded.server.address, namespace: embedded.server.namespace, uiUrl: embedded.server.uiUrl };
      process.stderr.write(`Temporal ${settings.address}, Web UI ${settings.uiUrl}, store ${resolve(opts.home, 'store')}\n`);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await embedded.stop();
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      try {
        if (opts.run) {
          const started = await startStudy(embedded.client, readRawSpec(opts.run), { uiUrl: settings.uiUrl });
          process.stderr.write(`study ${started.workflowId}: ${workflowUiLink(settings, started.workflowId)}\n`);
          const status = await watchStudy(embedded.client, started.workflowId);
          if (status === 'COMPLETED') {
            const result = await studyResult(embedded.client, started.workflowId);
            process.stderr.write(`profiles: ${result.profiles.map((p) => `${p.device}@${p.resolution}: ${resolve(opts.home, 'store', p.csvKey)}`).join('\n          ')}\n`);
            if (result.report) process.stderr.write(`report: ${resolve(opts.home, 'store', result.report.htmlKey)}\n`);
          } else {
            process.exitCode = 1;
          }
          if (opts.exit) return;
        }
        process.stderr.write('running; Ctrl-C to stop\n');
        await Promise.all(embedded.workers.map((w) => w.run));
      } finally {
        await stop();
      }
    });
}
