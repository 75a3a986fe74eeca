/**
 * The pixnerd command line:  npm run pixnerd -- <command> [options]   (`<command> --help` for each)
 *
 * A thin shell over the library (kernel-lib/index.ts): each command parses its options with
 * commander (help with defaults and an example, choices and numbers validated, unknown options
 * answered with the command's help), calls the library and prints.
 */
import { Command, CommanderError } from 'commander';
import { registerModelCommands } from './model-commands';
import { registerTrainCommands } from './train-command';
import { registerSampleCommand } from './sample-command';
import { registerEvaluateCommand } from './evaluate-command';
import { registerExperimentCommands } from './experiment-command';
import { registerClassifierCommands } from './classifier-command';

/** The program with every command (commands inherit the error and help settings). */
export function buildProgram(): Command {
  const program = new Command('pixnerd')
    .usage('<command> [options]    (npm run pixnerd -- <command> --help)')
    .description('PixNerd research kernel: build, train, sample, evaluate and ablate pixel neural-field diffusion models')
    .showHelpAfterError()
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: false, sortSubcommands: false })
    .allowExcessArguments(false);
  registerModelCommands(program);
  registerTrainCommands(program);
  registerSampleCommand(program);
  registerEvaluateCommand(program);
  registerExperimentCommands(program);
  registerClassifierCommands(program);
  for (const c of program.commands) c.showHelpAfterError().allowExcessArguments(false);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}

await main();
