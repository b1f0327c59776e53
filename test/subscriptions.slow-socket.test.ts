// A WebSocket client that stops reading is cut off (close 4413) instead of growing the server's
// memory — with the fan-out's batched writes (src/http/websocket.ts: a turn's messages leave in
// one write, and below 64 KB unsent a message counts as sent at once) as before them.
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SLOW_CONSUMER_CLOSE_CODE } from '../src/http/websocket.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { sumOf, parseMetrics } from './helpers/metrics.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

let t: TestApp | undefined;
afterAll(async () => {
  await t?.close();
});

it('closes a socket that stops reading with 4413 once more than WEFT_WS_MAX_BUFFERED_BYTES wait unsent', {
  timeout: 120_000,
}, async () => {
  t = await startTestApp({ WEFT_WS_MAX_BUFFERED_BYTES: '1024', WEFT_ENGINE_POLL_MS: '50' });
  const { url } = await t.app.start(0, '127.0.0.1');
  const app = t;
  const run = await startRun(
    app,
    await createWorkflow(app, { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] }),
  );
  await waitForRun(app, run);
  // A 24 MB log, far more than the loopback socket buffers hold: a reader that stops must leave it unsent.
  const runId = rawId(run);
  const base = (await app.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).lastEventSeq;
  await app.db.prisma.runEvent.updateMany({ where: { runId, type: 'RUN_COMPLETED' }, data: { type: 'STEP_LOG' } });
  const total = 3000;
  const line = 'x'.repeat(8000);
  for (let start = 0; start < total; start += 500)
    await app.db.prisma.runEvent.createMany({
      data: Array.from({ length: 500 }, (_, i) => ({
        workspaceId: app.workspaceId,
        runId,
        seq: base + start + i + 1,
        type: 'STEP_LOG',
        stepId: 'a',
        data: { lines: [line] },
      })),
    });
  await app.db.prisma.run.update({ where: { id: runId }, data: { lastEventSeq: base + total } });

  const closes = async () =>
    sumOf(parseMetrics((await app.app.metrics.text()).body), 'weft_websocket_slow_consumer_closes_total');
  const before = await closes();
  const socket = new WebSocket(url.replace('http', 'ws'), 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.on('error', () => undefined); // the server drops the connection after its close frame: expected
  let received = 0;
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string };
    if (message.type === 'connection_ack') {
      socket.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: { query: 'subscription($id: ID!) { runEvents(runId: $id) { seq data } }', variables: { id: run } },
        }),
      );
    }
    if (message.type === 'next' && ++received === 1) socket.pause(); // stop reading after the first event
  });
  await new Promise<void>((resolve) => socket.on('open', () => resolve()));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${app.apiKey}` } }));

  try {
    await until(
      () => `the server to close the slow socket (${received} events received)`,
      60_000,
      async () => (await closes()) > before,
      100,
    );
    socket.resume();
    expect(await closed).toBe(SLOW_CONSUMER_CLOSE_CODE);
    expect(received).toBeLessThan(total);
  } finally {
    socket.terminate();
  }
});
