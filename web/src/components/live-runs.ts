// Runs matching a filter, kept current by the runsFeed subscription: runs already listed are
// updated by the normalised cache, new matching runs are added at the top, and the list is
// loaded again after the connection comes back. No polling.
import { useMemo } from 'react';
import { useQuery, useSubscription } from 'urql';
import { useSession } from '../app/session-context.tsx';
import { graphql } from '../gql/gql.ts';
import { useReconnected } from '../live/use-reconnected.ts';
import type { RunRowFragment, RunStatus } from '../gql/graphql.ts';

const RunsDocument = graphql(`
  query Runs($filter: RunFilter, $first: Int) {
    runs(first: $first, filter: $filter) {
      totalCount
      edges { node { ...RunRow } }
    }
  }
`);

const RunsFeedDocument = graphql(`
  subscription RunsFeed {
    runsFeed { ...RunRow }
  }
`);

export function useLiveRuns({
  status,
  workflowId,
  first,
}: {
  status?: RunStatus | null;
  workflowId?: string | null;
  first: number;
}) {
  const filter = useMemo(
    () => ({ ...(status ? { status: [status] } : {}), ...(workflowId ? { workflowId } : {}) }),
    [status, workflowId],
  );
  const [{ data, error, fetching }, refetch] = useQuery({ query: RunsDocument, variables: { filter, first } });
  // Runs that changed while the connection was down are not replayed by the feed.
  useReconnected(useSession().api?.live, () => refetch({ requestPolicy: 'network-only' }));
  const [{ data: feed }] = useSubscription({ query: RunsFeedDocument }, (seen: RunRowFragment[] = [], event) =>
    [event.runsFeed, ...seen.filter((run) => run.id !== event.runsFeed.id)].slice(0, first),
  );

  const runs = useMemo(() => {
    const page = data?.runs.edges.map((edge) => edge.node) ?? [];
    const matches = (run: RunRowFragment) =>
      !run.isPreview && (!status || run.status === status) && (!workflowId || run.workflow?.id === workflowId);
    const fresh = (feed ?? []).filter((run) => matches(run) && !page.some((p) => p.id === run.id));
    // A listed run whose status leaves the filter stays until the next load rather than vanishing under the reader's eyes.
    return [...fresh, ...page].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, first);
  }, [data, feed, status, workflowId, first]);

  const added = runs.filter((run) => !data?.runs.edges.some((edge) => edge.node.id === run.id)).length;
  return {
    runs,
    totalCount: data ? data.runs.totalCount + added : null,
    loaded: !!data,
    error,
    fetching,
    refetch: () => refetch({ requestPolicy: 'network-only' }),
  };
}
