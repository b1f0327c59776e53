// Metrics, traces and log correlation across real processes on PostgreSQL: an API process
// (`serve`) and a `worker` (no API; its metrics on WEFT_METRICS_PORT), both exporting to one
// loopback OTLP receiver. The run's trace must join the API's operation span (link) and the
// worker's step spans; each process exposes its own counters.
import { afterAll, describe, expect, it } from 'vitest';
import { onPostgres } from './helpers/app.ts';
import { json, startLoopbackServer } from './helpers/http-server.ts';
import { parseMetrics, sumOf } from './helpers/metrics.ts';
import { createTestDatabase } from './helpers/pg.ts';
import { graphql } from './generated/gql.ts';
import { createWorkflowAt, postGraphQL, startWeftProcess, type WeftProcess } from './helpers/process.ts';
import { ofType } from './helpers/typename.ts';

// Named: the metrics and the operation span below are looked up by this operation name.
const StartFromApi = graphql(`
  mutation StartFromApi($input: RunWorkflowInput!) {
    runWorkflow(input: $input) {
      __typename
      ... on RunPayload {
        run {
          id
        }
      }
    }
  }
`);
const RunStatus = graphql(`
  query RolesRunStatus($id: ID!) {
    run(id: $id) {
      status
    }
  }
`);
import { until } from './helpers/wait.ts';

const TOKEN = 'metrics-token-roles-0123456789';
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  links?: { traceId: string; spanId: string }[];
  attributes?: { key: string; value: { stringValue?: string } }[];
}

describe.skipIf(!onPostgres)('observability in the serve and worker roles', () => {
  it('each process exposes its own metrics; one trace spans the API and the worker; worker logs carry the run ids', {
    timeout: 120_000,
  }, async () => {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: true });
    cleanups.push(db.drop);
    const spans: (OtlpSpan & { service: string })[] = [];
    const receiver = await startLoopbackServer((req, res) => {
      const body = JSON.parse(req.body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: OtlpSpan[] }[];
        }[];
      };
      for (const resource of body.resourceSpans) {
        const service = resource.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const scope of resource.scopeSpans) spans.push(...scope.spans.map((s) => ({ ...s, service })));
      }
      json(res, 200, {});
    });
    cleanups.push(() => receiver.close());
    const steps = await startLoopbackServer((_req, res) => json(res, 200, { ok: true }));
    cleanups.push(() => steps.close());

    const env = {
      DATABASE_URL: db.url,
      WEFT_ENGINE_POLL_MS: '100',
      WEFT_DB_POOL_MAX: '4',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      LOG_LEVEL: 'debug',
    };
    const [api, worker] = (await Promise.all([
      startWeftProcess(
        { ...env, WEFT_METRICS_TOKEN: TOKEN, OTEL_SERVICE_NAME: 'weft-api' },
        { args: ['serve'], timeoutMs: 60_000 },
      ),
      startWeftProcess(
        { ...env, WEFT_METRICS_PORT: '0', OTEL_SERVICE_NAME: 'weft-worker' },
        { args: ['worker'], timeoutMs: 60_000 },
      ),
    ])) as [WeftProcess, WeftProcess];
    cleanups.push(
      () => api.stop('SIGKILL'),
      () => worker.stop('SIGKILL'),
    );
    const workerMetrics = await until(
      'the worker to print its metrics URL',
      10_000,
      async () => worker.output().match(/"metricsUrl":"(http:\/\/[^"]+\/metrics)"/)?.[1] ?? false,
    );

    const workflowId = await createWorkflowAt(api.url, {
      name: 'roles',
      definition: { steps: [{ id: 'call', type: 'http_request', config: { url: `${steps.url}/x` } }] },
    });
    const started = await postGraphQL(api.url, StartFromApi, { input: { workflowId } });
    expect(started.errors).toBeUndefined();
    const runGid = ofType(started.data?.runWorkflow, 'RunPayload').run.id;
    const runId = Buffer.from(runGid, 'base64').toString('utf8').split(':')[1]!;
    await until(
      'the run to complete',
      30_000,
      async () => (await postGraphQL(api.url, RunStatus, { id: runGid })).data?.run?.status === 'COMPLETED',
    );

    // The worker: no API, but its own metrics (no token asked on its metrics port).
    const scrapedWorker = await until('the worker to count the run', 10_000, async () => {
      const values = parseMetrics(await (await fetch(workerMetrics)).text());
      return sumOf(values, 'weft_runs_finished_total', { status: 'COMPLETED' }) === 1 ? values : false;
    });
    expect(sumOf(scrapedWorker, 'weft_step_attempts_total', { type: 'http_request', outcome: 'completed' })).toBe(1);
    expect(sumOf(scrapedWorker, 'weft_graphql_requests_total')).toBe(0);
    expect((await fetch(worker.url.replace('/healthz', '/metrics'))).status).toBe(404); // no token: not on its health port
    // The API: GraphQL counters, behind the token; it executes no step.
    const apiMetricsUrl = api.url.replace('/graphql', '/metrics');
    expect((await fetch(apiMetricsUrl)).status).toBe(401);
    const scrapedApi = parseMetrics(
      await (await fetch(apiMetricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } })).text(),
    );
    expect(sumOf(scrapedApi, 'weft_graphql_requests_total', { operation: 'StartFromApi', outcome: 'OK' })).toBe(1);
    expect(sumOf(scrapedApi, 'weft_step_attempts_total')).toBe(0);

    // One trace: the run root (written by the worker) links to the API's operation span.
    const traceId = runId.replaceAll('-', '');
    const root = await until(
      'the run span',
      10_000,
      async () => spans.find((s) => s.traceId === traceId && !s.parentSpanId) ?? false,
    );
    const operation = spans.find((s) => s.name === 'graphql.mutation StartFromApi')!;
    expect(operation.service).toBe('weft-api');
    expect(root.service).toBe('weft-worker');
    expect(root.links?.map((l) => l.spanId)).toEqual([operation.spanId]);
    const step = await until(
      'the step span',
      10_000,
      async () => spans.find((s) => s.traceId === traceId && s.name === 'step call') ?? false,
    );
    expect([step.service, step.parentSpanId]).toEqual(['weft-worker', root.spanId]);
    expect(steps.requests[0]!.headers.traceparent).toBe(`00-${traceId}-${step.spanId}-01`);

    // The worker's log lines about the step carry the run's ids and trace id.
    const lines = worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const attempt = lines.find((l) => l.msg === 'step attempt finished' && l.runId === runId);
    expect(attempt).toMatchObject({
      stepId: 'call',
      attempt: 1,
      traceId,
      workflowId: expect.any(String),
      workspaceId: expect.any(String),
    });
  });
});
