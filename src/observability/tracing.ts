// OpenTelemetry traces, off unless an exporter is configured (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER). Each app owns its provider and
// never registers it globally: two apps in one process (tests) keep their spans apart, and when
// tracing is off there is no provider, no exporter and no span object at all.
//
// A run is one trace whose id is the run's UUID (hex) and whose root span id is derived from it,
// so any process can parent a step attempt on the run without reading anything: the root span
// itself is written when the run finishes (start = createdAt), linked to the request, schedule
// tick or inbound webhook that created the run (Run.traceParent).
import { createHash, randomBytes } from 'node:crypto';
import {
  context as otelContext,
  trace,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  TracerProvider,
  type IdGenerator,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { parseTraceparent } from './scope.ts';

export interface TracingConfig {
  /** null: tracing off. */
  exporter: 'otlp' | 'console' | null;
  /** The OTLP/HTTP traces URL (…/v1/traces). */
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  /** OTEL_BSP_SCHEDULE_DELAY: how long finished spans wait before a batch is sent. */
  scheduleDelayMs: number;
}

export interface StepAttemptSpan {
  context: SpanContext;
  end(outcome: 'ok' | 'error' | 'retry', error?: string): void;
}

export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer | null;
  /** A span under `parent` (or a new trace); null when tracing is off. */
  startSpan(
    name: string,
    options: { parent?: SpanContext | null; attributes?: Attributes; kind?: SpanKind; links?: Link[] },
  ): Span | null;
  /** The span context of a run's root span (the parent of its step attempts). */
  runContext(runId: string): SpanContext | null;
  stepAttempt(claim: {
    runId: string;
    stepId: string;
    type: string;
    attempt: number;
    workflowId?: string | null;
    workspaceId: string;
  }): StepAttemptSpan | null;
  runFinished(run: FinishedRunTrace): void;
  /** Sends what is buffered and stops (app.stop). */
  shutdown(): Promise<void>;
}

export interface FinishedRunTrace {
  runId: string;
  workflowId: string | null;
  workspaceId: string;
  status: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date;
  traceParent: string | null;
}

/** Trace id of a run: its UUID without dashes (128 bits, unique). */
export function runTraceId(runId: string): string {
  return runId.replaceAll('-', '').toLowerCase();
}

/** Root span id of a run: derived, so every process computes the same one. */
export function runRootSpanId(runId: string): string {
  return createHash('sha256').update(`weft-run:${runId}`).digest('hex').slice(0, 16);
}

/**
 * Random ids, except for the next span when `preset` names them: the only way the SDK lets a
 * caller choose ids. Safe because startSpan reads them synchronously between setting `preset` and
 * clearing it (the SDK asks for the span id before the trace id, so neither read may clear it).
 */
class PresetIdGenerator implements IdGenerator {
  preset: { traceId: string; spanId: string } | null = null;
  generateTraceId(): string {
    return this.preset?.traceId ?? randomBytes(16).toString('hex');
  }
  generateSpanId(): string {
    return this.preset?.spanId ?? randomBytes(8).toString('hex');
  }
}

const OFF: Tracing = {
  enabled: false,
  tracer: null,
  startSpan: () => null,
  runContext: () => null,
  stepAttempt: () => null,
  runFinished: () => {},
  shutdown: async () => {},
};

export function createTracing(config: TracingConfig, exporterOverride?: SpanExporter): Tracing {
  if (!config.exporter && !exporterOverride) return OFF;
  const exporter: SpanExporter =
    exporterOverride ??
    (config.exporter === 'console'
      ? new ConsoleSpanExporter()
      : (new OTLPTraceExporter({ url: config.url, headers: config.headers }) as unknown as SpanExporter));
  const ids = new PresetIdGenerator();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    idGenerator: ids,
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: config.scheduleDelayMs })],
  });
  const tracer = provider.getTracer('weft');

  const startSpan = (name: string, options: Parameters<Tracing['startSpan']>[1]): Span => {
    const parent = options.parent ? trace.setSpanContext(otelContext.active(), options.parent) : otelContext.active();
    return tracer.startSpan(
      name,
      {
        attributes: options.attributes,
        kind: options.kind ?? SpanKind.INTERNAL,
        links: options.links,
        root: !options.parent,
      },
      parent,
    );
  };
  const runContext = (runId: string): SpanContext => ({
    traceId: runTraceId(runId),
    spanId: runRootSpanId(runId),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });

  return {
    enabled: true,
    tracer,
    startSpan,
    runContext,
    stepAttempt(claim) {
      const span = startSpan(`step ${claim.stepId}`, {
        parent: runContext(claim.runId),
        attributes: {
          'weft.run.id': claim.runId,
          'weft.step.id': claim.stepId,
          'weft.step.type': claim.type,
          'weft.step.attempt': claim.attempt,
          'weft.workspace.id': claim.workspaceId,
          ...(claim.workflowId ? { 'weft.workflow.id': claim.workflowId } : {}),
        },
      });
      return {
        context: span.spanContext(),
        end(outcome, error) {
          span.setAttribute('weft.step.outcome', outcome);
          if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: error });
          span.end();
        },
      };
    },
    runFinished(run) {
      const origin = parseTraceparent(run.traceParent);
      ids.preset = { traceId: runTraceId(run.runId), spanId: runRootSpanId(run.runId) };
      const root = tracer.startSpan(`run ${run.workflowId ?? 'preview'}`, {
        root: true,
        startTime: run.createdAt,
        attributes: {
          'weft.run.id': run.runId,
          'weft.run.status': run.status,
          'weft.workspace.id': run.workspaceId,
          ...(run.workflowId ? { 'weft.workflow.id': run.workflowId } : {}),
        },
        links: origin ? [{ context: origin, attributes: { 'weft.link': 'started by' } }] : [],
      });
      ids.preset = null;
      if (run.startedAt) {
        const queued = tracer.startSpan(
          'run queued',
          { startTime: run.createdAt, attributes: { 'weft.run.id': run.runId } },
          trace.setSpan(otelContext.active(), root),
        );
        queued.end(run.startedAt);
      }
      if (run.status !== 'COMPLETED') root.setStatus({ code: SpanStatusCode.ERROR, message: run.status });
      root.end(run.finishedAt);
    },
    shutdown: () => provider.shutdown(),
  };
}
