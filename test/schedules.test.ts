// Schedules: cron with time zones and daylight-saving rules, exactly-once fires with catch-up
// and overlap policies (injected clock), one real-time every-second schedule, and inbound
// webhooks with a secret or an HMAC signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLErrorBody } from './helpers/app.ts';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.ts';
import { ofType } from './helpers/typename.ts';
import { createLogger } from '../src/logger.ts';
import { nextFireTimes } from '../src/schedules/cron.ts';
import { Scheduler } from '../src/schedules/scheduler.ts';
import { signWebhookPayload } from '../src/webhooks/signing.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, rawId } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

let t: TestApp;
let baseUrl: string;
beforeAll(async () => {
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50', WEFT_SCHEDULER_INTERVAL_MS: '200' });
});
afterAll(async () => {
  await t?.close();
});

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const q = async <T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables?: V) =>
  (await t.gql(document, variables)).data!;
const definition = { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] };

describe('cron and daylight saving', () => {
  it('fires a local time skipped by spring-forward once, at the jump (New York and Berlin)', () => {
    // 2026-03-08 02:00 EST → 03:00 EDT (07:00Z); 02:30 does not exist that day.
    expect(iso(nextFireTimes('30 2 * * *', 'America/New_York', new Date('2026-03-07T12:00:00Z'), 3))).toEqual([
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ]);
    // 2026-03-29 02:00 CET → 03:00 CEST (01:00Z).
    expect(iso(nextFireTimes('30 2 * * *', 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'), 2))).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('fires a local time repeated by fall-back once, at its first occurrence (New York and Berlin)', () => {
    // 2026-11-01 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    expect(iso(nextFireTimes('30 1 * * *', 'America/New_York', new Date('2026-10-31T12:00:00Z'), 2))).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
    // 2026-10-25 02:00–03:00 CEST happens twice; every 30 minutes fires 02:00 and 02:30 once each.
    expect(iso(nextFireTimes('*/30 * * * *', 'Europe/Berlin', new Date('2026-10-24T23:45:00Z'), 4))).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T02:30:00.000Z',
    ]);
  });
});

describe('schedules through the API', () => {
  it('refuses invalid cron expressions and unknown time zones with the field path, writing nothing', async () => {
    const wf = await createWorkflow(t, definition);
    const before = await t.db.prisma.schedule.count();
    const res = await q(
      graphql(
        `mutation SchedulesCreateSchedule ($input: CreateScheduleInput!) { createSchedule(input: $input) { __typename ... on ValidationError { problems { path message } } } }`,
      ),
      { input: { workflowId: wf, cronExpression: '61 * * * *', timezone: 'Mars/Olympus' } },
    );
    expect(ofType(res.createSchedule, 'ValidationError').problems.map((p) => p.path.join('.'))).toEqual([
      'input.timezone',
      'input.cronExpression',
    ]);
    expect(ofType(res.createSchedule, 'ValidationError').problems[0]?.message).toMatch(
      /Unknown time zone 'Mars\/Olympus'/,
    );
    expect(await t.db.prisma.schedule.count()).toBe(before);
  });

  it('creates, previews, pauses, resumes and lists schedules', async () => {
    const wf = await createWorkflow(t, definition);
    const created = await q(
      graphql(
        `mutation SchedulesCreateSchedule2 ($input: CreateScheduleInput!) { createSchedule(input: $input) { __typename ... on SchedulePayload { schedule { id cronExpression timezone enabled nextRunAt upcoming(count: 3) overlap catchUp } } } }`,
      ),
      {
        input: {
          workflowId: wf,
          cronExpression: '0 9 * * 1-5',
          timezone: 'America/New_York',
          inputData: { dataset: 'daily' },
        },
      },
    );
    const schedule = ofType(created.createSchedule, 'SchedulePayload').schedule;
    expect(schedule).toMatchObject({
      cronExpression: '0 9 * * 1-5',
      timezone: 'America/New_York',
      enabled: true,
      overlap: 'ALLOW_ALL',
      catchUp: 'NONE',
    });
    expect(schedule.upcoming).toHaveLength(3);
    expect(schedule.nextRunAt).toBe(schedule.upcoming[0]);
    const paused = await q(
      graphql(
        `mutation SchedulesPauseSchedule ($input: ScheduleIdInput!) { pauseSchedule(input: $input) { __typename ... on SchedulePayload { schedule { enabled nextRunAt } } } }`,
      ),
      { input: { id: schedule.id } },
    );
    expect(ofType(paused.pauseSchedule, 'SchedulePayload').schedule).toEqual({ enabled: false, nextRunAt: null });
    const resumed = await q(
      graphql(
        `mutation SchedulesResumeSchedule ($input: ScheduleIdInput!) { resumeSchedule(input: $input) { __typename ... on SchedulePayload { schedule { enabled nextRunAt } } } }`,
      ),
      { input: { id: schedule.id } },
    );
    expect(ofType(resumed.resumeSchedule, 'SchedulePayload').schedule.nextRunAt).toBe(schedule.nextRunAt);
    const listed = await q(
      graphql(`query SchedulesWorkflow ($id: ID!) { workflow(id: $id) { schedules { id inputData } } }`),
      { id: wf },
    );
    expect(listed.workflow?.schedules).toEqual([{ id: schedule.id, inputData: { dataset: 'daily' } }]);
  });
});

describe('firing (injected clock)', () => {
  const log = createLogger('silent');
  async function setup(extra: Record<string, unknown>, createdAt: Date) {
    const wf = await createWorkflow(t, definition, { status: 'ACTIVE' });
    const res = await q(
      graphql(
        `mutation SchedulesCreateSchedule3 ($input: CreateScheduleInput!) { createSchedule(input: $input) { __typename ... on SchedulePayload { schedule { id } } } }`,
      ),
      { input: { workflowId: wf, cronExpression: '0 * * * *', ...extra } },
    );
    const id = rawId(ofType(res.createSchedule, 'SchedulePayload').schedule.id);
    await t.db.prisma.schedule.update({
      where: { id },
      data: { nextRunAt: nextFireTimes('0 * * * *', 'UTC', createdAt, 1)[0]! },
    });
    let now = createdAt;
    const scheduler = new Scheduler({
      prisma: t.db.prisma,
      log,
      engine: t.app.engine,
      bus: t.app.bus,
      secretsKey: null,
      intervalMs: 1000,
      now: () => now,
    });
    return { id, scheduler, at: (d: Date) => (now = d) };
  }
  const runsOf = (scheduleId: string) =>
    t.db.prisma.run.findMany({ where: { scheduleId }, orderBy: { createdAt: 'asc' } });
  const ticksOf = (scheduleId: string) =>
    t.db.prisma.scheduleTick.findMany({ where: { scheduleId }, orderBy: { scheduledFor: 'asc' } });

  it('fires each due time exactly once, with trigger SCHEDULE and a link back to the schedule', async () => {
    const s = await setup({ inputData: { n: 1 } }, new Date('2030-01-01T10:00:30Z'));
    s.at(new Date('2030-01-01T11:00:01Z'));
    await s.scheduler.tick();
    await s.scheduler.tick();
    await new Scheduler({
      prisma: t.db.prisma,
      log,
      engine: t.app.engine,
      bus: t.app.bus,
      secretsKey: null,
      intervalMs: 1000,
      now: () => new Date('2030-01-01T11:00:02Z'),
    }).tick();
    const runs = await runsOf(s.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: 'SCHEDULE', scheduleId: s.id, input: { n: 1 } });
    expect((await ticksOf(s.id)).map((x) => [x.scheduledFor.toISOString(), x.status, x.runId])).toEqual([
      ['2030-01-01T11:00:00.000Z', 'FIRED', runs[0]!.id],
    ]);
    const schedule = await t.db.prisma.schedule.findUniqueOrThrow({ where: { id: s.id } });
    expect(schedule.nextRunAt!.toISOString()).toBe('2030-01-01T12:00:00.000Z');
    expect(schedule.lastRunId).toBe(runs[0]!.id);
  });

  it('applies catch-up policies after downtime: NONE, LAST, ALL within the window', async () => {
    const start = new Date('2030-02-01T00:00:30Z');
    const after = new Date('2030-02-01T05:00:10Z'); // fire times 01:00…05:00; only 05:00 is on time
    const none = await setup({ catchUp: 'NONE' }, start);
    const last = await setup({ catchUp: 'LAST' }, start);
    const all = await setup({ catchUp: 'ALL', catchUpWindowSeconds: 3 * 3600 }, start);
    for (const s of [none, last, all]) {
      s.at(after);
      await s.scheduler.tick();
    }
    const summary = async (id: string) =>
      (await ticksOf(id)).map((x) => `${x.scheduledFor.toISOString().slice(11, 16)} ${x.status}`);
    expect(await summary(none.id)).toEqual([
      '01:00 SKIPPED',
      '02:00 SKIPPED',
      '03:00 SKIPPED',
      '04:00 SKIPPED',
      '05:00 FIRED',
    ]);
    expect(await summary(last.id)).toEqual([
      '01:00 SKIPPED',
      '02:00 SKIPPED',
      '03:00 SKIPPED',
      '04:00 FIRED',
      '05:00 FIRED',
    ]);
    expect(await summary(all.id)).toEqual([
      '01:00 SKIPPED',
      '02:00 SKIPPED',
      '03:00 FIRED',
      '04:00 FIRED',
      '05:00 FIRED',
    ]);
    expect((await ticksOf(none.id))[0]!.reason).toMatch(/missed while Weft was not running/);
    expect((await runsOf(all.id)).length).toBe(3);
  });

  it('applies overlap policies when the previous run is still active', async () => {
    const start = new Date('2030-03-01T00:00:30Z');
    const skip = await setup({ overlap: 'SKIP' }, start);
    const buffer = await setup({ overlap: 'BUFFER_ONE' }, start);
    const cancel = await setup({ overlap: 'CANCEL_OTHER' }, start);
    for (const hour of [1, 2, 3]) {
      for (const s of [skip, buffer, cancel]) {
        s.at(new Date(`2030-03-01T0${hour}:00:05Z`));
        await s.scheduler.tick(); // the engine is not running here: new runs stay QUEUED
      }
      // The first runs start running (as the engine would); later ones stay queued.
      if (hour === 1)
        await t.db.prisma.run.updateMany({
          where: { scheduleId: { in: [skip.id, buffer.id, cancel.id] }, status: 'QUEUED' },
          data: { status: 'RUNNING' },
        });
    }
    const statuses = async (id: string) => (await ticksOf(id)).map((x) => x.status);
    expect(await statuses(skip.id)).toEqual(['FIRED', 'SKIPPED', 'SKIPPED']);
    expect((await ticksOf(skip.id))[1]!.reason).toMatch(/overlap SKIP/);
    expect(await statuses(buffer.id)).toEqual(['FIRED', 'FIRED', 'SKIPPED']); // one running-or-queued plus one buffered
    expect((await ticksOf(buffer.id))[2]!.reason).toMatch(/already buffered/);
    expect(await statuses(cancel.id)).toEqual(['FIRED', 'FIRED', 'FIRED']);
    expect((await runsOf(cancel.id)).map((r) => r.status)).toEqual(['CANCELLED', 'CANCELLED', 'QUEUED']);
  });

  it('records a FAILED tick when the workflow cannot run', async () => {
    const s = await setup({}, new Date('2030-04-01T00:00:30Z'));
    const schedule = await t.db.prisma.schedule.findUniqueOrThrow({ where: { id: s.id } });
    await t.db.prisma.workflow.update({ where: { id: schedule.workflowId }, data: { status: 'PAUSED' } });
    s.at(new Date('2030-04-01T01:00:01Z'));
    await s.scheduler.tick();
    const [tick] = await ticksOf(s.id);
    expect(tick).toMatchObject({ status: 'FAILED', runId: null });
    expect(tick!.reason).toMatch(/CONFLICT: Workflow is PAUSED/);
  });
});

describe('real time', () => {
  it('fires a six-field every-second schedule at least twice', { timeout: 20_000 }, async () => {
    baseUrl = (await t.app.start(0, '127.0.0.1')).url.replace('/graphql', '');
    const wf = await createWorkflow(t, definition);
    const res = await q(
      graphql(
        `mutation SchedulesCreateSchedule4 ($input: CreateScheduleInput!) { createSchedule(input: $input) { __typename ... on SchedulePayload { schedule { id } } } }`,
      ),
      { input: { workflowId: wf, cronExpression: '* * * * * *' } },
    );
    const id = rawId(ofType(res.createSchedule, 'SchedulePayload').schedule.id);
    await until(
      'two completed scheduled runs',
      10_000,
      async () => (await t.db.prisma.run.count({ where: { scheduleId: id, status: 'COMPLETED' } })) >= 2,
      100,
    );
    await q(
      graphql(
        `mutation SchedulesPauseSchedule2 ($input: ScheduleIdInput!) { pauseSchedule(input: $input) { __typename } }`,
      ),
      {
        input: { id: ofType(res.createSchedule, 'SchedulePayload').schedule.id },
      },
    );
    const ticks = await t.db.prisma.scheduleTick.findMany({ where: { scheduleId: id, status: 'FIRED' } });
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ticks.map((x) => x.scheduledFor.getTime() % 1000))).toEqual(new Set([0])); // whole seconds
    expect(await t.db.prisma.run.count({ where: { scheduleId: id } })).toBe(ticks.length);
  });
});

describe('inbound webhooks', () => {
  it('starts a run from a POST with the secret or a valid signature, and refuses everything else', async () => {
    baseUrl ??= (await t.app.start(0, '127.0.0.1')).url.replace('/graphql', '');
    const wf = await createWorkflow(
      t,
      {
        ...definition,
        inputSchema: { type: 'object', required: ['order'], properties: { order: { type: 'integer' } } },
      },
      { triggerType: 'WEBHOOK' },
    );
    const rotated = await q(
      graphql(
        `mutation SchedulesRotateWebhookSecret ($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { __typename ... on WebhookSecretPayload { secret path } } }`,
      ),
      { input: { workflowId: wf } },
    );
    const { secret, path } = ofType(rotated.rotateWebhookSecret, 'WebhookSecretPayload');
    // Encrypted at rest: the column holds a v1 AES-GCM envelope, never the secret.
    const stored = (await t.db.prisma.workflow.findUniqueOrThrow({ where: { id: rawId(wf) } })).inboundSecret!;
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain(secret);
    const read = await q(
      graphql(
        `query SchedulesWorkflow2 ($id: ID!) { workflow(id: $id) { inboundWebhookPath hasInboundWebhookSecret } }`,
      ),
      {
        id: wf,
      },
    );
    expect(read.workflow).toEqual({ inboundWebhookPath: path, hasInboundWebhookSecret: true });
    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const before = await t.db.prisma.run.count({ where: { workflowId: rawId(wf) } });

    const ok = await post('{"order":7}', { authorization: `Bearer ${secret}` });
    expect(ok.status).toBe(202);
    const { runId } = (await ok.json()) as { runId: string };
    const run = await t.db.prisma.run.findUniqueOrThrow({ where: { id: rawId(runId) } });
    expect(run).toMatchObject({ trigger: 'WEBHOOK', input: { order: 7 } });

    const body = '{"order":8}';
    const ts = Math.floor(Date.now() / 1000);
    const signed = await post(body, signWebhookPayload(secret, ts, body));
    expect(signed.status).toBe(202);

    expect((await post(body, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(body, signWebhookPayload('wrong-secret', ts, body))).status).toBe(401);
    expect((await post(body, signWebhookPayload(secret, ts - 3600, body))).status).toBe(401); // stale timestamp
    expect((await post(body, {})).status).toBe(401);
    expect((await post('{not json', { authorization: `Bearer ${secret}` })).status).toBe(400);
    const invalid = await post('{"order":"x"}', { authorization: `Bearer ${secret}` });
    expect(invalid.status).toBe(422);
    const problems = ((await invalid.json()) as GraphQLErrorBody).errors[0]?.extensions?.problems as {
      path: string[];
    }[];
    expect(problems[0]?.path).toEqual(['input', 'input', 'order']);
    expect(await t.db.prisma.run.count({ where: { workflowId: rawId(wf) } })).toBe(before + 2);

    await q(
      graphql(
        `mutation SchedulesRotateWebhookSecret2 ($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { __typename } }`,
      ),
      {
        input: { workflowId: wf },
      },
    );
    expect((await post(body, { authorization: `Bearer ${secret}` })).status).toBe(401); // old secret no longer works
    const manual = await createWorkflow(t, definition);
    expect((await fetch(`${baseUrl}/hooks/${manual}`, { method: 'POST', body: '{}' })).status).toBe(404);
  });
});
