// Run and step states, and which transitions are allowed. Every status decision in the engine
// goes through these predicates, so the state machine lives in one place
// (docs/architecture.md draws it).
import type { RunStatus, StepStatus } from '../generated/prisma/enums.ts';

/** The iteration index of a step row that is not a loop iteration. */
export const TOP_LEVEL = -1;

export function assertNever(value: never): never {
  throw new Error(`Unexpected value ${JSON.stringify(value)}`);
}

/** A run in one of these states will never change again (unless resumed or retried). */
export function isRunFinished(status: RunStatus): boolean {
  switch (status) {
    case 'COMPLETED':
    case 'FAILED':
    case 'CANCELLED':
      return true;
    case 'QUEUED':
    case 'RUNNING':
    case 'PAUSED':
      return false;
    default:
      return assertNever(status);
  }
}

/** resumeRun accepts runs in these states. */
export function isRunResumable(status: RunStatus): boolean {
  return status === 'PAUSED' || status === 'FAILED' || status === 'CANCELLED';
}

/** A step in one of these states is done for this run (its dependents may be decided). */
export function isStepFinished(status: StepStatus): boolean {
  switch (status) {
    case 'COMPLETED':
    case 'FAILED':
    case 'SKIPPED':
    case 'CANCELLED':
      return true;
    case 'PENDING':
    case 'RUNNING':
    case 'WAITING':
    case 'RETRYING':
      return false;
    default:
      return assertNever(status);
  }
}

/** What a run ends as once every step is finished. */
export function finalRunStatus(stepStatuses: StepStatus[]): Extract<RunStatus, 'COMPLETED' | 'FAILED' | 'CANCELLED'> {
  if (stepStatuses.includes('FAILED')) return 'FAILED';
  if (stepStatuses.includes('CANCELLED')) return 'CANCELLED';
  return 'COMPLETED';
}
