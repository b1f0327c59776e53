// The hooks the engine calls (src/engine/executor.ts), turning what it does into metrics, spans
// and the log scope. The engine never sees prom-client or OpenTelemetry: it calls these few
// methods, which cost a counter increment each when tracing is off.
import type { PrismaClient } from '../db/client.ts';
import type { RunChange } from '../engine/advance.ts';
import type { AdvanceResult, StepClaim } from '../engine/run-state.ts';
import type { FinishedRun } from '../engine/finalize.ts';
import { retryPolicyOf } from '../engine/retry.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from './metrics.ts';
import { withScope } from './scope.ts';
import { runTraceId, type Tracing } from './tracing.ts';

export interface StepObservation {
  /** Runs `fn` with the attempt's log fields and span as the current scope. */
  within<T>(fn: () => T): T;
  /** The handler returned (ok) or threw (retryable or not). */
  finished(outcome: { ok: true } | { ok: false; retryable: boolean; message: string }): void;
}

export interface EngineObserver {
  /** Runs `fn` with the run's id (and trace) in the log scope. */
  withinRun<T>(runId: string, fn: () => T): T;
  runsStarted(runIds: string[]): void;
  /** After an advance committed: a finished run, steps taken back from a lost worker. */
  advanced(change: RunChange, result: AdvanceResult): void;
  stepStarted(claim: StepClaim): StepObservation;
}

/**
 * Steps an advance actually took back (several workers may try to reclaim the same dead lease;
 * only the advance that changed the step counts): retried or, past the extra attempts, failed.
 */
function reclaimedSteps(change: RunChange, result: AdvanceResult): number {
  if (change.kind !== 'reclaim') return 0;
  return result.events.filter((e) => {
    const data = (e.data ?? {}) as { reason?: string; error?: { name?: string } };
    return (
      (e.type === 'STEP_RETRYING' && data.reason === change.reason) ||
      (e.type === 'STEP_FAILED' && data.error?.name === 'InterruptedError')
    );
  }).length;
}

export function createEngineObserver(deps: {
  metrics: Metrics;
  tracing: Tracing;
  prisma: PrismaClient;
  log: Logger;
}): EngineObserver {
  const { metrics, tracing, prisma, log } = deps;
  // Timestamps the hooks need but the engine's results do not carry: one indexed read per
  // started batch and per finished run, off the engine's path (not awaited).
  const background = (what: string, work: Promise<void>) =>
    void work.catch((error) => log.debug({ err: error }, `observability: ${what} failed`));

  const runFinished = (run: FinishedRun) =>
    background(
      'reading a finished run',
      prisma.run
        .findUnique({
          where: { id: run.runId },
          select: { createdAt: true, startedAt: true, finishedAt: true, traceParent: true },
        })
        .then((row) => {
          if (!row) return;
          const finishedAt = row.finishedAt ?? new Date();
          const durationMs = row.startedAt ? Math.max(0, finishedAt.getTime() - row.startedAt.getTime()) : null;
          metrics.runFinished(run.status, run.workflowId, durationMs === null ? null : durationMs / 1000);
          log.info(
            { status: run.status, workflowId: run.workflowId, workspaceId: run.workspaceId, durationMs },
            'run finished',
          );
          tracing.runFinished({
            runId: run.runId,
            workflowId: run.workflowId,
            workspaceId: run.workspaceId,
            status: run.status,
            createdAt: row.createdAt,
            startedAt: row.startedAt,
            finishedAt,
            traceParent: row.traceParent,
          });
        }),
    );

  return {
    // The trace id is the run's whether tracing is on or not, so logs can be matched to a trace later.
    withinRun: (runId, fn) =>
      withScope({ fields: { runId, traceId: runTraceId(runId) }, span: tracing.runContext(runId) }, fn),
    runsStarted(runIds) {
      if (runIds.length === 0) return;
      background(
        'reading started runs',
        prisma.run
          .findMany({ where: { id: { in: runIds } }, select: { workflowId: true, createdAt: true, startedAt: true } })
          .then((rows) => {
            for (const row of rows)
              metrics.runStarted(
                row.workflowId,
                Math.max(0, ((row.startedAt ?? new Date()).getTime() - row.createdAt.getTime()) / 1000),
              );
          }),
      );
    },
    advanced(change, result) {
      const reclaimed = reclaimedSteps(change, result);
      if (reclaimed) metrics.leaseReclaimed(reclaimed);
      if (result.finished) runFinished(result.finished);
    },
    stepStarted(claim) {
      const started = performance.now();
      if (claim.claimedAt) metrics.stepDispatched(Math.max(0, (Date.now() - claim.claimedAt.getTime()) / 1000));
      const span = tracing.stepAttempt(claim);
      const fields = {
        runId: claim.runId,
        stepId: claim.stepId,
        attempt: claim.attempt,
        workflowId: claim.workflowId,
        workspaceId: claim.workspaceId,
        traceId: runTraceId(claim.runId),
      };
      return {
        within: (fn) => withScope({ fields, span: span?.context ?? null, tracer: tracing.tracer }, fn),
        finished(outcome) {
          const kind = outcome.ok
            ? 'completed'
            : outcome.retryable && claim.attempt < retryPolicyOf(claim.step).attempts
              ? 'retry'
              : 'failed';
          const seconds = (performance.now() - started) / 1000;
          metrics.stepFinished(claim.type, kind, seconds, claim.workflowId);
          log.debug({ type: claim.type, outcome: kind, ms: Math.round(seconds * 1000) }, 'step attempt finished');
          span?.end(
            outcome.ok ? 'ok' : kind === 'retry' ? 'retry' : 'error',
            outcome.ok ? undefined : claim.redact(outcome.message),
          );
        },
      };
    },
  };
}
