// GraphQL enums mirrored from the Prisma schema, so both always agree.
import {
  CatchUpPolicy,
  MemberRole,
  OverlapPolicy,
  RunStatus,
  RunTrigger,
  StepStatus,
  TickStatus,
  TriggerType,
  WorkflowStatus,
} from '../generated/prisma/enums.ts';
import { builder } from './builder.ts';

export const WorkflowStatusEnum = builder.enumType(WorkflowStatus, {
  name: 'WorkflowStatus',
  description: 'Lifecycle of a workflow. PAUSED and ARCHIVED workflows cannot be run.',
});

export const TriggerTypeEnum = builder.enumType(TriggerType, {
  name: 'TriggerType',
  description: 'How runs of a workflow are normally started.',
});

export const RunStatusEnum = builder.enumType(RunStatus, {
  name: 'RunStatus',
  description:
    'State of a run: QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED, with PAUSED while waiting to be resumed.',
});

export const RunTriggerEnum = builder.enumType(RunTrigger, {
  name: 'RunTrigger',
  description: 'What started a run.',
});

export const MemberRoleEnum = builder.enumType(MemberRole, {
  name: 'MemberRole',
  description:
    "A member's role: VIEWER reads; RUNNER also starts/cancels/retries runs; EDITOR also changes workflows, tags, schedules and templates; ADMIN also manages API keys, members and secrets; OWNER is an admin who can also make and unmake owners.",
});

export const StepStatusEnum = builder.enumType(StepStatus, {
  name: 'StepStatus',
  description:
    'State of a step: PENDING → RUNNING → COMPLETED | FAILED, or SKIPPED/CANCELLED; RETRYING between attempts; WAITING in a wait step.',
});

export const CatchUpEnum = builder.enumType(CatchUpPolicy, {
  name: 'CatchUpPolicy',
  description:
    'What to do with fire times missed while Weft was not running: NONE skips them, LAST fires the most recent one, ALL fires those within catchUpWindowSeconds.',
});
export const OverlapEnum = builder.enumType(OverlapPolicy, {
  name: 'OverlapPolicy',
  description:
    'What to do when a fire time comes while the previous run is still active: SKIP it, BUFFER_ONE (queue one run that starts when the previous finishes), ALLOW_ALL, or CANCEL_OTHER (cancel the active run).',
});
export const TickStatusEnum = builder.enumType(TickStatus, {
  name: 'TickStatus',
  description:
    'Outcome of one fire time: FIRED (a run was started), SKIPPED (with the reason), FAILED (the run could not start).',
});
