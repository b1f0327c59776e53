// watchRun / watchRuns: subscriptions as async iterators that survive dropped connections and
// server restarts.
//
// watchRun's contract is "every event of the run, in seq order, exactly once": the server's
// runEventStream(runId, after) replays the stored events after `after` and then streams live ones
// with no gap and no duplicate. We remember the last seq we yielded and, whenever the stream
// breaks (socket closed, server restarting, SLOW_CONSUMER), subscribe again with
// `after: <last seq>`. Anything at or below it is dropped (a duplicate), and an event that is
// not last + 1 (a gap, which the server promises never to send) makes us resubscribe from the
// last seq rather than skip. The iterator ends after the terminal event (RUN_COMPLETED,
// RUN_FAILED, RUN_CANCELLED). The server marks where its replay caught up (RunEventsCaughtUp);
// we pass that on through onCaughtUp, so a view can tell "loading the history" from "live".
//
// Retrying is bounded: consecutive failed attempts (no connection acknowledged since the last
// one) wait min(maxDelayMs, minDelayMs · 2^n) · [0.5, 1.5) — the jitter keeps many clients
// from reconnecting to a restarted server at the same instant — and after maxAttempts the
// iterator throws WeftError NETWORK_ERROR. Refusals that retrying cannot fix (bad credentials,
// NOT_FOUND, FORBIDDEN, invalid arguments) throw a WeftError at once.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { Client as WsClient } from 'graphql-ws';
import { print } from 'graphql';
import { coerceError, fromGraphQLError, WeftError } from './errors.ts';
import type { WeftClientRunEventsSubscription, WeftClientRunsFeedSubscription } from './gql/graphql.ts';
import { RunEventsDocument, RunsFeedDocument, RunStatusDocument } from './operations.ts';

type StreamItem = WeftClientRunEventsSubscription['runEventStream'];
export type RunEvent = Extract<StreamItem, { __typename: 'RunEvent' }>;
/** Where the replay of stored events ended and live events began (see WatchRunOptions.onCaughtUp). */
export type CaughtUp = Extract<StreamItem, { __typename: 'RunEventsCaughtUp' }>;
export type RunSummary = WeftClientRunsFeedSubscription['runsFeed'];

export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['RUN_COMPLETED', 'RUN_FAILED', 'RUN_CANCELLED']);
const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

export interface RetryOptions {
  /** Consecutive failed attempts before giving up (default 20). */
  maxAttempts?: number;
  /** First delay (default 250 ms), doubled per failed attempt… */
  minDelayMs?: number;
  /** …up to this (default 5 000 ms); each delay is multiplied by a random factor in [0.5, 1.5). */
  maxDelayMs?: number;
}

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  error: Error;
}

export interface WatchRunOptions {
  /** Start after this seq (0 or absent: from the run's first event). */
  after?: number;
  /** Aborting ends the iteration (no error is thrown). */
  signal?: AbortSignal;
  /** Called before each reconnection attempt (e.g. to show "reconnecting…"). */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Called each time the server has replayed every stored event after the cursor and the
   * events that follow are live (after each reconnection too) — e.g. to switch a view from
   * "loading" to "live". Not called for a run that finished before the replay ended.
   */
  onCaughtUp?: (marker: CaughtUp) => void;
}

export interface WatchRunsOptions extends Omit<WatchRunOptions, 'after' | 'onCaughtUp'> {
  /**
   * On every (re)subscription, first yield up to this many of the newest matching runs as they
   * are (0–200; default 0): after a reconnection they bring back what changed meanwhile.
   */
  snapshot?: number;
  /** Only some runs: statuses, workflows (global IDs), previews (default included). */
  filter?: { status?: RunSummary['status'][]; workflowIds?: string[]; includePreviews?: boolean };
}

export interface WatchContext {
  socket: () => { client: WsClient; connections: () => number };
  request: <TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables?: TVariables,
  ) => Promise<TResult>;
  retry?: RetryOptions | undefined;
}

/** Backoff before attempt `attempt` (1-based): exponential, capped, with ±50 % jitter. */
export function backoffMs(attempt: number, retry: RetryOptions = {}): number {
  const { minDelayMs = 250, maxDelayMs = 5_000 } = retry;
  return Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random());
}

type Failure = { kind: 'fatal'; error: WeftError } | { kind: 'retry'; error: Error } | { kind: 'now'; error: Error };

// Close codes after which reconnecting cannot help: 4400 bad request, 4401/4403 refused
// credentials (Weft closes with 4403), 4406 unsupported subprotocol.
const REFUSED_CLOSE: Record<number, string> = {
  4400: 'BAD_REQUEST',
  4401: 'UNAUTHENTICATED',
  4403: 'UNAUTHENTICATED',
  4406: 'BAD_REQUEST',
};
// GraphQL error codes worth another attempt; SLOW_CONSUMER at once (we resume from our cursor).
const RETRYABLE_CODES = new Set(['INTERNAL_SERVER_ERROR', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

function classify(error: unknown): Failure {
  if (Array.isArray(error)) {
    const weft = fromGraphQLError((error[0] ?? {}) as object);
    if (weft.code === 'SLOW_CONSUMER') return { kind: 'now', error: weft };
    if (RETRYABLE_CODES.has(weft.code)) return { kind: 'retry', error: weft };
    return { kind: 'fatal', error: weft };
  }
  const code = error && typeof error === 'object' && 'code' in error ? (error as { code: unknown }).code : undefined;
  if (typeof code === 'number') {
    if (REFUSED_CLOSE[code]) {
      const reason = String((error as { reason?: unknown }).reason || '');
      const message =
        REFUSED_CLOSE[code] === 'UNAUTHENTICATED'
          ? `The server refused the credential (WebSocket closed with ${code}${reason ? `: ${reason}` : ''})`
          : `The server refused the connection (${code}${reason ? `: ${reason}` : ''})`;
      return { kind: 'fatal', error: new WeftError(REFUSED_CLOSE[code]!, message, { cause: error }) };
    }
    if (code === 4413) return { kind: 'now', error: coerceError(error) };
  }
  return { kind: 'retry', error: coerceError(error) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Drives reconnection for one watch: `attempt()` runs one subscription and returns 'done' (end
 * the iteration), 'again' (resubscribe at once) or throws what broke it. Yields what attempt yields.
 */
async function* withRetries<T>(
  ctx: WatchContext,
  options: WatchRunsOptions,
  attempt: (ws: WsClient) => AsyncGenerator<T, 'done' | 'again', undefined>,
): AsyncGenerator<T, void, undefined> {
  const maxAttempts = ctx.retry?.maxAttempts ?? 20;
  let failures = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    const { client, connections } = ctx.socket();
    const connectedBefore = connections();
    let failure: Failure;
    try {
      const outcome = yield* attempt(client);
      if (outcome === 'done') return;
      failure = { kind: 'now', error: new Error('resubscribing') };
    } catch (error) {
      failure = classify(error);
    }
    if (options.signal?.aborted) return;
    if (failure.kind === 'fatal') throw failure.error;
    // A connection that was acknowledged since the last failure resets the count: the budget
    // is for consecutive attempts that get nowhere, not for a long watch with a few blips.
    if (connections() > connectedBefore) failures = 0;
    failures++;
    if (failures > maxAttempts) {
      throw new WeftError(
        'NETWORK_ERROR',
        `Lost the connection to Weft and could not resume after ${maxAttempts} attempts: ${failure.error.message}`,
        { cause: failure.error },
      );
    }
    const delayMs = failure.kind === 'now' && failures === 1 ? 0 : backoffMs(failures, ctx.retry);
    options.onRetry?.({ attempt: failures, delayMs, error: failure.error });
    await sleep(delayMs, options.signal);
  }
}

/** One subscription as an iterator that stops when `signal` aborts. */
function subscribe<T>(client: WsClient, query: string, variables: Record<string, unknown>, signal?: AbortSignal) {
  const iterator = client.iterate<T>({ query, variables });
  const stop = () => void iterator.return?.();
  signal?.addEventListener('abort', stop, { once: true });
  return { iterator, release: () => signal?.removeEventListener('abort', stop) };
}

export function watchRun(
  ctx: WatchContext,
  runId: string,
  options: WatchRunOptions = {},
): AsyncGenerator<RunEvent, void, undefined> {
  let last = options.after ?? 0;
  const query = print(RunEventsDocument);

  async function* attempt(client: WsClient): AsyncGenerator<RunEvent, 'done' | 'again', undefined> {
    const { iterator, release } = subscribe<WeftClientRunEventsSubscription>(
      client,
      query,
      { runId, after: last > 0 ? String(last) : null },
      options.signal,
    );
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw result.errors;
        const event = result.data?.runEventStream;
        if (event?.__typename === 'RunEventsCaughtUp') {
          // The marker's seq is the last event the server read; it is never past what we hold.
          if (event.seq <= last) options.onCaughtUp?.(event);
          continue;
        }
        if (!event || event.seq <= last) continue; // already delivered before a reconnect
        if (event.seq !== last + 1) return 'again'; // a gap: resubscribe from what we have (return() ends this subscription)
        last = event.seq;
        yield event;
        if (TERMINAL_EVENT_TYPES.has(event.type)) return 'done';
      }
    } finally {
      release();
    }
    if (options.signal?.aborted) return 'done';
    // The server completed the stream without a terminal event past our cursor: either the
    // run had already finished before `after` (done), or the server is shutting down (retry).
    const data = await ctx.request(RunStatusDocument, { id: runId }).catch((error: unknown) => {
      if (error instanceof WeftError && error.code !== 'NETWORK_ERROR' && error.code !== 'BAD_RESPONSE') throw error;
      throw coerceError(error);
    });
    if (data.run && TERMINAL_STATUSES.has(data.run.status)) return 'done';
    throw new Error('the event stream ended before the run finished');
  }

  return withRetries(ctx, options, attempt);
}

/**
 * Every run of the workspace once per transition (queued, started, paused, resumed, finished),
 * with the status it reached. The feed has no cursor: transitions that happen while the
 * connection is down are not replayed; `snapshot` re-sends the newest runs as they are on every
 * resubscription instead. Ends only when `signal` aborts, or throws.
 */
export function watchRuns(
  ctx: WatchContext,
  options: WatchRunsOptions = {},
): AsyncGenerator<RunSummary, void, undefined> {
  const query = print(RunsFeedDocument);
  async function* attempt(client: WsClient): AsyncGenerator<RunSummary, 'done' | 'again', undefined> {
    const { iterator, release } = subscribe<WeftClientRunsFeedSubscription>(
      client,
      query,
      { snapshot: options.snapshot ?? 0, filter: options.filter ?? null },
      options.signal,
    );
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw result.errors;
        if (result.data?.runsFeed) yield result.data.runsFeed;
      }
    } finally {
      release();
    }
    if (options.signal?.aborted) return 'done';
    throw new Error('the runs feed ended');
  }
  return withRetries(ctx, options, attempt);
}
