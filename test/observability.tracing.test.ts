// Traces and correlated logs end to end: a real OTLP/HTTP receiver on loopback decodes the JSON
// payloads Weft exports; a run with a retried step and a loop must form one trace (root span =
// the run, a span per step attempt, a span per loop iteration), linked to the GraphQL operation
// that started it, which continues the caller's traceparent. Outbound calls carry the step's
// traceparent, and every log line of the run carries its ids and trace id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { ofType } from './helpers/typename.ts';
import { createLogger } from '../src/logger.ts';
import { runRootSpanId } from '../src/observability/tracing.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number };
}

let t: TestApp;
let receiver: LoopbackServer;
let steps: LoopbackServer;
const spans: OtlpSpan[] = [];
const contentTypes: string[] = [];
const logLines: Record<string, unknown>[] = [];
let flakyCalls = 0;
let graphqlUrl: string;

function attr(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  return value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.boolValue);
}

const CALLER_TRACE = `${'a'.repeat(31)}1`;
const CALLER_SPAN = `${'b'.repeat(15)}2`;

beforeAll(async () => {
  receiver = await startLoopbackServer((req, res) => {
    contentTypes.push(String(req.headers['content-type']));
    const body = JSON.parse(req.body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
    for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
    json(res, 200, {});
  });
  steps = await startLoopbackServer((req, res) => {
    if (req.path.startsWith('/flaky')) return json(res, ++flakyCalls === 1 ? 503 : 200, { calls: flakyCalls });
    json(res, 200, { ok: true });
  });
  const log = createLogger('debug', { write: (line: string) => void logLines.push(JSON.parse(line)) });
  t = await startTestApp(
    {
      WEFT_ENGINE_POLL_MS: '50',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'weft-test',
      OTEL_BSP_SCHEDULE_DELAY: '20',
    },
    { log },
  );
  graphqlUrl = (await t.app.start(0, '127.0.0.1')).url;
});

afterAll(async () => {
  await t?.close();
  await steps?.close();
  await receiver?.close();
});

describe('tracing', () => {
  it('exports one trace per run: the run, its step attempts (retry included) and loop iterations, linked to the operation that started it', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'flaky',
          type: 'http_request',
          config: { url: `${steps.url}/flaky` },
          retry: { attempts: 2, backoffSeconds: 0.01 },
        },
        {
          id: 'each',
          type: 'loop',
          dependsOn: ['flaky'],
          config: {
            items: '[1, 2]',
            step: { type: 'http_request', config: { url: `${steps.url}/item?i={{ item }}` } },
          },
        },
      ],
    });
    const runGid = await startRun(t, wf);
    // A second run, started with the caller's traceparent, checks the link (the first takes the flaky server's only failure).
    const linked = await t.gql(
      graphql(`
        mutation StartTraced($input: RunWorkflowInput!) {
          runWorkflow(input: $input) {
            __typename
            ... on RunPayload {
              run {
                id
              }
            }
          }
        }
      `),
      { input: { workflowId: wf, input: {} } },
      { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    );
    expect(linked.errors).toBeUndefined();
    const linkedGid = ofType(linked.data?.runWorkflow, 'RunPayload').run.id;
    expect((await waitForRun(t, runGid)).status).toBe('COMPLETED');
    expect((await waitForRun(t, linkedGid)).status).toBe('COMPLETED');

    const runId = rawId(linkedGid);
    const traceId = runId.replaceAll('-', '');
    const root = await until(
      'the run span to be exported',
      10_000,
      async () => spans.find((s) => s.traceId === traceId && !s.parentSpanId) ?? false,
    );
    expect(contentTypes.every((c) => c.startsWith('application/json'))).toBe(true);
    expect(root.name).toBe(`run ${rawId(wf)}`);
    expect(attr(root, 'weft.run.status')).toBe('COMPLETED');
    expect(attr(root, 'weft.run.id')).toBe(runId);

    // The run links to the GraphQL operation span, which continues the caller's trace.
    const operation = spans.find((s) => s.name === 'graphql.mutation StartTraced');
    expect(operation).toBeDefined();
    expect(operation!.traceId).toBe(CALLER_TRACE);
    expect(operation!.parentSpanId).toBe(CALLER_SPAN);
    expect(attr(operation!, 'weft.outcome')).toBe('OK');
    expect(root.links?.map((l) => [l.traceId, l.spanId])).toEqual([[CALLER_TRACE, operation!.spanId]]);

    const inRun = spans.filter((s) => s.traceId === traceId);
    const byName = (name: string) => inRun.filter((s) => s.name === name);
    // The flaky step: one span per attempt, the first a retry; both children of the run.
    const flaky = byName('step flaky').sort(
      (a, b) => Number(attr(a, 'weft.step.attempt')) - Number(attr(b, 'weft.step.attempt')),
    );
    expect(
      flaky.map((s) => [
        attr(s, 'weft.step.attempt'),
        attr(s, 'weft.step.outcome'),
        attr(s, 'weft.step.type'),
        s.parentSpanId,
      ]),
    ).toEqual([[1, 'ok', 'http_request', root.spanId]]);
    // (The first run took the flaky server's only failure.)
    const firstTrace = rawId(runGid).replaceAll('-', '');
    const firstFlaky = await until('both attempts of the first run', 10_000, async () => {
      const found = spans.filter((s) => s.traceId === firstTrace && s.name === 'step flaky');
      return found.length === 2 ? found : false;
    });
    expect(
      firstFlaky.map((s) => [attr(s, 'weft.step.attempt'), attr(s, 'weft.step.outcome'), s.status?.code ?? 0]).sort(),
    ).toEqual([
      [1, 'retry', 2],
      [2, 'ok', 0],
    ]);
    // The loop: one step span, an iteration span per item under it.
    const [loop] = byName('step each');
    expect(loop?.parentSpanId).toBe(root.spanId);
    const iterations = inRun
      .filter((s) => s.name.startsWith('iteration '))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(iterations.map((s) => [s.name, s.parentSpanId, attr(s, 'weft.loop.index')])).toEqual([
      ['iteration 0', loop!.spanId, 0],
      ['iteration 1', loop!.spanId, 1],
    ]);
    expect(byName('run queued')[0]?.parentSpanId).toBe(root.spanId);
    // Nothing of the run escaped into another trace, and every parent is in the tree.
    const ids = new Set(inRun.map((s) => s.spanId));
    for (const span of inRun) if (span.parentSpanId) expect(ids.has(span.parentSpanId)).toBe(true);

    // Outbound calls carry the attempt's (or iteration's) span as traceparent.
    const sent = steps.requests.filter((r) => r.headers.traceparent?.toString().includes(traceId));
    expect(sent.map((r) => r.path.split('?')[0]).sort()).toEqual(['/flaky', '/item', '/item']);
    const flakyCall = sent.find((r) => r.path === '/flaky')!;
    expect(flakyCall.headers.traceparent).toBe(`00-${traceId}-${flaky[0]!.spanId}-01`);
    for (const call of sent.filter((r) => r.path.startsWith('/item')))
      expect(iterations.map((i) => `00-${traceId}-${i.spanId}-01`)).toContain(call.headers.traceparent);
  });

  it('writes the run, step, attempt, workflow, workspace and trace ids on every log line of a run, and the operation name on request lines; the completion webhook carries the run trace', async () => {
    const wf = await createWorkflow(
      t,
      { steps: [{ id: 'one', type: 'http_request', config: { url: `${steps.url}/item` } }] },
      { webhooksEnabled: true, webhookUrl: `${steps.url}/done` },
    );
    const runGid = await startRun(t, wf);
    expect((await waitForRun(t, runGid)).status).toBe('COMPLETED');
    const runId = rawId(runGid);
    const lines = await until('the run finished line', 5000, async () => {
      const mine = logLines.filter((l) => l.runId === runId);
      return mine.some((l) => l.msg === 'run finished') ? mine : false;
    });
    const step = lines.find((l) => l.msg === 'step attempt finished');
    expect(step).toMatchObject({
      runId,
      stepId: 'one',
      attempt: 1,
      workflowId: rawId(wf),
      workspaceId: t.workspaceId,
      traceId: runId.replaceAll('-', ''),
      outcome: 'completed',
      type: 'http_request',
    });
    expect(lines.find((l) => l.msg === 'run finished')).toMatchObject({
      runId,
      workflowId: rawId(wf),
      workspaceId: t.workspaceId,
      traceId: runId.replaceAll('-', ''),
      status: 'COMPLETED',
    });

    // The completion webhook carries the run's root span as traceparent.
    const done = await until(
      'the completion webhook',
      5000,
      async () => steps.requests.find((r) => r.path === '/done') ?? false,
    );
    expect(done.headers.traceparent).toBe(`00-${runId.replaceAll('-', '')}-${runRootSpanId(runId)}-01`);

    // A request over the real port: its log line names the operation.
    const response = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { ...t.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query WhoAmI { viewer { __typename } }' }),
    });
    const body = (await response.json()) as { errors?: unknown };
    expect(body.errors).toBeUndefined();
    const request = await until(
      'the request line',
      5000,
      async () => logLines.find((l) => l.msg === 'request' && l.operationName === 'WhoAmI') ?? false,
    );
    expect(request).toMatchObject({ method: 'POST', status: 200 });
  });
});
