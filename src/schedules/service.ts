// Schedules: cron + time zone + input, with catch-up and overlap policies.
import { NotFoundError, ValidationError, type Problem } from '../errors.ts';
import type { CatchUpPolicy, OverlapPolicy, Prisma } from '../generated/prisma/client.ts';
import type { ServiceScope } from '../scope.ts';
import { isPlainObject } from '../json.ts';
import { checkSchedule, nextFireTimes } from './cron.ts';
import { inWorkspace } from '../ids.ts';

export const MAX_CATCH_UP_WINDOW_SECONDS = 7 * 24 * 3600;

export interface ScheduleInput {
  name?: string | null;
  cronExpression?: string;
  timezone?: string | null;
  inputData?: unknown;
  enabled?: boolean | null;
  catchUp?: CatchUpPolicy | null;
  catchUpWindowSeconds?: number | null;
  overlap?: OverlapPolicy | null;
}

function check(input: ScheduleInput, current?: { cronExpression: string; timezone: string }): Problem[] {
  const problems: Problem[] = [];
  const cron = input.cronExpression ?? current?.cronExpression ?? '';
  const timezone = input.timezone ?? current?.timezone ?? 'UTC';
  if (input.cronExpression !== undefined || input.timezone !== undefined || !current)
    problems.push(...checkSchedule(cron, timezone, ['input']));
  if (input.inputData != null && !isPlainObject(input.inputData))
    problems.push({ path: ['input', 'inputData'], message: 'must be a JSON object' });
  if (input.name != null && (input.name.length === 0 || input.name.length > 200))
    problems.push({ path: ['input', 'name'], message: 'must be 1–200 characters' });
  if (
    input.catchUpWindowSeconds != null &&
    (input.catchUpWindowSeconds < 1 || input.catchUpWindowSeconds > MAX_CATCH_UP_WINDOW_SECONDS)
  ) {
    problems.push({
      path: ['input', 'catchUpWindowSeconds'],
      message: `must be between 1 and ${MAX_CATCH_UP_WINDOW_SECONDS} (7 days)`,
    });
  }
  return problems;
}

export function firstFireAfter(cronExpression: string, timezone: string, after: Date): Date | null {
  return nextFireTimes(cronExpression, timezone, after, 1)[0] ?? null;
}

export async function createSchedule(
  scope: ServiceScope,
  workflowId: string,
  input: ScheduleInput & { cronExpression: string },
  now = new Date(),
) {
  const problems = check(input);
  if (problems.length) throw new ValidationError(problems);
  const workflow = await scope.prisma.workflow.findFirst({ where: inWorkspace(workflowId, scope) });
  if (!workflow) throw new NotFoundError('Workflow', workflowId);
  const timezone = input.timezone ?? 'UTC';
  const enabled = input.enabled ?? true;
  return scope.prisma.schedule.create({
    data: {
      workspaceId: scope.workspaceId,
      workflowId,
      name: input.name ?? null,
      cronExpression: input.cronExpression,
      timezone,
      inputData: (input.inputData ?? {}) as Prisma.InputJsonValue,
      enabled,
      catchUp: input.catchUp ?? 'NONE',
      catchUpWindowSeconds: input.catchUpWindowSeconds ?? 3600,
      overlap: input.overlap ?? 'ALLOW_ALL',
      nextRunAt: enabled ? firstFireAfter(input.cronExpression, timezone, now) : null,
    },
  });
}

async function findSchedule(scope: ServiceScope, id: string) {
  const schedule = await scope.prisma.schedule.findFirst({ where: inWorkspace(id, scope) });
  if (!schedule) throw new NotFoundError('Schedule', id);
  return schedule;
}

/** Changes the fields present; a new cron, time zone or re-enabling recomputes the next fire time from now. */
export async function updateSchedule(scope: ServiceScope, id: string, input: ScheduleInput, now = new Date()) {
  const current = await findSchedule(scope, id);
  const problems = check(input, current);
  if (problems.length) throw new ValidationError(problems);
  const cronExpression = input.cronExpression ?? current.cronExpression;
  const timezone = input.timezone ?? current.timezone;
  const enabled = input.enabled ?? current.enabled;
  const reschedule = input.cronExpression !== undefined || input.timezone != null || (enabled && !current.enabled);
  return scope.prisma.schedule.update({
    where: { id },
    data: {
      ...(input.name !== undefined ? { name: input.name } : {}),
      cronExpression,
      timezone,
      ...(input.inputData != null ? { inputData: input.inputData as Prisma.InputJsonValue } : {}),
      enabled,
      ...(input.catchUp ? { catchUp: input.catchUp } : {}),
      ...(input.catchUpWindowSeconds != null ? { catchUpWindowSeconds: input.catchUpWindowSeconds } : {}),
      ...(input.overlap ? { overlap: input.overlap } : {}),
      nextRunAt: !enabled ? null : reschedule ? firstFireAfter(cronExpression, timezone, now) : current.nextRunAt,
    },
  });
}

export async function deleteSchedule(scope: ServiceScope, id: string) {
  await findSchedule(scope, id);
  await scope.prisma.schedule.delete({ where: { id } });
}
