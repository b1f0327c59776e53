// Live run progress with real clients: graphql-ws over WebSocket and GraphQL over SSE, late
// subscribers and reconnects with a cursor (no gap, no duplicate), run/workflow/workspace feeds,
// the per-connection cap, slow consumers, and a 50,000-event log streamed in pages.
import type { Client } from 'graphql-ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../src/events/log.ts';
import { runEventStream } from '../src/events/stream.ts';
import type { TestApp } from './helpers/app.ts';
import type { LoopbackServer } from './helpers/http-server.ts';
import { postSse, sseData, subscribe, useLiveApp } from './helpers/live.ts';
import { watchBusListeners, type BusListeners } from './helpers/bus.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

const live = useLiveApp({ WEFT_ENGINE_POLL_MS: '50', WEFT_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' });
let t: TestApp;
let url: string;
let server: LoopbackServer;
let gates: (() => void)[];
let listeners: BusListeners;
const wsClient = () => live.wsClient();
beforeAll(() => {
  ({ t, url, server, gates } = live);
  listeners = watchBusListeners(t.app.bus);
});

/** Collects every result of one subscription until it completes (bounded). */
const collect = <T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  timeoutMs = 15_000,
): Promise<T[]> => subscribe<T>(client, query, variables, timeoutMs).done;

const EVENTS = `subscription($runId: ID!, $after: String) { runEvents(runId: $runId, after: $after) { seq type stepId } }`;
const gated = () => ({
  steps: [
    { id: 'a', type: 'http_request', config: { url: `${server.url}/fast` } },
    { id: 'b', type: 'http_request', dependsOn: ['a'], config: { url: `${server.url}/gate` } },
    { id: 'c', type: 'http_request', dependsOn: ['b'], config: { url: `${server.url}/fast` } },
  ],
});

async function storedSeqs(runId: string) {
  return (
    await t.db.prisma.runEvent.findMany({
      where: { runId: rawId(runId) },
      orderBy: { seq: 'asc' },
      select: { seq: true, type: true },
    })
  ).map((e) => `${e.seq}:${e.type}`);
}

describe('runEvents over graphql-ws', () => {
  it('gives a late subscriber the stored events, then the live ones, then completes after the terminal event', async () => {
    const wf = await createWorkflow(t, gated());
    const run = await startRun(t, wf);
    await until('step b to be in flight', 10_000, () => gates.length === 1);
    const received = collect<{ runEvents: { seq: number; type: string } }>(wsClient(), EVENTS, { runId: run });
    await until('the subscription to listen for live events', 10_000, () => listeners.forRun(rawId(run)) === 1);
    for (const open of gates.splice(0)) open();
    const events = (await received).map((r) => r.runEvents);
    expect(events.map((e) => `${e.seq}:${e.type}`)).toEqual(await storedSeqs(run));
    expect(events.at(-1)!.type).toBe('RUN_COMPLETED');
  });

  it('resumes after a cursor without repeating anything', async () => {
    const wf = await createWorkflow(t, { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] });
    const run = await startRun(t, wf);
    await waitForRun(t, run);
    const all = await storedSeqs(run);
    const rest = (
      await collect<{ runEvents: { seq: number; type: string } }>(wsClient(), EVENTS, { runId: run, after: '2' })
    ).map((r) => `${r.runEvents.seq}:${r.runEvents.type}`);
    expect(rest).toEqual(all.slice(2));
  });

  it('has no gap and no duplicate for subscribers joining while events are produced', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'each',
          type: 'loop',
          config: {
            items: '[1..40]',
            concurrency: 4,
            step: { type: 'http_request', config: { url: `${server.url}/fast?i={{ item }}` } },
          },
        },
      ],
    });
    const run = await startRun(t, wf);
    const client = wsClient();
    const streams: Promise<{ runEvents: { seq: number; type: string } }[]>[] = [];
    for (let i = 0; i < 3; i++) {
      streams.push(collect(client, EVENTS, { runId: run }));
      await new Promise((r) => setTimeout(r, 15 * i));
    }
    const results = await Promise.all(streams);
    const stored = await storedSeqs(run);
    expect(stored.length).toBeGreaterThan(80);
    for (const events of results) expect(events.map((r) => `${r.runEvents.seq}:${r.runEvents.type}`)).toEqual(stored);
  });

  it("refuses other workspaces' and unknown runs with NOT_FOUND, and bad cursors with VALIDATION_FAILED", async () => {
    const missing = Buffer.from('Run:00000000-0000-7000-8000-000000000000').toString('base64');
    const error = await collect(wsClient(), EVENTS, { runId: missing }).catch((e) => e);
    expect(error.errors[0].extensions.code).toBe('NOT_FOUND');
    const wf = await createWorkflow(t, { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] });
    const run = await startRun(t, wf);
    const bad = await collect(wsClient(), EVENTS, { runId: run, after: 'abc' }).catch((e) => e);
    expect(bad.errors[0].extensions.code).toBe('VALIDATION_FAILED');
  });

  it('caps concurrent subscriptions per connection', async () => {
    const wf = await createWorkflow(t, gated());
    const run = await startRun(t, wf);
    await until('step b to be in flight', 10_000, () => gates.length === 1);
    const client = wsClient();
    const open = [1, 2, 3].map(() => collect(client, EVENTS, { runId: run }));
    await until('three subscriptions to be registered', 10_000, () => listeners.forRun(rawId(run)) === 3);
    const fourth = await collect(client, EVENTS, { runId: run }).catch((e) => e);
    expect(fourth.errors?.[0]?.extensions?.code ?? fourth[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    for (const g of gates.splice(0)) g();
    await Promise.all(open);
  });
});

describe('runUpdated and the run feeds', () => {
  it('streams the Run object on every change and completes when it finishes', async () => {
    const wf = await createWorkflow(t, gated());
    const run = await startRun(t, wf);
    await until('step b to be in flight', 10_000, () => gates.length === 1);
    const client = wsClient();
    const updates = collect<{ runUpdated: { __typename: string; id: string; status: string } }>(
      client,
      `subscription($runId: ID!) { runUpdated(runId: $runId) { __typename id status } }`,
      { runId: run },
    );
    const feed: { runsFeed: { id: string; status: string } }[] = [];
    const perWorkflow: { workflowRunsUpdated: { id: string; status: string } }[] = [];
    const allBefore = listeners.all();
    client.subscribe(
      { query: `subscription { runsFeed { id status } }` },
      { next: (v) => feed.push(v.data as never), error: () => undefined, complete: () => undefined },
    );
    client.subscribe(
      { query: `subscription($id: ID!) { workflowRunsUpdated(workflowId: $id) { id status } }`, variables: { id: wf } },
      { next: (v) => perWorkflow.push(v.data as never), error: () => undefined, complete: () => undefined },
    );
    await until(
      'runUpdated and both feeds to be registered',
      10_000,
      () => listeners.forRun(rawId(run)) === 1 && listeners.all() - allBefore === 2,
    );
    for (const g of gates.splice(0)) g();
    const received = (await updates).map((u) => u.runUpdated);
    expect(received[0]).toMatchObject({ __typename: 'Run', id: run, status: 'RUNNING' });
    expect(received.at(-1)).toMatchObject({ id: run, status: 'COMPLETED' });
    await until(
      'the feeds to see the completion',
      10_000,
      () =>
        feed.some((f) => f.runsFeed.status === 'COMPLETED') &&
        perWorkflow.some((f) => f.workflowRunsUpdated.status === 'COMPLETED'),
    );
    expect(feed.every((f) => f.runsFeed.id === run)).toBe(true);
  });
});

describe('runEvents over SSE', () => {
  it("streams a run's events as Server-Sent Events and ends the stream", async () => {
    const wf = await createWorkflow(t, { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] });
    const run = await startRun(t, wf);
    await waitForRun(t, run);
    const res = await postSse(url, t.authHeaders, EVENTS, { runId: run }, 10_000);
    const text = await res.text();
    const events = sseData<{ runEvents: { seq: number; type: string } }>(text).map(
      (d) => `${d.runEvents.seq}:${d.runEvents.type}`,
    );
    expect(events).toEqual(await storedSeqs(run));
    expect(text).toContain('event: complete');
  });
});

describe('the event stream itself', () => {
  it('ends a subscriber that falls too far behind with SLOW_CONSUMER instead of buffering forever', async () => {
    const wf = await createWorkflow(t, gated());
    const run = await startRun(t, wf);
    await until('step b to be in flight', 10_000, () => gates.length === 1);
    const bus = createMemoryEventBus();
    const local = watchBusListeners(bus);
    const stream = runEventStream({ prisma: t.db.prisma, bus, runId: rawId(run), after: 1_000_000, maxBuffer: 5 });
    const first = stream.next(); // starts the stream; it waits for live events
    await until('the stream to listen for live events', 10_000, () => local.forRun(rawId(run)) === 1);
    const fake = (seq: number) => ({
      id: BigInt(seq),
      workspaceId: t.workspaceId,
      runId: rawId(run),
      seq,
      type: 'STEP_LOG',
      stepId: 'b',
      iteration: null,
      data: null,
      createdAt: new Date(),
    });
    bus.publish(Array.from({ length: 20 }, (_, i) => fake(1_000_001 + i)));
    const delivered: number[] = [];
    const error = await (async () => {
      let next = await first;
      while (!next.done) {
        delivered.push(next.value.seq);
        next = await stream.next();
      }
    })().catch((e) => e);
    expect(error.extensions.code).toBe('SLOW_CONSUMER');
    expect(delivered.length).toBeLessThanOrEqual(6);
    for (const g of gates.splice(0)) g();
  });

  it('streams a 50,000-event log in pages, in order', { timeout: 120_000 }, async () => {
    const wf = await createWorkflow(t, { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] });
    const run = await startRun(t, wf);
    await waitForRun(t, run);
    const runId = rawId(run);
    const base = (await t.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).lastEventSeq;
    // Pretend the run produced 50,000 more log events before finishing: its terminal event moves last.
    const total = 50_000;
    await t.db.prisma.runEvent.updateMany({ where: { runId, type: 'RUN_COMPLETED' }, data: { type: 'STEP_LOG' } });
    for (let start = 0; start < total; start += 5000) {
      await t.db.prisma.runEvent.createMany({
        data: Array.from({ length: Math.min(5000, total - start) }, (_, i) => ({
          workspaceId: t.workspaceId,
          runId,
          seq: base + start + i + 1,
          type: 'STEP_LOG',
          stepId: 'a',
        })),
      });
    }
    await t.db.prisma.runEvent.create({
      data: { workspaceId: t.workspaceId, runId, seq: base + total + 1, type: 'RUN_COMPLETED' },
    });
    await t.db.prisma.run.update({ where: { id: runId }, data: { lastEventSeq: base + total + 1 } });

    const pages: number[] = [];
    const stop = t.db.onQuery((e) => /"RunEvent"/.test(e.query) && pages.push(1));
    let count = 0;
    let previous = 0;
    for await (const event of runEventStream({ prisma: t.db.prisma, bus: t.app.bus, runId, after: 0 })) {
      expect(event.seq).toBe(previous + 1);
      previous = event.seq;
      count++;
    }
    stop();
    expect(count).toBe(base + total + 1);
    expect(pages.length).toBeGreaterThanOrEqual(total / 500);
  });
});
