// The server on a real port: health endpoints, GraphiQL, request ids, body limit, and the two
// streaming transports (graphql-ws over WebSocket, GraphQL over SSE) on /graphql.
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let url: string;
beforeAll(async () => {
  t = await startTestApp({ WEFT_MAX_BODY_BYTES: '4096' });
  url = (await t.app.start(0, '127.0.0.1')).url;
});
afterAll(async () => {
  await t?.close();
});

const base = () => url.replace('/graphql', '');

describe('HTTP', () => {
  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${base()}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('serves the GraphQL playground to browsers at /graphql', async () => {
    const res = await fetch(url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/Weft GraphQL playground/);
  });

  it('echoes the request id, or makes one', async () => {
    const body = JSON.stringify({ query: '{ workflows { totalCount } }' });
    const given = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-123', ...t.authHeaders },
      body,
    });
    expect(given.headers.get('x-request-id')).toBe('req-123');
    const made = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...t.authHeaders },
      body,
    });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses bodies over WEFT_MAX_BODY_BYTES with 413', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ workflows { totalCount } } # ${'x'.repeat(5000)}` }),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('masks unexpected errors as INTERNAL_SERVER_ERROR without internals', async () => {
    // Renaming a table under the app makes the resolver fail with a database error.
    const other = await startTestApp();
    try {
      await other.db.withSession((s) => s.exec('ALTER TABLE "Workflow" RENAME TO "Workflow_gone"'));
      const res = await other.gql('{ workflows { totalCount } }');
      expect(res.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(res.errors?.[0]?.message).toBe('Unexpected error.');
      expect(JSON.stringify(res.errors)).not.toMatch(/stack|prisma|SELECT|Workflow_gone|relation/i);
    } finally {
      await other.close();
    }
  });
});

describe('streaming transports', () => {
  it('executes operations over graphql-ws', async () => {
    const client = createClient({
      url: url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: `Bearer ${t.apiKey}` },
    });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        let value: unknown;
        client.subscribe(
          { query: '{ workflows { totalCount } }' },
          { next: (v) => (value = v), error: reject, complete: () => resolve(value) },
        );
      });
      expect(result).toEqual({ data: { workflows: { totalCount: 0 } } });
    } finally {
      await client.dispose();
    }
  });

  it('executes operations over SSE (GraphQL over Server-Sent Events)', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...t.authHeaders },
      body: JSON.stringify({ query: '{ workflows { totalCount } }' }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    expect(text).toContain('event: next');
    expect(text).toContain('data: {"data":{"workflows":{"totalCount":0}}}');
    expect(text).toContain('event: complete');
  });
});
