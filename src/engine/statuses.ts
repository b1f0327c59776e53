// Run and step states, and which transitions are allowed. Every status decision in the engine
// goes through these predicates, so the state machine lives in one place
// (docs/architecture.md draws it).
import type { RunStatus, StepStatus } from '../generated/prisma/enums.ts';

/** The iteration index of a step row that is not a loop iteration. */
export const TOP_LEVEL = -1;

/** Runs that are not finished: what concurrency limits and schedule overlap count. */
export const ACTIVE_RUN = ['QUEUED', 'RUNNING', 'PAUSED'] as const satisfies readonly RunStatus[];
/** Runs that have started and are not finished. */
export const STARTED_RUN = ['RUNNING', 'PAUSED'] as const satisfies readonly RunStatus[];
/** Runs that will not change again (unless resumed or retried). */
export const FINISHED_RUN = ['COMPLETED', 'FAILED', 'CANCELLED'] as const satisfies readonly RunStatus[];
/** Steps that are not finished. */
export const OPEN_STEP = ['PENDING', 'RUNNING', 'WAITING', 'RETRYING'] as const satisfies readonly StepStatus[];
/** Steps that sleep until their wakeAt (a retry's backoff, a timed wait). */
export const SLEEPING_STEP = ['RETRYING', 'WAITING'] as const satisfies readonly StepStatus[];
/** Steps a new signal may still release: waiting, or about to start waiting. */
export const SIGNAL_RECEIVING_STEP = ['PENDING', 'WAITING'] as const satisfies readonly StepStatus[];
/** The run events after which a run's log never grows (unless it is resumed or retried). */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['RUN_COMPLETED', 'RUN_FAILED', 'RUN_CANCELLED']);

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
