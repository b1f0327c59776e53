// Two versions of a workflow side by side: the server's step summary (added, removed,
// modified step ids), then each changed step's JSON from both versions with the changed lines
// marked (jsdiff line diff). Unchanged steps are folded away.
import { diffLines } from 'diff';
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Link, useLocation, useSearch } from 'wouter';
import { graphql } from '../gql/gql.ts';
import { Problem } from '../ui/errors.tsx';
import { json, relativeTime } from '../ui/format.ts';

const DiffDocument = graphql(`
  query VersionDiff($id: ID!, $from: Int!, $to: Int!) {
    workflow(id: $id) {
      id
      name
      latestVersion
      diff(from: $from, to: $to) { from to summary added removed modified changedFields }
      fromVersion: version(number: $from) { id number changeSummary createdAt definition }
      toVersion: version(number: $to) { id number changeSummary createdAt definition }
    }
  }
`);

type Side = { text: string; kind: 'same' | 'removed' | 'added' | 'blank' }[];

/** Aligned left/right lines of two JSON texts: removed lines on the left, added on the right, padding where one side has none. */
export function sideBySide(before: string, after: string): { left: Side; right: Side } {
  const left: Side = [];
  const right: Side = [];
  const lines = (value: string) => value.replace(/\n$/, '').split('\n');
  let pendingRemoved: string[] = [];
  const flush = (added: string[]) => {
    const rows = Math.max(pendingRemoved.length, added.length);
    for (let i = 0; i < rows; i++) {
      left.push(
        i < pendingRemoved.length ? { text: pendingRemoved[i]!, kind: 'removed' } : { text: '', kind: 'blank' },
      );
      right.push(i < added.length ? { text: added[i]!, kind: 'added' } : { text: '', kind: 'blank' });
    }
    pendingRemoved = [];
  };
  for (const part of diffLines(before, after)) {
    if (part.removed) pendingRemoved.push(...lines(part.value));
    else if (part.added) flush(lines(part.value));
    else {
      flush([]);
      for (const line of lines(part.value)) {
        left.push({ text: line, kind: 'same' });
        right.push({ text: line, kind: 'same' });
      }
    }
  }
  flush([]);
  return { left, right };
}

type Definition = { steps?: { id: string }[] } & Record<string, unknown>;

function Pane({ lines, label }: { lines: Side; label: string }) {
  return (
    <pre className="diff-pane" role="region" aria-label={label}>
      {lines.map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a pane's lines are rendered whole from one diff; they never reorder.
        <div key={i} className={`diff-line diff-${line.kind}`}>
          {line.text || ' '}
        </div>
      ))}
    </pre>
  );
}

export default function DiffPage({ id }: { id: string }) {
  const search = new URLSearchParams(useSearch());
  const [, navigate] = useLocation();
  const from = Number(search.get('from') ?? 1);
  const to = Number(search.get('to') ?? 1);
  const valid = Number.isInteger(from) && Number.isInteger(to) && from > 0 && to > 0;
  const [{ data, error, fetching }, refetch] = useQuery({
    query: DiffDocument,
    variables: { id, from, to },
    pause: !valid,
  });
  const [showUnchanged, setShowUnchanged] = useState(false);
  const workflow = data?.workflow;

  const rows = useMemo(() => {
    if (!workflow?.fromVersion || !workflow.toVersion) return [];
    const before = workflow.fromVersion.definition as Definition;
    const after = workflow.toVersion.definition as Definition;
    const stepOf = (d: Definition, stepId: string) => d.steps?.find((s) => s.id === stepId);
    const ids = [...(after.steps ?? []).map((s) => s.id), ...workflow.diff.removed];
    const kind = (stepId: string) =>
      workflow.diff.added.includes(stepId)
        ? 'added'
        : workflow.diff.removed.includes(stepId)
          ? 'removed'
          : workflow.diff.modified.includes(stepId)
            ? 'modified'
            : 'unchanged';
    const steps = ids.map((stepId) => ({
      key: `step ${stepId}`,
      title: stepId,
      kind: kind(stepId),
      ...sideBySide(json(stepOf(before, stepId)), json(stepOf(after, stepId))),
    }));
    const fields = workflow.diff.changedFields.map((field) => ({
      key: `field ${field}`,
      title: field,
      kind: 'modified',
      ...sideBySide(json(before[field]), json(after[field])),
    }));
    return [...fields, ...steps];
  }, [workflow]);

  if (!valid)
    return (
      <Problem
        error={{ code: 'VALIDATION_FAILED', message: 'The link must name two version numbers, e.g. ?from=1&to=2.' }}
      />
    );
  if (error && !workflow)
    return <Problem error={error} what="version" retry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!workflow)
    return fetching ? (
      <p className="loading">Loading versions…</p>
    ) : (
      <Problem error={{ code: 'NOT_FOUND', message: '' }} what="workflow" />
    );
  if (!workflow.fromVersion || !workflow.toVersion)
    return (
      <Problem
        error={{ code: 'NOT_FOUND', message: '' }}
        what={`version ${workflow.fromVersion ? to : from} of this workflow`}
      />
    );

  const hidden = rows.filter((r) => r.kind === 'unchanged').length;
  const swap = () => navigate(`/workflows/${encodeURIComponent(id)}/diff?from=${to}&to=${from}`);
  return (
    <section>
      <div className="page-head">
        <h1>
          <Link href={`/workflows/${encodeURIComponent(id)}`}>{workflow.name}</Link>: v{from} → v{to}
        </h1>
        <button type="button" className="quiet" onClick={swap}>
          Swap
        </button>
      </div>
      <div className="card diff-summary" role="region" aria-label="Summary of changes">
        <strong>{workflow.diff.summary}</strong>
        <ul className="plain">
          {workflow.diff.added.length ? <li className="added">Added: {workflow.diff.added.join(', ')}</li> : null}
          {workflow.diff.removed.length ? (
            <li className="removed">Removed: {workflow.diff.removed.join(', ')}</li>
          ) : null}
          {workflow.diff.modified.length ? (
            <li className="modified">Modified: {workflow.diff.modified.join(', ')}</li>
          ) : null}
          {workflow.diff.changedFields.length ? (
            <li className="modified">Changed fields: {workflow.diff.changedFields.join(', ')}</li>
          ) : null}
        </ul>
        <div className="diff-versions">
          <div>
            <strong>v{workflow.fromVersion.number}</strong>{' '}
            <span className="muted">{relativeTime(workflow.fromVersion.createdAt)}</span> —{' '}
            {workflow.fromVersion.changeSummary ?? '(no message)'}
          </div>
          <div>
            <strong>v{workflow.toVersion.number}</strong>{' '}
            <span className="muted">{relativeTime(workflow.toVersion.createdAt)}</span> —{' '}
            {workflow.toVersion.changeSummary ?? '(no message)'}
          </div>
        </div>
      </div>
      {rows
        .filter((row) => showUnchanged || row.kind !== 'unchanged')
        .map((row) => (
          <div key={row.key} className={`card diff-block diff-${row.kind}`} data-diff={row.kind}>
            <h3>
              {row.title} <span className={`diff-kind ${row.kind}`}>{row.kind}</span>
            </h3>
            <div className="diff-columns">
              <Pane lines={row.left} label={`${row.title} in v${from}`} />
              <Pane lines={row.right} label={`${row.title} in v${to}`} />
            </div>
          </div>
        ))}
      {hidden ? (
        <button type="button" className="quiet" onClick={() => setShowUnchanged(!showUnchanged)}>
          {showUnchanged ? 'Hide' : 'Show'} {hidden} unchanged step{hidden === 1 ? '' : 's'}
        </button>
      ) : null}
    </section>
  );
}
