// createClient: queries and mutations over plain fetch, subscriptions over one lazy graphql-ws
// connection. Every failure becomes a WeftError (see errors.ts); a response either is the data
// you asked for, with the typed-error members of result unions taken out of its type, or throws.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { coerceError, fromGraphQLError, typedErrorOf, WeftError } from './errors.ts';
import {
  watchRun,
  watchRuns,
  type RetryOptions,
  type RunEvent,
  type RunSummary,
  type WatchRunOptions,
  type WatchRunsOptions,
} from './watch.ts';

export interface ClientOptions {
  /** Weft's address: `http://localhost:4000` or its GraphQL endpoint `http://localhost:4000/graphql`. */
  url: string;
  /** An API key (`weft_live_…`). */
  apiKey?: string;
  /** Or a JWT from your identity provider. */
  token?: string;
  /** The workspace to act in (X-Workspace-Id); default: the credential's default workspace. */
  workspaceId?: string;
  /** fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
  /** WebSocket implementation for subscriptions (default: the global WebSocket of Node ≥ 22 and browsers; or pass `ws`). */
  webSocketImpl?: unknown;
  /** Per-request timeout for queries and mutations, in ms (default 30 000). */
  timeoutMs?: number;
  /** Reconnection policy of watchRun/watchRuns (bounded exponential backoff with jitter). */
  retry?: RetryOptions;
}

/**
 * A typed error that a result union may return instead of its payload, as codegen types the
 * `... on Error { code message }` selection (the members are told apart by their fields).
 */
type ErrorMember = { code: string; message: string };

/**
 * The data of a response once typed errors have been thrown: each top-level field without the
 * error members of its union (they become a WeftError instead).
 */
export type Data<T> = T extends object ? { [K in keyof T]: Exclude<T[K], ErrorMember> } : T;

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface WeftClient {
  /** The GraphQL endpoint (http…/graphql). */
  readonly url: string;
  /**
   * Sends a query or mutation. Resolves with `data`; throws a WeftError for any GraphQL error
   * (code = `extensions.code`), for a typed error returned by a top-level field (code = its
   * `code`, with `problems` for validation errors), and for transport failures.
   */
  request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables?: NoInfer<TVariables>,
    options?: RequestOptions,
  ): Promise<Data<TResult>>;
  // biome-ignore lint/suspicious/noExplicitAny: an untyped document's result is the caller's to type (as graphql-request does).
  request<TResult = any>(
    document: string | DocumentNode,
    variables?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<TResult>;
  /** A run's events, in seq order, each exactly once, across reconnects; ends after the terminal event. */
  watchRun(runId: string, options?: WatchRunOptions): AsyncGenerator<RunEvent, void, undefined>;
  /** Every run of the workspace each time one changes (no cursor: changes during a disconnect are not replayed). */
  watchRuns(options?: WatchRunsOptions): AsyncGenerator<RunSummary, void, undefined>;
  /** Closes the WebSocket (if one was opened). */
  close(): Promise<void>;
}

export function graphqlEndpoint(url: string): string {
  const parsed = new URL(url);
  if (!/\/graphql\/?$/.test(parsed.pathname)) parsed.pathname = parsed.pathname.replace(/\/?$/, '/graphql');
  return parsed.toString();
}

export function createClient(options: ClientOptions): WeftClient {
  const url = graphqlEndpoint(options.url);
  const credential = options.apiKey ?? options.token;
  const authHeaders: Record<string, string> = {
    ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    ...(options.workspaceId ? { 'x-workspace-id': options.workspaceId } : {}),
  };
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  // Subscriptions share one WebSocket, opened on the first one and closed when none is left.
  // graphql-ws' own retrying is off: watch.ts reconnects itself, because only it knows the
  // cursor to resume from and which failures are worth retrying.
  let ws: WsClient | null = null;
  let connections = 0;
  const socket = (): { client: WsClient; connections: () => number } => {
    const webSocketImpl = options.webSocketImpl ?? globalThis.WebSocket;
    // Not worth retrying: say it once instead of failing every reconnection attempt.
    if (!webSocketImpl)
      throw new WeftError(
        'NO_WEBSOCKET',
        'No WebSocket implementation: use Node ≥ 22 (global WebSocket) or pass createClient({ webSocketImpl }) (e.g. the ws package)',
      );
    ws ??= createWsClient({
      url: url.replace(/^http/, 'ws'),
      connectionParams: authHeaders,
      webSocketImpl,
      lazy: true,
      lazyCloseTimeout: 1_000,
      keepAlive: 10_000,
      retryAttempts: 0,
      on: { connected: () => void connections++ },
    });
    return { client: ws, connections: () => connections };
  };

  async function request(
    document: string | DocumentNode,
    variables?: Record<string, unknown>,
    requestOptions: RequestOptions = {},
    // biome-ignore lint/suspicious/noExplicitAny: implements both overloads above.
  ): Promise<any> {
    const query = typeof document === 'string' ? document : print(document);
    const signal = requestOptions.signal
      ? AbortSignal.any([requestOptions.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...authHeaders,
          ...requestOptions.headers,
        },
        body: JSON.stringify({ query, variables: variables ?? {} }),
        signal,
      });
    } catch (error) {
      const cause = coerceError(error);
      throw new WeftError(
        'NETWORK_ERROR',
        `Cannot reach Weft at ${url}: ${(cause as { cause?: { message?: string } }).cause?.message ?? cause.message}`,
        { cause: error },
      );
    }
    const text = await response.text();
    let body: { data?: Record<string, unknown> | null; errors?: unknown[] };
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new WeftError(
        'BAD_RESPONSE',
        `Weft at ${url} answered HTTP ${response.status} with a body that is not JSON`,
        { status: response.status, cause: error },
      );
    }
    if (Array.isArray(body.errors) && body.errors.length)
      throw fromGraphQLError(body.errors[0] as object, response.status);
    if (!body.data || typeof body.data !== 'object')
      throw new WeftError('BAD_RESPONSE', `Weft at ${url} answered HTTP ${response.status} without data`, {
        status: response.status,
      });
    for (const value of Object.values(body.data)) {
      const typed = typedErrorOf(value);
      if (typed) throw typed;
    }
    return body.data;
  }

  const client: WeftClient = {
    url,
    request: request as WeftClient['request'],
    watchRun: (runId, watchOptions = {}) => watchRun({ socket, request, retry: options.retry }, runId, watchOptions),
    watchRuns: (watchOptions = {}) => watchRuns({ socket, request, retry: options.retry }, watchOptions),
    async close() {
      const current = ws;
      ws = null;
      await current?.dispose();
    },
  };
  return client;
}
