// One workflow: its DAG (current version), versions with their messages and labels, a diff
// between any two versions, schedules with their next fire times, recent runs (live), and the
// Run button.
import { lazy, Suspense, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import { Dag, stepsOf } from '../components/Dag.tsx';
import { useLiveRuns } from '../components/live-runs.ts';
import { RunsTable } from '../components/RunsTable.tsx';
import { graphql } from '../gql/gql.ts';
import { Select } from '../ui/controls.tsx';
import { Problem } from '../ui/errors.tsx';
import { formatTime, relativeTime } from '../ui/format.ts';
import { Status } from '../ui/Status.tsx';

const RunDialog = lazy(() => import('../components/RunDialog.tsx'));

const WorkflowDocument = graphql(`
  query WorkflowPage($id: ID!) {
    workflow(id: $id) {
      ...WorkflowSummary
      definition
      tags { id name }
      releaseLabels { label updatedAt version { id number } }
      versions(first: 100) {
        totalCount
        edges { node { id number changeSummary createdAt releaseLabels baseVersion } }
      }
      schedules { id name cronExpression timezone enabled nextRunAt lastRunAt upcoming(count: 3) }
    }
  }
`);

export default function WorkflowPage({ id }: { id: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WorkflowDocument, variables: { id } });
  const [running, setRunning] = useState(false);
  const [, navigate] = useLocation();
  const workflow = data?.workflow;
  const versions = useMemo(() => workflow?.versions.edges.map((e) => e.node) ?? [], [workflow]);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const live = useLiveRuns({ workflowId: id, first: 20 });

  if (error && !workflow)
    return <Problem error={error} what="workflow" retry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!workflow)
    return fetching ? (
      <p className="loading">Loading workflow…</p>
    ) : (
      <Problem error={{ code: 'NOT_FOUND', message: '' }} what="workflow" />
    );

  const compareFrom = from ?? Math.max(1, workflow.latestVersion - 1);
  const compareTo = to ?? workflow.latestVersion;
  const versionOptions = versions.map((v) => [v.number, String(v.number)] as const);
  const diffHref = (a: number, b: number) => `/workflows/${encodeURIComponent(id)}/diff?from=${a}&to=${b}`;

  return (
    <section>
      <div className="page-head">
        <h1>{workflow.name}</h1>
        <Status status={workflow.status} />
        <span className="muted">
          v{workflow.latestVersion} · {workflow.triggerType.toLowerCase()} · {workflow.runsCount} runs · last run{' '}
          {relativeTime(workflow.lastRunAt)}
        </span>
        <div className="spacer" />
        <button type="button" onClick={() => setRunning(true)}>
          Run…
        </button>
      </div>
      {workflow.description ? <p className="description">{workflow.description}</p> : null}

      <div className="card">
        <h2>Steps (v{workflow.latestVersion})</h2>
        <Dag steps={stepsOf(workflow.definition)} label={`DAG of ${workflow.name}`} />
      </div>

      <div className="columns">
        <div className="card">
          <h2>Versions</h2>
          <div className="compare">
            <Select
              label="Compare from version"
              prefix="Compare v"
              value={compareFrom}
              options={versionOptions}
              onChange={(v) => setFrom(Number(v))}
            />
            <Select
              label="Compare to version"
              prefix="with v"
              value={compareTo}
              options={versionOptions}
              onChange={(v) => setTo(Number(v))}
            />
            <button
              type="button"
              onClick={() => navigate(diffHref(compareFrom, compareTo))}
              disabled={compareFrom === compareTo}
            >
              Compare
            </button>
          </div>
          <ol className="versions" aria-label="Versions">
            {versions.map((v) => (
              <li key={v.id}>
                <strong>v{v.number}</strong>{' '}
                {v.releaseLabels.map((l) => (
                  <span key={l} className="label-chip">
                    {l}
                  </span>
                ))}{' '}
                <span className="muted" title={v.createdAt}>
                  {relativeTime(v.createdAt)}
                </span>
                <div>{v.changeSummary ?? <span className="muted">(no message)</span>}</div>
                {v.number > 1 ? (
                  <Link href={diffHref(v.number - 1, v.number)}>changes from v{v.number - 1}</Link>
                ) : null}
              </li>
            ))}
          </ol>
        </div>
        <div className="card">
          <h2>Release labels</h2>
          {workflow.releaseLabels.length ? (
            <ul className="plain" aria-label="Release labels">
              {workflow.releaseLabels.map((l) => (
                <li key={l.label}>
                  <span className="label-chip">{l.label}</span> → v{l.version.number}{' '}
                  <span className="muted">since {relativeTime(l.updatedAt)}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No release labels. setReleaseLabel points one (e.g. production) at a version.</p>
          )}
          <h2>Schedules</h2>
          {workflow.schedules.length ? (
            <ul className="plain" aria-label="Schedules">
              {workflow.schedules.map((s) => (
                <li key={s.id}>
                  <strong>{s.name ?? s.cronExpression}</strong> <code>{s.cronExpression}</code> {s.timezone}{' '}
                  {s.enabled ? null : <span className="status status-paused">PAUSED</span>}
                  <div className="muted">
                    Next: {s.enabled && s.upcoming.length ? s.upcoming.map(formatTime).join(' · ') : 'not scheduled'}
                  </div>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No schedules.</p>
          )}
        </div>
      </div>

      <div className="card">
        <h2>Recent runs</h2>
        {live.error && !live.loaded ? (
          <Problem error={live.error} what="runs" retry={live.refetch} />
        ) : (
          <RunsTable runs={live.runs} showWorkflow={false} empty="No runs yet: press Run… to start one." />
        )}
      </div>

      {running ? (
        <Suspense fallback={null}>
          <RunDialog
            workflowId={workflow.id}
            versions={versions.map((v) => v.number)}
            latest={workflow.latestVersion}
            onClose={() => setRunning(false)}
          />
        </Suspense>
      ) : null}
    </section>
  );
}
