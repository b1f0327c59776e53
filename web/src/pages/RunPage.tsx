// A run, live: the DAG coloured by each step's status, a timeline of step durations, the event
// log (streamed, virtualised, follow mode), the selected step's details, and the actions that
// apply (cancel, resume from a step, retry) with their outcome. Run state arrives by the
// runUpdated subscription (normalised into the cache), events by watchRun; after a server
// restart both resume on their own, the event log from the last seq it has.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { Link } from 'wouter';
import { WeftError } from '@weft/client';
import { useSession } from '../app/session-context.tsx';
import { Dag, stepsOf, type NodeState } from '../components/Dag.tsx';
import { EventLog } from '../components/EventLog.tsx';
import { StepPanel } from '../components/StepPanel.tsx';
import { Timeline } from '../components/Timeline.tsx';
import { graphql } from '../gql/gql.ts';
import type { RetryStrategy } from '../gql/graphql.ts';
import { useRunEvents } from '../live/use-run-events.ts';
import { Problem } from '../ui/errors.tsx';
import { formatDuration, formatTime, json, shortId } from '../ui/format.ts';
import { Status, TERMINAL_RUN } from '../ui/Status.tsx';

graphql(`
  fragment StepLive on StepRun {
    id
    stepId
    type
    status
    attempt
    startedAt
    finishedAt
    durationMs
    wakeAt
    iterations { id iteration status }
  }
`);

graphql(`
  fragment RunLive on Run {
    id
    status
    startedAt
    finishedAt
    durationMs
    error
    output
    stepRuns { ...StepLive }
  }
`);

const RunPageDocument = graphql(`
  query RunPage($id: ID!) {
    run(id: $id) {
      ...RunLive
      trigger
      label
      versionNumber
      isPreview
      createdAt
      definition
      input
      workflow { id name }
      parentRun { id status }
      retries { id status createdAt }
    }
  }
`);

const RunUpdatedDocument = graphql(`
  subscription RunUpdated($id: ID!) {
    runUpdated(runId: $id) { ...RunLive }
  }
`);

const CancelRunDocument = graphql(`
  mutation CancelRun($runId: ID!) {
    cancelRun(input: { runId: $runId }) {
      __typename
      ... on RunPayload { run { id status } }
      ... on Error { code message }
    }
  }
`);

const ResumeRunDocument = graphql(`
  mutation ResumeRun($runId: ID!, $fromStep: String) {
    resumeRun(input: { runId: $runId, fromStep: $fromStep }) {
      __typename
      ... on RunPayload { run { ...RunLive } }
      ... on Error { code message }
    }
  }
`);

const RetryRunDocument = graphql(`
  mutation RetryRun($runId: ID!, $strategy: RetryStrategy) {
    retryRun(input: { runId: $runId, strategy: $strategy }) {
      __typename
      ... on RunPayload { run { id status } }
      ... on Error { code message }
    }
  }
`);

const RESUMABLE = new Set(['PAUSED', 'FAILED', 'CANCELLED']);
const CANCELLABLE = new Set(['QUEUED', 'RUNNING', 'PAUSED']);

type Outcome =
  | { ok: true; text: string; link?: { href: string; text: string } }
  | { ok: false; code: string; message: string };

export default function RunPage({ id }: { id: string }) {
  const { api } = useSession();
  const [{ data, error, fetching }, refetch] = useQuery({ query: RunPageDocument, variables: { id } });
  const run = data?.run;
  const [generation, setGeneration] = useState(0);
  const [, resubscribe] = useSubscription({ query: RunUpdatedDocument, variables: { id }, pause: !run });
  const stream = useRunEvents(api?.weft ?? null, id, generation);
  const [selected, setSelected] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  // Both streams end with the run. When it runs again (resumed here or anywhere else: the cache
  // sees the new status), subscribe again; the event log continues after its last seq.
  const previous = useRef<string | null>(null);
  useEffect(() => {
    const status = run?.status ?? null;
    if (previous.current && TERMINAL_RUN.has(previous.current) && status && !TERMINAL_RUN.has(status)) {
      setGeneration((g) => g + 1);
      resubscribe();
    }
    previous.current = status;
  }, [run?.status, resubscribe]);

  const steps = useMemo(() => stepsOf(run?.definition), [run?.definition]);
  const states = useMemo(() => {
    const map = new Map<string, NodeState>();
    for (const step of run?.stepRuns ?? []) {
      const finished = step.iterations.filter((i) => TERMINAL_STEP.has(i.status)).length;
      map.set(step.stepId, {
        status: step.status,
        note: step.iterations.length ? `${finished}/${step.iterations.length}` : undefined,
      });
    }
    return map;
  }, [run?.stepRuns]);

  const [, cancelRun] = useMutation(CancelRunDocument);
  const [, resumeRun] = useMutation(ResumeRunDocument);
  const [, retryRun] = useMutation(RetryRunDocument);
  const [fromStep, setFromStep] = useState('');
  const [strategy, setStrategy] = useState<RetryStrategy>('FROM_FAILURE');

  if (error && !run)
    return <Problem error={error} what="run" retry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!run)
    return fetching ? (
      <p className="loading">Loading run…</p>
    ) : (
      <Problem error={{ code: 'NOT_FOUND', message: '' }} what="run" />
    );

  type Result = { __typename: string; code?: string; message?: string } | undefined;
  const settle = (
    result: { error?: { message: string; graphQLErrors: { extensions?: Record<string, unknown> }[] }; data?: unknown },
    field: string,
    success: (value: Record<string, unknown>) => Outcome,
  ) => {
    const value = (result.data as Record<string, Result> | undefined)?.[field];
    if (result.error)
      setOutcome({
        ok: false,
        code: String(result.error.graphQLErrors[0]?.extensions?.code ?? 'NETWORK_ERROR'),
        message: result.error.message,
      });
    else if (value?.__typename === 'RunPayload') setOutcome(success(value as Record<string, unknown>));
    else if (value) setOutcome({ ok: false, code: value.code ?? 'UNKNOWN', message: value.message ?? '' });
  };
  const cancel = async () =>
    settle(await cancelRun({ runId: run.id }), 'cancelRun', () => ({
      ok: true,
      text: 'Cancelled: unfinished steps were stopped.',
    }));
  const resume = async (step: string | null) =>
    settle(await resumeRun({ runId: run.id, fromStep: step || null }), 'resumeRun', () => ({
      ok: true,
      text: step ? `Resumed from step ${step}.` : 'Resumed from the last checkpoint.',
    }));
  const retry = async () =>
    settle(await retryRun({ runId: run.id, strategy }), 'retryRun', (payload) => {
      const retried = (payload as { run: { id: string } }).run;
      refetch({ requestPolicy: 'network-only' });
      return {
        ok: true,
        text: `Retry started (${strategy === 'ALL_STEPS' ? 'all steps' : 'from the failure'}):`,
        link: { href: `/runs/${encodeURIComponent(retried.id)}`, text: `run ${shortId(retried.id)}` },
      };
    });

  const selectedStep = run.stepRuns.find((s) => s.stepId === selected) ?? null;
  const live = stream.error ? 'stream error' : stream.done ? 'complete' : stream.caughtUp ? 'live' : 'catching up…';
  const resumable = RESUMABLE.has(run.status);

  return (
    <section className="run-page">
      <div className="page-head">
        <h1>
          Run <span className="mono">{shortId(run.id)}</span>
        </h1>
        <Status status={run.status} />
        <span className="muted">
          {run.workflow ? (
            <Link href={`/workflows/${encodeURIComponent(run.workflow.id)}`}>{run.workflow.name}</Link>
          ) : (
            'preview'
          )}
          {run.versionNumber ? ` v${run.versionNumber}` : ''}
          {run.label ? ` (${run.label})` : ''} · {run.trigger.toLowerCase()} · queued {formatTime(run.createdAt)} ·{' '}
          {formatDuration(run.durationMs)}
        </span>
      </div>
      <div className="lineage">
        {run.parentRun ? (
          <span>
            Retry of <Link href={`/runs/${encodeURIComponent(run.parentRun.id)}`}>run {shortId(run.parentRun.id)}</Link>{' '}
            <Status status={run.parentRun.status} />
          </span>
        ) : null}
        {run.retries.map((r) => (
          <span key={r.id}>
            Retried as <Link href={`/runs/${encodeURIComponent(r.id)}`}>run {shortId(r.id)}</Link>{' '}
            <Status status={r.status} />
          </span>
        ))}
      </div>

      <div className="actions run-actions" role="group" aria-label="Run actions">
        {CANCELLABLE.has(run.status) ? (
          <button type="button" className="danger" onClick={cancel}>
            Cancel run
          </button>
        ) : null}
        {resumable ? (
          <span className="group">
            <select aria-label="Resume from" value={fromStep} onChange={(e) => setFromStep(e.target.value)}>
              <option value="">last checkpoint</option>
              {steps.map((s) => (
                <option key={s.id} value={s.id}>
                  step {s.id}
                </option>
              ))}
            </select>
            <button type="button" onClick={() => resume(fromStep)}>
              Resume
            </button>
          </span>
        ) : null}
        {TERMINAL_RUN.has(run.status) && run.workflow ? (
          <span className="group">
            <select
              aria-label="Retry strategy"
              value={strategy}
              onChange={(e) => setStrategy(e.target.value as RetryStrategy)}
            >
              <option value="FROM_FAILURE">from the failure</option>
              <option value="ALL_STEPS">all steps</option>
            </select>
            <button type="button" onClick={retry}>
              Retry
            </button>
          </span>
        ) : null}
      </div>
      {outcome ? (
        outcome.ok ? (
          <p className="action-result ok" role="status">
            {outcome.text} {outcome.link ? <Link href={outcome.link.href}>{outcome.link.text}</Link> : null}
          </p>
        ) : (
          <Problem error={{ code: outcome.code, message: outcome.message }} what="this action" />
        )
      ) : null}
      {run.error ? (
        <pre className="run-error" role="region" aria-label="Run error">
          {json(run.error)}
        </pre>
      ) : null}

      <div className="card">
        <Dag steps={steps} states={states} selected={selected} onSelect={setSelected} label="Run DAG" />
      </div>
      <div className="columns run-columns">
        <div className="card">
          <h2>Timeline</h2>
          <Timeline steps={run.stepRuns} startedAt={run.startedAt} finishedAt={run.finishedAt} onSelect={setSelected} />
          {selectedStep ? (
            <StepPanel
              stepRunId={selectedStep.id}
              status={selectedStep.status}
              attempt={selectedStep.attempt}
              events={stream.events}
              actions={
                resumable ? (
                  <button type="button" onClick={() => resume(selectedStep.stepId)}>
                    Resume from this step
                  </button>
                ) : null
              }
            />
          ) : (
            <p className="muted">
              Select a step in the graph, the timeline or the log to see its input, output, attempts and logs.
            </p>
          )}
        </div>
        <div className="card">
          {stream.error ? <Problem error={describeStreamError(stream.error)} what="run's events" /> : null}
          <EventLog events={stream.events} version={stream.version} live={live} onSelectStep={setSelected} />
          {run.output !== null && run.output !== undefined ? (
            <details>
              <summary>Run output</summary>
              <pre className="json">{json(run.output)}</pre>
            </details>
          ) : null}
        </div>
      </div>
    </section>
  );
}

const TERMINAL_STEP = new Set(['COMPLETED', 'FAILED', 'SKIPPED', 'CANCELLED']);

// watchRun throws a WeftError for what retrying cannot fix (NOT_FOUND, FORBIDDEN, a refused credential…).
function describeStreamError(error: unknown): { code: string; message: string } {
  if (error instanceof WeftError) return { code: error.code, message: error.message };
  return { code: 'NETWORK_ERROR', message: error instanceof Error ? error.message : String(error) };
}
