// weft: the command line for Weft, built on @weft/client.
// Exit codes: 0 success; 1 an error (printed as "error [CODE]: message"; a stack trace only
// with WEFT_DEBUG=1); 2 `run --watch` saw the run finish FAILED or CANCELLED.
import { Command } from 'commander';
import { registerApply } from './commands/apply.ts';
import { registerKeys } from './commands/keys.ts';
import { registerLogin } from './commands/login.ts';
import { registerRun } from './commands/run.ts';
import { registerRuns } from './commands/runs.ts';
import { registerSchedules } from './commands/schedules.ts';
import { registerWorkflows } from './commands/workflows.ts';
import { reportError } from './output.ts';

const program = new Command('weft')
  .description(
    'Command line for Weft, the workflow orchestration server.\nLog in once with `weft login`; WEFT_SERVER and WEFT_API_KEY override the saved login.',
  )
  .option('--json', 'print JSON (for scripts) instead of tables')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

registerLogin(program);
registerRun(program);
registerApply(program);
registerWorkflows(program);
registerRuns(program);
registerSchedules(program);
registerKeys(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
