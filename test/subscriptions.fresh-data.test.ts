// A subscription's context lives as long as the subscription, and so would the batching loaders
// kept in it: every pushed value must be resolved from the database as it is then, not from what
// a loader cached for an earlier push. Found from the monitor, where a loop's progress went back
// from 6/6 to 3/6 when a later runUpdated push carried the iterations cached by an earlier one.
import type { ResultOf } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, startRun, waitForRun } from './helpers/runs.ts';

const RunUpdated = graphql(
  `subscription FreshDataRunUpdated($id: ID!) { runUpdated(runId: $id) { status stepRuns { stepId status iterations { status } } } }`,
);

let t: TestApp;
let url: string;
let upstream: LoopbackServer;

beforeAll(async () => {
  // Each iteration takes a moment, so the run changes between pushes.
  upstream = await startLoopbackServer(async (_req, res) => {
    await new Promise((r) => setTimeout(r, 30));
    json(res, 200, { ok: true });
  });
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  url = (await t.app.start(0, '127.0.0.1')).url;
});
afterAll(async () => {
  await t?.close();
  await upstream?.close();
});

it('resolves every runUpdated push afresh: the last one shows every loop iteration finished', {
  timeout: 60_000,
}, async () => {
  const workflowId = await createWorkflow(t, {
    steps: [
      {
        id: 'each',
        type: 'loop',
        config: {
          items: '[1, 2, 3, 4, 5, 6]',
          concurrency: 1,
          step: { type: 'http_request', config: { url: `${upstream.url}/items/{{ item }}` } },
        },
      },
    ],
  });
  const runId = await startRun(t, workflowId);
  const client = createClient({
    url: url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${t.apiKey}` },
  });
  // Finished iterations of the loop step; 0 before the step has a row (a QUEUED run has none).
  const pushes: { status: string; done: number }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      client.subscribe<ResultOf<typeof RunUpdated>>(
        { query: print(RunUpdated), variables: { id: runId } },
        {
          next: (value) => {
            if (value.errors || !value.data) return reject(new Error(JSON.stringify(value.errors)));
            const run = value.data.runUpdated;
            const loop = run.stepRuns.find((s) => s.stepId === 'each');
            pushes.push({
              status: run.status,
              done: loop ? loop.iterations.filter((i) => i.status === 'COMPLETED').length : 0,
            });
          },
          error: reject,
          complete: resolve,
        },
      );
    });
  } finally {
    await client.dispose();
  }
  expect((await waitForRun(t, runId)).status).toBe('COMPLETED');
  expect(pushes.length).toBeGreaterThan(2);
  expect(pushes.at(-1)).toEqual({ status: 'COMPLETED', done: 6 });
  // Never backwards: each push shows at least as many finished iterations as the one before.
  for (let i = 1; i < pushes.length; i++)
    expect(pushes[i]!.done, `push ${i}`).toBeGreaterThanOrEqual(pushes[i - 1]!.done);
});
