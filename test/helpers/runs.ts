// Helpers for run tests: create a workflow, start a run, wait (bounded) for it to settle.
import { expect } from 'vitest';
import { graphql } from '../generated/gql.ts';
import type { TestApp } from './app.ts';
import { until } from './wait.ts';

export const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
export const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!;

const CreateWorkflow = graphql(`
  mutation HelpersCreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) { __typename ... on CreateWorkflowPayload { workflow { id } } ... on ValidationError { problems { path message } } }
  }
`);
const RunWorkflow = graphql(`
  mutation HelpersRunWorkflow($input: RunWorkflowInput!) {
    runWorkflow(input: $input) { __typename ... on RunPayload { run { id status } } ... on Error { code message } ... on ValidationError { problems { path message } } }
  }
`);

export async function createWorkflow(
  t: TestApp,
  definition: unknown,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await t.gql(CreateWorkflow, {
    input: { name: `wf-${Math.random().toString(36).slice(2, 8)}`, definition, ...extra },
  });
  const result = res.data?.createWorkflow;
  if (result?.__typename !== 'CreateWorkflowPayload') throw new Error(`createWorkflow failed: ${JSON.stringify(res)}`);
  return result.workflow.id;
}

export async function startRun(
  t: TestApp,
  workflowId: string,
  input: unknown = {},
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await t.gql(RunWorkflow, { input: { workflowId, input, ...extra } });
  const result = res.data?.runWorkflow;
  if (result?.__typename !== 'RunPayload') throw new Error(`runWorkflow failed: ${JSON.stringify(res)}`);
  return result.run.id;
}

/** Polls the database until the run reaches one of `statuses` (bounded). */
export async function waitForRun(
  t: TestApp,
  runGlobalId: string,
  statuses: string[] = ['COMPLETED', 'FAILED', 'CANCELLED'],
  timeoutMs = 15_000,
) {
  const id = rawId(runGlobalId);
  let last = 'unknown';
  return until(
    () => `run ${id} to be ${statuses.join('|')} (still ${last})`,
    timeoutMs,
    async () => {
      const run = await t.db.prisma.run.findUniqueOrThrow({ where: { id } });
      last = run.status;
      return statuses.includes(run.status) ? run : false;
    },
    20,
  );
}

export async function stepsOf(t: TestApp, runGlobalId: string) {
  const rows = await t.db.prisma.stepRun.findMany({ where: { runId: rawId(runGlobalId), iteration: -1 } });
  return Object.fromEntries(rows.map((r) => [r.stepId, r]));
}

export async function eventsOf(t: TestApp, runGlobalId: string) {
  const rows = await t.db.prisma.runEvent.findMany({ where: { runId: rawId(runGlobalId) }, orderBy: { seq: 'asc' } });
  expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1)); // gap-free, ordered
  return rows;
}
