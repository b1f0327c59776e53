// GraphQL enums mirrored from the Prisma schema, so both always agree.
import { RunStatus, RunTrigger, TriggerType, WorkflowStatus } from '../generated/prisma/enums.ts';
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
  description: 'State of a run: QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED, with PAUSED while waiting to be resumed.',
});

export const RunTriggerEnum = builder.enumType(RunTrigger, {
  name: 'RunTrigger',
  description: 'What started a run.',
});
