// Workflows of the workspace with search, status and tag filters (kept in the URL), each with
// its runs count and last run.
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { graphql } from '../gql/gql.ts';
import type { WorkflowStatus } from '../gql/graphql.ts';
import { Select, useUrlParams } from '../ui/controls.tsx';
import { Problem } from '../ui/errors.tsx';
import { relativeTime } from '../ui/format.ts';
import { Status } from '../ui/Status.tsx';

const WorkflowsDocument = graphql(`
  query Workflows($filter: WorkflowFilter) {
    workflows(first: 200, filter: $filter, orderBy: { field: UPDATED_AT, direction: DESC }) {
      totalCount
      edges {
        node {
          ...WorkflowSummary
          updatedAt
          tags { id name color emoji }
        }
      }
    }
  }
`);

graphql(`
  fragment WorkflowSummary on Workflow {
    id
    name
    description
    status
    triggerType
    latestVersion
    runsCount
    lastRunAt
    lastRunStatus
  }
`);

const TagsDocument = graphql(`
  query TagNames {
    tags(first: 200) { edges { node { id name } } }
  }
`);

const STATUSES: WorkflowStatus[] = ['ACTIVE', 'DRAFT', 'PAUSED', 'ARCHIVED'];

export default function WorkflowsPage() {
  const [search, setParam] = useUrlParams('/workflows');
  const text = search.get('q') ?? '';
  const status = search.get('status') as WorkflowStatus | null;
  const tag = search.get('tag');
  const [typed, setTyped] = useState(text);

  // Search as you type, without a request per keystroke.
  useEffect(() => {
    if (typed === text) return;
    const timer = setTimeout(() => setParam('q', typed.trim(), true), 250);
    return () => clearTimeout(timer);
  });

  const filter = useMemo(
    () => ({ ...(text ? { search: text } : {}), ...(status ? { status: [status] } : {}), ...(tag ? { tag } : {}) }),
    [text, status, tag],
  );
  const [{ data, error, fetching }, refetch] = useQuery({ query: WorkflowsDocument, variables: { filter } });
  const [{ data: tags }] = useQuery({ query: TagsDocument });

  return (
    <section>
      <div className="page-head">
        <h1>Workflows</h1>
        <span className="count">{data ? `${data.workflows.totalCount} total` : ''}</span>
      </div>
      <div className="filters" role="search">
        <input
          type="search"
          aria-label="Search workflows"
          placeholder="Search name or description"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
        />
        <Select
          label="Status filter"
          prefix="Status"
          any
          value={status ?? ''}
          options={STATUSES.map((s) => [s, s.toLowerCase()] as const)}
          onChange={(v) => setParam('status', v)}
        />
        <Select
          label="Tag filter"
          prefix="Tag"
          any
          value={tag ?? ''}
          options={tags?.tags.edges.map(({ node }) => [node.name, node.name] as const) ?? []}
          onChange={(v) => setParam('tag', v)}
        />
      </div>
      {error && !data ? (
        <Problem error={error} what="workflows" retry={() => refetch({ requestPolicy: 'network-only' })} />
      ) : null}
      {fetching && !data ? <p className="loading">Loading workflows…</p> : null}
      {data && !data.workflows.edges.length ? (
        <p className="empty">
          No workflow matches. Create one with the createWorkflow mutation (see the playground) or clear the filters.
        </p>
      ) : null}
      {data?.workflows.edges.length ? (
        <table className="workflows" aria-label="Workflows">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Tags</th>
              <th>Version</th>
              <th>Runs</th>
              <th>Last run</th>
            </tr>
          </thead>
          <tbody>
            {data.workflows.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <Link href={`/workflows/${encodeURIComponent(node.id)}`}>{node.name}</Link>
                  {node.description ? <div className="muted small">{node.description}</div> : null}
                </td>
                <td>
                  <Status status={node.status} />
                </td>
                <td>
                  {node.tags.map((t) => (
                    <span key={t.id} className="tag" style={t.color ? { borderColor: t.color } : undefined}>
                      {t.emoji ? `${t.emoji} ` : ''}
                      {t.name}
                    </span>
                  ))}
                </td>
                <td>v{node.latestVersion}</td>
                <td>{node.runsCount}</td>
                <td>
                  {node.lastRunStatus ? <Status status={node.lastRunStatus} /> : null}{' '}
                  <span title={node.lastRunAt ?? ''}>{relativeTime(node.lastRunAt)}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
