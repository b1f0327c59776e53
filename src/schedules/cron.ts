// Cron expressions with IANA time zones (croner), and Weft's daylight-saving rules:
// - a local time skipped by a spring-forward (02:30 on the night clocks jump 02:00 → 03:00)
//   fires once, at the next valid instant: the moment of the jump (03:00 local);
// - a local time repeated by a fall-back (01:30 happening twice) fires once, at its first
//   occurrence.
// croner already fires repeated local times once; for skipped ones it fires at the shifted time
// (03:30), which we move back to the jump itself.
import { Cron } from 'croner';
import type { Problem } from '../errors.ts';
import { coerceError } from '../errors.ts';

const MAX_ITERATIONS = 10_000;

export function isValidTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

export function checkSchedule(cronExpression: string, timezone: string, path: (string | number)[]): Problem[] {
  const problems: Problem[] = [];
  if (!isValidTimezone(timezone))
    problems.push({
      path: [...path, 'timezone'],
      message: `Unknown time zone '${timezone}'; use an IANA name such as "Europe/Berlin" or "UTC"`,
    });
  try {
    const cron = new Cron(cronExpression, { timezone: problems.length ? 'UTC' : timezone, paused: true });
    if (!cron.nextRun(new Date())) problems.push({ path: [...path, 'cronExpression'], message: 'never fires' });
  } catch (error) {
    problems.push({
      path: [...path, 'cronExpression'],
      message: `Invalid cron expression: ${coerceError(error).message.replace(/^CronPattern: /, '')} (5 fields: minute hour day month weekday, or 6 with seconds first)`,
    });
  }
  return problems;
}

/** Offset of `timezone` from UTC at `at`, in minutes. */
function offsetMinutes(timezone: string, at: Date): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/** The instant the clocks jumped forward shortly before `fire`, if `fire` was shifted by a jump. */
function springForwardInstant(cron: Cron, timezone: string, fire: Date): Date | null {
  if (cron.match(fire)) return null; // croner's result is a real match of the pattern: not shifted
  const before = offsetMinutes(timezone, new Date(fire.getTime() - 3 * 3600_000));
  const now = offsetMinutes(timezone, fire);
  if (now <= before) return null;
  // Binary search for the first instant with the new offset.
  let lo = fire.getTime() - 3 * 3600_000;
  let hi = fire.getTime();
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMinutes(timezone, new Date(mid)) === now) hi = mid;
    else lo = mid;
  }
  const second = Math.floor(hi / 1000) * 1000;
  return new Date(offsetMinutes(timezone, new Date(second)) === now ? second : second + 1000);
}

/** The next `count` fire times strictly after `after`. */
export function nextFireTimes(cronExpression: string, timezone: string, after: Date, count: number): Date[] {
  const cron = new Cron(cronExpression, { timezone, paused: true });
  const result: Date[] = [];
  let cursor = after;
  for (let i = 0; i < MAX_ITERATIONS && result.length < count; i++) {
    const fire = cron.nextRun(cursor);
    if (!fire) break;
    const jump = springForwardInstant(cron, timezone, fire);
    const at = jump ?? fire;
    if (at > after && (!result.length || at > result.at(-1)!)) result.push(at);
    cursor = fire;
  }
  return result;
}

/** Fire times in (from, to], oldest first, at most `limit`. */
export function fireTimesBetween(
  cronExpression: string,
  timezone: string,
  from: Date,
  to: Date,
  limit: number,
): Date[] {
  const times: Date[] = [];
  let cursor = from;
  while (times.length < limit) {
    const [next] = nextFireTimes(cronExpression, timezone, cursor, 1);
    if (!next || next > to) break;
    times.push(next);
    cursor = next;
  }
  return times;
}
