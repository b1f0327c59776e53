// weft runs logs <run> [--step <id>] [--follow]: the log lines of a run's steps. With --follow,
// the lines stream as the steps write them (live STEP_LOG events, replayed from the start and
// then live, resuming across reconnects) until the run finishes.
import type { Command } from 'commander';
import { WeftError } from '@weft/client';
import pc from 'picocolors';
import { connect } from '../context.ts';
import { StepLogsDocument } from '../operations-admin.ts';
import { printJson } from '../output.ts';

interface Line {
  stepId: string;
  iteration: number | null;
  line: string;
}

const linesOf = (logs: string) => (logs === '' ? [] : logs.replace(/\n$/, '').split('\n'));

function printer(json: boolean) {
  return (line: Line) => {
    if (json) return process.stdout.write(`${JSON.stringify(line)}\n`);
    process.stdout.write(
      `${pc.dim(`[${line.stepId}${line.iteration !== null ? `#${line.iteration}` : ''}]`)} ${line.line}\n`,
    );
  };
}

export function registerRunLogs(runs: Command): void {
  runs
    .command('logs')
    .description("Log lines of a run's steps; --follow streams them as they are written until the run finishes")
    .argument('<run>', 'run id')
    .option('--step <id>', 'only this step (and its loop iterations)')
    .option('-f, --follow', 'keep streaming until the run finishes')
    .action(async (id: string, options: { step?: string; follow?: boolean }, command: Command) => {
      const json = !!command.optsWithGlobals().json;
      const client = connect();
      try {
        if (options.follow) {
          // JSON Lines as they come (a JSON array could only be printed at the end).
          const print = printer(json);
          for await (const event of client.watchRun(id)) {
            if (
              event.payload?.__typename !== 'StepLogPayload' ||
              !event.stepId ||
              (options.step && event.stepId !== options.step)
            )
              continue;
            for (const line of event.payload.lines ?? [])
              print({ stepId: event.stepId, iteration: event.iteration ?? null, line });
          }
          return;
        }
        const { run } = await client.request(StepLogsDocument, { id });
        if (!run) throw new WeftError('NOT_FOUND', `No run ${id}`);
        const lines: Line[] = run.stepRuns
          .filter((s) => !options.step || s.stepId === options.step)
          .flatMap((s) => [
            ...linesOf(s.logs).map((line) => ({ stepId: s.stepId, iteration: null, line })),
            ...s.iterations.flatMap((i) =>
              linesOf(i.logs).map((line) => ({ stepId: s.stepId, iteration: i.iteration ?? null, line })),
            ),
          ]);
        if (json) return printJson(lines);
        lines.forEach(printer(false));
      } finally {
        await client.close();
      }
    });
}
