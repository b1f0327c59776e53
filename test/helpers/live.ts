// Shared pieces of the live-API tests: a loopback server whose /gate requests wait until the
// test opens them (to hold a run mid-way), and graphql-ws clients that are disposed after each test.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './http-server.ts';

export interface GateServer {
  server: LoopbackServer;
  /** One opener per /gate request waiting. */
  gates: (() => void)[];
  openAll(): void;
}

/** Answers every request with `body` (JSON, 200); a request to /gate (any query) waits to be opened. */
export async function startGateServer(body: unknown = { ok: true }): Promise<GateServer> {
  const gates: (() => void)[] = [];
  const server = await startLoopbackServer(async (req, res) => {
    if (req.path.split('?')[0] === '/gate') await new Promise<void>((resolve) => gates.push(resolve));
    json(res, 200, body);
  });
  return {
    server,
    gates,
    openAll: () => {
      for (const open of gates.splice(0)) open();
    },
  };
}

/** graphql-ws clients of one server and API key, without retries; dispose() closes them all. */
export function wsClients(url: () => string, apiKey: () => string) {
  const clients: Client[] = [];
  return {
    open(): Client {
      const client = createClient({
        url: url().replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization: `Bearer ${apiKey()}` },
      });
      clients.push(client);
      return client;
    },
    async dispose() {
      while (clients.length) await clients.pop()!.dispose();
    },
  };
}

export interface LiveApp {
  t: TestApp;
  url: string;
  server: LoopbackServer;
  gates: (() => void)[];
  wsClient(): Client;
}

/**
 * Registers the hooks of a live-API test file: a gate server and a served test app (env) before
 * all tests, graphql-ws clients disposed after each, everything closed at the end. The returned
 * object is filled in by beforeAll.
 */
export function useLiveApp(env: Record<string, string>, body?: unknown): LiveApp {
  const live = {} as LiveApp;
  let gate: GateServer | undefined;
  const ws = wsClients(
    () => live.url,
    () => live.t.apiKey,
  );
  beforeAll(async () => {
    gate = await startGateServer(body);
    live.t = await startTestApp(env);
    Object.assign(live, {
      server: gate.server,
      gates: gate.gates,
      wsClient: ws.open,
      url: (await live.t.app.start(0, '127.0.0.1')).url,
    });
  });
  afterEach(async () => {
    gate?.openAll();
    await ws.dispose();
  });
  afterAll(async () => {
    gate?.openAll();
    await live.t?.close();
    await gate?.server.close();
  });
  return live;
}

/**
 * Subscribes and collects every result until completion (bounded); `results` fills as they come.
 * A typed graphql() document types the results; with a query string they are `unknown`.
 */
export function subscribe<T, V extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<T, V>,
  variables: V,
  timeoutMs?: number,
): { results: T[]; done: Promise<T[]> };
export function subscribe<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  timeoutMs?: number,
): { results: T[]; done: Promise<T[]> };
export function subscribe<T>(
  client: Client,
  document: TypedDocumentNode<T, Record<string, unknown>> | string,
  variables: Record<string, unknown>,
  timeoutMs = 15_000,
): { results: T[]; done: Promise<T[]> } {
  const query = typeof document === 'string' ? document : print(document);
  const results: T[] = [];
  const done = new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`subscription did not complete in ${timeoutMs} ms (${results.length} results)`)),
      timeoutMs,
    );
    client.subscribe(
      { query, variables },
      {
        next: (value) =>
          value.errors
            ? (clearTimeout(timer),
              reject(Object.assign(new Error(value.errors[0]!.message), { errors: value.errors })))
            : results.push(value.data as T),
        error: (error) => (clearTimeout(timer), reject(error)),
        complete: () => (clearTimeout(timer), resolve(results)),
      },
    );
  });
  return { results, done };
}

/** POSTs a subscription as GraphQL over SSE (text/event-stream); the response streams its events. */
export async function postSse(
  url: string,
  headers: Record<string, string>,
  document: string | DocumentNode,
  variables: Record<string, unknown>,
  timeoutMs = 15_000,
): Promise<Response> {
  const query = typeof document === 'string' ? document : print(document);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!/text\/event-stream/.test(res.headers.get('content-type') ?? ''))
    throw new Error(`not an event stream: ${res.status} ${res.headers.get('content-type')}`);
  return res;
}

/** The `data` payloads of an SSE body's `next` events, typed as the subscription's result `T`. */
export const sseData = <T>(text: string): T[] =>
  [...text.matchAll(/^data: (.+)$/gm)]
    .map((m) => JSON.parse(m[1]!) as { data?: T })
    .flatMap((d) => (d.data ? [d.data] : []));
