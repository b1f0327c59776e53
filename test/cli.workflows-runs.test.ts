// `weft workflows list|get` and `weft runs list|get|cancel|resume|retry` as a child process
// against a real Weft: tables by default, --json for scripts, error codes and exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { cliHome, type CliHome } from './helpers/cli.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, startRun, waitForRun } from './helpers/runs.ts';

let t: TestApp & { base: string };
let cli: CliHome;
let server: LoopbackServer;
let healthy = false;

beforeAll(async () => {
  server = await startLoopbackServer((_req, res) => json(res, healthy ? 200 : 503, { healthy }));
  t = await startServedTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  cli = cliHome();
  expect((await cli.run(['login', '--server', t.base, '--api-key', t.apiKey])).code).toBe(0);
});
afterAll(async () => {
  await t?.close();
  await server?.close();
  cli?.remove();
});

describe('workflows', { timeout: 120_000 }, () => {
  it('lists workflows as a table and as JSON, and shows one with its steps', async () => {
    const id = await createWorkflow(
      t,
      {
        steps: [
          { id: 'first', type: 'condition', config: { expression: 'true' } },
          { id: 'second', type: 'condition', dependsOn: ['first'], config: { expression: 'true' } },
        ],
      },
      { name: 'Listed workflow', description: 'For the CLI' },
    );
    await createWorkflow(
      t,
      { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] },
      { name: 'Other one' },
    );

    const table = await cli.run(['workflows', 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+VERSION\s+RUNS\s+LAST RUN$/);
    expect(lines.some((line) => line.startsWith(id) && /Listed workflow\s+DRAFT\s+1\s+0\s+-$/.test(line))).toBe(true);

    const searched = await cli.run(['workflows', 'list', '--search', 'listed', '--json']);
    expect(searched.code).toBe(0);
    expect(JSON.parse(searched.stdout)).toMatchObject({ totalCount: 1, workflows: [{ id, name: 'Listed workflow' }] });

    const got = await cli.run(['workflows', 'get', 'Listed workflow']);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^description:\s+For the CLI$/m);
    expect(got.stdout).toMatch(/^second\s+condition\s+first$/m);
    const byId = await cli.run(['wf', 'get', id, '--json']);
    expect(JSON.parse(byId.stdout)).toMatchObject({ id, name: 'Listed workflow', latestVersion: 1 });

    const missing = await cli.run(['workflows', 'get', 'Nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error \[NOT_FOUND\]: /);
    const badLimit = await cli.run(['workflows', 'list', '--limit', '500']);
    expect(badLimit.code).toBe(1);
    expect(badLimit.stderr).toMatch(/^error \[BAD_USER_INPUT\]: --limit must be an integer from 1 to 200/);
  });
});

describe('runs', { timeout: 120_000 }, () => {
  it('lists and shows a failed run, resumes it (--watch, exit 0) and retries it', async () => {
    healthy = false;
    const workflowId = await createWorkflow(
      t,
      {
        steps: [
          { id: 'probe', type: 'http_request', config: { url: `${server.url}/health` } },
          { id: 'after', type: 'condition', dependsOn: ['probe'], config: { expression: 'true' } },
        ],
      },
      { name: 'Flaky' },
    );
    const runId = await startRun(t, workflowId);
    await waitForRun(t, runId);

    const list = await cli.run(['runs', 'list', '--workflow', 'Flaky', '--status', 'failed']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+WORKFLOW\s+VERSION\s+STATUS\s+TRIGGER\s+CREATED\s+DURATION$/);
    expect(list.stdout).toMatch(
      new RegExp(`^${runId.replace(/[+/=]/g, '\\$&')}\\s+Flaky\\s+1\\s+FAILED\\s+MANUAL`, 'm'),
    );
    // In colour (a terminal), the columns still line up: escapes take no width.
    const coloured = await cli.run(['runs', 'list', '--workflow', 'Flaky'], { NO_COLOR: '', FORCE_COLOR: '1' });
    expect(coloured.stdout).toContain('\x1b[31mFAILED\x1b[39m');
    const plain = coloured.stdout.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
    expect(plain[1]!.indexOf('MANUAL')).toBe(plain[0]!.indexOf('TRIGGER'));
    const none = await cli.run(['runs', 'list', '--workflow', 'Flaky', '--status', 'COMPLETED', '--json']);
    expect(JSON.parse(none.stdout)).toEqual({ totalCount: 0, runs: [] });

    const got = await cli.run(['runs', 'get', runId]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^status:\s+FAILED$/m);
    expect(got.stdout).toMatch(/^probe\s+http_request\s+FAILED\s+1\s+\S+\s+.*503/m);

    healthy = true;
    const resumed = await cli.run(['runs', 'resume', runId, '--watch']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/ {2}✓ probe completed/);
    expect(resumed.stdout).not.toMatch(/probe failed/); // the earlier attempt is not replayed
    expect(resumed.stdout.trim().split('\n').at(-1)).toMatch(/^Run COMPLETED/);

    const retried = await cli.run(['runs', 'retry', runId, '--all-steps', '--json']);
    expect(retried.code).toBe(0);
    const newRun = JSON.parse(retried.stdout);
    expect(newRun.id).not.toBe(runId);
    expect(await waitForRun(t, newRun.id)).toMatchObject({ status: 'COMPLETED' });
  });

  it('cancels a running run, and refuses to cancel it twice with CONFLICT', async () => {
    const workflowId = await createWorkflow(t, { steps: [{ id: 'hold', type: 'wait', config: { seconds: 60 } }] });
    const runId = await startRun(t, workflowId);
    await waitForRun(t, runId, ['RUNNING']);
    const cancelled = await cli.run(['runs', 'cancel', runId]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe(`Cancelled run ${runId}: CANCELLED\n`);
    const again = await cli.run(['runs', 'cancel', runId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error \[CONFLICT\]: /);
    const badStatus = await cli.run(['runs', 'list', '--status', 'done']);
    expect(badStatus.code).toBe(1);
    expect(badStatus.stderr).toMatch(/^error \[BAD_USER_INPUT\]: --status: unknown DONE/);
  });
});
