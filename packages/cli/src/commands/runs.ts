// weft runs list|get|cancel|resume|retry|logs
import type { Command } from 'commander';
import { WeftError, type WeftClient } from '@weft/client';
import { connect, findWorkflowId } from '../context.ts';
import {
  CancelRunDocument,
  ResumeRunDocument,
  RetryRunDocument,
  RunDocument,
  RunLastSeqDocument,
  RunsDocument,
} from '../operations.ts';
import { colorStatus, errorText, formatDuration, printFields, printJson, printTable } from '../output.ts';
import { registerRunLogs } from './logs.ts';
import { follow, RUN_NOT_COMPLETED_EXIT } from './run.ts';
import { limitOf } from './workflows.ts';

const STATUSES = ['QUEUED', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
type RunStatus = (typeof STATUSES)[number];

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('List, inspect, cancel, resume and retry runs, and read their logs');
  registerRunLogs(runs);

  runs
    .command('list')
    .description('Runs of the workspace, newest first')
    .option('--workflow <workflow>', 'only runs of this workflow (name or id)')
    .option('--status <statuses>', `comma-separated: ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'at most this many (1–200)', '20')
    .action(async (options: { workflow?: string; status?: string; limit: string }, command: Command) => {
      const client = connect();
      const status = options.status ? statusesOf(options.status) : undefined;
      const workflowId = options.workflow ? await findWorkflowId(client, options.workflow) : undefined;
      const data = await client.request(RunsDocument, {
        first: limitOf(options.limit),
        filter: { ...(status ? { status } : {}), ...(workflowId ? { workflowId } : {}) },
      });
      const nodes = data.runs.edges.map((edge) => edge.node);
      if (command.optsWithGlobals().json) return printJson({ totalCount: data.runs.totalCount, runs: nodes });
      printTable(
        ['ID', 'WORKFLOW', 'VERSION', 'STATUS', 'TRIGGER', 'CREATED', 'DURATION'],
        nodes.map((r) => [
          r.id,
          r.workflow?.name,
          r.versionNumber,
          colorStatus(r.status),
          r.trigger,
          r.createdAt,
          formatDuration(r.durationMs),
        ]),
      );
    });

  runs
    .command('get')
    .description('One run with its steps')
    .argument('<run>', 'run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const client = connect();
      const { run } = await client.request(RunDocument, { id });
      if (!run) throw new WeftError('NOT_FOUND', `No run ${id}`);
      if (command.optsWithGlobals().json) return printJson(run);
      printFields([
        ['id', run.id],
        ['workflow', run.workflow ? `${run.workflow.name} (version ${run.versionNumber ?? '?'})` : null],
        ['status', colorStatus(run.status)],
        ['trigger', run.trigger],
        ['created', run.createdAt],
        ['duration', formatDuration(run.durationMs)],
        ['error', errorText(run.error)],
      ]);
      process.stdout.write('\n');
      printTable(
        ['STEP', 'TYPE', 'STATUS', 'ATTEMPT', 'DURATION', 'ERROR'],
        run.stepRuns.map((s) => [
          s.stepId,
          s.type,
          colorStatus(s.status),
          s.attempt,
          formatDuration(s.durationMs),
          errorText(s.error),
        ]),
      );
    });

  runs
    .command('cancel')
    .description('Cancel a queued, running or paused run')
    .argument('<run>', 'run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const client = connect();
      const { cancelRun } = await client.request(CancelRunDocument, { input: { runId: id } });
      report(cancelRun.run, 'Cancelled', !!command.optsWithGlobals().json);
    });

  runs
    .command('resume')
    .description('Resume a PAUSED, FAILED or CANCELLED run (from its checkpoint, or from a step)')
    .argument('<run>', 'run id')
    .option('--from-step <step>', 're-run this step and everything downstream')
    .option('-w, --watch', 'follow the run until it finishes (exit 2 unless it COMPLETED)')
    .action(async (id: string, options: { fromStep?: string; watch?: boolean }, command: Command) => {
      const client = connect();
      // The run's log continues after its earlier terminal event: follow from where it is now.
      const before = options.watch ? await client.request(RunLastSeqDocument, { id }) : null;
      const after = before?.run?.events.edges.at(-1)?.node.seq ?? 0;
      const { resumeRun } = await client.request(ResumeRunDocument, {
        input: { runId: id, ...(options.fromStep ? { fromStep: options.fromStep } : {}) },
      });
      await reportOrFollow(client, resumeRun.run, 'Resumed', !!command.optsWithGlobals().json, !!options.watch, after);
    });

  runs
    .command('retry')
    .description('Start a new run from a finished one')
    .argument('<run>', 'run id')
    .option('--all-steps', 're-run every step (default: from the failure)')
    .option('--steps <ids>', 'comma-separated step ids to re-run (with their downstream)')
    .option('--latest-version', "run the workflow's latest version")
    .option('-w, --watch', 'follow the new run until it finishes (exit 2 unless it COMPLETED)')
    .action(
      async (
        id: string,
        options: { allSteps?: boolean; steps?: string; latestVersion?: boolean; watch?: boolean },
        command: Command,
      ) => {
        const client = connect();
        const { retryRun } = await client.request(RetryRunDocument, {
          input: {
            runId: id,
            ...(options.allSteps ? { strategy: 'ALL_STEPS' as const } : {}),
            ...(options.steps
              ? {
                  stepIds: options.steps
                    .split(',')
                    .map((s) => s.trim())
                    .filter(Boolean),
                }
              : {}),
            ...(options.latestVersion ? { useLatestVersion: true } : {}),
          },
        });
        await reportOrFollow(client, retryRun.run, 'Started retry', !!command.optsWithGlobals().json, !!options.watch);
      },
    );
}

function statusesOf(value: string): RunStatus[] {
  const list = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const wrong = list.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (wrong.length)
    throw new WeftError('BAD_USER_INPUT', `--status: unknown ${wrong.join(', ')} (one of ${STATUSES.join(', ')})`);
  return list as RunStatus[];
}

function report(run: { id: string; status: string }, verb: string, json: boolean): void {
  if (json) printJson(run);
  else process.stdout.write(`${verb} run ${run.id}: ${colorStatus(run.status)}\n`);
}

async function reportOrFollow(
  client: WeftClient,
  run: { id: string; status: string },
  verb: string,
  json: boolean,
  watch: boolean,
  after = 0,
): Promise<void> {
  if (!watch) return report(run, verb, json);
  if (!json) process.stdout.write(`${verb} run ${run.id}\n`);
  try {
    const status = await follow(client, run.id, json, after);
    if (status !== 'COMPLETED') process.exitCode = RUN_NOT_COMPLETED_EXIT;
  } finally {
    await client.close();
  }
}
