// Taking over a dispatched step. With a job queue, advanceRun marks a step RUNNING (attempt
// n, no lease) and enqueues a job in the same transaction; whichever worker picks the job up
// calls takeDispatchedClaim, which — under the run's row lock — checks that the step is still
// that attempt and unleased, leases it to itself, and rebuilds the claim (rendered config with
// secrets, expression context). The stored StepRun.input is redacted, so it cannot be used.
//
// Anything else means the job is stale and must do nothing: the step was cancelled, reclaimed
// and re-dispatched as a later attempt (that attempt has its own job), or another worker
// already holds this attempt (graphile-worker retried a job whose first worker is alive, or
// released a job whose worker died: our lease reclaim re-dispatches those, not the old job).
import type { Prisma } from '../generated/prisma/client.ts';
import { executedStep } from './signals.ts';
import { buildClaim, claimConfig, expressionContextOf, loadRunState, type StepClaim } from './run-state.ts';

export interface TakeOptions {
  workerId: string;
  leaseMs: number;
  now: Date;
  secretsKey: Buffer | null;
  publicUrl?: string;
}

export async function takeDispatchedClaim(
  tx: Prisma.TransactionClient,
  runId: string,
  stepRunId: string,
  attempt: number,
  opts: TakeOptions,
): Promise<StepClaim | null> {
  const state = await loadRunState(tx, runId, opts.secretsKey, opts.publicUrl);
  if (!state) return null;
  const row = [...state.rows.values()].find((r) => r.id === stepRunId);
  if (row?.status !== 'RUNNING' || row.attempt !== attempt || row.leaseOwner !== null) return null;
  const step = state.run.definition.steps.find((s) => s.id === row.stepId);
  if (!step) return null;
  const leased = await tx.stepRun.update({
    where: { id: row.id },
    data: { leaseOwner: opts.workerId, leaseExpiresAt: new Date(opts.now.getTime() + opts.leaseMs) },
  });
  const context = expressionContextOf(state);
  // A polling wait executes its poll step's request, recorded as the wait's own attempt.
  const target = executedStep(state.run.definition.steps, step);
  return {
    ...buildClaim(state, leased, target, (await claimConfig(target, context)).config, context),
    stepId: step.id,
  };
}
