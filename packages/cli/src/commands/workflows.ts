// weft workflows list|get
import type { Command } from 'commander';
import { WeftError } from '@weft/client';
import { connect, findWorkflowId } from '../context.ts';
import { WorkflowDocument, WorkflowsDocument } from '../operations.ts';
import { colorStatus, printFields, printJson, printTable } from '../output.ts';

export function registerWorkflows(program: Command): void {
  const workflows = program.command('workflows').alias('wf').description('List and inspect workflows');

  workflows
    .command('list')
    .description('Workflows of the workspace, newest first')
    .option('--search <text>', 'case-insensitive text in name or description')
    .option('--limit <n>', 'at most this many (1–200)', '50')
    .action(async (options: { search?: string; limit: string }, command: Command) => {
      const client = connect();
      const data = await client.request(WorkflowsDocument, {
        first: limitOf(options.limit),
        ...(options.search ? { filter: { search: options.search } } : {}),
      });
      const nodes = data.workflows.edges.map((edge) => edge.node);
      if (command.optsWithGlobals().json) return printJson({ totalCount: data.workflows.totalCount, workflows: nodes });
      printTable(
        ['ID', 'NAME', 'STATUS', 'VERSION', 'RUNS', 'LAST RUN'],
        nodes.map((w) => [
          w.id,
          w.name,
          w.status,
          w.latestVersion,
          w.runsCount,
          w.lastRunStatus ? `${colorStatus(w.lastRunStatus)} ${w.lastRunAt}` : null,
        ]),
      );
      if (data.workflows.totalCount > nodes.length)
        process.stdout.write(`(${nodes.length} of ${data.workflows.totalCount}; use --limit or --search)\n`);
    });

  workflows
    .command('get')
    .description('One workflow (by name or id), with its steps')
    .argument('<workflow>', 'workflow name or id')
    .action(async (ref: string, _options: unknown, command: Command) => {
      const client = connect();
      const id = await findWorkflowId(client, ref);
      const { workflow } = await client.request(WorkflowDocument, { id });
      if (!workflow) throw new WeftError('NOT_FOUND', `No workflow ${ref}`);
      if (command.optsWithGlobals().json) return printJson(workflow);
      printFields([
        ['id', workflow.id],
        ['name', workflow.name],
        ['description', workflow.description],
        ['status', workflow.status],
        ['trigger', workflow.triggerType],
        ['version', workflow.latestVersion],
        ['tags', workflow.tags.map((tag) => tag.name).join(', ')],
        ['runs', workflow.runsCount],
        ['last run', workflow.lastRunStatus ? `${workflow.lastRunStatus} at ${workflow.lastRunAt}` : null],
        ['updated', workflow.updatedAt],
      ]);
      const steps =
        (workflow.definition as { steps?: { id: string; type: string; dependsOn?: string[] }[] }).steps ?? [];
      process.stdout.write('\n');
      printTable(
        ['STEP', 'TYPE', 'DEPENDS ON'],
        steps.map((step) => [step.id, step.type, (step.dependsOn ?? []).join(', ')]),
      );
    });
}

export function limitOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 200)
    throw new WeftError('BAD_USER_INPUT', `--limit must be an integer from 1 to 200 (got "${value}")`);
  return n;
}
