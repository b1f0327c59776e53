// One urql client per signed-in session: queries and mutations over HTTP with the session's
// headers, subscriptions over the live connection, all normalised by graphcache so a Run that
// arrives by subscription updates every list and page showing it. A run's event log comes from
// @weft/client's watchRun instead (its own socket): the package owns the cursor, resuming
// without gap or duplicate, and the caught-up marker.
import { cacheExchange } from '@urql/exchange-graphcache';
import { Client, fetchExchange } from '@urql/core';
import { createClient as createWeftClient, type WeftClient } from '@weft/client';
import schema from '../gql/introspection.ts';
import { createLive, type Live } from '../live/connection.ts';
import { liveExchange } from '../live/urql-exchange.ts';
import { sessionHeaders, type Session } from '../session.ts';

export interface Api {
  urql: Client;
  live: Live;
  /** Typed client for what urql does not do: watchRun (a run's events, resumed from their cursor). */
  weft: WeftClient;
  dispose(): void;
}

// Types without an id are values inside their parent, not entities of their own.
const EMBEDDED = [
  'ReleaseLabel',
  'WorkflowDiff',
  'PageInfo',
  'Viewer',
  'WorkspaceMember',
  'RunStatusCount',
  'RunsSummary',
  'ConcurrencySetting',
  'PostRunCheck',
  'Problem',
  'DefinitionValidation',
  'RunPayload',
  'WorkflowPayload',
  'CreateWorkflowPayload',
  'SchedulePayload',
  'ValidationError',
  'NotFoundError',
  'ConflictError',
  'QueryRunsConnection',
  'QueryRunsConnectionEdge',
  'QueryWorkflowsConnection',
  'QueryWorkflowsConnectionEdge',
  'QueryTagsConnection',
  'QueryTagsConnectionEdge',
  'WorkflowVersionsConnection',
  'WorkflowVersionsConnectionEdge',
  'RunEventsConnection',
  'RunEventsConnectionEdge',
];

export function createApi(session: Session, origin = location.origin): Api {
  const headers = sessionHeaders(session);
  const live = createLive(`${origin.replace(/^http/, 'ws')}/graphql`, headers);
  const urql = new Client({
    url: `${origin}/graphql`,
    fetchOptions: { headers },
    // POST, not urql's default GET for short queries: Weft's CSRF protection refuses GETs
    // without its header, and POST bodies keep queries out of server logs and caches.
    preferGetMethod: false,
    // Data that changes arrives by subscription; a page opened again shows the cache at once and refreshes it.
    requestPolicy: 'cache-and-network',
    exchanges: [
      cacheExchange({ schema, keys: Object.fromEntries(EMBEDDED.map((type) => [type, () => null])) }),
      fetchExchange,
      liveExchange(live),
    ],
  });
  // The monitor never gives up on a run it shows (the header says when the connection is down).
  const weft = createWeftClient({
    url: origin,
    token: session.token,
    workspaceId: session.workspaceId ?? undefined,
    retry: { maxAttempts: Number.POSITIVE_INFINITY },
  });
  return {
    urql,
    live,
    weft,
    dispose: () => {
      live.dispose();
      void weft.close();
    },
  };
}
