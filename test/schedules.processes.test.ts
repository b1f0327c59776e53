// Two Weft processes on one PostgreSQL: every fire of an every-second schedule starts exactly
// one run.
import { afterAll, expect, it } from 'vitest';
import pg from 'pg';
import { onPostgres } from './helpers/app.ts';
import { createTestDatabase } from './helpers/pg.ts';
import { graphql } from './generated/gql.ts';
import { createWorkflowAt, postGraphQL, startWeftProcess, type WeftProcess } from './helpers/process.ts';
import { ofType } from './helpers/typename.ts';

const CreateSchedule = graphql(`
  mutation ProcessesCreateSchedule($input: CreateScheduleInput!) {
    createSchedule(input: $input) {
      __typename
      ... on SchedulePayload {
        schedule {
          id
        }
      }
    }
  }
`);
const PauseSchedule = graphql(`
  mutation ProcessesPauseSchedule($input: ScheduleIdInput!) {
    pauseSchedule(input: $input) {
      __typename
    }
  }
`);
import { until } from './helpers/wait.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it.runIf(onPostgres)('fires each due time exactly once with two processes', { timeout: 120_000 }, async () => {
  const db = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: true });
  cleanups.push(db.drop);
  const env = { DATABASE_URL: db.url, WEFT_SCHEDULER_INTERVAL_MS: '100', WEFT_ENGINE_POLL_MS: '100' };
  const processes: WeftProcess[] = [];
  for (let i = 0; i < 2; i++) {
    const p = await startWeftProcess(env);
    processes.push(p);
    cleanups.push(() => p.stop('SIGKILL'));
  }
  const [a] = processes as [WeftProcess];
  const workflowId = await createWorkflowAt(a.url, {
    name: 'every second',
    definition: { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] },
  });
  const created = await postGraphQL(a.url, CreateSchedule, { input: { workflowId, cronExpression: '* * * * * *' } });
  const scheduleGid = ofType(created.data?.createSchedule, 'SchedulePayload').schedule.id;

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  cleanups.push(() => client.end());
  const fired = async () =>
    Number((await client.query(`SELECT count(*) FROM "ScheduleTick" WHERE status = 'FIRED'`)).rows[0].count);
  await until('five fired ticks', 30_000, async () => (await fired()) >= 5, 200);
  await postGraphQL(a.url, PauseSchedule, { input: { id: scheduleGid } });
  await new Promise((r) => setTimeout(r, 500));

  const ticks = (
    await client.query(`SELECT "scheduledFor", status, "runId" FROM "ScheduleTick" ORDER BY "scheduledFor"`)
  ).rows;
  const runs = (await client.query(`SELECT id, "idempotencyKey" FROM "Run" WHERE "scheduleId" IS NOT NULL`)).rows;
  const firedTicks = ticks.filter((x) => x.status === 'FIRED');
  expect(firedTicks.length).toBeGreaterThanOrEqual(5);
  expect(runs.length).toBe(firedTicks.length);
  expect(new Set(firedTicks.map((x) => x.runId)).size).toBe(firedTicks.length);
  expect(new Set(ticks.map((x) => new Date(x.scheduledFor).getTime())).size).toBe(ticks.length);
  expect(firedTicks.every((x) => x.runId !== null)).toBe(true);
});
