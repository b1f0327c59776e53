// Concurrency limits (global, per workflow, per key with each strategy), completion (output
// schema, post-run checks, signed webhook), script and agent steps inside runs, and reading
// runs (summary, delete).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../src/webhooks/signing.ts';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, rawId, startRun, stepsOf, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';
import { until } from './helpers/wait.ts';

let t: TestApp;
let server: LoopbackServer;
let hold = true;
const waiting: (() => void)[] = [];

beforeAll(async () => {
  server = await startLoopbackServer(async (req, res) => {
    if (req.path.startsWith('/hold')) {
      if (hold) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          // An aborted request (cancelled run) no longer waits.
          res.on('close', () => {
            const index = waiting.indexOf(resolve);
            if (index >= 0) waiting.splice(index, 1);
            resolve();
          });
        });
      }
      if (!res.destroyed) json(res, 200, { released: true });
      return;
    }
    if (req.path === '/v1/chat/completions')
      return json(res, 200, {
        model: 'tiny',
        choices: [{ message: { content: 'short answer' } }],
        usage: { total_tokens: 3 },
      });
    json(res, 200, { ok: true });
  });
  t = await startTestApp({
    WEFT_ENGINE_POLL_MS: '50',
    WEFT_MAX_CONCURRENT_RUNS: '2',
    WEFT_SCRIPTS_ENABLED: 'true',
    WEFT_AGENT_BASE_URL: `${server.url}/v1`,
    WEFT_AGENT_MODEL: 'tiny',
  });
  await t.app.engine.start();
});
afterAll(async () => {
  hold = false;
  for (const release of waiting.splice(0)) release();
  await t?.close();
  await server?.close();
});

const holdStep = (path = '/hold') => ({
  steps: [{ id: 'h', type: 'http_request', config: { url: `${server.url}${path}` }, timeoutSeconds: 30 }],
});
const statusOf = async (runId: string) =>
  (await t.db.prisma.run.findUniqueOrThrow({ where: { id: rawId(runId) } })).status;
function releaseAll() {
  for (const release of waiting.splice(0)) release();
}

describe('concurrency limits', () => {
  it('keeps runs beyond the global limit QUEUED and starts them in FIFO order', async () => {
    const wf = await createWorkflow(t, holdStep('/hold-global'));
    const runs: string[] = [];
    for (let i = 0; i < 5; i++) runs.push(await startRun(t, wf));
    await until('two runs to hold', 10_000, async () => waiting.length === 2);
    const running = await t.db.prisma.run.count({ where: { status: 'RUNNING' } });
    expect(running).toBe(2);
    expect(await Promise.all(runs.map(statusOf))).toEqual(['RUNNING', 'RUNNING', 'QUEUED', 'QUEUED', 'QUEUED']);
    for (let released = 0; released < 5; ) {
      await until('a held request', 10_000, async () => waiting.length > 0);
      released += waiting.length;
      releaseAll();
      expect(await t.db.prisma.run.count({ where: { status: 'RUNNING' } })).toBeLessThanOrEqual(2);
    }
    for (const run of runs) await waitForRun(t, run);
    // FIFO: in creation order, start times never go backwards (runs started together share one).
    const startedAt = await Promise.all(
      runs.map(async (r) =>
        (await t.db.prisma.run.findUniqueOrThrow({ where: { id: rawId(r) } })).startedAt!.getTime(),
      ),
    );
    expect(startedAt).toEqual([...startedAt].sort((x, y) => x - y));
  });

  it('limits runs per workflow (maxConcurrentRuns)', async () => {
    const wf = await createWorkflow(t, holdStep('/hold-wf'), { maxConcurrentRuns: 1 });
    const a = await startRun(t, wf);
    const b = await startRun(t, wf);
    await until('one held request', 10_000, async () => waiting.length === 1);
    // A negative check: give a wrongly started second run time to show up (nothing to wait on).
    await new Promise((r) => setTimeout(r, 200));
    expect([await statusOf(a), await statusOf(b)]).toEqual(['RUNNING', 'QUEUED']);
    releaseAll();
    await until('the second run to hold', 10_000, async () => waiting.length === 1);
    releaseAll();
    expect((await waitForRun(t, b)).status).toBe('COMPLETED');
  });

  it('applies concurrency-key strategies: CANCEL_NEWEST cancels the new run, CANCEL_IN_PROGRESS the old one', async () => {
    const newest = await createWorkflow(t, holdStep('/hold-key'), {
      concurrency: { key: 'input.customer', limit: 1, strategy: 'CANCEL_NEWEST' },
    });
    const first = await startRun(t, newest, { customer: 'c1' });
    await until('the first run to hold', 10_000, async () => waiting.length === 1);
    const second = await startRun(t, newest, { customer: 'c1' });
    expect((await waitForRun(t, second)).error).toMatchObject({ message: expect.stringMatching(/CANCEL_NEWEST/) });
    expect(await statusOf(second)).toBe('CANCELLED');
    const other = await startRun(t, newest, { customer: 'c2' }); // another key is not limited
    await until('the other key to hold', 10_000, async () => waiting.length === 2);
    releaseAll();
    expect((await waitForRun(t, first)).status).toBe('COMPLETED');
    expect((await waitForRun(t, other)).status).toBe('COMPLETED');

    const inProgress = await createWorkflow(t, holdStep('/hold-key2'), {
      concurrency: { key: 'input.customer', limit: 1, strategy: 'CANCEL_IN_PROGRESS' },
    });
    const old = await startRun(t, inProgress, { customer: 'c1' });
    await until('the old run to hold', 10_000, async () => waiting.length === 1);
    const fresh = await startRun(t, inProgress, { customer: 'c1' });
    expect(await statusOf(old)).toBe('CANCELLED');
    await until('the new run to hold', 10_000, async () => server.hits('/hold-key2') === 2 && waiting.length === 1);
    releaseAll();
    expect((await waitForRun(t, fresh)).status).toBe('COMPLETED');
  });
});

describe('completion and step types in runs', () => {
  it('computes the output, checks the output schema, records post-run checks and sends a signed webhook', async () => {
    hold = false;
    const wf = await createWorkflow(
      t,
      {
        steps: [{ id: 'a', type: 'condition', config: { expression: 'input.n * 2' } }],
        output: { doubled: '{{ steps.a.output.result }}' },
        outputSchema: { type: 'object', required: ['doubled'] },
      },
      {
        webhooksEnabled: true,
        webhookUrl: `${server.url}/done`,
        webhookSecret: 'a-long-enough-secret',
        postRunChecks: [
          { name: 'positive', expression: 'output.doubled > 0' },
          { name: 'big', expression: 'output.doubled > 100' },
        ],
      },
    );
    const run = await startRun(t, wf, { n: 21 });
    const done = await waitForRun(t, run);
    expect(done.output).toEqual({ doubled: 42 });
    expect(done.checks).toEqual([
      expect.objectContaining({ name: 'positive', expression: 'output.doubled > 0', passed: true, status: 'PASSED' }),
      expect.objectContaining({ name: 'big', expression: 'output.doubled > 100', passed: false, status: 'FAILED' }),
    ]);
    await until('the completion webhook', 10_000, async () => server.hits('/done') > 0);
    const hook = server.requests.find((r) => r.path === '/done')!;
    const payload = JSON.parse(hook.body);
    expect(payload).toMatchObject({
      event: 'run.finished',
      runId: run,
      workflowId: wf,
      status: 'COMPLETED',
      output: { doubled: 42 },
    });
    // The ids in the body are the API's own: they look the run and the workflow up as they are.
    const lookedUp = await t.gql('query($r: ID!, $w: ID!) { run(id: $r) { id status } workflow(id: $w) { id } }', {
      r: payload.runId,
      w: payload.workflowId,
    });
    expect(lookedUp.errors).toBeUndefined();
    expect(lookedUp.data).toEqual({ run: { id: run, status: 'COMPLETED' }, workflow: { id: wf } });
    expect(
      verifyWebhookSignature(
        'a-long-enough-secret',
        String(hook.headers['x-weft-timestamp']),
        hook.body,
        String(hook.headers['x-weft-signature']),
      ),
    ).toBe(true);
    // The signing secret is encrypted at rest (and still signs correctly, above).
    const stored = (await t.db.prisma.workflow.findUniqueOrThrow({ where: { id: rawId(wf) } })).webhookSecret!;
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain('a-long-enough-secret');
    await until(
      'the delivery event',
      10_000,
      async () => (await t.db.prisma.runEvent.count({ where: { runId: rawId(run), type: 'WEBHOOK_DELIVERED' } })) === 1,
    );

    const bad = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'condition', config: { expression: '1' } }],
      outputSchema: { type: 'object', required: ['missing'] },
    });
    const failed = await waitForRun(t, await startRun(t, bad));
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatchObject({ message: expect.stringMatching(/output schema/) });
  });

  it('runs script and agent_task steps inside a run', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'calc',
          type: 'script',
          config: { language: 'python', source: 'import json\nprint(json.dumps({"total": 6 * 7}))' },
        },
        {
          id: 'ask',
          type: 'agent_task',
          dependsOn: ['calc'],
          config: { goal: 'Explain {{ steps.calc.output.json.total }}' },
        },
      ],
    });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    const steps = await stepsOf(t, run);
    expect(steps.calc!.output).toMatchObject({ json: { total: 42 } });
    expect(steps.ask!.output).toEqual({ answer: 'short answer', model: 'tiny', usage: { total_tokens: 3 } });
    const asked = server.requests.find((r) => r.path === '/v1/chat/completions')!;
    expect(JSON.parse(asked.body).messages[0].content).toBe('Explain 42');
  });
});

const DELETE_RUN = graphql(
  `mutation LimitsDeleteRun($input: RunIdInput!) { deleteRun(input: $input) { __typename ... on DeleteRunPayload { deletedId deletedRunId } ... on Error { code message } } }`,
);

describe('reading runs', () => {
  it('summarises runs per status with success rate and duration percentiles, and deletes finished runs only', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        { id: 'a', type: 'condition', config: { expression: 'input.ok' } },
        {
          id: 'b',
          type: 'http_request',
          dependsOn: ['a'],
          when: '$not(steps.a.output.result)',
          config: { url: `${server.url}/missing-404` },
          retry: { attempts: 1 },
        },
      ],
    });
    const runs = [
      await startRun(t, wf, { ok: true }),
      await startRun(t, wf, { ok: true }),
      await startRun(t, wf, { ok: true }),
    ];
    for (const r of runs) await waitForRun(t, r);
    const res = await t.gql(
      graphql(
        `query LimitsRunsSummary($id: ID!) { runsSummary(workflowId: $id) { total successRate p50DurationMs p95DurationMs byStatus { status count } } }`,
      ),
      { id: wf },
    );
    const summary = res.data!.runsSummary;
    expect(summary.total).toBe(3);
    expect(summary.successRate).toBe(1);
    expect(summary.p50DurationMs).toBeGreaterThanOrEqual(0);
    expect(summary.byStatus).toContainEqual({ status: 'COMPLETED', count: 3 });

    const del = await t.gql(DELETE_RUN, { input: { runId: runs[0]! } });
    // deletedId is every delete payload's field; the entity-named one stays, deprecated.
    expect(ofType(del.data?.deleteRun, 'DeleteRunPayload')).toMatchObject({
      deletedId: runs[0],
      deletedRunId: runs[0],
    });
    expect(await t.db.prisma.runEvent.count({ where: { runId: rawId(runs[0]!) } })).toBe(0);
    hold = true;
    const live = await startRun(t, await createWorkflow(t, holdStep('/hold-del')));
    await until('a held request', 10_000, async () => waiting.length === 1);
    const refused = await t.gql(DELETE_RUN, { input: { runId: live } });
    expect(ofType(refused.data?.deleteRun, 'ConflictError').code).toBe('CONFLICT');
    releaseAll();
    await waitForRun(t, live);
  });
});
