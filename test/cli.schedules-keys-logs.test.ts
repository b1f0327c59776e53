// `weft schedules list|create|pause|resume`, `weft keys create|revoke` and
// `weft runs logs [--follow]` as a child process against a real Weft.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { cliHome, type CliHome } from './helpers/cli.ts';
import { createWorkflow, startRun, stepsOf, waitForRun } from './helpers/runs.ts';

let t: TestApp & { base: string };
let cli: CliHome;

beforeAll(async () => {
  t = await startServedTestApp({
    WEFT_ENGINE_POLL_MS: '50',
    WEFT_SCRIPTS_ENABLED: 'true',
    WEFT_STEP_LOG_FLUSH_MS: '100',
  });
  cli = cliHome();
  expect((await cli.run(['login', '--server', t.base, '--api-key', t.apiKey])).code).toBe(0);
});
afterAll(async () => {
  await t?.close();
  cli?.remove();
});

describe('weft schedules', { timeout: 120_000 }, () => {
  it('creates, lists, pauses and resumes a schedule, and reports a bad cron expression', async () => {
    const workflowId = await createWorkflow(
      t,
      { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] },
      { name: 'Nightly report' },
    );
    const created = await cli.run([
      'schedules',
      'create',
      '--workflow',
      'Nightly report',
      '--cron',
      '0 9 * * 1-5',
      '--timezone',
      'Europe/Paris',
      '--name',
      'weekdays',
      '--input',
      '{"n":1}',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const schedule = JSON.parse(created.stdout);
    expect(schedule).toMatchObject({
      name: 'weekdays',
      cronExpression: '0 9 * * 1-5',
      timezone: 'Europe/Paris',
      enabled: true,
      workflow: { id: workflowId, name: 'Nightly report' },
    });
    expect(schedule.nextRunAt).toBeTruthy();

    const table = await cli.run(['schedules', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+WORKFLOW\s+NAME\s+CRON\s+TIMEZONE\s+ENABLED\s+NEXT RUN$/);
    expect(table.stdout).toMatch(
      new RegExp(`^${schedule.id}\\s+Nightly report\\s+weekdays\\s+0 9 \\* \\* 1-5\\s+Europe/Paris\\s+yes`, 'm'),
    );

    const paused = await cli.run(['schedules', 'pause', schedule.id]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(
      new RegExp(`^Paused schedule ${schedule.id} \\(0 9 \\* \\* 1-5 Europe/Paris, paused`),
    );
    const listed = JSON.parse((await cli.run(['schedules', 'list', '--workflow', workflowId, '--json'])).stdout);
    expect(listed).toEqual([expect.objectContaining({ id: schedule.id, enabled: false })]);
    const resumed = await cli.run(['schedules', 'resume', schedule.id, '--json']);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ id: schedule.id, enabled: true });

    const bad = await cli.run(['schedules', 'create', '--workflow', workflowId, '--cron', 'every day']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error \[VALIDATION_FAILED\]: /);
    const missing = await cli.run(['schedules', 'create', '--workflow', workflowId]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--cron/);
  });
});

describe('weft keys', { timeout: 120_000 }, () => {
  it('creates a key that works at once and revokes it', async () => {
    const created = await cli.run(['keys', 'create', '--name', 'ci', '--scopes', 'read,run', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { key, apiKey } = JSON.parse(created.stdout);
    expect(apiKey).toMatchObject({ name: 'ci', scopes: ['READ', 'RUN'], expiresAt: null });
    const viewer = graphql(`
      query CliKeyViewer {
        viewer {
          permissions
        }
      }
    `);
    const asKey = await t.gql(viewer, {}, { authorization: `Bearer ${key}` });
    expect(asKey.errors).toBeUndefined();

    const table = await cli.run(['keys', 'create', '--name', 'shown once']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^key:\s+weft_live_\S+$/m);
    expect(table.stdout).toContain('cannot be shown again');

    const revoked = await cli.run(['keys', 'revoke', apiKey.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`Revoked key ${apiKey.id} (ci)\n`);
    const refused = await t.gql(viewer, {}, { authorization: `Bearer ${key}` });
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const bad = await cli.run(['keys', 'create', '--name', 'x', '--scopes', 'read,everything']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error \[BAD_USER_INPUT\]: --scopes: unknown EVERYTHING/);
  });
});

describe('weft runs logs', { timeout: 120_000 }, () => {
  it("--follow follows a running script's lines until the run finishes (each once, in order); without it, prints the stored logs", async () => {
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'work',
          type: 'script',
          timeoutSeconds: 60,
          config: {
            language: 'python',
            source: 'import time\nfor i in range(5):\n    print(f"tick {i}", flush=True)\n    time.sleep(0.5)\n',
          },
        },
      ],
    });
    const run = await startRun(t, wf);
    const following = cli.run(['runs', 'logs', run, '--follow', '--json'], {}, { timeoutMs: 60_000 });
    const followed = await following;
    expect(followed.code, followed.stderr).toBe(0);
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    const lines = followed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const stored = (await stepsOf(t, run)).work!.logs.trimEnd().split('\n');
    expect(lines.map((l) => l.line)).toEqual(stored);
    expect(lines.every((l) => l.stepId === 'work' && l.iteration === null)).toBe(true);
    expect(lines.filter((l) => /^tick \d$/.test(l.line)).map((l) => l.line)).toEqual([
      'tick 0',
      'tick 1',
      'tick 2',
      'tick 3',
      'tick 4',
    ]);
    // Some of them were written live, before the step finished.
    const live = await t.db.prisma.runEvent.count({
      where: { type: 'STEP_LOG', data: { path: ['live'], equals: true } },
    });
    expect(live).toBeGreaterThan(0);

    const printed = await cli.run(['runs', 'logs', run, '--step', 'work']);
    expect(printed.code).toBe(0);
    expect(printed.stdout.trim().split('\n')).toEqual(stored.map((line) => `[work] ${line}`));
    const none = await cli.run(['runs', 'logs', run, '--step', 'other', '--json']);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });
});
