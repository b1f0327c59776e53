// Subscription fan-out (issue #15): hundreds of subscribers of one run with the same operation
// in the same permission scope cost ONE execution per live event; a different document,
// different variables or a different scope form groups of their own; a subscriber of another
// workspace cannot join (NOT_FOUND) and receives nothing. Every subscriber still gets the full,
// gap-free sequence (its replay is its own).
import { createClient, type Client } from 'graphql-ws';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fanoutStats } from '../src/http/subscription-fanout.ts';
import type { TestApp } from './helpers/app.ts';
import { createTenant, keyWith } from './helpers/auth.ts';
import { watchBusListeners, type BusListeners } from './helpers/bus.ts';
import type { LoopbackServer } from './helpers/http-server.ts';
import { subscribe, useLiveApp } from './helpers/live.ts';
import { createWorkflow, rawId, startRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

const PER_CONNECTION = 10;
// Hundreds of subscriptions from one key within seconds: the per-key rate limit is not what is tested here.
const live = useLiveApp({
  WEFT_ENGINE_POLL_MS: '50',
  WEFT_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_CONNECTION),
  WEFT_RATE_LIMIT_PER_MINUTE: '0',
});
let t: TestApp;
let url: string;
let server: LoopbackServer;
let gates: (() => void)[];
let listeners: BusListeners;
beforeAll(() => {
  ({ t, url, server, gates } = live);
  listeners = watchBusListeners(t.app.bus);
});

const clients: Client[] = [];
afterEach(async () => {
  while (clients.length) await clients.pop()!.dispose();
});
/** `count` subscribers, PER_CONNECTION to a connection, all with `authorization`. */
function connections(count: number, authorization: string) {
  const opened: Client[] = [];
  for (let i = 0; i < Math.ceil(count / PER_CONNECTION); i++) {
    opened.push(
      createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization },
      }),
    );
  }
  clients.push(...opened);
  return (i: number) => opened[Math.floor(i / PER_CONNECTION)]!;
}

const EVENTS = `subscription($runId: ID!, $filter: RunEventFilter) { runEvents(runId: $runId, filter: $filter) { seq type stepId } }`;
const EVENTS_OTHER_DOCUMENT = `subscription($runId: ID!) { runEvents(runId: $runId) { seq type } }`;
type Item = { runEvents: { seq: number; type: string } };

const gatedLoop = () => ({
  steps: [
    { id: 'a', type: 'http_request', config: { url: `${server.url}/fast` } },
    { id: 'b', type: 'http_request', dependsOn: ['a'], config: { url: `${server.url}/gate` } },
    {
      id: 'each',
      type: 'loop',
      dependsOn: ['b'],
      config: {
        items: '[1..5]',
        concurrency: 2,
        step: { type: 'http_request', config: { url: `${server.url}/fast` } },
      },
    },
  ],
});

async function storedSeqs(runId: string) {
  return (
    await t.db.prisma.runEvent.findMany({
      where: { runId: rawId(runId) },
      orderBy: { seq: 'asc' },
      select: { seq: true },
    })
  ).map((e) => e.seq);
}

/** A run held at its gate step, its stored events so far. */
async function heldRun() {
  const run = await startRun(t, await createWorkflow(t, gatedLoop()));
  await until('step b to be in flight', 10_000, () => gates.length === 1);
  return { run, before: (await storedSeqs(run)).length };
}

interface Group {
  name: string;
  subs: { results: Item[]; done: Promise<Item[]> }[];
}

function subscribeGroup(name: string, count: number, authorization: string, query: string, variables: object): Group {
  const client = connections(count, authorization);
  return {
    name,
    subs: Array.from({ length: count }, (_, i) =>
      subscribe<Item>(client(i), query, variables as Record<string, unknown>, 30_000),
    ),
  };
}

/** Waits until every subscriber listens live and has its replay, opens the gate, returns the executions it cost. */
async function releaseAndCount(run: string, before: number, groups: Group[]) {
  const subs = groups.flatMap((g) => g.subs);
  await until('every subscriber to listen live', 20_000, () => listeners.forRun(rawId(run)) === subs.length);
  await until('every replay to be delivered', 20_000, () => subs.every((s) => s.results.length === before));
  const start = { ...fanoutStats };
  for (const open of gates.splice(0)) open();
  await Promise.all(subs.map((s) => s.done));
  return { executions: fanoutStats.executions - start.executions, shared: fanoutStats.shared - start.shared };
}

describe('subscription fan-out', () => {
  it('executes each live event once for 200 subscribers of one run with the same operation', async () => {
    const { run, before } = await heldRun();
    const group = subscribeGroup('same', 200, `Bearer ${t.apiKey}`, EVENTS, { runId: run });
    const cost = await releaseAndCount(run, before, [group]);

    const all = await storedSeqs(run);
    const liveEvents = all.length - before;
    expect(liveEvents).toBeGreaterThan(10);
    for (const sub of group.subs) expect((await sub.done).map((r) => r.runEvents.seq)).toEqual(all);
    expect(cost).toEqual({ executions: liveEvents, shared: liveEvents * 199 });
  });

  it('forms one group per document, variables and permission scope; another workspace cannot join', async () => {
    const { run, before } = await heldRun();
    const admin = `Bearer ${t.apiKey}`;
    const readOnly = (await keyWith(t, ['read'])).authorization;
    const groups = [
      subscribeGroup('base', 20, admin, EVENTS, { runId: run }),
      subscribeGroup('other variables', 20, admin, EVENTS, { runId: run, filter: { iterations: true } }),
      subscribeGroup('other document', 20, admin, EVENTS_OTHER_DOCUMENT, { runId: run }),
      subscribeGroup('read-only scope', 20, readOnly, EVENTS, { runId: run }),
    ];
    const stranger = await createTenant(t, `fanout-${Math.random().toString(36).slice(2, 8)}`);
    const refused = subscribeGroup('other workspace', 3, stranger.headers.authorization, EVENTS, { runId: run });
    for (const sub of refused.subs) {
      const error = await sub.done.then(
        () => null,
        (e: { errors?: unknown }) => e,
      );
      expect(JSON.stringify(error?.errors ?? error)).toMatch(/NOT_FOUND/);
    }

    const cost = await releaseAndCount(run, before, groups);
    const all = await storedSeqs(run);
    const liveEvents = all.length - before;
    for (const group of groups)
      for (const sub of group.subs)
        expect(
          (await sub.done).map((r) => r.runEvents.seq),
          group.name,
        ).toEqual(all);
    expect(cost).toEqual({ executions: liveEvents * 4, shared: liveEvents * 4 * 19 });
    expect(refused.subs.every((s) => s.results.length === 0)).toBe(true);
  });
});
