// watchRun: a run's event log, replayed and then live, resumed without gap or duplicate across
// reconnects. The server's runEvents(runId, after) replays every stored event after `after`
// and then streams new ones; here we remember the last seq delivered, resubscribe from it when
// the socket comes back, and drop anything at or below it. Events are handed over in batches
// (a run replaying 50,000 events must not cost 50,000 renders).
//
// The @weft/client package will provide watchRun(runId, { after }) with the same contract; the
// monitor only uses this function, so switching is local to this file.
import type { Client } from 'graphql-ws';
import { stringifyDocument } from '@urql/core';
import { graphql } from '../gql/gql.ts';
import type { RunEventsSubscription } from '../gql/graphql.ts';

export const RunEventsDocument = graphql(`
  subscription RunEvents($runId: ID!, $after: String) {
    runEvents(runId: $runId, after: $after) {
      id
      seq
      type
      stepId
      iteration
      data
      createdAt
    }
  }
`);

export type RunEvent = RunEventsSubscription['runEvents'];

export interface WatchRunHandlers {
  /** New events, in seq order, each seq exactly once. */
  onEvents(events: RunEvent[]): void;
  /** The stream ended: the run reached a terminal event (RUN_COMPLETED, RUN_FAILED, RUN_CANCELLED). */
  onComplete(): void;
  /** The server refused the subscription (not found, forbidden…) or the connection was refused. */
  onError(error: unknown): void;
}

const BATCH_MS = 50;

/** Streams the events of `runId` after seq `after` (0: from the start). Returns a function that stops watching. */
export function watchRun(client: Client, runId: string, options: { after?: number }, handlers: WatchRunHandlers): () => void {
  let last = options.after ?? 0;
  let batch: RunEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let unsubscribe = () => {};

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!batch.length || stopped) return;
    const events = batch;
    batch = [];
    handlers.onEvents(events);
  };

  const subscribe = () => {
    // graphql-ws re-sends this very payload object when it reconnects, so keeping `after`
    // current makes its automatic resubscription resume from the last event we have.
    const variables: { runId: string; after: string | null } = { runId, after: last > 0 ? String(last) : null };
    unsubscribe = client.subscribe<RunEventsSubscription>(
      { query: stringifyDocument(RunEventsDocument), variables },
      {
        next(result) {
          if (result.errors?.length) return fail(result.errors);
          const event = result.data?.runEvents;
          if (!event || event.seq <= last) return; // already delivered before a reconnect
          if (event.seq !== last + 1) console.error(`watchRun: event ${event.seq} after ${last}: the server promised no gaps`);
          last = event.seq;
          variables.after = String(last);
          batch.push(event);
          timer ??= setTimeout(flush, BATCH_MS);
        },
        error: fail,
        complete() {
          flush();
          if (!stopped) handlers.onComplete();
        },
      },
    );
  };

  function fail(error: unknown) {
    flush();
    if (stopped) return;
    // The server ends a subscriber that falls far behind; it says where to pick up again.
    if (Array.isArray(error) && error[0]?.extensions?.code === 'SLOW_CONSUMER') return subscribe();
    handlers.onError(error);
  }

  subscribe();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    unsubscribe();
  };
}
