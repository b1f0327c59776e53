// The hooks the scheduler calls: a span per fire (the runs it starts link to it) and the fire,
// skip and lateness metrics.
import { SpanKind } from '@opentelemetry/api';
import type { Metrics } from './metrics.ts';
import { withScope } from './scope.ts';
import type { Tracing } from './tracing.ts';

export interface ScheduleObserver {
  /** Runs the handling of one fire time inside its span. */
  within<T>(scheduleId: string, at: Date, fn: () => Promise<T>): Promise<T>;
  /** A fire started its run `now` (late when more than `lateAfterMs` after `at`). */
  fired(at: Date, now: Date, lateAfterMs: number): void;
  skipped(count: number, reason: 'missed' | 'overlap'): void;
}

export function createScheduleObserver(metrics: Metrics, tracing: Tracing): ScheduleObserver {
  return {
    async within(scheduleId, at, fn) {
      const span = tracing.startSpan('schedule.fire', {
        kind: SpanKind.PRODUCER,
        attributes: { 'weft.schedule.id': scheduleId, 'weft.schedule.fire_time': at.toISOString() },
      });
      if (!span) return fn();
      try {
        return await withScope({ span: span.spanContext(), tracer: tracing.tracer }, fn);
      } finally {
        span.end();
      }
    },
    fired(at, now, lateAfterMs) {
      const lateness = now.getTime() - at.getTime();
      metrics.scheduleFired(lateness / 1000, lateness > lateAfterMs);
    },
    skipped: (count, reason) => metrics.scheduleSkipped(count, reason),
  };
}
