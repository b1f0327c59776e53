// urql's subscriptions (runUpdated, runsFeed, workflowRunsUpdated) go over connection.ts's
// graphql-ws connection (a run's event log is @weft/client's watchRun, on its own socket).
// graphql-ws resubscribes them after a reconnect; each of them starts by sending current state
// (runUpdated) or is a feed, so nothing needs a cursor.
import { subscriptionExchange, type Exchange } from '@urql/core';
import type { Live } from './connection.ts';

export function liveExchange(live: Live): Exchange {
  return subscriptionExchange({
    forwardSubscription: (request) => ({
      subscribe: (sink) => ({ unsubscribe: live.client.subscribe({ ...request, query: request.query ?? '' }, sink) }),
    }),
  });
}
