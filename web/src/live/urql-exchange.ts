// urql's subscriptions (runUpdated, runsFeed, workflowRunsUpdated) go over the same graphql-ws
// connection as watchRun. graphql-ws resubscribes them after a reconnect; each of them starts by
// sending current state (runUpdated) or is a feed, so nothing needs a cursor.
import { subscriptionExchange, type Exchange } from '@urql/core';
import type { Live } from './connection.ts';

export function liveExchange(live: Live): Exchange {
  return subscriptionExchange({
    forwardSubscription: (request) => ({
      subscribe: (sink) => ({ unsubscribe: live.client.subscribe({ ...request, query: request.query ?? '' }, sink) }),
    }),
  });
}
