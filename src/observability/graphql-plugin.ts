// One envelop plugin for every GraphQL operation, over HTTP, SSE and WebSocket alike: a span
// (child of the caller's `traceparent`), the operation counter and latency histogram, the
// subscription gauge and delivered-events counter, and the operation name in the log scope
// (and in the request log line, through operationOf).
import { getOperationAST, type ExecutionArgs, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Metrics } from './metrics.ts';
import { parseTraceparent, withScope } from './scope.ts';
import type { Tracing } from './tracing.ts';

const operations = new WeakMap<object, string>();
/** HTTP requests whose operation reached execution (counted there); the others are counted as refused. */
const executed = new WeakSet<object>();
const requestedNames = new WeakMap<object, string>();

/** The GraphQL operation name a request executed (for its request log line). */
export function operationOf(req: object): string | undefined {
  return operations.get(req);
}

interface CallerContext {
  request?: { headers: { get(name: string): string | null } };
  req?: { headers: Record<string, string | string[] | undefined> };
}

function traceparentOf(ctx: CallerContext): string | null {
  const upgrade = ctx.req?.headers.traceparent;
  return ctx.request?.headers.get('traceparent') ?? (typeof upgrade === 'string' ? upgrade : null);
}

function outcomeOf(result: unknown): string {
  const errors = (result as { errors?: readonly GraphQLError[] } | null)?.errors;
  if (!errors?.length) return 'OK';
  const code = errors[0]?.extensions?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/** Starts what every operation gets; returns the function to call with its (first) result. */
function begin(args: ExecutionArgs, metrics: Metrics, tracing: Tracing) {
  const operation = getOperationAST(args.document, args.operationName);
  const name = operation?.name?.value ?? args.operationName ?? 'anonymous';
  const type = operation?.operation ?? 'query';
  const ctx = args.contextValue as CallerContext;
  if (ctx.req && typeof ctx.req === 'object') operations.set(ctx.req, name);
  if (ctx.request) executed.add(ctx.request);
  const span: Span | null = tracing.startSpan(`graphql.${type} ${name}`, {
    parent: parseTraceparent(traceparentOf(ctx)),
    kind: SpanKind.SERVER,
    attributes: { 'graphql.operation.name': name, 'graphql.operation.type': type },
  });
  const started = performance.now();
  return {
    scoped: <T>(fn: () => T): T =>
      withScope({ fields: { operationName: name }, span: span?.spanContext() ?? null, tracer: tracing.tracer }, fn),
    done(result: unknown) {
      const outcome = outcomeOf(result);
      metrics.graphqlOperation(name, type, outcome, (performance.now() - started) / 1000);
      if (!span) return;
      span.setAttribute('weft.outcome', outcome);
      if (outcome !== 'OK') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
    },
  };
}

export function observabilityPlugin(metrics: Metrics, tracing: Tracing): Plugin {
  return {
    onParams({ params, request }) {
      if (params.operationName) requestedNames.set(request, params.operationName);
    },
    // A request refused before execution (unparsable, invalid, unauthenticated, rate limited)
    // never reaches onExecute: count it here with its error code, type `none`.
    onResultProcess({ request, result }) {
      if (executed.has(request) || isAsyncIterable(result)) return;
      metrics.graphqlOperation(
        requestedNames.get(request),
        'none',
        outcomeOf(Array.isArray(result) ? result[0] : result),
        null,
      );
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const op = begin(args, metrics, tracing);
      setExecuteFn((a) => op.scoped(() => executeFn(a)));
      return { onExecuteDone: ({ result }) => op.done(isAsyncIterable(result) ? null : result) };
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const op = begin(args, metrics, tracing);
      setSubscribeFn((a) => op.scoped(() => subscribeFn(a)));
      return {
        onSubscribeResult({ result }) {
          op.done(isAsyncIterable(result) ? null : result);
          if (!isAsyncIterable(result)) return;
          metrics.subscriptionStarted();
          return { onNext: () => metrics.eventDelivered(), onEnd: () => metrics.subscriptionEnded() };
        },
      };
    },
  };
}
