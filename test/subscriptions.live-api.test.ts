// The live API a run monitor relies on, with real clients (graphql-ws, urql over graphql-ws,
// GraphQL over SSE): one event cursor everywhere, the caught-up marker, event filters, typed
// payloads, loop progress, coalesced runUpdated, and run feeds of transitions.
import { encodeBase64, encodeCursorChunk } from '@pothos/core';
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import type { LiveStreamSubscription, LiveTypedEventsSubscription } from './generated/graphql.ts';
import type { TestApp } from './helpers/app.ts';
import { postSse, sseData, subscribe, useLiveApp } from './helpers/live.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';
import { until } from './helpers/wait.ts';

const INTERVAL_MS = 200;
const live = useLiveApp(
  { WEFT_ENGINE_POLL_MS: '50', WEFT_RUN_UPDATED_INTERVAL_MS: String(INTERVAL_MS) },
  { ok: true, headers: 'x'.repeat(2000) },
);
let t: TestApp;
let url: string;
let gates: (() => void)[];
const wsClient = () => live.wsClient();
beforeAll(() => {
  ({ t, url, gates } = live);
});

async function stored(runId: string) {
  return (await t.db.prisma.runEvent.findMany({ where: { runId: rawId(runId) }, orderBy: { seq: 'asc' } })).map(
    (e) => ({ seq: e.seq, type: e.type, id: e.id, stepId: e.stepId, iteration: e.iteration }),
  );
}

const gated = () => ({
  steps: [
    { id: 'a', type: 'http_request', config: { url: `${live.server.url}/fast` } },
    { id: 'b', type: 'http_request', dependsOn: ['a'], config: { url: `${live.server.url}/gate` } },
  ],
});
const instant = () => ({
  steps: [
    { id: 'a', type: 'condition', config: { expression: 'true' } },
    { id: 'b', type: 'condition', dependsOn: ['a'], config: { expression: 'true' } },
  ],
});
const loop = (n: number, path = 'fast', concurrency = 4) => ({
  steps: [
    {
      id: 'each',
      type: 'loop',
      config: {
        items: `[1..${n}]`,
        concurrency,
        step: { type: 'http_request', config: { url: `${live.server.url}/${path}?i={{ item }}` } },
      },
    },
    { id: 'after', type: 'condition', dependsOn: ['each'], config: { expression: 'true' } },
  ],
});

const EVENTS = graphql(`
  subscription LiveEvents($runId: ID!, $after: String, $filter: RunEventFilter) {
    runEvents(runId: $runId, after: $after, filter: $filter) {
      seq
      cursor
      type
      stepId
      iteration
      data
    }
  }
`);
const STREAM = graphql(`
  subscription LiveStream($runId: ID!, $after: String, $filter: RunEventFilter) {
    runEventStream(runId: $runId, after: $after, filter: $filter) {
      __typename
      ... on RunEvent {
        seq
        type
      }
      ... on RunEventsCaughtUp {
        cursor
        seq
        runStatus
      }
    }
  }
`);
const SEQS_AFTER = graphql(`
  query LiveSeqsAfter($id: ID!, $first: Int!, $after: String) {
    run(id: $id) {
      events(first: $first, after: $after) {
        edges {
          cursor
          node {
            seq
          }
        }
      }
    }
  }
`);
/** The deprecated `data` of an event, as the tests read it. */
type EventData = { attempt?: number; output?: { status?: number } } | null;
/** A subscription that is expected to fail: the error graphql-ws rejects with. */
type SubscriptionError = { errors: { extensions: { code: string } }[] };

describe('one event cursor', () => {
  it('is the seq everywhere: RunEvent.cursor, Run.events edges and after, runEvents after', async () => {
    const run = await startRun(t, await createWorkflow(t, instant()));
    await waitForRun(t, run);
    const log = await stored(run);
    const page = await t.gql(
      graphql(`
        query LiveFirstPage($id: ID!, $after: String) {
          run(id: $id) {
            events(first: 3, after: $after) {
              totalCount
              edges {
                cursor
                node {
                  seq
                  cursor
                }
              }
              pageInfo {
                endCursor
                hasNextPage
              }
            }
          }
        }
      `),
      { id: run },
    );
    expect(page.errors).toBeUndefined();
    const events = page.data!.run!.events;
    const edges = events.edges;
    expect(edges.map((e) => e.cursor)).toEqual(['1', '2', '3']);
    expect(edges.map((e) => e.node.cursor)).toEqual(['1', '2', '3']);
    expect(events.totalCount).toBe(log.length);
    const next = await t.gql(SEQS_AFTER, { id: run, first: 200, after: events.pageInfo.endCursor });
    expect(next.errors).toBeUndefined();
    expect(next.data!.run!.events.edges.map((e) => e.node.seq)).toEqual(log.slice(3).map((e) => e.seq));
    // The connection's cursor goes straight into the subscription.
    const rest = await subscribe(wsClient(), EVENTS, { runId: run, after: edges[2]!.cursor }).done;
    expect(rest.map((r) => r.runEvents.seq)).toEqual(log.slice(3).map((e) => e.seq));
  });

  it("still accepts the connection cursors of earlier versions (deprecated), and refuses other runs' with VALIDATION_FAILED", async () => {
    const run = await startRun(t, await createWorkflow(t, instant()));
    const other = await startRun(t, await createWorkflow(t, instant()));
    await waitForRun(t, run);
    await waitForRun(t, other);
    const log = await stored(run);
    const legacy = (id: bigint) => encodeBase64(`GPC:${encodeCursorChunk(id)}`);
    const rest = await subscribe(wsClient(), EVENTS, { runId: run, after: legacy(log[1]!.id) }).done;
    expect(rest.map((r) => r.runEvents.seq)).toEqual(log.slice(2).map((e) => e.seq));
    const page = await t.gql(SEQS_AFTER, { id: run, first: 2, after: legacy(log[1]!.id) });
    expect(page.errors).toBeUndefined();
    expect(page.data!.run!.events.edges.map((e) => e.node.seq)).toEqual([3, 4]);

    const foreign = legacy((await stored(other))[0]!.id);
    const refused: SubscriptionError = await subscribe(wsClient(), EVENTS, { runId: run, after: foreign }).done.catch(
      (e) => e,
    );
    expect(refused.errors[0]!.extensions.code).toBe('VALIDATION_FAILED');
    const tooBig: SubscriptionError = await subscribe(wsClient(), EVENTS, {
      runId: run,
      after: '9999999999',
    }).done.catch((e) => e);
    expect(tooBig.errors[0]!.extensions.code).toBe('VALIDATION_FAILED');
    // A legacy cursor whose row id is beyond the bigint column (found by review: it reached SQL).
    const legacyTooBig = await t.gql(SEQS_AFTER, { id: run, first: 2, after: legacy(99_999_999_999_999_999_999n) });
    expect(legacyTooBig.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    const bad = await t.gql(SEQS_AFTER, { id: run, first: 2, after: 'not a cursor' });
    expect(bad.status).toBeLessThan(500);
    expect(bad.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(bad.errors?.[0]?.extensions?.problems).toEqual([expect.objectContaining({ path: ['events', 'after'] })]);
  });
});

describe('the caught-up marker (runEventStream)', () => {
  it('over graphql-ws: stored events, one RunEventsCaughtUp, then the live events up to the terminal one', async () => {
    const run = await startRun(t, await createWorkflow(t, gated()));
    await until('step b to be in flight', 10_000, async () => gates.length === 1);
    const sub = subscribe(wsClient(), STREAM, { runId: run });
    await until('the marker', 10_000, async () =>
      sub.results.some((r) => r.runEventStream.__typename === 'RunEventsCaughtUp'),
    );
    const before = sub.results.length;
    for (const open of gates.splice(0)) open();
    const items = (await sub.done).map((r) => r.runEventStream);
    const markerAt = items.findIndex((i) => i.__typename === 'RunEventsCaughtUp');
    expect(markerAt).toBe(before - 1);
    expect(items.filter((i) => i.__typename === 'RunEventsCaughtUp')).toHaveLength(1);
    const marker = ofType(items[markerAt], 'RunEventsCaughtUp');
    expect(marker.runStatus).toBe('RUNNING');
    expect(marker.seq).toBe(items[markerAt - 1]!.seq);
    expect(marker.cursor).toBe(String(marker.seq));
    const events = items.filter((i) => i.__typename === 'RunEvent');
    expect(events.map((e) => `${e.seq}:${e.type}`)).toEqual((await stored(run)).map((e) => `${e.seq}:${e.type}`));
    expect(items.slice(markerAt + 1).length).toBeGreaterThan(0);
    expect(ofType(items.at(-1), 'RunEvent').type).toBe('RUN_COMPLETED');
  });

  it('over SSE: the marker arrives while the run waits, and resuming from its cursor repeats nothing', async () => {
    const run = await startRun(t, await createWorkflow(t, gated()));
    await until('step b to be in flight', 10_000, async () => gates.length === 1);
    const res = await postSse(url, t.authHeaders, STREAM, { runId: run });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const items = () => sseData<LiveStreamSubscription>(text).map((d) => d.runEventStream);
    while (!items().some((i) => i.__typename === 'RunEventsCaughtUp')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before the marker: ${text}`);
      text += value;
    }
    const marker = ofType(
      items().find((i) => i.__typename === 'RunEventsCaughtUp'),
      'RunEventsCaughtUp',
    );
    await reader.cancel();
    for (const open of gates.splice(0)) open();
    await waitForRun(t, run);
    const rest = (await subscribe(wsClient(), STREAM, { runId: run, after: marker.cursor }).done).map(
      (r) => r.runEventStream,
    );
    const replayed = items().filter((i) => i.__typename === 'RunEvent');
    expect([...replayed, ...rest.map((i) => ofType(i, 'RunEvent'))].map((e) => `${e.seq}:${e.type}`)).toEqual(
      (await stored(run)).map((e) => `${e.seq}:${e.type}`),
    );
    // The run finished during the gap: the resumed stream is all replay and ends without a marker.
    expect(rest.every((i) => i.__typename === 'RunEvent')).toBe(true);
  });

  it('marks an empty replay too (seq 0 for a run without events after the cursor)', async () => {
    const run = await startRun(t, await createWorkflow(t, gated()));
    await until('step b to be in flight', 10_000, async () => gates.length === 1);
    const last = (await stored(run)).at(-1)!.seq;
    const sub = subscribe(wsClient(), STREAM, { runId: run, after: String(last) });
    await until('the marker', 10_000, async () => sub.results.length > 0);
    expect(sub.results[0]!.runEventStream).toEqual({
      __typename: 'RunEventsCaughtUp',
      cursor: String(last),
      seq: last,
      runStatus: 'RUNNING',
    });
  });
});

describe('filters on runEvents', () => {
  it('delivers only the asked types and steps, without iterations or bulky data, and still completes', async () => {
    const run = await startRun(t, await createWorkflow(t, loop(6)));
    const sub = subscribe(wsClient(), EVENTS, {
      runId: run,
      filter: { types: ['STEP_STARTED', 'STEP_COMPLETED'], iterations: false, includeData: false },
    });
    const got = (await sub.done).map((r) => r.runEvents);
    const expected = (await stored(run)).filter(
      (e) => ['STEP_STARTED', 'STEP_COMPLETED'].includes(e.type) && e.iteration === null,
    );
    expect(got.map((e) => `${e.seq}:${e.type}:${e.stepId}`)).toEqual(
      expected.map((e) => `${e.seq}:${e.type}:${e.stepId}`),
    );
    expect(got.length).toBe(4);
    for (const e of got) expect((e.data as EventData)?.output).toBeUndefined();
    expect((got.find((e) => e.type === 'STEP_COMPLETED')?.data as EventData)?.attempt).toBe(1);

    const one = (await subscribe(wsClient(), EVENTS, { runId: run, filter: { stepIds: ['each'] } }).done).map(
      (r) => r.runEvents,
    );
    expect(one.length).toBe((await stored(run)).filter((e) => e.stepId === 'each').length);
    expect(one.some((e) => e.iteration !== null)).toBe(true);
    expect(
      (one.find((e) => e.type === 'STEP_COMPLETED' && e.iteration !== null)?.data as EventData)?.output?.status,
    ).toBe(200);
  });
});

describe('typed event payloads', () => {
  it('give urql real fields per event type (data is still there, deprecated)', async () => {
    const run = await startRun(t, await createWorkflow(t, loop(2)));
    const urql = new UrqlClient({
      url,
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({
              unsubscribe: wsClient().subscribe({ ...request, query: request.query ?? '' }, sink),
            }),
          }),
        }),
      ],
      fetchOptions: { headers: t.authHeaders },
    });
    const query = graphql(`
      subscription LiveTypedEvents($runId: ID!) {
        runEvents(runId: $runId) {
          seq
          type
          data
          payload {
            __typename
            type
            ... on RunQueuedPayload {
              trigger
              version
            }
            ... on StepStartedPayload {
              attempt
            }
            ... on StepCompletedPayload {
              attempt
              output
              durationMs
            }
            ... on RunFinishedPayload {
              status
              output
              error {
                message
              }
            }
            ... on OtherEventPayload {
              data
            }
          }
        }
      }
    `);
    type Item = LiveTypedEventsSubscription['runEvents'];
    const items = await new Promise<Item[]>((resolve, reject) => {
      const got: Item[] = [];
      const timer = setTimeout(() => reject(new Error('urql subscription did not finish')), 15_000);
      const { unsubscribe } = urql.subscription(query, { runId: run }).subscribe((result) => {
        if (result.error || !result.data) return (clearTimeout(timer), reject(result.error));
        got.push(result.data.runEvents);
        if (result.data.runEvents.type === 'RUN_COMPLETED') clearTimeout(timer), unsubscribe(), resolve(got);
      });
    });
    const byType = (type: string) => items.filter((e) => e.type === type);
    expect(byType('RUN_QUEUED')[0]!.payload).toEqual({
      __typename: 'RunQueuedPayload',
      type: 'RUN_QUEUED',
      trigger: 'MANUAL',
      version: 1,
    });
    for (const e of byType('STEP_STARTED'))
      expect(e.payload).toMatchObject({ __typename: 'StepStartedPayload', attempt: 1 });
    const completed = byType('STEP_COMPLETED');
    expect(completed.length).toBe(4);
    for (const e of completed) {
      expect(ofType(e.payload, 'StepCompletedPayload').output).toEqual((e.data as EventData)?.output);
    }
    expect(byType('RUN_COMPLETED')[0]!.payload).toMatchObject({
      __typename: 'RunFinishedPayload',
      status: 'COMPLETED',
      error: null,
    });
    for (const e of items) expect(e.payload.__typename).not.toBe('OtherEventPayload');
    // The schema says what is deprecated.
    const introspection = await t.gql(
      graphql(`
        query LiveDeprecatedFields {
          __type(name: "RunEvent") {
            fields(includeDeprecated: true) {
              name
              isDeprecated
            }
          }
        }
      `),
    );
    expect(introspection.data?.__type?.fields?.find((f) => f.name === 'data')?.isDeprecated).toBe(true);
  });
});

describe('loop progress on StepRun', () => {
  it('counts total, running, done and pending while a loop runs, and done at the end', async () => {
    const run = await startRun(t, await createWorkflow(t, loop(3, 'gate', 1)));
    const PROGRESS = graphql(`
      query LiveLoopProgress($id: ID!) {
        run(id: $id) {
          stepRuns {
            stepId
            loopProgress {
              total
              done
              failed
              running
              pending
            }
          }
        }
      }
    `);
    const progress = async () => {
      const res = await t.gql(PROGRESS, { id: run });
      expect(res.errors).toBeUndefined();
      return Object.fromEntries(res.data!.run!.stepRuns.map((s) => [s.stepId, s.loopProgress]));
    };
    await until('the first item in flight', 10_000, async () => gates.length === 1);
    await until('the first iteration to be RUNNING', 10_000, async () => (await progress()).each?.running === 1);
    expect((await progress()).each).toEqual({ total: 3, done: 0, failed: 0, running: 1, pending: 2 });
    gates.shift()!();
    await until('the second item', 10_000, async () => gates.length === 1);
    await until('one done', 10_000, async () => (await progress()).each?.done === 1);
    expect((await progress()).each).toMatchObject({ total: 3, done: 1, failed: 0 });
    gates.shift()!();
    await until('the third item', 10_000, async () => gates.length === 1);
    gates.shift()!();
    await waitForRun(t, run);
    const end = await progress();
    expect(end.each).toEqual({ total: 3, done: 3, failed: 0, running: 0, pending: 0 });
    expect(end.after).toBeNull();
  });
});

describe('runUpdated, coalesced', () => {
  it(`pushes at most once per ${INTERVAL_MS} ms and always ends with the final state`, async () => {
    const run = await startRun(t, await createWorkflow(t, loop(40, 'fast', 1)));
    const started = Date.now();
    const results = await subscribe(
      wsClient(),
      graphql(`
        subscription LiveRunUpdated($runId: ID!) {
          runUpdated(runId: $runId) {
            id
            status
            stepRuns {
              stepId
              status
            }
          }
        }
      `),
      { runId: run },
    ).done;
    const elapsed = Date.now() - started;
    const events = (await stored(run)).length;
    expect(events).toBeGreaterThan(80);
    // The first push (the run as it was), at most one per interval, and the final state.
    expect(results.length).toBeLessThanOrEqual(Math.ceil(elapsed / INTERVAL_MS) + 2);
    expect(results.length).toBeLessThan(events / 3);
    expect(results.length).toBeGreaterThanOrEqual(3); // it does push while the run goes on
    const final = results.at(-1)!.runUpdated;
    expect(final.status).toBe('COMPLETED');
    expect(final.stepRuns.every((s) => s.status === 'COMPLETED')).toBe(true);
  });
});

describe('run feeds', () => {
  const FEED = graphql(`
    subscription LiveRunFeed($filter: RunFeedFilter, $snapshot: Int) {
      runFeed(filter: $filter, snapshot: $snapshot) {
        kind
        runId
        status
        seq
        run {
          id
          status
        }
      }
    }
  `);
  const RUNS_FEED = graphql(`
    subscription LiveRunsFeed($filter: RunFeedFilter) {
      runsFeed(filter: $filter, snapshot: 1) {
        id
        status
      }
    }
  `);

  it('runsFeed and workflowRunsUpdated carry each transition once with the status it reached (QUEUED seen, RUNNING once)', async () => {
    const wf = await createWorkflow(t, instant());
    const first = await startRun(t, wf);
    await waitForRun(t, first);
    // snapshot: 1 sends the finished first run as soon as each feed listens: then no transition can be missed.
    const client = wsClient();
    const feed = subscribe(client, RUNS_FEED, { filter: { workflowIds: [wf] } });
    const perWorkflow = subscribe(
      client,
      graphql(`
        subscription LiveWorkflowRunsUpdated($id: ID!) {
          workflowRunsUpdated(workflowId: $id, snapshot: 1) {
            id
            status
          }
        }
      `),
      { id: wf },
    );
    const onlyDone = subscribe(client, RUNS_FEED, { filter: { workflowIds: [wf], status: ['COMPLETED'] } });
    await until('the snapshots', 10_000, async () =>
      [feed, perWorkflow, onlyDone].every((s) => s.results.length === 1),
    );
    for (const s of [feed, perWorkflow, onlyDone])
      expect(Object.values(s.results[0]!)[0]).toEqual({ id: first, status: 'COMPLETED' });
    const runs = [await startRun(t, wf), await startRun(t, wf)];
    for (const run of runs) await waitForRun(t, run);
    await until('the feeds to see both completions', 10_000, async () =>
      [feed, perWorkflow, onlyDone].every(
        (s) => s.results.filter((r) => (Object.values(r)[0] as { status: string }).status === 'COMPLETED').length === 3,
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    for (const run of runs) {
      expect(
        feed.results
          .map((r) => r.runsFeed)
          .filter((r) => r.id === run)
          .map((r) => r.status),
      ).toEqual(['QUEUED', 'RUNNING', 'COMPLETED']);
      expect(
        perWorkflow.results
          .map((r) => r.workflowRunsUpdated)
          .filter((r) => r.id === run)
          .map((r) => r.status),
      ).toEqual(['QUEUED', 'RUNNING', 'COMPLETED']);
    }
    const done = onlyDone.results.map((r) => r.runsFeed);
    expect(done[0]).toEqual({ id: first, status: 'COMPLETED' });
    expect(
      done
        .slice(1)
        .map((r) => r.id)
        .sort(),
    ).toEqual([...runs].sort());
    expect(done.every((r) => r.status === 'COMPLETED')).toBe(true);
  });

  it('runFeed: a snapshot, SNAPSHOT_END, transitions with their seq, and a deletion notice', async () => {
    const wf = await createWorkflow(t, instant());
    const old = await startRun(t, wf);
    await waitForRun(t, old);
    const sub = subscribe(wsClient(), FEED, { filter: { workflowIds: [wf] }, snapshot: 10 });
    await until('the snapshot', 10_000, async () => sub.results.some((r) => r.runFeed.kind === 'SNAPSHOT_END'));
    expect(sub.results.map((r) => r.runFeed.kind)).toEqual(['SNAPSHOT', 'SNAPSHOT_END']);
    expect(sub.results[0]!.runFeed).toMatchObject({
      runId: old,
      status: 'COMPLETED',
      run: { id: old, status: 'COMPLETED' },
    });
    const run = await startRun(t, wf);
    await waitForRun(t, run);
    const deleted = await t.gql(
      graphql(`
        mutation LiveDeleteRun($input: RunIdInput!) {
          deleteRun(input: $input) {
            __typename
          }
        }
      `),
      { input: { runId: old } },
    );
    expect(deleted.errors).toBeUndefined();
    await until('the deletion notice', 10_000, async () => sub.results.some((r) => r.runFeed.kind === 'DELETED'));
    const messages = sub.results.map((r) => r.runFeed).slice(2);
    const log = await stored(run);
    expect(messages).toEqual([
      {
        kind: 'TRANSITION',
        runId: run,
        status: 'QUEUED',
        seq: log.find((e) => e.type === 'RUN_QUEUED')!.seq,
        run: { id: run, status: 'QUEUED' },
      },
      {
        kind: 'TRANSITION',
        runId: run,
        status: 'RUNNING',
        seq: log.find((e) => e.type === 'RUN_STARTED')!.seq,
        run: { id: run, status: 'RUNNING' },
      },
      {
        kind: 'TRANSITION',
        runId: run,
        status: 'COMPLETED',
        seq: log.find((e) => e.type === 'RUN_COMPLETED')!.seq,
        run: { id: run, status: 'COMPLETED' },
      },
      { kind: 'DELETED', runId: old, status: 'COMPLETED', seq: null, run: null },
    ]);
  });

  it('refuses a snapshot over 200 with VALIDATION_FAILED', async () => {
    const error: SubscriptionError = await subscribe(wsClient(), FEED, { snapshot: 201 }).done.catch((e) => e);
    expect(error.errors[0]!.extensions.code).toBe('VALIDATION_FAILED');
  });
});
