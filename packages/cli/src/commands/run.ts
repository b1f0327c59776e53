// weft run <workflow> [--input json|@file] [--watch]: start a run; with --watch, follow it
// step by step (watchRun resumes across reconnects) and exit 0 only when it COMPLETED.
import type { Command } from 'commander';
import pc from 'picocolors';
import { WeftError, type RunEvent, type WeftClient } from '@weft/client';
import { connect, findWorkflowId, parseJsonArgument } from '../context.ts';
import { RunOutcomeDocument, RunWorkflowDocument } from '../operations.ts';
import { colorStatus, errorText, formatDuration, printFields, printJson } from '../output.ts';

/** Exit code of a run that finished in another status than COMPLETED (errors exit 1). */
export const RUN_NOT_COMPLETED_EXIT = 2;

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'Start a run of a workflow (by name or id); --watch follows it live and exits 0 only if it COMPLETED (2 if it failed or was cancelled)',
    )
    .argument('<workflow>', 'workflow name or id')
    .option('--input <json>', 'run input: JSON, @file.json, or @- for standard input', '{}')
    .option('--version <number>', 'version to run (default: the latest)')
    .option('--label <label>', 'release label whose version to run')
    .option('--idempotency-key <key>', 'runs started with the same key return the first run')
    .option('-w, --watch', 'follow the run until it finishes')
    .action(
      async (
        ref: string,
        options: { input: string; version?: string; label?: string; idempotencyKey?: string; watch?: boolean },
        command: Command,
      ) => {
        const json = !!command.optsWithGlobals().json;
        const input = parseJsonArgument(options.input, '--input');
        if (options.version !== undefined && !/^[1-9]\d*$/.test(options.version))
          throw new WeftError(
            'BAD_USER_INPUT',
            `--version must be a version number such as 3 (got "${options.version}")`,
          );
        const client = connect();
        try {
          const workflowId = await findWorkflowId(client, ref);
          const { runWorkflow } = await client.request(RunWorkflowDocument, {
            input: {
              workflowId,
              input,
              ...(options.version ? { version: Number(options.version) } : {}),
              ...(options.label ? { label: options.label } : {}),
              ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
            },
          });
          const run = runWorkflow.run;
          if (!options.watch) {
            if (json) return printJson(run);
            printFields([
              ['run', run.id],
              ['workflow', run.workflow?.name],
              ['version', run.versionNumber],
              ['status', colorStatus(run.status)],
            ]);
            return;
          }
          if (!json)
            process.stdout.write(
              `Run ${run.id} of ${run.workflow?.name ?? workflowId} (version ${run.versionNumber ?? '?'})\n`,
            );
          const status = await follow(client, run.id, json);
          if (status !== 'COMPLETED') process.exitCode = RUN_NOT_COMPLETED_EXIT;
        } finally {
          await client.close();
        }
      },
    );
}

/**
 * Prints the run's progress until it finishes; returns its final status. `after`: the seq to
 * start after (a resumed run's log goes on after its earlier terminal event).
 */
export async function follow(client: WeftClient, runId: string, json: boolean, after = 0): Promise<string> {
  const startedAt = new Map<string, number>();
  const onRetry = ({ delayMs, error }: { delayMs: number; error: Error }) => {
    process.stderr.write(
      pc.yellow(`connection lost: ${error.message}; reconnecting in ${formatDuration(delayMs) || '0ms'}…\n`),
    );
  };
  let last: RunEvent | null = null;
  for await (const event of client.watchRun(runId, { after, onRetry })) {
    last = event;
    if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = describeEvent(event, startedAt);
      if (line) process.stdout.write(`${line}\n`);
    }
  }
  const { run } = await client.request(RunOutcomeDocument, { id: runId });
  const status = run?.status ?? (last?.type.replace(/^RUN_/, '') || 'UNKNOWN');
  if (!json) {
    const tail = status === 'FAILED' && run?.error ? `: ${errorText(run.error)}` : '';
    process.stdout.write(
      `Run ${colorStatus(status)}${run?.durationMs != null ? ` in ${formatDuration(run.durationMs)}` : ''}${tail}\n`,
    );
  }
  return status;
}

function describeEvent(event: RunEvent, startedAt: Map<string, number>): string | null {
  const data = (event.data ?? {}) as {
    durationMs?: number;
    error?: unknown;
    attempt?: number;
    nextAttemptAt?: string;
    reason?: string;
  };
  const step = event.stepId ? `${event.stepId}${event.iteration != null ? `[${event.iteration}]` : ''}` : '';
  const at = Date.parse(event.createdAt);
  const took = () => {
    const ms = data.durationMs ?? (startedAt.has(step) ? at - startedAt.get(step)! : null);
    return ms == null ? '' : ` in ${formatDuration(ms)}`;
  };
  switch (event.type) {
    case 'RUN_STARTED':
      return pc.dim('▶ run started');
    case 'RUN_RESUMED':
      return pc.dim('▶ run resumed');
    case 'RUN_PAUSED':
      return pc.yellow('⏸ run paused');
    case 'STEP_STARTED':
      startedAt.set(step, at);
      return `  ${pc.cyan('…')} ${step} started${data.attempt && data.attempt > 1 ? ` (attempt ${data.attempt})` : ''}`;
    case 'STEP_COMPLETED':
      return `  ${pc.green('✓')} ${step} completed${took()}`;
    case 'STEP_FAILED':
      return `  ${pc.red('✗')} ${step} failed${took()}: ${errorText(data.error)}`;
    case 'STEP_RETRYING':
      return `  ${pc.yellow('↻')} ${step} will retry${data.nextAttemptAt ? ` at ${data.nextAttemptAt}` : ''}: ${errorText(data.error) || data.reason || ''}`;
    case 'STEP_WAITING':
      if (!startedAt.has(step)) startedAt.set(step, at); // a wait step may start by waiting
      return `  ${pc.cyan('⏳')} ${step} waiting`;
    case 'STEP_SKIPPED':
      return `  ${pc.dim('-')} ${step} skipped`;
    case 'SIGNAL_DELIVERED':
      return `  ${pc.cyan('✉')} ${step} received event '${String((event.data as { name?: unknown } | null)?.name)}'`;
    case 'SIGNAL_BUFFERED':
      return pc.dim(
        `  ✉ event '${String((event.data as { name?: unknown } | null)?.name)}' kept for a wait that has not started`,
      );
    case 'STEP_CANCELLED':
      return `  ${pc.yellow('■')} ${step} cancelled`;
    default:
      return null; // RUN_COMPLETED/FAILED/CANCELLED: the summary line says it; logs and webhooks stay quiet
  }
}
