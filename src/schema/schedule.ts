// Schedule and ScheduleTick types, Workflow.schedules and the schedule mutations.
import { ValidationError } from '../errors.ts';
import type { Schedule } from '../generated/prisma/client.ts';
import { nextFireTimes } from '../schedules/cron.ts';
import { createSchedule, deleteSchedule, updateSchedule, type ScheduleInput } from '../schedules/service.ts';
import { builder } from './builder.ts';
import { CatchUpEnum, OverlapEnum, TickStatusEnum } from './enums.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { inWorkspace, parseGlobalId } from '../ids.ts';
import { RunRef } from './run.ts';
import { DeleteInput, deletePayload } from './delete.ts';

builder.prismaObject('ScheduleTick', {
  description: 'One fire time of a schedule and what happened.',
  fields: (t) => ({
    scheduledFor: t.expose('scheduledFor', { type: 'DateTime', description: 'The fire time.' }),
    status: t.expose('status', { type: TickStatusEnum, description: 'What happened.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it was skipped or failed.' }),
    run: t.relation('run', { nullable: true, description: 'The run started, if any.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was handled.' }),
  }),
});

export const ScheduleRef = builder.prismaNode('Schedule', {
  nullable: true,
  description: 'Runs a workflow on a cron schedule in an IANA time zone.',
  id: { field: 'id' },
  findUnique: inWorkspace,
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true, description: 'Display name.' }),
    cronExpression: t.exposeString('cronExpression', {
      description: 'Cron expression: 5 fields (minute hour day month weekday) or 6 with seconds first.',
    }),
    timezone: t.exposeString('timezone', {
      description: 'IANA time zone the expression is read in, e.g. "America/New_York".',
    }),
    inputData: t.expose('inputData', { type: 'JSON', description: 'Input of the runs it starts.' }),
    enabled: t.exposeBoolean('enabled', { description: 'False while paused.' }),
    catchUp: t.expose('catchUp', { type: CatchUpEnum, description: 'Policy for fire times missed during downtime.' }),
    catchUpWindowSeconds: t.exposeInt('catchUpWindowSeconds', {
      description: 'With catchUp ALL: how far back missed fire times are still fired.',
    }),
    overlap: t.expose('overlap', { type: OverlapEnum, description: 'Policy when the previous run is still active.' }),
    nextRunAt: t.expose('nextRunAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Next fire time (null while paused).',
    }),
    lastRunAt: t.expose('lastRunAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Fire time of the last run started.',
    }),
    lastRun: t.field({
      type: RunRef,
      nullable: true,
      description: 'The last run started by this schedule.',
      select: { runs: { orderBy: { createdAt: 'desc' }, take: 1 } },
      resolve: (schedule) => schedule.runs[0] ?? null,
    }),
    upcoming: t.field({
      type: ['DateTime'],
      description: 'The next fire times (at most 100), for previews; daylight-saving rules applied.',
      args: { count: t.arg.int({ defaultValue: 5, description: 'How many (1–100).' }) },
      resolve: (schedule, args) => {
        const count = args.count ?? 5;
        if (count < 1 || count > 100) throw ValidationError.single(['count'], 'must be between 1 and 100');
        return nextFireTimes(schedule.cronExpression, schedule.timezone, new Date(), count);
      },
    }),
    ticks: t.relatedConnection('ticks', {
      cursor: 'id',
      description: 'Fire attempts, newest first.',
      totalCount: true,
      query: () => ({ orderBy: { scheduledFor: 'desc' } }),
    }),
    workflow: t.relation('workflow', { description: 'The workflow it runs.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

builder.prismaObjectField('Workflow', 'schedules', (t) =>
  t.relation('schedules', { description: 'Schedules of this workflow.', query: { orderBy: { createdAt: 'asc' } } }),
);
builder.prismaObjectField('Run', 'schedule', (t) =>
  t.relation('schedule', { nullable: true, description: 'The schedule that started this run (trigger SCHEDULE).' }),
);
const SchedulePayload = builder.objectRef<{ schedule: Schedule }>('SchedulePayload').implement({
  description: 'The schedule after the change.',
  fields: (t) => ({
    schedule: t.field({ type: ScheduleRef, description: 'The schedule.', resolve: (p) => p.schedule }),
  }),
});

type Builder = Parameters<NonNullable<Parameters<typeof builder.inputType>[1]['fields']>>[0];
const scheduleFields = (t: Builder) => ({
  name: t.string({ description: 'Display name.' }),
  timezone: t.string({ description: 'IANA time zone (default "UTC").' }),
  inputData: t.field({ type: 'JSON', description: 'Input of the runs (an object, default {}).' }),
  enabled: t.boolean({ description: 'Start enabled (default true).' }),
  catchUp: t.field({ type: CatchUpEnum, description: 'Default NONE.' }),
  catchUpWindowSeconds: t.int({ description: 'Default 3600 (at most 7 days).' }),
  overlap: t.field({ type: OverlapEnum, description: 'Default ALLOW_ALL.' }),
});

const CreateScheduleInput = builder.inputType('CreateScheduleInput', {
  description: 'A new schedule for a workflow.',
  fields: (t) => ({
    workflowId: t.id({ required: true, description: 'Global ID of the workflow.' }),
    cronExpression: t.string({ required: true, description: 'e.g. "0 9 * * 1-5" or, with seconds, "*/10 * * * * *".' }),
    ...scheduleFields(t),
  }),
});
const UpdateScheduleInput = builder.inputType('UpdateScheduleInput', {
  description: 'Changes to a schedule; only the fields present are applied.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'Global ID of the schedule.' }),
    cronExpression: t.string({ description: 'New cron expression.' }),
    ...scheduleFields(t),
  }),
});
const ScheduleIdInput = builder.inputType('ScheduleIdInput', {
  description: 'Identifies a schedule.',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID of the schedule.' }) }),
});

const sid = (id: string | number) => parseGlobalId(String(id), 'Schedule');

builder.mutationFields((t) => ({
  createSchedule: t.field({
    type: SchedulePayload,
    description:
      'Creates a schedule. Invalid cron expressions and unknown time zones are refused with the path of the field.',
    args: { input: t.arg({ type: CreateScheduleInput, required: true }) },
    errors: mutationErrors('CreateScheduleResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        schedule: await createSchedule(
          ctx,
          parseGlobalId(String(input.workflowId), 'Workflow'),
          input as ScheduleInput & { cronExpression: string },
        ),
      })),
  }),
  updateSchedule: t.field({
    type: SchedulePayload,
    description:
      'Changes a schedule (only the fields present). A new cron expression or time zone recomputes the next fire time.',
    args: { input: t.arg({ type: UpdateScheduleInput, required: true }) },
    errors: mutationErrors('UpdateScheduleResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        schedule: await updateSchedule(ctx, sid(input.id), { ...input, id: undefined } as ScheduleInput),
      })),
  }),
  pauseSchedule: t.field({
    type: SchedulePayload,
    description: 'Stops a schedule from firing until resumed.',
    args: { input: t.arg({ type: ScheduleIdInput, required: true }) },
    errors: mutationErrors('PauseScheduleResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ schedule: await updateSchedule(ctx, sid(input.id), { enabled: false }) })),
  }),
  resumeSchedule: t.field({
    type: SchedulePayload,
    description: 'Resumes a paused schedule from now on (fire times while paused are not caught up).',
    args: { input: t.arg({ type: ScheduleIdInput, required: true }) },
    errors: mutationErrors('ResumeScheduleResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ schedule: await updateSchedule(ctx, sid(input.id), { enabled: true }) })),
  }),
  deleteSchedule: t.field({
    type: deletePayload('DeleteSchedulePayload', 'The schedule was deleted (its runs stay).'),
    description: 'Deletes a schedule.',
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    errors: mutationErrors('DeleteScheduleResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => (await deleteSchedule(ctx, sid(input.id)), { deletedId: String(input.id) })),
  }),
}));
