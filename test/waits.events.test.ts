// Waits for events and conditions end to end through the GraphQL API: signalRun, sendEvent,
// buffering of an event sent before the wait starts, match, condition, the three timeout
// outcomes, and validation of the new wait fields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, eventsOf, rawId, startRun, stepsOf, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

let t: TestApp;
let server: LoopbackServer;
const doneAfter = new Map<string, number>();

beforeAll(async () => {
  // GET /status?job=<id>: "pending" until the job has been asked `doneAfter` times, then "done".
  server = await startLoopbackServer((req, res) => {
    const url = new URL(req.path, 'http://x');
    const job = url.searchParams.get('job')!;
    const asked = server.requests.filter((r) => r.path === req.path).length;
    json(res, 200, { job, state: asked >= (doneAfter.get(job) ?? Infinity) ? 'done' : 'pending', asked });
  });
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  await t.app.engine.start();
}, 60_000);

afterAll(async () => {
  await t?.close();
  await server?.close();
});

const SIGNAL_RUN = graphql(`
  mutation WaitsEventsSignalRun($input: SignalRunInput!) {
    signalRun(input: $input) {
      __typename
      ... on SignalRunPayload {
        deliveredTo
        buffered
        run {
          status
        }
      }
      ... on Error {
        code
        message
      }
      ... on ValidationError {
        problems {
          path
          message
        }
      }
    }
  }
`);
const SEND_EVENT = graphql(`
  mutation WaitsEventsSendEvent($input: SendEventInput!) {
    sendEvent(input: $input) {
      __typename
      ... on SendEventPayload {
        deliveries {
          runId
          stepId
        }
      }
      ... on Error {
        code
        message
      }
      ... on ValidationError {
        problems {
          path
          message
        }
      }
    }
  }
`);

async function signal(runId: string, name: string, payload: unknown) {
  const res = await t.gql(SIGNAL_RUN, { input: { runId, name, payload } });
  expect(res.errors).toBeUndefined();
  return res.data!.signalRun;
}

async function untilStep(runId: string, stepId: string, status: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const step = (await stepsOf(t, runId))[stepId];
    if (step?.status === status) return step;
    if (Date.now() > deadline)
      throw new Error(`step ${stepId} still ${step?.status} after ${timeoutMs} ms (wanted ${status})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('validation', () => {
  it('reports misplaced and inconsistent wait fields with their paths', async () => {
    const res = await t.gql(
      graphql(`
        query WaitsEventsValidateFields($d: JSON!) {
          validateWorkflowDefinition(definition: $d) {
            valid
            errors {
              path
              message
            }
          }
        }
      `),
      {
        d: {
          steps: [
            { id: 'a', type: 'wait', config: { seconds: 1, match: 'payload.x' } },
            { id: 'b', type: 'wait', config: { event: 'go', seconds: 2 } },
            { id: 'c', type: 'wait', config: { event: 'go', onTimeout: { branch: 'd' } } },
            { id: 'd', type: 'condition', config: { expression: 'true' } },
            { id: 'e', type: 'wait', config: { condition: 'payload.(' } },
            { id: 'f', type: 'wait', config: { event: 'bad name!', onTimeout: 'explode' } },
          ],
        },
      },
    );
    expect(res.errors).toBeUndefined();
    const result = res.data!.validateWorkflowDefinition;
    expect(result.valid).toBe(false);
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path.join('.'), e.message]));
    expect(byPath['steps.0.config.match']).toBe('match goes with event, not with seconds');
    expect(byPath['steps.1.config']).toMatch(/exactly one of .* \(got seconds, event\)/);
    expect(byPath['steps.2.config.onTimeout.branch']).toBe("Step 'd' must depend on 'c' to be its timeout branch");
    expect(byPath['steps.4.config.condition']).toMatch(/wait condition expression/);
    expect(byPath['steps.5.config.event']).toMatch(/event name/);
    expect(byPath['steps.5.config.onTimeout']).toMatch(/"fail", "continue"/);
  });
});

describe('events', () => {
  it('delivers an event sent before the wait started, the first one that matches, and records it', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        { id: 'first', type: 'wait', config: { seconds: 1 } },
        {
          id: 'go',
          type: 'wait',
          dependsOn: ['first'],
          config: { event: 'order.paid', match: 'payload.order = $$.input.order' },
        },
      ],
    });
    const runId = await startRun(t, wf, { order: 'B' });
    await untilStep(runId, 'first', 'WAITING');
    const early = await signal(runId, 'order.paid', { order: 'A' });
    expect(early).toMatchObject({ __typename: 'SignalRunPayload', deliveredTo: [], buffered: true });
    expect(ofType(await signal(runId, 'order.paid', { order: 'B', amount: 12 }), 'SignalRunPayload').buffered).toBe(
      true,
    );
    const run = await waitForRun(t, runId);
    expect(run.status).toBe('COMPLETED');
    const go = (await stepsOf(t, runId)).go!;
    expect(go.output).toMatchObject({
      event: { name: 'order.paid', payload: { order: 'B', amount: 12 }, source: 'SIGNAL_RUN' },
      timedOut: false,
    });
    const events = await eventsOf(t, runId);
    expect(events.filter((e) => e.type === 'SIGNAL_BUFFERED')).toHaveLength(2);
    expect(
      events.filter((e) => e.type === 'SIGNAL_DELIVERED').map((e) => [e.stepId, (e.data as { name: string }).name]),
    ).toEqual([['go', 'order.paid']]);
    // The unmatched event is still there for a later wait, and the delivered one is never delivered again.
    expect(await t.db.prisma.signalDelivery.count({ where: { runId: rawId(runId) } })).toBe(1);
  });

  it('keeps an event sent to a run that is still QUEUED for the wait it starts later', async () => {
    const wf = await createWorkflow(
      t,
      { steps: [{ id: 'w', type: 'wait', config: { event: 'go' } }] },
      { maxConcurrentRuns: 1 },
    );
    const first = await startRun(t, wf);
    await untilStep(first, 'w', 'WAITING');
    const queued = await startRun(t, wf);
    expect((await t.db.prisma.run.findUniqueOrThrow({ where: { id: rawId(queued) } })).status).toBe('QUEUED');
    expect(await signal(queued, 'go', { for: 'second' })).toMatchObject({
      deliveredTo: [],
      buffered: true,
      run: { status: 'QUEUED' },
    });
    expect((await eventsOf(t, queued)).map((e) => e.type)).toEqual(['RUN_QUEUED', 'SIGNAL_BUFFERED']);
    expect(await signal(first, 'go', { for: 'first' })).toMatchObject({ deliveredTo: ['w'] });
    expect((await waitForRun(t, queued)).status).toBe('COMPLETED');
    expect((await stepsOf(t, queued)).w!.output).toMatchObject({ event: { payload: { for: 'second' } } });
  });

  it('releases a waiting step at once, and refuses finished runs and bad names', async () => {
    const wf = await createWorkflow(t, { steps: [{ id: 'w', type: 'wait', config: { event: 'ping' } }] });
    const runId = await startRun(t, wf);
    await untilStep(runId, 'w', 'WAITING');
    expect((await t.db.prisma.run.findUniqueOrThrow({ where: { id: rawId(runId) } })).status).toBe('RUNNING'); // an event wait does not pause the run
    expect(await signal(runId, 'ping', { hello: 1 })).toMatchObject({ deliveredTo: ['w'], buffered: false });
    await waitForRun(t, runId);
    expect(await signal(runId, 'ping', {})).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    const bad = await t.gql(SIGNAL_RUN, { input: { runId, name: '', payload: 1 } });
    expect(ofType(bad.data?.signalRun, 'ValidationError').problems).toEqual([
      { path: ['input', 'name'], message: expect.stringMatching(/event name/) },
    ]);
  });

  it('sendEvent releases every waiting run whose match fits, and not runs created after it', async () => {
    const wf = await createWorkflow(t, {
      steps: [{ id: 'w', type: 'wait', config: { event: 'deploy.done', match: "payload.env = 'prod'" } }],
    });
    const a = await startRun(t, wf);
    const b = await startRun(t, wf);
    await untilStep(a, 'w', 'WAITING');
    await untilStep(b, 'w', 'WAITING');
    const staging = await t.gql(SEND_EVENT, { input: { name: 'deploy.done', payload: { env: 'staging' } } });
    expect(staging.errors).toBeUndefined();
    expect(ofType(staging.data?.sendEvent, 'SendEventPayload').deliveries).toEqual([]);
    const prod = await t.gql(SEND_EVENT, { input: { name: 'deploy.done', payload: { env: 'prod' } } });
    expect(
      ofType(prod.data?.sendEvent, 'SendEventPayload')
        .deliveries.map((d) => d.runId)
        .sort(),
    ).toEqual([a, b].sort());
    expect((await waitForRun(t, a)).status).toBe('COMPLETED');
    expect((await waitForRun(t, b)).status).toBe('COMPLETED');
    const later = await startRun(t, wf);
    await untilStep(later, 'w', 'WAITING'); // the earlier workspace event is not for it
    await new Promise((r) => setTimeout(r, 200));
    expect((await stepsOf(t, later)).w!.status).toBe('WAITING');
    await t.gql(`mutation($input: RunIdInput!) { cancelRun(input: $input) { __typename } }`, {
      input: { runId: later },
    });
  });

  it('a condition wait is re-evaluated on every event the run receives', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        { id: 'w', type: 'wait', config: { condition: '$exists(payload.total) and payload.total >= input.min' } },
      ],
    });
    const runId = await startRun(t, wf, { min: 10 });
    await untilStep(runId, 'w', 'WAITING');
    await signal(runId, 'tick', { total: 3 });
    expect((await stepsOf(t, runId)).w!.status).toBe('WAITING');
    await signal(runId, 'tick', { total: 12 });
    await waitForRun(t, runId);
    expect((await stepsOf(t, runId)).w!.output).toMatchObject({
      conditionMet: true,
      event: { name: 'tick', payload: { total: 12 } },
    });
  });
});

describe('timeouts', () => {
  it('fails, continues, or takes the timeout branch', async () => {
    const fail = await createWorkflow(t, {
      steps: [{ id: 'w', type: 'wait', config: { event: 'never', timeoutSeconds: 0.3 } }],
    });
    const cont = await createWorkflow(t, {
      steps: [
        { id: 'w', type: 'wait', config: { event: 'never', timeoutSeconds: 0.3, onTimeout: 'continue' } },
        { id: 'after', type: 'condition', dependsOn: ['w'], config: { expression: 'steps.w.output.timedOut' } },
      ],
    });
    const branch = await createWorkflow(t, {
      steps: [
        {
          id: 'w',
          type: 'wait',
          config: { event: 'answer', timeoutSeconds: '{{ input.timeout }}', onTimeout: { branch: 'escalate' } },
        },
        { id: 'escalate', type: 'condition', dependsOn: ['w'], config: { expression: '"escalated"' } },
        { id: 'proceed', type: 'condition', dependsOn: ['w'], config: { expression: 'steps.w.output.event.payload' } },
      ],
    });
    const [f, c, timedOut, answered] = [
      await startRun(t, fail),
      await startRun(t, cont),
      await startRun(t, branch, { timeout: 0.3 }),
      await startRun(t, branch, { timeout: 30 }),
    ];

    const failed = await waitForRun(t, f);
    expect(failed.status).toBe('FAILED');
    expect((await stepsOf(t, f)).w!.error).toMatchObject({
      name: 'WaitTimeoutError',
      message: expect.stringMatching(/Timed out after \d+ s waiting for event 'never'/),
    });

    expect((await waitForRun(t, c)).status).toBe('COMPLETED');
    expect((await stepsOf(t, c)).after!.output).toEqual({ result: true });

    expect((await waitForRun(t, timedOut)).status).toBe('COMPLETED');
    const took = await stepsOf(t, timedOut);
    expect([took.w!.output, took.escalate!.status, took.proceed!.status]).toEqual([
      { event: null, timedOut: true, branch: 'escalate' },
      'COMPLETED',
      'SKIPPED',
    ]);

    await untilStep(answered, 'w', 'WAITING');
    await signal(answered, 'answer', 'yes');
    expect((await waitForRun(t, answered)).status).toBe('COMPLETED');
    const got = await stepsOf(t, answered);
    expect([got.escalate!.status, got.proceed!.output]).toEqual(['SKIPPED', { result: 'yes' }]);
  });
});

describe('polling', () => {
  const definition = (job: string, timeoutSeconds: number) => ({
    steps: [
      { id: 'check', type: 'http_request', config: { url: `${server.url}/status?job=${job}` } },
      {
        id: 'w',
        type: 'wait',
        dependsOn: ['check'],
        config: {
          condition: "steps.check.output.body.state = 'done'",
          pollSeconds: 1,
          pollStep: 'check',
          timeoutSeconds,
        },
      },
    ],
  });

  it("re-runs the named http_request step's request every pollSeconds until the condition holds", {
    timeout: 30_000,
  }, async () => {
    doneAfter.set('a', 3);
    const runId = await startRun(t, await createWorkflow(t, definition('a', 30)));
    const run = await waitForRun(t, runId, ['COMPLETED', 'FAILED', 'CANCELLED'], 20_000);
    expect(run.status).toBe('COMPLETED');
    const steps = await stepsOf(t, runId);
    expect(steps.w!.output).toMatchObject({
      conditionMet: true,
      poll: { status: 200, body: { job: 'a', state: 'done', asked: 3 } },
    });
    expect(steps.check!.output).toMatchObject({ body: { state: 'pending', asked: 1 } }); // the step's own result is left as it was
    expect(server.hits('/status')).toBeGreaterThanOrEqual(3);
    const logs = (await eventsOf(t, runId)).filter((e) => e.type === 'STEP_LOG' && e.stepId === 'w');
    expect(logs).toHaveLength(2);
  });

  it('times out when the condition never holds', { timeout: 30_000 }, async () => {
    const runId = await startRun(t, await createWorkflow(t, definition('never', 1.5)));
    const run = await waitForRun(t, runId, ['COMPLETED', 'FAILED', 'CANCELLED'], 20_000);
    expect(run.status).toBe('FAILED');
    expect((await stepsOf(t, runId)).w!.error).toMatchObject({
      name: 'WaitTimeoutError',
      message: expect.stringMatching(/waiting for its condition/),
    });
  });

  it('validates pollSeconds and pollStep together, and pollStep as an http_request step', async () => {
    const res = await t.gql(
      graphql(`
        query WaitsEventsValidatePoll($d: JSON!) {
          validateWorkflowDefinition(definition: $d) {
            errors {
              path
              message
            }
          }
        }
      `),
      {
        d: {
          steps: [
            { id: 'c', type: 'condition', config: { expression: '1' } },
            { id: 'w', type: 'wait', config: { condition: 'true', pollSeconds: 5, pollStep: 'c' } },
            { id: 'x', type: 'wait', config: { condition: 'true', pollSeconds: 5 } },
          ],
        },
      },
    );
    expect(res.data?.validateWorkflowDefinition.errors).toEqual([
      { path: ['steps', '2', 'config', 'pollStep'], message: 'is required: pollSeconds and pollStep go together' },
      {
        path: ['steps', '1', 'config', 'pollStep'],
        message: "Step 'c' is a condition step; pollStep must name an http_request step",
      },
    ]);
  });
});

describe('durability of workspace events', () => {
  it('offers again a workspace event whose fan-out was interrupted, and forgets expired events', {
    timeout: 30_000,
  }, async () => {
    const wf = await createWorkflow(t, { steps: [{ id: 'w', type: 'wait', config: { event: 'stranded' } }] });
    const runId = await startRun(t, wf);
    await untilStep(runId, 'w', 'WAITING');
    const old = new Date(Date.now() - 60_000);
    // As if sendEvent had stored the event and its process died before offering it to any run.
    await t.db.prisma.run.update({ where: { id: rawId(runId) }, data: { createdAt: new Date(old.getTime() - 1000) } });
    // One statement, so that no maintenance pass sees one row without the other.
    const expired = {
      id: crypto.randomUUID(),
      workspaceId: t.workspaceId,
      name: 'gone',
      source: 'SEND_EVENT',
      createdAt: old,
      expiresAt: new Date(Date.now() - 1000),
      fannedOutAt: old,
    };
    await t.db.prisma.signal.createMany({
      data: [
        expired,
        {
          workspaceId: t.workspaceId,
          name: 'stranded',
          payload: { n: 1 },
          source: 'SEND_EVENT',
          createdAt: old,
          expiresAt: new Date(Date.now() + 60_000),
        },
      ],
    });
    const run = await waitForRun(t, runId, ['COMPLETED', 'FAILED', 'CANCELLED'], 15_000);
    expect(run.status).toBe('COMPLETED');
    expect((await stepsOf(t, runId)).w!.output).toMatchObject({
      event: { name: 'stranded', payload: { n: 1 }, source: 'SEND_EVENT' },
    });
    expect(await t.db.prisma.signal.findUnique({ where: { id: expired.id } })).toBeNull();
    expect(await t.db.prisma.signal.count({ where: { name: 'stranded', fannedOutAt: null } })).toBe(0);
  });
});
