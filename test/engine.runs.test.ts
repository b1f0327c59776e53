// The run engine end to end through the GraphQL API: real steps against a loopback HTTP
// server, branching, retries, waits, loops, cancel, resume, retry, previews and reading runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, eventsOf, rawId, startRun, stepsOf, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';
import { until } from './helpers/wait.ts';

let t: TestApp;
let baseUrl: string;
let server: LoopbackServer;
const flaky = new Map<string, number>();
const releases: (() => void)[] = [];
let slowAborted = 0;

beforeAll(async () => {
  server = await startLoopbackServer(async (req, res) => {
    const url = new URL(req.path, 'http://x');
    if (url.pathname === '/item')
      return json(res, 200, { id: url.searchParams.get('id'), size: Number(url.searchParams.get('size') ?? 0) });
    if (url.pathname === '/echo')
      return json(res, 200, {
        method: req.method,
        body: req.body ? JSON.parse(req.body) : null,
        auth: req.headers.authorization ?? null,
      });
    if (url.pathname === '/missing') return json(res, 404, { error: 'nope' });
    if (url.pathname === '/flaky') {
      const key = url.searchParams.get('key')!;
      const seen = (flaky.get(key) ?? 0) + 1;
      flaky.set(key, seen);
      return seen <= Number(url.searchParams.get('failures')) ? json(res, 503, { seen }) : json(res, 200, { seen });
    }
    if (url.pathname === '/slow') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20_000);
        releases.push(() => (clearTimeout(timer), resolve()));
        // Closed before we answered: the client (the engine) aborted the request.
        res.on('close', () => (clearTimeout(timer), res.writableEnded || slowAborted++, resolve()));
      });
      if (!res.writableEnded && !res.destroyed) json(res, 200, { slow: true });
      return;
    }
    json(res, 404, {});
  });
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  baseUrl = (await t.app.start(0, '127.0.0.1')).url.replace('/graphql', '');
});

afterAll(async () => {
  for (const release of releases) release();
  await t?.close();
  await server?.close();
});

// Typed documents (test/generated, npm run codegen): results and variables are checked.
const RunWorkflow = graphql(`
  mutation EngineRunsRunWorkflow($input: RunWorkflowInput!) {
    runWorkflow(input: $input) {
      __typename
      ... on RunPayload { run { id status trigger versionNumber } }
      ... on Error { code message }
      ... on ValidationError { problems { path message } }
    }
  }
`);
const ResumeRun = graphql(`
  mutation EngineRunsResumeRun($input: ResumeRunInput!) {
    resumeRun(input: $input) {
      __typename
      ... on RunPayload { run { id status } }
      ... on Error { code message }
      ... on ValidationError { problems { path message } }
    }
  }
`);
const CancelRun = graphql(`
  mutation EngineRunsCancelRun($input: RunIdInput!) {
    cancelRun(input: $input) {
      __typename
      ... on RunPayload { run { status } }
      ... on Error { code message }
    }
  }
`);
const RetryRun = graphql(`
  mutation EngineRunsRetryRun($input: RetryRunInput!) {
    retryRun(input: $input) {
      __typename
      ... on RunPayload { run { id status trigger versionNumber parentRun { id } rootRunId } }
      ... on Error { code message }
    }
  }
`);
const PreviewRun = graphql(`
  mutation EngineRunsPreviewRun($input: PreviewRunInput!) {
    previewRun(input: $input) {
      __typename
      ... on RunPayload { run { id isPreview trigger workflow { id } } }
      ... on ValidationError { problems { path } }
    }
  }
`);
const PreviewRuns = graphql(`
  query EngineRunsPreviewRuns {
    runs(first: 200, filter: { trigger: [PREVIEW] }) { totalCount }
    all: runs(first: 200, filter: { trigger: [PREVIEW], includePreviews: true }) { totalCount }
  }
`);
const ReadRun = graphql(`
  query EngineRunsReadRun($id: ID!) {
    run(id: $id) {
      status durationMs
      workflow { id runsCount lastRunStatus }
      stepRuns { stepId status attempt durationMs input }
      events(first: 3) { totalCount edges { node { seq type } } }
    }
  }
`);
const ReadRunData = graphql(`
  query EngineRunsReadRunData($id: ID!) {
    run(id: $id) { input output stepRuns { input output } events(first: 50) { edges { node { data } } } }
  }
`);

const http = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'http_request',
  config: { url: `${server.url}${path}` },
  ...extra,
});

describe('running a workflow', () => {
  it('returns QUEUED at once, runs the DAG, feeds outputs into later steps and records gap-free events', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        http('fetch', '/item?id={{ input.itemId }}&size=7'),
        {
          id: 'post',
          type: 'http_request',
          dependsOn: ['fetch'],
          config: {
            method: 'POST',
            url: `${server.url}/echo`,
            body: { got: '{{ steps.fetch.output.body }}', label: 'item {{ steps.fetch.output.body.id }}' },
          },
        },
      ],
    });
    const res = await t.gql(RunWorkflow, { input: { workflowId: wf, input: { itemId: 'abc' } } });
    const { run } = ofType(res.data?.runWorkflow, 'RunPayload');
    expect(run).toMatchObject({ status: 'QUEUED', trigger: 'MANUAL', versionNumber: 1 });

    const done = await waitForRun(t, run.id);
    expect(done.status).toBe('COMPLETED');
    const steps = await stepsOf(t, run.id);
    expect(steps.fetch!.output).toMatchObject({ status: 200, body: { id: 'abc', size: 7 } });
    expect(steps.post!.output).toMatchObject({ body: { body: { got: { id: 'abc', size: 7 }, label: 'item abc' } } });
    expect(done.output).toEqual({ post: steps.post!.output });

    const events = await eventsOf(t, run.id);
    expect(events.map((e) => `${e.type}${e.stepId ? `:${e.stepId}` : ''}`)).toEqual([
      'RUN_QUEUED',
      'RUN_STARTED',
      'STEP_STARTED:fetch',
      'STEP_LOG:fetch',
      'STEP_COMPLETED:fetch',
      'STEP_STARTED:post',
      'STEP_LOG:post',
      'STEP_COMPLETED:post',
      'RUN_COMPLETED',
    ]);
    expect(events.find((e) => e.type === 'STEP_LOG' && e.stepId === 'fetch')!.data).toMatchObject({
      lines: [`GET ${server.url}/item`, expect.stringMatching(/^→ 200 \(\d+ bytes\)$/)],
    });

    const read = await t.gql(ReadRun, { id: run.id });
    expect(read.errors).toBeUndefined();
    const r = read.data!.run!;
    expect(r.workflow).toEqual({ id: wf, runsCount: 1, lastRunStatus: 'COMPLETED' });
    expect(r.stepRuns.map((s) => [s.stepId, s.status, s.attempt])).toEqual([
      ['fetch', 'COMPLETED', 1],
      ['post', 'COMPLETED', 1],
    ]);
    expect(r.stepRuns[0]!.input).toMatchObject({ url: `${server.url}/item?id=abc&size=7` });
    expect(r.events.totalCount).toBe(9);
    expect(r.events.edges.map((e) => e.node.seq)).toEqual([1, 2, 3]);
  });

  it('branches on a condition: the branch not taken is SKIPPED, skipping propagates, a join still runs', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        { id: 'check', type: 'condition', config: { expression: 'input.amount > 100' } },
        http('big', '/item?id=big', { dependsOn: ['check'], when: 'steps.check.output.result = true' }),
        http('small', '/item?id=small', { dependsOn: ['check'], when: 'steps.check.output.result = false' }),
        http('afterSmall', '/item?id=after', { dependsOn: ['small'] }),
        http('join', '/item?id=join', { dependsOn: ['big', 'small'] }),
      ],
    });
    const run = await startRun(t, wf, { amount: 500 });
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    const steps = await stepsOf(t, run);
    expect(Object.fromEntries(Object.entries(steps).map(([id, s]) => [id, s.status]))).toEqual({
      check: 'COMPLETED',
      big: 'COMPLETED',
      small: 'SKIPPED',
      afterSmall: 'SKIPPED',
      join: 'COMPLETED',
    });
    expect(steps.check!.output).toEqual({ result: true });
  });

  it('retries 5xx with backoff and records each attempt; a 4xx fails at once and blocks its dependents', async () => {
    const key = `k${Date.now()}`;
    const wf = await createWorkflow(t, {
      steps: [
        http('flaky', `/flaky?key=${key}&failures=2`, { retry: { attempts: 3, backoffSeconds: 0.01 } }),
        http('missing', '/missing', { retry: { attempts: 3, backoffSeconds: 0.01 } }),
        http('after', '/item?id=x', { dependsOn: ['missing'] }),
      ],
    });
    const run = await startRun(t, wf);
    const done = await waitForRun(t, run);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatchObject({ failedSteps: ['missing'] });
    const steps = await stepsOf(t, run);
    expect(steps.flaky).toMatchObject({ status: 'COMPLETED', attempt: 3 });
    expect(steps.missing).toMatchObject({ status: 'FAILED', attempt: 1 });
    expect(steps.missing!.error).toMatchObject({ message: expect.stringMatching(/404/) });
    expect(steps.after!.status).toBe('SKIPPED');
    const events = await eventsOf(t, run);
    expect(events.filter((e) => e.type === 'STEP_RETRYING' && e.stepId === 'flaky')).toHaveLength(2);
    expect(flaky.get(key)).toBe(3);
  });

  it('waits for a duration without holding a worker, and pauses until resumed', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        { id: 'nap', type: 'wait', config: { seconds: 0.2 } },
        { id: 'approval', type: 'wait', dependsOn: ['nap'], config: { resume: true } },
        http('after', '/item?id=approved', { dependsOn: ['approval'] }),
      ],
    });
    const run = await startRun(t, wf);
    const paused = await waitForRun(t, run, ['PAUSED']);
    expect(paused.status).toBe('PAUSED');
    const steps = await stepsOf(t, run);
    expect(steps.nap!.status).toBe('COMPLETED');
    expect(steps.approval!.status).toBe('WAITING');

    const res = await t.gql(ResumeRun, { input: { runId: run } });
    expect(ofType(res.data?.resumeRun, 'RunPayload').run.id).toBe(run);
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    const types = (await eventsOf(t, run)).map((e) => e.type);
    expect(types).toContain('RUN_PAUSED');
    expect(types).toContain('RUN_RESUMED');
  });

  it('loops over items with bounded concurrency and collects results in order; too many items fail', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'each',
          type: 'loop',
          config: {
            items: 'input.ids',
            concurrency: 2,
            maxItems: 5,
            step: { type: 'http_request', config: { url: `${server.url}/item?id={{ item }}&size={{ index }}` } },
          },
        },
      ],
    });
    const ok = await startRun(t, wf, { ids: ['a', 'b', 'c', 'd'] });
    expect((await waitForRun(t, ok)).status).toBe('COMPLETED');
    const steps = await stepsOf(t, ok);
    expect(steps.each!.output).toMatchObject([
      { body: { id: 'a', size: 0 } },
      { body: { id: 'b', size: 1 } },
      { body: { id: 'c', size: 2 } },
      { body: { id: 'd', size: 3 } },
    ]);
    const iterations = await t.db.prisma.stepRun.count({
      where: { runId: rawId(ok), stepId: 'each', iteration: { gte: 0 }, status: 'COMPLETED' },
    });
    expect(iterations).toBe(4);

    const tooMany = await startRun(t, wf, { ids: ['1', '2', '3', '4', '5', '6'] });
    expect((await waitForRun(t, tooMany)).status).toBe('FAILED');
    expect((await stepsOf(t, tooMany)).each!.error).toMatchObject({
      message: expect.stringMatching(/more than maxItems 5/),
    });
  });

  it('retries a loop iteration with the same policy, state and event as a top-level step', async () => {
    const key = `loop${Date.now()}`;
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'each',
          type: 'loop',
          config: {
            items: 'input.ids',
            step: {
              type: 'http_request',
              config: { url: `${server.url}/flaky?key=${key}-{{ item }}&failures=1` },
              retry: { attempts: 2, backoffSeconds: 1 },
            },
          },
        },
      ],
    });
    const run = await startRun(t, wf, { ids: ['x'] });
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    const iteration = await t.db.prisma.stepRun.findFirstOrThrow({
      where: { runId: rawId(run), stepId: 'each', iteration: 0 },
    });
    expect(iteration).toMatchObject({ status: 'COMPLETED', attempt: 2, wakeAt: null });
    const events = (await eventsOf(t, run)).filter((e) => e.iteration === 0);
    expect(events.map((e) => e.type)).toEqual(['STEP_STARTED', 'STEP_RETRYING', 'STEP_STARTED', 'STEP_COMPLETED']);
    const retrying = events[1]!.data as { attempt: number; nextAttempt: number; nextAttemptAt: string };
    expect(retrying).toMatchObject({ attempt: 1, nextAttempt: 2 });
    // The second attempt started no earlier than the recorded backoff said it would.
    expect(events[2]!.createdAt.getTime()).toBeGreaterThanOrEqual(new Date(retrying.nextAttemptAt).getTime() - 5);
    // Full jitter: somewhere in [0, backoffSeconds] after the failure.
    const backoff = new Date(retrying.nextAttemptAt).getTime() - events[1]!.createdAt.getTime();
    expect(backoff).toBeGreaterThanOrEqual(-5);
    expect(backoff).toBeLessThanOrEqual(1050);
  });

  it('cancels a run within a second: the in-flight HTTP request is aborted', async () => {
    const wf = await createWorkflow(t, {
      steps: [http('slow', '/slow'), http('after', '/item?id=never', { dependsOn: ['slow'] })],
    });
    // The test server is shared: count this run's calls to /slow only.
    const slowBefore = server.hits('/slow');
    const run = await startRun(t, wf);
    await until('the /slow request to arrive', 5000, () => server.hits('/slow') > slowBefore, 10);
    const abortedBefore = slowAborted;
    const started = Date.now();
    const res = await t.gql(CancelRun, { input: { runId: run } });
    expect(ofType(res.data?.cancelRun, 'RunPayload').run.status).toBe('CANCELLED');
    const steps = await stepsOf(t, run);
    expect(steps.slow!.status).toBe('CANCELLED');
    expect(steps.after!.status).toBe('CANCELLED');
    // The engine's in-flight attempt ends (aborted) well within a second.
    await until('the in-flight /slow request to be aborted', 2000, () => slowAborted > abortedBefore, 10);
    expect(Date.now() - started).toBeLessThan(1000);
    const again = await t.gql(CancelRun, { input: { runId: run } });
    expect(ofType(again.data?.cancelRun, 'ConflictError').code).toBe('CONFLICT');
  });
});

describe('resume and retry', () => {
  it('resumes a FAILED run from a step, reusing upstream outputs', async () => {
    const key = `r${Date.now()}`;
    const wf = await createWorkflow(t, {
      steps: [
        http('first', `/item?id=${key}`),
        http('second', `/flaky?key=${key}&failures=1`, { dependsOn: ['first'] }),
        http('third', '/item?id=third', { dependsOn: ['second'] }),
      ],
    });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run)).status).toBe('FAILED');
    expect(server.hits('/item') > 0).toBe(true);
    const firstHits = server.requests.filter((r) => r.path === `/item?id=${key}`).length;

    const res = await t.gql(ResumeRun, { input: { runId: run, fromStep: 'second' } });
    expect(ofType(res.data?.resumeRun, 'RunPayload').run.status).toBe('QUEUED');
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    expect(server.requests.filter((r) => r.path === `/item?id=${key}`).length).toBe(firstHits); // not re-run
    const steps = await stepsOf(t, run);
    expect(steps.second).toMatchObject({ status: 'COMPLETED', attempt: 1 });

    const bad = await t.gql(ResumeRun, { input: { runId: run } });
    expect(ofType(bad.data?.resumeRun, 'ConflictError').code).toBe('CONFLICT');
  });

  it('refuses to resume a CANCELLED run from a step whose upstream never finished, naming that step', async () => {
    const key = `c${Date.now()}`;
    const wf = await createWorkflow(t, {
      steps: [
        http('a', '/slow'),
        http('b', `/item?id=${key}`, { dependsOn: ['a'] }),
        http('x', `/item?id=${key}-x`, { dependsOn: ['b'] }),
      ],
    });
    // The test server is shared: count this run's calls to /slow only.
    const slowBefore = server.hits('/slow');
    const run = await startRun(t, wf);
    await until('the /slow request to arrive', 5000, () => server.hits('/slow') > slowBefore, 10);
    ofType((await t.gql(CancelRun, { input: { runId: run } })).data?.cancelRun, 'RunPayload');
    expect((await waitForRun(t, run)).status).toBe('CANCELLED');

    const refused = await t.gql(ResumeRun, { input: { runId: run, fromStep: 'x' } });
    expect(refused.errors).toBeUndefined();
    const problems = ofType(refused.data?.resumeRun, 'ValidationError').problems.map(({ path, message }) => ({
      path,
      message,
    }));
    expect(problems).toEqual([
      {
        path: ['input', 'fromStep'],
        message: expect.stringMatching(/'a' \(CANCELLED\), 'b' \(CANCELLED\) upstream of 'x' did not finish/),
      },
    ]);
    // Nothing changed: still CANCELLED, no new event.
    const after = await waitForRun(t, run);
    expect(after.status).toBe('CANCELLED');
    // Resuming from the first unfinished step does run everything from there.
    const resumed = await t.gql(ResumeRun, { input: { runId: run, fromStep: 'a' } });
    expect(resumed.errors).toBeUndefined();
    expect(ofType(resumed.data?.resumeRun, 'RunPayload').run.status).toBe('QUEUED');
    await until('the resumed run to call /slow again', 15_000, () => server.hits('/slow') >= slowBefore + 2, 10);
    for (const release of releases.splice(0)) release();
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    expect(server.requests.filter((r) => r.path === `/item?id=${key}-x`)).toHaveLength(1);
  });

  it('retries a failed run FROM_FAILURE as a new linked run, on the latest version', async () => {
    const key = `y${Date.now()}`;
    const wf = await createWorkflow(t, {
      steps: [http('a', `/item?id=${key}`), http('b', '/missing', { dependsOn: ['a'] })],
    });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run)).status).toBe('FAILED');
    // Fix the workflow: a new version whose step b points somewhere that works.
    const workflowId = rawId(wf);
    await t.db.prisma.$transaction(async (tx) => {
      await tx.workflowVersion.create({
        data: {
          workspaceId: t.workspaceId,
          workflowId,
          number: 2,
          definition: { steps: [http('a', `/item?id=${key}`), http('b', '/item?id=fixed', { dependsOn: ['a'] })] },
        },
      });
      await tx.workflow.update({ where: { id: workflowId }, data: { latestVersion: 2 } });
    });
    const res = await t.gql(RetryRun, { input: { runId: run, useLatestVersion: true } });
    const retry = ofType(res.data?.retryRun, 'RunPayload').run;
    expect(retry).toMatchObject({
      status: 'QUEUED',
      trigger: 'RETRY',
      versionNumber: 2,
      parentRun: { id: run },
      rootRunId: run,
    });
    expect((await waitForRun(t, retry.id)).status).toBe('COMPLETED');
    const steps = await stepsOf(t, retry.id);
    expect(steps.a!.logs).toMatch(/reused output/);
    expect(server.requests.filter((r) => r.path === `/item?id=${key}`).length).toBe(1);
  });
});

describe('starting runs: validation and limits', () => {
  it('validates input against the input schema, listing every violation with its path, and writes nothing', async () => {
    const wf = await createWorkflow(t, {
      steps: [http('a', '/item?id=1')],
      inputSchema: {
        type: 'object',
        required: ['count'],
        properties: { count: { type: 'integer', minimum: 1 }, name: { type: 'string' } },
      },
    });
    const before = await t.db.prisma.run.count();
    const res = await t.gql(RunWorkflow, { input: { workflowId: wf, input: { name: 5 } } });
    const problems = ofType(res.data?.runWorkflow, 'ValidationError').problems.map((p) => p.path.join('.'));
    expect(problems.sort()).toEqual(['input.input.count', 'input.input.name']);
    expect(await t.db.prisma.run.count()).toBe(before);
  });

  it('validates with schemas that carry an $id, run after run', async () => {
    const schema = {
      $id: 'https://example.com/schemas/order',
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string' } },
    };
    const wf = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'condition', config: { expression: 'input.id' } }],
      inputSchema: schema,
      outputSchema: { ...schema, properties: {}, required: [] },
      output: { id: '{{ input.id }}' },
    });
    for (const id of ['o-1', 'o-2'])
      expect((await waitForRun(t, await startRun(t, wf, { id }))).status).toBe('COMPLETED');
  });

  it('refuses PAUSED and ARCHIVED workflows with CONFLICT', async () => {
    const wf = await createWorkflow(t, { steps: [http('a', '/item?id=1')] }, { status: 'PAUSED' });
    const res = await t.gql(RunWorkflow, { input: { workflowId: wf } });
    expect(ofType(res.data?.runWorkflow, 'ConflictError')).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/PAUSED/),
    });
  });

  it('returns the same run for the same idempotencyKey', async () => {
    const wf = await createWorkflow(t, { steps: [http('a', '/item?id=idem')] });
    const [one, two] = await Promise.all([
      startRun(t, wf, {}, { idempotencyKey: `key-${wf}` }),
      startRun(t, wf, {}, { idempotencyKey: `key-${wf}` }),
    ]);
    expect(one).toBe(two);
  });

  it('previews an unsaved definition without counting it in workflow statistics', async () => {
    const res = await t.gql(PreviewRun, { input: { definition: { steps: [http('a', '/item?id=preview')] } } });
    const { run } = ofType(res.data?.previewRun, 'RunPayload');
    expect(run).toMatchObject({ isPreview: true, trigger: 'PREVIEW', workflow: null });
    expect((await waitForRun(t, run.id)).status).toBe('COMPLETED');
    const list = await t.gql(PreviewRuns, {});
    expect(list.data!.runs.totalCount).toBe(0);
    expect(list.data!.all.totalCount).toBeGreaterThanOrEqual(1);
    const invalid = await t.gql(PreviewRun, { input: { definition: { steps: [{ id: 'x', type: 'nope' }] } } });
    expect(ofType(invalid.data?.previewRun, 'ValidationError').problems[0]!.path.slice(0, 2)).toEqual([
      'input',
      'definition',
    ]);
  });

  it('redacts sensitive inputs from step inputs, events, the run and its export', async () => {
    const secret = 'hunter2-secret-token';
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'call',
          type: 'http_request',
          config: {
            url: `${server.url}/echo`,
            method: 'POST',
            headers: { authorization: 'Bearer {{ input.token }}' },
            body: { user: '{{ input.user }}' },
          },
        },
      ],
      inputSchema: {
        type: 'object',
        properties: { token: { type: 'string', sensitive: true }, user: { type: 'string' } },
      },
    });
    const run = await startRun(t, wf, { token: secret, user: 'ann' });
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    expect(server.requests.some((r) => r.headers.authorization === `Bearer ${secret}`)).toBe(true); // the step really used it
    const read = await t.gql(ReadRunData, { id: run });
    expect(read.errors).toBeUndefined();
    expect(JSON.stringify(read.data)).not.toContain(secret);
    expect(read.data!.run!.input).toEqual({ token: '[sensitive]', user: 'ann' });
    const exported = await fetch(`${baseUrl}/api/runs/${encodeURIComponent(run)}/export`, { headers: t.authHeaders });
    expect(exported.status).toBe(200);
    expect(await exported.text()).not.toContain(secret);
  });
});
