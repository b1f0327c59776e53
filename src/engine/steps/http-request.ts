// http_request: one HTTP call; output { status, headers, body }. Network errors and 5xx are
// retryable, other unexpected statuses are not.
import { excerpt, isRetryableStatus, networkError, readBodyCapped, stringRecord } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' || !value) throw new NonRetriableError('http_request.url must be a non-empty string');
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    return url;
  } catch {
    throw new NonRetriableError(`http_request.url is not a valid http(s) URL: ${value}`);
  }
}

function expectedStatuses(value: unknown): (status: number) => boolean {
  if (value === undefined || value === null) return (s) => s >= 200 && s < 300;
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v) => Number.isInteger(v))) throw new NonRetriableError('http_request.expectedStatus must be a status code or a list of them');
  return (s) => list.includes(s);
}

export const httpRequestStep: StepHandler = {
  async execute(ctx: StepContext) {
    const config = ctx.config;
    const method = String(config.method ?? 'GET').toUpperCase();
    if (!METHODS.has(method)) throw new NonRetriableError(`http_request.method must be one of ${[...METHODS].join(', ')}`);
    const url = parseUrl(config.url);
    for (const [key, value] of Object.entries(stringRecord(config.query, 'http_request.query'))) url.searchParams.append(key, value);
    const headers = new Headers(stringRecord(config.headers, 'http_request.headers'));
    let body: string | undefined;
    if (config.body !== undefined && config.body !== null && method !== 'GET' && method !== 'HEAD') {
      body = typeof config.body === 'string' ? config.body : JSON.stringify(config.body);
      if (!headers.has('content-type')) headers.set('content-type', typeof config.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json');
    }
    if (method !== 'GET' && method !== 'HEAD' && !headers.has('idempotency-key')) headers.set('idempotency-key', ctx.idempotencyKey);
    const ok = expectedStatuses(config.expectedStatus);
    const maxBytes = Math.min(typeof config.maxResponseBytes === 'number' ? config.maxResponseBytes : DEFAULT_MAX_RESPONSE_BYTES, ctx.env.maxResponseBytes);

    ctx.log(`${method} ${url.origin}${url.pathname}`);
    let response: Response;
    try {
      response = await ctx.env.fetch(url, { method, headers, body, signal: ctx.signal, redirect: 'follow' });
    } catch (error) {
      throw networkError(error, ctx.signal, `${url.origin}${url.pathname}`);
    }
    const raw = await readBodyCapped(response, maxBytes);
    const text = raw.toString('utf8');
    ctx.log(`→ ${response.status} (${raw.length} bytes)`);
    if (!ok(response.status)) {
      const message = `Unexpected HTTP status ${response.status} from ${method} ${url.origin}${url.pathname}: ${excerpt(text)}`;
      throw isRetryableStatus(response.status) ? new Error(message) : new NonRetriableError(message);
    }
    const responseType = String(config.responseType ?? 'auto');
    const isJson = responseType === 'json' || (responseType === 'auto' && /json/i.test(response.headers.get('content-type') ?? ''));
    let parsed: unknown = text;
    if (isJson && text.length) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (responseType === 'json') throw new NonRetriableError(`Response from ${url.origin}${url.pathname} is not valid JSON: ${excerpt(text)}`);
      }
    }
    return { status: response.status, headers: Object.fromEntries(response.headers), body: method === 'HEAD' ? null : parsed };
  },
};
