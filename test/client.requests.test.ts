// @weft/client against a real Weft on a loopback port: typed requests, every failure as a
// WeftError with the server's code (GraphQL errors and typed result-union errors alike),
// watchRun/watchRuns over graphql-ws (global WebSocket), and refusals that retrying cannot fix.
import { backoffMs, createClient, WeftError, type RunEvent, type WeftClient } from '@weft/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, gid, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';
import { graphql } from './generated/gql.ts';

let t: TestApp & { base: string };
const clients: WeftClient[] = [];

beforeAll(async () => {
  t = await startServedTestApp({ WEFT_ENGINE_POLL_MS: '50' });
});
afterEach(async () => {
  while (clients.length) await clients.pop()!.close();
});
afterAll(async () => {
  await t?.close();
});

function client(options: { apiKey?: string; url?: string } = {}): WeftClient {
  const c = createClient({
    url: options.url ?? t.base,
    apiKey: options.apiKey ?? t.apiKey,
    retry: { maxAttempts: 3, minDelayMs: 20, maxDelayMs: 100 },
  });
  clients.push(c);
  return c;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<WeftError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected a WeftError, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(WeftError);
  return outcome.error as WeftError;
}

/** Every event a watch yields, bounded in time. */
async function drain<T>(iterator: AsyncIterable<T>, timeoutMs = 20_000): Promise<T[]> {
  const items: T[] = [];
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`watch did not end within ${timeoutMs} ms (${items.length} items)`)),
      timeoutMs,
    ).unref(),
  );
  await Promise.race([
    (async () => {
      for await (const item of iterator) items.push(item);
    })(),
    timeout,
  ]);
  return items;
}

const Viewer = graphql(`
  query ClientTestViewer {
    viewer {
      kind
      role
      workspace {
        id
      }
    }
  }
`);

const RunWorkflow = graphql(`
  mutation ClientTestRunWorkflow($input: RunWorkflowInput!) {
    runWorkflow(input: $input) {
      ... on RunPayload {
        run {
          id
          status
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`);

const CreateWorkflow = graphql(`
  mutation ClientTestCreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) {
      ... on CreateWorkflowPayload {
        workflow {
          id
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

const StoredEvents = graphql(`
  query ClientTestStoredEvents($id: ID!) {
    run(id: $id) {
      status
      events(first: 200) {
        totalCount
        edges {
          node {
            seq
            type
          }
        }
      }
    }
  }
`);

describe('request', () => {
  it('returns typed data for a valid key', async () => {
    const data = await client().request(Viewer, {});
    expect(data.viewer.kind).toBe('API_KEY');
    expect(data.viewer.role).toBe('ADMIN');
    expect(data.viewer.workspace?.id).toBe(gid('Workspace', t.workspaceId));
  });

  it('accepts the GraphQL endpoint as well as the server address', async () => {
    const data = await client({ url: `${t.base}/graphql` }).request('{ viewer { kind } }');
    expect(data).toEqual({ viewer: { kind: 'API_KEY' } });
  });

  it('throws UNAUTHENTICATED for an unknown key', async () => {
    const error = await rejection(client({ apiKey: `weft_live_${'x'.repeat(43)}` }).request(Viewer, {}));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.status).toBe(401);
  });

  it('throws a typed NOT_FOUND returned as data by a result union', async () => {
    const error = await rejection(
      client().request(RunWorkflow, { input: { workflowId: gid('Workflow', '00000000-0000-4000-8000-000000000000') } }),
    );
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toMatch(/Workflow/);
  });

  it('throws NOT_FOUND raised as a GraphQL error, with its path', async () => {
    const error = await rejection(
      client().request('query($id: ID!) { workflow(id: $id) { id } }', {
        id: gid('Workflow', '00000000-0000-4000-8000-000000000000'),
      }),
    );
    expect(error.code).toBe('NOT_FOUND');
    expect(error.path).toEqual(['workflow']);
  });

  it('throws VALIDATION_FAILED with every problem and its path', async () => {
    const error = await rejection(
      client().request(CreateWorkflow, { input: { name: '', definition: { steps: [{ id: 'a', type: 'nope' }] } } }),
    );
    expect(error.code).toBe('VALIDATION_FAILED');
    const paths = (error.problems ?? []).map((p) => p.path.join('.'));
    expect(paths).toContain('input.name');
    expect(paths.some((p) => p.startsWith('input.definition.steps.0'))).toBe(true);
  });

  it('throws BAD_USER_INPUT for a variable of the wrong type', async () => {
    const error = await rejection(client().request('query($n: Int) { runs(first: $n) { totalCount } }', { n: 'many' }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.status).toBe(400);
  });

  it('throws NETWORK_ERROR when nothing listens', async () => {
    const error = await rejection(client({ url: 'http://127.0.0.1:9' }).request(Viewer, {}));
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toContain('127.0.0.1:9');
  });
});

describe('watchRun', () => {
  it('yields every event of a run once, in order, and ends on the terminal event', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [
        { id: 'a', type: 'condition', config: { expression: 'true' } },
        { id: 'w', type: 'wait', dependsOn: ['a'], config: { seconds: 0.3 } },
        { id: 'b', type: 'condition', dependsOn: ['w'], config: { expression: 'true' } },
      ],
    });
    const runId = await startRun(t, workflowId);
    const events = await drain(client().watchRun(runId));
    const stored = await client().request(StoredEvents, { id: runId });
    expect(stored.run?.status).toBe('COMPLETED');
    const log = stored.run!.events.edges.map((e) => e.node.seq);
    expect(events.map((e) => e.seq)).toEqual(log);
    expect(log).toEqual(Array.from({ length: stored.run!.events.totalCount }, (_, i) => i + 1));
    expect(events.at(-1)?.type).toBe('RUN_COMPLETED');
  });

  it('resumes after a given seq, and ends at once when the run finished before it', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }],
    });
    const runId = await startRun(t, workflowId);
    await waitForRun(t, runId);
    const all = await drain(client().watchRun(runId));
    const rest = await drain(client().watchRun(runId, { after: 2 }));
    expect(rest.map((e: RunEvent) => e.seq)).toEqual(all.slice(2).map((e) => e.seq));
    expect(await drain(client().watchRun(runId, { after: all.at(-1)!.seq }))).toEqual([]);
  });

  it('throws NOT_FOUND for an unknown run and UNAUTHENTICATED for a refused key, without retrying', async () => {
    const missing = await rejection(drain(client().watchRun(gid('Run', '00000000-0000-4000-8000-000000000000'))));
    expect(missing.code).toBe('NOT_FOUND');
    const workflowId = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }],
    });
    const runId = await startRun(t, workflowId);
    let retries = 0;
    const refused = await rejection(
      drain(client({ apiKey: `weft_live_${'y'.repeat(43)}` }).watchRun(runId, { onRetry: () => void retries++ })),
    );
    expect(refused.code).toBe('UNAUTHENTICATED');
    expect(retries).toBe(0);
  });

  it('gives up with NETWORK_ERROR after its bounded retries when the server is unreachable', async () => {
    const retries: number[] = [];
    const error = await rejection(
      drain(
        client({ url: 'http://127.0.0.1:9' }).watchRun(gid('Run', '00000000-0000-4000-8000-000000000000'), {
          onRetry: ({ attempt }) => void retries.push(attempt),
        }),
      ),
    );
    expect(error.code).toBe('NETWORK_ERROR');
    expect(retries).toEqual([1, 2, 3]);
  });

  it('backs off exponentially, capped, with ±50 % jitter', () => {
    for (let attempt = 1; attempt <= 30; attempt++) {
      const base = Math.min(5_000, 250 * 2 ** (attempt - 1));
      for (let i = 0; i < 20; i++) {
        const delay = backoffMs(attempt);
        expect(delay).toBeGreaterThanOrEqual(base * 0.5);
        expect(delay).toBeLessThan(base * 1.5);
      }
    }
    expect(backoffMs(3, { minDelayMs: 10, maxDelayMs: 20 })).toBeLessThan(30);
  });

  it('reports where the replay caught up (onCaughtUp) and yields typed payloads', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [
        { id: 'a', type: 'condition', config: { expression: 'true' } },
        { id: 'w', type: 'wait', dependsOn: ['a'], config: { seconds: 30 } },
      ],
    });
    const runId = await startRun(t, workflowId);
    await until(
      'the run to wait',
      10_000,
      async () => (await t.db.prisma.runEvent.count({ where: { type: 'STEP_WAITING', runId: rawId(runId) } })) === 1,
    );
    const markers: { seq: number; runStatus: string; yielded: number }[] = [];
    const seen: RunEvent[] = [];
    const done = drain(
      (async function* () {
        for await (const event of client().watchRun(runId, {
          onCaughtUp: (m) =>
            void (markers.push({ seq: m.seq, runStatus: m.runStatus, yielded: seen.length }),
            void t.gql(`mutation($input: RunIdInput!) { cancelRun(input: $input) { __typename } }`, {
              input: { runId },
            })),
        })) {
          seen.push(event);
          yield event;
        }
      })(),
    );
    const events = await done;
    expect(markers).toHaveLength(1);
    expect(markers[0]!.runStatus).toBe('RUNNING');
    // The marker comes right after the replayed events: everything up to STEP_WAITING.
    const waitingAt = events.findIndex((e) => e.type === 'STEP_WAITING');
    expect(markers[0]!.yielded).toBe(waitingAt + 1);
    expect(markers[0]!.seq).toBe(events[waitingAt]!.seq);
    expect(events.at(-1)?.type).toBe('RUN_CANCELLED');
    const completed = events.find((e) => e.type === 'STEP_COMPLETED')!;
    expect(completed.payload?.__typename).toBe('StepCompletedPayload');
    if (completed.payload?.__typename === 'StepCompletedPayload') expect(completed.payload.attempt).toBe(1);
    expect(events.at(-1)!.payload).toMatchObject({ __typename: 'RunFinishedPayload', status: 'CANCELLED' });
  });

  it('stops when its signal aborts', async () => {
    const workflowId = await createWorkflow(t, { steps: [{ id: 'w', type: 'wait', config: { seconds: 30 } }] });
    const runId = await startRun(t, workflowId);
    const controller = new AbortController();
    const seen: RunEvent[] = [];
    const done = drain(
      (async function* () {
        for await (const event of client().watchRun(runId, { signal: controller.signal })) {
          seen.push(event);
          if (event.type === 'STEP_WAITING') controller.abort();
          yield event;
        }
      })(),
    );
    expect((await done).at(-1)?.type).toBe('STEP_WAITING');
    await t.gql(`mutation($input: RunIdInput!) { cancelRun(input: $input) { __typename } }`, { input: { runId } });
  });
});

describe('watchRuns', () => {
  it('yields runs of the workspace as they change, until aborted', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }],
    });
    const controller = new AbortController();
    const seen: { id: string; status: string }[] = [];
    const watching = drain(
      (async function* () {
        for await (const run of client().watchRuns({ signal: controller.signal })) {
          seen.push({ id: run.id, status: run.status });
          yield run;
        }
      })(),
    );
    // The feed has no cursor: it carries changes from when it is subscribed. Warm-up runs until
    // one shows on it prove the subscription is live before the run this test follows starts.
    await until(
      'a first run on the feed',
      20_000,
      async () => seen.length > 0 || (await startRun(t, workflowId), false),
      200,
    );
    const runId = await startRun(t, workflowId);
    await until('the run COMPLETED on the feed', 20_000, async () =>
      seen.some((r) => r.id === runId && r.status === 'COMPLETED'),
    );
    controller.abort();
    await watching;
    expect(seen.filter((r) => r.id === runId).map((r) => r.status)).toEqual(['QUEUED', 'RUNNING', 'COMPLETED']);
  });

  it('starts with a snapshot of the newest matching runs when asked, and filters by workflow and status', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }],
    });
    const first = await startRun(t, workflowId);
    await waitForRun(t, first);
    const controller = new AbortController();
    const seen: { id: string; status: string }[] = [];
    const watching = drain(
      (async function* () {
        for await (const run of client().watchRuns({
          signal: controller.signal,
          snapshot: 5,
          filter: { workflowIds: [workflowId], status: ['COMPLETED'] },
        })) {
          seen.push({ id: run.id, status: run.status });
          yield run;
        }
      })(),
    );
    await until('the snapshot', 20_000, async () => seen.length > 0);
    expect(seen).toEqual([{ id: first, status: 'COMPLETED' }]);
    const second = await startRun(t, workflowId);
    await until('the second run COMPLETED on the feed', 20_000, async () => seen.some((r) => r.id === second));
    controller.abort();
    await watching;
    expect(seen).toEqual([
      { id: first, status: 'COMPLETED' },
      { id: second, status: 'COMPLETED' },
    ]);
  });
});
