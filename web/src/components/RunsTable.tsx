// Runs as a table: status, workflow, version, trigger, when, how long, and lineage (retry of /
// retried as). Rows link to the run page.
import { Link } from 'wouter';
import { graphql } from '../gql/gql.ts';
import type { RunRowFragment } from '../gql/graphql.ts';
import { formatDuration, relativeTime, shortId } from '../ui/format.ts';
import { Status } from '../ui/Status.tsx';

export const RunRowFragmentDoc = graphql(`
  fragment RunRow on Run {
    id
    status
    trigger
    isPreview
    createdAt
    startedAt
    finishedAt
    durationMs
    versionNumber
    label
    workflow { id name }
    parentRun { id }
    retries { id }
  }
`);

export function RunsTable({
  runs,
  showWorkflow = true,
  empty,
}: {
  runs: RunRowFragment[];
  showWorkflow?: boolean;
  empty: string;
}) {
  if (!runs.length) return <p className="empty">{empty}</p>;
  return (
    <table className="runs" aria-label="Runs">
      <thead>
        <tr>
          <th>Run</th>
          <th>Status</th>
          {showWorkflow ? <th>Workflow</th> : null}
          <th>Version</th>
          <th>Trigger</th>
          <th>Queued</th>
          <th>Duration</th>
          <th>Lineage</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-run-id={run.id}>
            <td>
              <Link href={`/runs/${encodeURIComponent(run.id)}`} className="mono">
                {shortId(run.id)}
              </Link>
            </td>
            <td>
              <Status status={run.status} />
            </td>
            {showWorkflow ? (
              <td>
                {run.workflow ? (
                  <Link href={`/workflows/${encodeURIComponent(run.workflow.id)}`}>{run.workflow.name}</Link>
                ) : (
                  <em>preview</em>
                )}
              </td>
            ) : null}
            <td>
              {run.versionNumber ? `v${run.versionNumber}` : '—'}
              {run.label ? <span className="label-chip">{run.label}</span> : null}
            </td>
            <td>{run.trigger.toLowerCase()}</td>
            <td title={run.createdAt}>{relativeTime(run.createdAt)}</td>
            <td>{formatDuration(run.durationMs)}</td>
            <td className="lineage">
              {run.parentRun ? (
                <span>
                  retry of{' '}
                  <Link href={`/runs/${encodeURIComponent(run.parentRun.id)}`}>{shortId(run.parentRun.id)}</Link>
                </span>
              ) : null}
              {run.retries.length ? (
                <span>
                  retried as{' '}
                  {run.retries.map((retry, i) => (
                    <span key={retry.id}>
                      {i ? ', ' : ''}
                      <Link href={`/runs/${encodeURIComponent(retry.id)}`}>{shortId(retry.id)}</Link>
                    </span>
                  ))}
                </span>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
