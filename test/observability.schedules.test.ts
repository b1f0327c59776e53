// Schedule metrics and spans with an injected clock: fires on time and late (lateness
// histogram), fire times skipped by the catch-up policy and by overlap, and the run a fire starts
// linked to the fire's span (Run.traceParent).
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { ofType } from './helpers/typename.ts';
import { createLogger } from '../src/logger.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { createScheduleObserver } from '../src/observability/schedule-observer.ts';
import { parseTraceparent } from '../src/observability/scope.ts';
import { createTracing } from '../src/observability/tracing.ts';
import { Scheduler } from '../src/schedules/scheduler.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { parseMetrics, sumOf } from './helpers/metrics.ts';
import { createWorkflow, rawId } from './helpers/runs.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}); // not started: only the scheduler below fires (on its own clock)
});
afterAll(async () => {
  await t?.close();
});

const definition = { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] };

async function schedule(extra: Record<string, unknown>, nextRunAt: Date): Promise<string> {
  const wf = await createWorkflow(t, definition, { status: 'ACTIVE' });
  const res = await t.gql(
    graphql(`
      mutation ObservedCreateSchedule($input: CreateScheduleInput!) {
        createSchedule(input: $input) {
          __typename
          ... on SchedulePayload {
            schedule {
              id
            }
          }
        }
      }
    `),
    { input: { workflowId: wf, cronExpression: '0 * * * *', ...extra } },
  );
  expect(res.errors).toBeUndefined();
  const id = rawId(ofType(res.data?.createSchedule, 'SchedulePayload').schedule.id);
  await t.db.prisma.schedule.update({ where: { id }, data: { nextRunAt } });
  return id;
}

describe('schedule observability', () => {
  it('counts fires, late fires, lateness and skips, and links each run to its fire span', async () => {
    const metrics = new Metrics({ workflowLabel: false, labelCap: 10 });
    const exported: ReadableSpan[] = [];
    const exporter: SpanExporter = {
      export: (spans, done) => (exported.push(...spans), done({ code: 0 })),
      shutdown: async () => {},
    };
    const tracing = createTracing(
      { exporter: null, url: '', headers: {}, serviceName: 'test', scheduleDelayMs: 0 },
      exporter,
    );
    let now = new Date('2031-03-01T03:00:30Z');
    const scheduler = new Scheduler({
      prisma: t.db.prisma,
      log: createLogger('silent'),
      engine: t.app.engine,
      bus: t.app.bus,
      secretsKey: null,
      intervalMs: 1000,
      now: () => now,
      observer: createScheduleObserver(metrics, tracing),
    });

    // 01:00 and 02:00 were missed (late), 03:00 is 30 s old: LAST fires 02:00 and 03:00, skips 01:00.
    const catchUp = await schedule({ catchUp: 'LAST' }, new Date('2031-03-01T01:00:00Z'));
    // Overlap SKIP: 03:00 starts a run that stays QUEUED (no engine), so 04:00 is skipped.
    const overlap = await schedule({ overlap: 'SKIP' }, new Date('2031-03-01T03:00:00Z'));
    await scheduler.tick();
    now = new Date('2031-03-01T04:00:10Z');
    await t.db.prisma.schedule.update({ where: { id: catchUp }, data: { enabled: false } });
    await scheduler.tick();

    const values = parseMetrics((await metrics.text()).body);
    metrics.close();
    expect(sumOf(values, 'weft_schedule_fires_total')).toBe(3); // catch-up 02:00 + 03:00, overlap 03:00
    expect(sumOf(values, 'weft_schedule_late_fires_total')).toBe(1);
    expect(sumOf(values, 'weft_schedule_skips_total', { reason: 'missed' })).toBe(1);
    expect(sumOf(values, 'weft_schedule_skips_total', { reason: 'overlap' })).toBe(1);
    expect(sumOf(values, 'weft_schedule_lateness_seconds_count')).toBe(3);
    expect(sumOf(values, 'weft_schedule_lateness_seconds_sum')).toBeCloseTo(3630 + 30 + 30, 0);

    await tracing.shutdown();
    const fires = exported.filter((s) => s.name === 'schedule.fire');
    expect(fires).toHaveLength(4); // three fires and the skipped overlap fire
    const runs = await t.db.prisma.run.findMany({ where: { scheduleId: { in: [catchUp, overlap] } } });
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      const parent = parseTraceparent(run.traceParent);
      const fire = fires.find((s) => s.spanContext().spanId === parent?.spanId);
      expect(fire?.attributes['weft.schedule.id']).toBe(run.scheduleId);
    }
  });
});
