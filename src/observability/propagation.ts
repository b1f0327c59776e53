// W3C trace context across Weft's edges: `traceparent` added to outbound calls made while a span
// is active (http_request, webhook, agent_task steps and completion webhooks all use the step
// environment's fetch), and accepted from inbound webhooks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Metrics } from './metrics.ts';
import { currentTraceparent, parseTraceparent, withScope } from './scope.ts';
import type { Tracing } from './tracing.ts';

type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** `fetch` that sends the active span as `traceparent` (unless the caller set one). */
export function withTraceparent(fetch: Fetch): Fetch {
  return (url, init) => {
    const traceparent = currentTraceparent();
    if (!traceparent) return fetch(url, init);
    const headers = new Headers(init?.headers);
    if (!headers.has('traceparent')) headers.set('traceparent', traceparent);
    return fetch(url, { ...init, headers });
  };
}

/**
 * Handles an inbound webhook inside a span continuing the sender's `traceparent` (runs it starts
 * link to that span), and counts it as accepted (2xx) or refused when the answer is sent.
 */
export function observeInboundWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { metrics: Metrics; tracing: Tracing },
  handle: () => Promise<void>,
): Promise<void> {
  const header = req.headers.traceparent;
  const span = deps.tracing.startSpan('webhook.inbound', {
    parent: parseTraceparent(typeof header === 'string' ? header : null),
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': req.method ?? 'POST' },
  });
  res.once('finish', () => {
    const accepted = res.statusCode < 400;
    deps.metrics.inboundWebhook(accepted);
    if (!span) return;
    span.setAttribute('http.response.status_code', res.statusCode);
    if (!accepted) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  return withScope({ span: span?.spanContext() ?? null, tracer: deps.tracing.tracer }, handle);
}
