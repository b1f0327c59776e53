// Two Weft processes on one PostgreSQL and one Redis: a subscriber connected to one receives,
// live and in order, every event of a run started on the other; run feeds (each transition
// once) and runFeed's deletion notice cross processes the same way.
import { createClient } from 'graphql-ws';
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { print } from 'graphql';
import { graphql } from './generated/gql.ts';
import type {
  RedisRunEventsSubscription,
  RedisRunFeedSubscription,
  RedisRunsFeedSubscription,
} from './generated/graphql.ts';
import { onPostgres } from './helpers/app.ts';
import { json, startLoopbackServer } from './helpers/http-server.ts';
import { createTestDatabase } from './helpers/pg.ts';
import {
  createWorkflowAt,
  postGraphQL,
  PROCESS_ADMIN_KEY,
  startRunAt,
  startWeftProcess,
  type WeftProcess,
} from './helpers/process.ts';
import { until } from './helpers/wait.ts';

const RunsFeed = graphql(`
  subscription RedisRunsFeed {
    runsFeed {
      id
      status
    }
  }
`);
const RunFeed = graphql(`
  subscription RedisRunFeed {
    runFeed {
      kind
      runId
    }
  }
`);
const RunEvents = graphql(`
  subscription RedisRunEvents($id: ID!) {
    runEvents(runId: $id) {
      seq
      type
    }
  }
`);
const EventCount = graphql(`
  query RedisEventCount($id: ID!) {
    run(id: $id) {
      events(first: 200) {
        totalCount
      }
    }
  }
`);
const DeleteRun = graphql(`
  mutation RedisDeleteRun($input: RunIdInput!) {
    deleteRun(input: $input) {
      __typename
    }
  }
`);

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it.runIf(onPostgres)('fans events out across processes through Redis', { timeout: 120_000 }, async () => {
  const gates: (() => void)[] = [];
  const server = await startLoopbackServer(async (req, res) => {
    if (req.path === '/gate') await new Promise<void>((resolve) => gates.push(resolve));
    json(res, 200, { ok: true });
  });
  cleanups.push(() => server.close());
  const db = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: true });
  cleanups.push(db.drop);
  const env = { DATABASE_URL: db.url, REDIS_URL, WEFT_ENGINE_POLL_MS: '100' };
  const processes: WeftProcess[] = [];
  for (let i = 0; i < 2; i++) {
    const p = await startWeftProcess(env);
    processes.push(p);
    cleanups.push(() => p.stop('SIGKILL'));
  }
  const [a, b] = processes as [WeftProcess, WeftProcess];

  const client = createClient({
    url: a.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${PROCESS_ADMIN_KEY}` },
  });
  cleanups.push(() => client.dispose());
  const feed: string[] = [];
  client.subscribe<RedisRunsFeedSubscription>(
    { query: print(RunsFeed) },
    { next: (v) => feed.push(v.data!.runsFeed.status), error: () => undefined, complete: () => undefined },
  );
  const messages: { kind: string; runId: string | null }[] = [];
  client.subscribe<RedisRunFeedSubscription>(
    { query: print(RunFeed) },
    { next: (v) => messages.push(v.data!.runFeed), error: () => undefined, complete: () => undefined },
  );
  // No signal crosses the process boundary when the feed is registered (and it has no initial
  // payload), so this one wait is a fixed grace period.
  await new Promise((r) => setTimeout(r, 300));

  const workflowId = await createWorkflowAt(b.url, {
    name: 'fan-out',
    definition: {
      steps: [
        { id: 'gate', type: 'http_request', config: { url: `${server.url}/gate` } },
        { id: 'after', type: 'http_request', dependsOn: ['gate'], config: { url: `${server.url}/fast` } },
      ],
    },
  });
  const runId = await startRunAt(b.url, workflowId);

  await until('the gate step to be in flight', 20_000, () => gates.length > 0, 20);
  const streamed: { seq: number; type: string }[] = [];
  const events = new Promise<{ seq: number; type: string }[]>((resolve, reject) => {
    const received = streamed;
    client.subscribe<RedisRunEventsSubscription>(
      { query: print(RunEvents), variables: { id: runId } },
      { next: (v) => received.push(v.data!.runEvents), error: reject, complete: () => resolve(received) },
    );
  });
  // The stream listens for live events before it replays the stored ones: a replayed event means
  // the live subscription on A is registered.
  await until('the stored events to be replayed on A', 10_000, () => streamed.length > 0, 20);
  for (const open of gates.splice(0)) open();
  const received = await Promise.race([
    events,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no completion through redis')), 20_000)),
  ]);

  expect(received.map((e) => e.seq)).toEqual(received.map((_, i) => i + 1));
  expect(received.at(-1)!.type).toBe('RUN_COMPLETED');
  const stored = await postGraphQL(a.url, EventCount, { id: runId });
  expect(received.length).toBe(stored.data?.run?.events.totalCount);
  await until('the feed on A to see the completion', 5000, () => feed.includes('COMPLETED'), 20);
  expect(feed).toEqual(['QUEUED', 'RUNNING', 'COMPLETED']); // each transition once, with the status it reached

  // A run deleted on b: a's runFeed hears of it through Redis.
  const deleted = await postGraphQL(b.url, DeleteRun, { input: { runId } });
  expect(deleted.data?.deleteRun.__typename).toBe('DeleteRunPayload');
  await until('the deletion notice on A', 5000, () => messages.some((m) => m.kind === 'DELETED'), 20);
  expect(messages.filter((m) => m.runId === runId).map((m) => m.kind)).toEqual([
    'TRANSITION',
    'TRANSITION',
    'TRANSITION',
    'DELETED',
  ]);
});
