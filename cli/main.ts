/** The `blockscope` command line. */
import { Command, CommanderError } from 'commander';
import { accuracyCommand, insightsCommand, searchCommand } from './commands/analysis.js';
import { archCommand } from './commands/arch.js';
import { devCommand } from './commands/dev.js';
import { devicesCommand, lutCommand, measureCommand } from './commands/devices.js';
import { profileCommand } from './commands/profile.js';
import { studyCommand } from './commands/study.js';
import { workerCommand } from './commands/worker.js';
import { isUserFacing } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('blockscope').description('Profile the neural blocks of NAS design spaces on real hardware, derive insights, prune and search').version('0.1.0');
  program.addCommand(archCommand());
  program.addCommand(devicesCommand());
  program.addCommand(measureCommand());
  program.addCommand(lutCommand());
  program.addCommand(accuracyCommand());
  program.addCommand(insightsCommand());
  program.addCommand(profileCommand());
  program.addCommand(searchCommand());
  program.addCommand(studyCommand());
  program.addCommand(workerCommand());
  program.addCommand(devCommand());
  configureRecursively(program);
  return program;
}

/** Every (sub)command reports errors through main() instead of exiting, and suggests --help. */
function configureRecursively(command: Command): void {
  command.exitOverride().showHelpAfterError('(run with --help for usage)');
  for (const sub of command.commands) configureRecursively(sub);
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help text).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isUserFacing(error)) {
      process.stderr.write(`blockscope: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}
