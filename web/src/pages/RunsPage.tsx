// All runs of the workspace, newest first and live (see live-runs.ts). Filters live in the URL.
import { useQuery } from 'urql';
import { useLiveRuns } from '../components/live-runs.ts';
import { RunsTable } from '../components/RunsTable.tsx';
import { graphql } from '../gql/gql.ts';
import type { RunStatus } from '../gql/graphql.ts';
import { Select, useUrlParams } from '../ui/controls.tsx';
import { Problem } from '../ui/errors.tsx';

const WorkflowNamesDocument = graphql(`
  query WorkflowNames {
    workflows(first: 200, orderBy: { field: NAME, direction: ASC }) {
      edges { node { id name } }
    }
  }
`);

const RUN_STATUSES: RunStatus[] = ['QUEUED', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'];

export default function RunsPage() {
  const [search, setFilter] = useUrlParams('/runs');
  const status = search.get('status') as RunStatus | null;
  const workflowId = search.get('workflow');
  const { runs, totalCount, loaded, error, fetching, refetch } = useLiveRuns({ status, workflowId, first: 100 });
  const [{ data: names }] = useQuery({ query: WorkflowNamesDocument });

  return (
    <section>
      <div className="page-head">
        <h1>Runs</h1>
        <span className="count">{totalCount !== null ? `${totalCount} total` : ''}</span>
      </div>
      <div className="filters" role="search">
        <Select
          label="Status filter"
          prefix="Status"
          any
          value={status ?? ''}
          options={RUN_STATUSES.map((s) => [s, s.toLowerCase()] as const)}
          onChange={(v) => setFilter('status', v)}
        />
        <Select
          label="Workflow filter"
          prefix="Workflow"
          any
          value={workflowId ?? ''}
          options={names?.workflows.edges.map(({ node }) => [node.id, node.name] as const) ?? []}
          onChange={(v) => setFilter('workflow', v)}
        />
      </div>
      {error && !loaded ? <Problem error={error} what="runs" retry={refetch} /> : null}
      {loaded ? (
        <RunsTable runs={runs} empty="No runs match these filters yet. Start one from a workflow's page." />
      ) : fetching ? (
        <p className="loading">Loading runs…</p>
      ) : null}
    </section>
  );
}
