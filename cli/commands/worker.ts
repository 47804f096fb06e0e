/** `blockscope worker`: a device worker next to its device, or the orchestrator. */
import { Command } from 'commander';
import { describeConnection } from '../../workers/connection.js';
import { startDeviceWorker, startOrchestratorWorker } from '../../workers/runtime.js';
import { CliError } from '../errors.js';
import { addRuntimeOptions, runtimeConfig, type RuntimeFlags } from '../runtime-options.js';

export function workerCommand(): Command {
  return addRuntimeOptions(
    new Command('worker')
      .description('Run a device worker (task queue device.<id>, one measurement at a time) or the orchestrator (workflows and analysis)')
      .option('--device <id>', "serve this device's task queue")
      .option('--orchestrator', 'serve workflows and analysis activities'),
  ).action(async (opts: RuntimeFlags & { device?: string; orchestrator?: boolean }) => {
    if (Boolean(opts.device) === Boolean(opts.orchestrator)) throw new CliError('worker: give exactly one of --device <id> or --orchestrator');
    const config = runtimeConfig(opts);
    const running = opts.device ? await startDeviceWorker({ ...config, device: opts.device }) : await startOrchestratorWorker(config);
    process.stderr.write(`worker ${opts.device ? `device.${opts.device}` : 'orchestrator'} polling ${describeConnection(config)} (${config.namespace}); SIGINT/SIGTERM to stop\n`);
    // The Temporal runtime turns SIGINT/SIGTERM into a graceful shutdown of every worker.
    await running.run;
  });
}
