// What the code running now is working on: the run, step and attempt (for log lines) and the
// span it belongs to (for child spans and outbound `traceparent`). Carried by an
// AsyncLocalStorage so that nothing between the engine and a log call or a fetch has to pass it
// along; the store is per process but holds the tracer of the app that opened the scope, so
// several apps in one process (tests) never mix their spans.
import { AsyncLocalStorage } from 'node:async_hooks';
import { coerceError } from '../errors.ts';
import { context as otelContext, trace, type Attributes, type SpanContext, type Tracer } from '@opentelemetry/api';

/** Fields every log line written inside the scope carries (pino mixin). */
export interface LogFields {
  runId?: string;
  stepId?: string;
  attempt?: number;
  workflowId?: string | null;
  workspaceId?: string;
  traceId?: string;
  operationName?: string;
}

export interface Scope {
  fields: LogFields;
  /** The active span; null when tracing is off. */
  span: SpanContext | null;
  /** The tracer that made `span`, for child spans (loop iterations). */
  tracer: Tracer | null;
}

const storage = new AsyncLocalStorage<Scope>();

export function currentScope(): Scope | undefined {
  return storage.getStore();
}

/** Runs `fn` with `fields` added to (and `span` replacing, when given) the current scope. */
export function withScope<T>(
  patch: { fields?: LogFields; span?: SpanContext | null; tracer?: Tracer | null },
  fn: () => T,
): T {
  const outer = storage.getStore();
  const span = patch.span !== undefined ? patch.span : (outer?.span ?? null);
  const fields = { ...outer?.fields, ...patch.fields, ...(span ? { traceId: span.traceId } : {}) };
  return storage.run({ fields, span, tracer: patch.tracer !== undefined ? patch.tracer : (outer?.tracer ?? null) }, fn);
}

/** pino `mixin`: the scope's fields on every line (absent ones are left out). */
export function logMixin(): Record<string, unknown> {
  const fields = storage.getStore()?.fields;
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== null) out[key] = value;
  return out;
}

/** W3C traceparent of the active span, or null (tracing off, or nothing active). */
export function currentTraceparent(): string | null {
  const span = storage.getStore()?.span;
  return span ? formatTraceparent(span) : null;
}

export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 1) === 1 ? '01' : '00'}`;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a W3C traceparent header; null when absent or malformed (an all-zero id is invalid). */
export function parseTraceparent(value: string | null | undefined): SpanContext | null {
  const match = TRACEPARENT.exec((value ?? '').trim().toLowerCase());
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return null;
  return { traceId: match[2]!, spanId: match[3]!, traceFlags: parseInt(match[4]!, 16) & 1, isRemote: true };
}

/**
 * Runs `fn` inside a child span of the current one (a loop iteration). Without an active span
 * (tracing off) it just runs `fn`: the cost when off is one AsyncLocalStorage read.
 */
export async function inChildSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const scope = storage.getStore();
  if (!scope?.span || !scope.tracer) return fn();
  const parent = trace.setSpanContext(otelContext.active(), scope.span);
  const span = scope.tracer.startSpan(name, { attributes }, parent);
  try {
    const result = await withScope({ span: span.spanContext() }, fn);
    span.setAttribute('weft.outcome', 'ok');
    return result;
  } catch (error) {
    span.setAttribute('weft.outcome', 'error');
    // The error's name only: its message may carry what the engine redacts before recording it.
    span.setStatus({ code: 2, message: coerceError(error).name });
    throw error;
  } finally {
    span.end();
  }
}
