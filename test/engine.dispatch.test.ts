// Recorded once, sent with one key: whatever the dispatch (in-process on PGlite,
// graphile-worker jobs on PostgreSQL), a step's result is recorded only for the attempt that
// currently holds it, and every attempt of a step sends the same Idempotency-Key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, eventsOf, rawId, startRun, stepsOf, waitForRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

let t: TestApp;
let server: LoopbackServer;
/** Requests to /hold wait here until the test releases them. */
const held: (() => void)[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  server = await startLoopbackServer(async (req, res) => {
    if (req.path === '/hold' && held.length === 0) await new Promise<void>((resolve) => held.push(resolve));
    if (req.path === '/flaky' && failuresLeft-- > 0) return json(res, 503, { error: 'try again' });
    json(res, 200, { ok: true });
  });
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  await t.app.engine.start();
});
afterAll(async () => {
  for (const release of held) release();
  await t?.close();
  await server?.close();
});

describe(`step results and idempotency keys (${onPostgres ? 'graphile-worker' : 'in-process'} dispatch)`, () => {
  it('uses the expected dispatcher for the database', () => {
    expect(t.app.engine.dispatchKind).toBe(onPostgres ? 'graphile' : 'in-process');
  });

  it('ignores a second completion of the same attempt', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        { id: 'a', type: 'http_request', config: { method: 'POST', url: `${server.url}/once`, body: {} } },
        { id: 'hold', type: 'wait', dependsOn: ['a'], config: { resume: true } },
      ],
    });
    const run = await startRun(t, wf);
    await waitForRun(t, run, ['PAUSED']);
    const a = (await stepsOf(t, run)).a!;
    expect(a.status).toBe('COMPLETED');
    // A second worker finishing the same attempt (its lease was lost, say) changes nothing.
    await t.app.engine.advance(rawId(run), {
      kind: 'completion',
      stepRunId: a.id,
      attempt: a.attempt,
      outcome: { ok: true, output: 'late duplicate' },
    });
    await t.app.engine.advance(rawId(run), {
      kind: 'completion',
      stepRunId: a.id,
      attempt: a.attempt,
      outcome: { ok: false, message: 'late failure', retryable: true },
    });
    const after = (await stepsOf(t, run)).a!;
    expect(after.output).toEqual(a.output);
    expect(after.status).toBe('COMPLETED');
    expect((await eventsOf(t, run)).filter((e) => e.type === 'STEP_COMPLETED' && e.stepId === 'a')).toHaveLength(1);
  });

  it('drops the result of an attempt whose lease was lost; the new attempt sends the same Idempotency-Key', async () => {
    const wf = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'http_request', config: { method: 'POST', url: `${server.url}/hold`, body: { x: 1 } } }],
    });
    const run = await startRun(t, wf);
    await until('the first attempt to reach the server', 10_000, async () => held.length === 1);
    const first = (await stepsOf(t, run)).a!;
    expect(first).toMatchObject({ status: 'RUNNING', attempt: 1 });
    // What the lease sweep does when a worker stops renewing: hand the step back.
    await t.app.engine.advance(rawId(run), { kind: 'reclaim', stepRunIds: [first.id], reason: 'lease expired (test)' });
    await until('the second attempt to reach the server', 10_000, async () => server.hits('/hold') === 2);
    held[0]!();
    await waitForRun(t, run, ['COMPLETED']);
    const step = (await stepsOf(t, run)).a!;
    expect(step.attempt).toBe(2);
    expect((await eventsOf(t, run)).filter((e) => e.type === 'STEP_COMPLETED')).toHaveLength(1);
    const keys = server.requests.filter((r) => r.path === '/hold').map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([`${rawId(run)}:a`, `${rawId(run)}:a`]);
  });

  it('sends the same Idempotency-Key on every retry of http_request and webhook steps', async () => {
    failuresLeft = 2;
    const retry = { attempts: 3, backoffSeconds: 0.05 };
    const wf = await createWorkflow(t, {
      steps: [
        { id: 'call', type: 'http_request', retry, config: { method: 'PUT', url: `${server.url}/flaky`, body: {} } },
        {
          id: 'hook',
          type: 'webhook',
          dependsOn: ['call'],
          config: { url: `${server.url}/hook`, payload: { done: true } },
        },
      ],
    });
    const run = await startRun(t, wf);
    await waitForRun(t, run, ['COMPLETED']);
    const flaky = server.requests.filter((r) => r.path === '/flaky');
    expect(flaky).toHaveLength(3);
    expect(new Set(flaky.map((r) => r.headers['idempotency-key']))).toEqual(new Set([`${rawId(run)}:call`]));
    expect(server.requests.filter((r) => r.path === '/hook').map((r) => r.headers['idempotency-key'])).toEqual([
      `${rawId(run)}:hook`,
    ]);
  });
});
