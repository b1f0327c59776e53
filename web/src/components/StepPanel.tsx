// One step of a run: status, attempts (from the event log), input, output, error, logs, and a
// loop's iterations. Details are fetched when the step is opened and again whenever its status
// or attempt changes (a change the run's subscription reports), never on a timer.
import { useEffect } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql/gql.ts';
import type { RunEvent } from '@weft/client';
import { Problem } from '../ui/errors.tsx';
import { formatDuration, formatTime, json } from '../ui/format.ts';
import { Status } from '../ui/Status.tsx';

const StepDetailsDocument = graphql(`
  query StepDetails($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on StepRun {
        ...StepLive
        input
        output
        error
        logs
        iterations { durationMs error }
      }
    }
  }
`);

const ATTEMPT_EVENTS = new Set([
  'STEP_STARTED',
  'STEP_COMPLETED',
  'STEP_FAILED',
  'STEP_RETRYING',
  'STEP_CANCELLED',
  'STEP_SKIPPED',
  'STEP_WAITING',
]);

function Block({ title, value }: { title: string; value: unknown }) {
  if (value === null || value === undefined || value === '') return null;
  return (
    <details open>
      <summary>{title}</summary>
      <pre className="json">{typeof value === 'string' ? value : json(value)}</pre>
    </details>
  );
}

export function StepPanel({
  stepRunId,
  status,
  attempt,
  events,
  actions,
}: {
  stepRunId: string;
  status: string;
  attempt: number;
  events: RunEvent[];
  actions?: React.ReactNode;
}) {
  const [{ data, error }, refetch] = useQuery({ query: StepDetailsDocument, variables: { id: stepRunId } });
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new status or attempt is the signal to refetch the step's details.
  useEffect(() => {
    refetch({ requestPolicy: 'network-only' });
  }, [status, attempt, refetch]);
  const step = data?.node?.__typename === 'StepRun' ? data.node : null;
  if (error && !step)
    return <Problem error={error} what="step" retry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!step) return <p className="loading">Loading step…</p>;

  const history = events.filter((e) => e.stepId === step.stepId && e.iteration == null && ATTEMPT_EVENTS.has(e.type));
  const done = step.iterations.filter(
    (i) => i.status === 'COMPLETED' || i.status === 'FAILED' || i.status === 'SKIPPED' || i.status === 'CANCELLED',
  ).length;
  return (
    <div className="step-panel" role="region" aria-label={`Step ${step.stepId}`}>
      <div className="step-head">
        <h3>{step.stepId}</h3>
        <span className="muted">{step.type}</span>
        <Status status={step.status} />
        <span className="muted">
          attempt {step.attempt} · {formatDuration(step.durationMs)}
          {step.wakeAt ? ` · continues ${formatTime(step.wakeAt)}` : ''}
        </span>
      </div>
      {actions}
      {history.length ? (
        <table className="attempts" aria-label="Attempts">
          <tbody>
            {history.map((e) => (
              <tr key={e.seq}>
                <td className="muted">#{e.seq}</td>
                <td>{formatTime(e.createdAt)}</td>
                <td>{e.type.replace('STEP_', '').toLowerCase()}</td>
                <td className="mono small">{e.payload && 'error' in e.payload ? json(e.payload.error) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {step.iterations.length ? (
        <div className="loop">
          <div
            className="loop-progress"
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={step.iterations.length}
            aria-valuenow={done}
            aria-label="Loop progress"
          >
            <div style={{ width: `${(done / step.iterations.length) * 100}%` }} />
          </div>
          <span>
            {done}/{step.iterations.length} iterations finished
          </span>
          <div className="iterations">
            {step.iterations.map((i) => (
              <span
                key={i.id}
                className={`iteration status-${i.status.toLowerCase()}`}
                title={`#${i.iteration}: ${i.status} ${formatDuration(i.durationMs)}`}
              />
            ))}
          </div>
        </div>
      ) : null}
      <Block title="Error" value={step.error} />
      <Block title="Input (config as evaluated)" value={step.input} />
      <Block title="Output" value={step.output} />
      <Block title="Logs" value={step.logs} />
    </div>
  );
}
