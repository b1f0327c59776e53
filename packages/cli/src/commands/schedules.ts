// weft schedules list|create|pause|resume
import type { Command } from 'commander';
import { WeftError } from '@weft/client';
import { connect, findWorkflowId, parseJsonArgument } from '../context.ts';
import type { WeftCliScheduleFragment } from '../gql/graphql.ts';
import {
  CreateScheduleDocument,
  PauseScheduleDocument,
  ResumeScheduleDocument,
  SchedulesDocument,
  WorkflowSchedulesDocument,
} from '../operations-admin.ts';
import { printJson, printTable } from '../output.ts';

function printSchedules(schedules: WeftCliScheduleFragment[], json: boolean): void {
  if (json) {
    printJson(schedules);
    return;
  }
  printTable(
    ['ID', 'WORKFLOW', 'NAME', 'CRON', 'TIMEZONE', 'ENABLED', 'NEXT RUN'],
    schedules.map((s) => [
      s.id,
      s.workflow.name,
      s.name,
      s.cronExpression,
      s.timezone,
      s.enabled ? 'yes' : 'no',
      s.nextRunAt,
    ]),
  );
}

export function registerSchedules(program: Command): void {
  const schedules = program.command('schedules').description('List, create, pause and resume cron schedules');

  schedules
    .command('list')
    .description('Schedules of one workflow, or of every workflow (the first 200)')
    .option('--workflow <workflow>', 'only this workflow (name or id)')
    .action(async (options: { workflow?: string }, command: Command) => {
      const client = connect();
      try {
        const json = !!command.optsWithGlobals().json;
        if (options.workflow) {
          const { workflow } = await client.request(WorkflowSchedulesDocument, {
            id: await findWorkflowId(client, options.workflow),
          });
          return printSchedules(workflow?.schedules ?? [], json);
        }
        const data = await client.request(SchedulesDocument, { first: 200 });
        printSchedules(
          data.workflows.edges.flatMap((e) => e.node.schedules),
          json,
        );
      } finally {
        await client.close();
      }
    });

  schedules
    .command('create')
    .description('Create a schedule that runs a workflow on a cron expression')
    .requiredOption('--workflow <workflow>', 'the workflow (name or id)')
    .requiredOption('--cron <expression>', 'cron expression, e.g. "0 9 * * 1-5" (6 fields: seconds first)')
    .option('--timezone <zone>', 'IANA time zone', 'UTC')
    .option('--name <name>', 'display name')
    .option('--input <json>', 'run input: JSON, @file.json, or @- for standard input', '{}')
    .option('--paused', 'create it paused')
    .action(
      async (
        options: { workflow: string; cron: string; timezone: string; name?: string; input: string; paused?: boolean },
        command: Command,
      ) => {
        const inputData = parseJsonArgument(options.input, '--input');
        const client = connect();
        try {
          const workflowId = await findWorkflowId(client, options.workflow);
          const { createSchedule } = await client.request(CreateScheduleDocument, {
            input: {
              workflowId,
              cronExpression: options.cron,
              timezone: options.timezone,
              inputData,
              ...(options.name ? { name: options.name } : {}),
              ...(options.paused ? { enabled: false } : {}),
            },
          });
          report(createSchedule.schedule, 'Created', !!command.optsWithGlobals().json);
        } finally {
          await client.close();
        }
      },
    );

  for (const [name, verb, document] of [
    ['pause', 'Paused', PauseScheduleDocument],
    ['resume', 'Resumed', ResumeScheduleDocument],
  ] as const) {
    schedules
      .command(name)
      .description(`${name === 'pause' ? 'Stop' : 'Restart'} a schedule's runs`)
      .argument('<schedule>', 'schedule id')
      .action(async (id: string, _options: unknown, command: Command) => {
        const client = connect();
        try {
          const data = await client.request(document, { input: { id } });
          const result = 'pauseSchedule' in data ? data.pauseSchedule : data.resumeSchedule;
          report(result.schedule, verb, !!command.optsWithGlobals().json);
        } finally {
          await client.close();
        }
      });
  }
}

function report(schedule: WeftCliScheduleFragment, verb: string, json: boolean): void {
  if (json) {
    printJson(schedule);
    return;
  }
  if (!schedule) throw new WeftError('NOT_FOUND', 'No schedule');
  process.stdout.write(
    `${verb} schedule ${schedule.id} (${schedule.cronExpression} ${schedule.timezone}, ${schedule.enabled ? 'enabled' : 'paused'}${schedule.nextRunAt ? `, next run ${schedule.nextRunAt}` : ''})\n`,
  );
}
