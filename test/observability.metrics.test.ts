// /metrics end to end: the token on the main port, the separate metrics port, and the values
// moving after a real workflow (a retried step and a loop), GraphQL operations, a WebSocket
// subscription and inbound webhooks. Plus the label caps, which keep series bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLErrorBody } from './helpers/app.ts';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Metrics } from '../src/observability/metrics.ts';
import { onPostgres, startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { parseMetrics, sumOf, type Scrape } from './helpers/metrics.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
let t: TestApp;
let base: string;
let server: LoopbackServer;
let flakyCalls = 0;
let openGate: (() => void) | null = null;
let holdCalls = 0;

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    if (req.path.startsWith('/flaky')) return json(res, ++flakyCalls === 1 ? 503 : 200, {});
    // The first call hangs until the caller gives up; later ones answer at once.
    if (req.path.startsWith('/hold'))
      return ++holdCalls === 1 ? new Promise<void>((resolve) => res.on('close', () => resolve())) : json(res, 200, {});
    if (req.path.startsWith('/gate'))
      return new Promise<void>((resolve) => (openGate = () => (json(res, 200, {}), resolve())));
    json(res, 200, { ok: true });
  });
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50', WEFT_METRICS_TOKEN: TOKEN, WEFT_METRICS_PORT: '0' });
  base = (await t.app.start(0, '127.0.0.1')).url.replace(/\/graphql$/, '');
});

afterAll(async () => {
  await t?.close();
  await server?.close();
});

async function scrape(url = `${base}/metrics`): Promise<Scrape> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

describe('/metrics', () => {
  it('asks for the token on the main port and on the metrics port', async () => {
    const anonymous = await fetch(`${base}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await anonymous.json()) as GraphQLErrorBody).errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${base}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(405);
    const port = t.app.metricsUrl()!;
    expect(port).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await fetch(port)).status).toBe(401);
    expect((await fetch(port.replace('/metrics', '/graphql'))).status).toBe(404);
    const values = await scrape(port);
    expect(sumOf(values, 'weft_process_memory_bytes', { kind: 'rss' })).toBeGreaterThan(0);
    expect(values.has('weft_event_loop_lag_seconds{quantile="0.99"}')).toBe(true);
  });

  it('is not served on the main port without a token', async () => {
    const other = await startTestApp({});
    try {
      const { url } = await other.app.start(0, '127.0.0.1');
      const response = await fetch(url.replace('/graphql', '/metrics'));
      expect(response.status).toBe(404);
      expect(((await response.json()) as GraphQLErrorBody).errors[0]?.message).toMatch(/WEFT_METRICS_TOKEN/);
      expect(other.app.metricsUrl()).toBeNull();
    } finally {
      await other.close();
    }
  });

  it('counts runs, step attempts, retries, dispatch, GraphQL operations, subscriptions and webhooks', async () => {
    const before = await scrape();
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'flaky',
          type: 'http_request',
          config: { url: `${server.url}/flaky` },
          retry: { attempts: 2, backoffSeconds: 0.01 },
        },
        {
          id: 'each',
          type: 'loop',
          dependsOn: ['flaky'],
          config: { items: '[1, 2]', step: { type: 'http_request', config: { url: `${server.url}/item` } } },
        },
      ],
    });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    const missing = await t.gql(`query Missing { node(id: "bm9wZTpub3Bl") { id } }`);
    expect(missing.errors ?? []).toEqual([]);
    // Refused before execution: counted with their code and type `none`.
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    expect(
      (await post({ query: 'query Anonymous { viewer { __typename } }', operationName: 'Anonymous' })).status,
    ).toBe(401);
    for (const body of [
      { query: 'query Broken {', operationName: 'Broken' },
      { query: 'query Invalid { noSuchField }', operationName: 'Invalid' },
    ]) {
      expect(((await (await post(body, t.authHeaders)).json()) as { errors?: unknown[] }).errors?.length).toBe(1);
    }
    const refused = await fetch(`${base}/hooks/nothing-here`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(404);

    // A WebSocket subscription to a run held open by a gate: counted while it lasts.
    const gated = await startRun(
      t,
      await createWorkflow(t, { steps: [{ id: 'gate', type: 'http_request', config: { url: `${server.url}/gate` } }] }),
    );
    await until('the gated step to call', 5000, async () => openGate !== null);
    const client = createClient({
      url: `${base.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: `Bearer ${t.apiKey}` },
    });
    let during: Scrape | null = null;
    const delivered = await new Promise<number>((resolve, reject) => {
      let count = 0;
      const timer = setTimeout(() => reject(new Error('subscription did not complete in 10 s')), 10_000);
      client.subscribe(
        { query: `subscription Replay($runId: ID!) { runEvents(runId: $runId) { seq } }`, variables: { runId: gated } },
        {
          next: async (value) => {
            if (value.errors) return reject(new Error(JSON.stringify(value.errors)));
            if (++count !== 1) return;
            during = await scrape();
            openGate!();
          },
          error: (error) => (clearTimeout(timer), reject(error)),
          complete: () => (clearTimeout(timer), resolve(count)),
        },
      );
    });
    await client.dispose();
    expect(delivered).toBeGreaterThanOrEqual(5);

    const after = await until('the finished runs to be counted', 5000, async () => {
      const values = await scrape();
      return sumOf(values, 'weft_runs_finished_total', { status: 'COMPLETED' }) -
        sumOf(before, 'weft_runs_finished_total', { status: 'COMPLETED' }) ===
        2
        ? values
        : false;
    });
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sumOf(after, name, labels) - sumOf(before, name, labels);
    expect(moved('weft_runs_started_total')).toBe(2);
    expect(moved('weft_run_duration_seconds_count', { status: 'COMPLETED' })).toBe(2);
    expect(moved('weft_run_queue_wait_seconds_count')).toBe(2);
    expect(moved('weft_step_attempts_total', { type: 'http_request', outcome: 'retry' })).toBe(1);
    expect(moved('weft_step_attempts_total', { type: 'http_request', outcome: 'completed' })).toBe(2);
    expect(moved('weft_step_attempts_total', { type: 'loop', outcome: 'completed' })).toBe(1);
    expect(moved('weft_step_retries_total', { type: 'http_request' })).toBe(1);
    expect(moved('weft_step_duration_seconds_count', { type: 'loop' })).toBe(1);
    expect(moved('weft_step_dispatch_latency_seconds_count')).toBe(4);
    // No run ids or workflow ids in labels unless asked for.
    expect([...after.keys()].some((series) => series.includes(run) || series.includes('workflow="0'))).toBe(false);

    expect(moved('weft_graphql_requests_total', { operation: 'Missing', type: 'query', outcome: 'OK' })).toBe(1);
    expect(moved('weft_graphql_requests_total', { type: 'mutation', outcome: 'OK' })).toBeGreaterThanOrEqual(4);
    expect(moved('weft_graphql_requests_total', { operation: 'Replay', type: 'subscription', outcome: 'OK' })).toBe(1);
    expect(moved('weft_graphql_request_duration_seconds_count', { type: 'query' })).toBeGreaterThanOrEqual(1);
    expect(moved('weft_inbound_webhooks_total', { outcome: 'refused' })).toBe(1);
    expect(
      moved('weft_graphql_requests_total', { operation: 'Anonymous', type: 'none', outcome: 'UNAUTHENTICATED' }),
    ).toBe(1);
    expect(
      moved('weft_graphql_requests_total', { operation: 'Broken', type: 'none', outcome: 'GRAPHQL_PARSE_FAILED' }),
    ).toBe(1);
    expect(
      moved('weft_graphql_requests_total', {
        operation: 'Invalid',
        type: 'none',
        outcome: 'GRAPHQL_VALIDATION_FAILED',
      }),
    ).toBe(1);
    expect(moved('weft_graphql_request_duration_seconds_count', { type: 'none' })).toBe(0);
    expect(moved('weft_subscription_events_delivered_total')).toBe(delivered);
    expect(sumOf(during!, 'weft_websocket_connections')).toBe(1);
    expect(sumOf(during!, 'weft_subscriptions_active')).toBe(1);
    await until(
      'the socket to be counted as closed',
      5000,
      async () => sumOf(await scrape(), 'weft_websocket_connections') === 0 || false,
    );
    expect(sumOf(await scrape(), 'weft_subscriptions_active')).toBe(0);

    expect(after.get('weft_runs_queued')).toBe(0);
    if (onPostgres) {
      expect(after.has('weft_jobs_pending')).toBe(true);
      expect(after.has('weft_db_pool_connections{state="in_use"}')).toBe(true);
    }
  });
});

describe('leases', () => {
  it('counts a step taken back from a worker whose lease expired', async () => {
    const before = sumOf(await scrape(), 'weft_leases_reclaimed_total');
    const run = await startRun(
      t,
      await createWorkflow(t, { steps: [{ id: 'held', type: 'http_request', config: { url: `${server.url}/hold` } }] }),
    );
    await until('the held step to call', 5000, async () => holdCalls === 1);
    // Another (dead) worker's expired lease: the heartbeat gives the step up, the next tick reclaims it.
    await t.db.prisma.stepRun.updateMany({
      where: { runId: rawId(run), stepId: 'held' },
      data: { leaseOwner: 'dead-worker', leaseExpiresAt: new Date(Date.now() - 60_000) },
    });
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    expect(holdCalls).toBe(2);
    expect(sumOf(await scrape(), 'weft_leases_reclaimed_total') - before).toBe(1);
  });
});

describe('label bounds', () => {
  it('caps operation names and workflow ids, and labels workflows only when asked', async () => {
    const capped = new Metrics({ workflowLabel: true, labelCap: 2 });
    for (const name of ['A', 'B', 'C', 'D']) capped.graphqlOperation(name, 'query', 'OK', 0.01);
    for (const id of ['w1', 'w2', 'w3']) capped.runFinished('COMPLETED', id, 1);
    const values = parseMetrics((await capped.text()).body);
    capped.close();
    expect(sumOf(values, 'weft_graphql_requests_total', { operation: 'other' })).toBe(2);
    expect(sumOf(values, 'weft_graphql_requests_total', { operation: 'A' })).toBe(1);
    expect(sumOf(values, 'weft_runs_finished_total', { workflow: 'w2' })).toBe(1);
    expect(sumOf(values, 'weft_runs_finished_total', { workflow: 'other' })).toBe(1);

    const plain = new Metrics({ workflowLabel: false, labelCap: 2 });
    plain.runFinished('FAILED', 'w1', 1);
    const text = (await plain.text()).body;
    plain.close();
    expect(text).toContain('weft_runs_finished_total{status="FAILED",workflow=""} 1');
  });
});
