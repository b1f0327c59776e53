// http_request: one HTTP call → { status, headers, body }. Network errors and 5xx are
// retryable; any other unexpected status fails the step at once (docs/definition.md).
import {
  decodeText,
  describeUrl,
  excerpt,
  headersFrom,
  headersObject,
  httpUrl,
  integerIn,
  isJsonContentType,
  isServerError,
  MIB,
  readBodyCapped,
  scalarRecord,
  send,
  statusError,
} from './limits.ts';
import { fileBody, saveResponse, type FileBody } from './http-files.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const RESPONSE_TYPES = ['auto', 'json', 'text'] as const;
const DEFAULT_MAX_RESPONSE_BYTES = MIB;
const MAX_RESPONSE_BYTES = 10 * MIB;

type Method = (typeof METHODS)[number];
type ResponseType = (typeof RESPONSE_TYPES)[number];

interface HttpRequestConfig {
  method: Method;
  url: URL;
  headers: Headers;
  body: string | undefined;
  file: FileBody | null;
  saveAs: unknown;
  isExpected: (status: number) => boolean;
  responseType: ResponseType;
  maxResponseBytes: number;
}

function parseMethod(value: unknown): Method {
  const method = value === undefined || value === null ? 'GET' : typeof value === 'string' ? value.toUpperCase() : '';
  if (!(METHODS as readonly string[]).includes(method))
    throw new NonRetriableError(
      `http_request.method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  return method as Method;
}

function parseExpectedStatus(value: unknown): (status: number) => boolean {
  if (value === undefined || value === null) return (status) => status >= 200 && status <= 299;
  const list = Array.isArray(value) ? value : [value];
  const valid =
    list.length > 0 && list.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599);
  if (!valid)
    throw new NonRetriableError(
      `http_request.expectedStatus must be a status code (100–599) or a non-empty list of them, got ${JSON.stringify(value)}`,
    );
  return (status) => list.includes(status);
}

async function parseConfig(ctx: StepContext): Promise<HttpRequestConfig> {
  const config = ctx.config;
  const method = parseMethod(config.method);
  const url = httpUrl(config.url, 'http_request.url');
  // append, not set: parameters already in the URL stay, as do repeated names.
  for (const [name, value] of Object.entries(scalarRecord(config.query, 'http_request.query')))
    url.searchParams.append(name, value);
  const headers = headersFrom(config.headers, 'http_request.headers');

  let body: string | undefined;
  if (config.body !== undefined && config.body !== null) {
    if (method === 'GET' || method === 'HEAD')
      throw new NonRetriableError(
        `http_request.body cannot be sent with ${method}; use POST, PUT or PATCH, or move the values to query`,
      );
    body = typeof config.body === 'string' ? config.body : JSON.stringify(config.body);
    if (!headers.has('content-type'))
      headers.set('content-type', typeof config.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json');
  }
  const file = await fileBody(ctx);
  if (file && (method === 'GET' || method === 'HEAD'))
    throw new NonRetriableError(`http_request: a file cannot be sent with ${method}; use POST, PUT or PATCH`);
  if (file?.contentType && !headers.has('content-type')) headers.set('content-type', file.contentType);
  // The same key on every attempt lets the receiver recognise a retry of a request it already handled.
  if (method !== 'GET' && method !== 'HEAD' && !headers.has('idempotency-key'))
    headers.set('idempotency-key', ctx.idempotencyKey);

  const responseType = config.responseType ?? 'auto';
  if (!(RESPONSE_TYPES as readonly unknown[]).includes(responseType))
    throw new NonRetriableError(
      `http_request.responseType must be one of ${RESPONSE_TYPES.join(', ')}, got ${JSON.stringify(responseType)}`,
    );
  const configured = integerIn(
    config.maxResponseBytes,
    'http_request.maxResponseBytes',
    1,
    MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
  );
  return {
    method,
    url,
    headers,
    body,
    file,
    saveAs: config.saveAs ?? null,
    isExpected: parseExpectedStatus(config.expectedStatus),
    responseType: responseType as ResponseType,
    maxResponseBytes: Math.min(configured, ctx.env.maxResponseBytes),
  };
}

function parseBody(ctx: StepContext, request: HttpRequestConfig, raw: Buffer, contentType: string | null): unknown {
  const text = decodeText(raw, contentType);
  const wantsJson =
    request.responseType === 'json' || (request.responseType === 'auto' && isJsonContentType(contentType));
  if (!wantsJson) return text;
  if (!text.trim()) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (request.responseType === 'json')
      throw new NonRetriableError(
        `Response from ${describeUrl(request.url)} is not valid JSON (responseType "json"): ${excerpt(text)}`,
      );
    ctx.log(`response says ${contentType} but is not valid JSON; returning it as text`);
    return text;
  }
}

export const httpRequestStep: StepHandler = {
  async execute(ctx: StepContext) {
    const request = await parseConfig(ctx);
    const target = `${request.method} ${describeUrl(request.url)}`;
    ctx.log(target);
    const body = request.file?.body ?? request.body;
    // A streamed body cannot be replayed: a redirect is then the step's failure, not followed.
    const response = await send(ctx, request.url, {
      method: request.method,
      headers: request.headers,
      body,
      redirect: request.file?.streamed ? 'error' : 'follow',
      ...(request.file?.streamed ? { duplex: 'half' } : {}),
    } as RequestInit);

    if (!request.isExpected(response.status)) {
      ctx.log(`→ ${response.status} (unexpected)`);
      // Only a server-side failure may go away by itself; a 4xx (or an unexpected 2xx/3xx) won't.
      throw await statusError(response, target, isServerError(response.status));
    }
    if (request.method === 'HEAD') {
      await response.body?.cancel().catch(() => undefined);
      ctx.log(`→ ${response.status}`);
      return { status: response.status, headers: headersObject(response.headers), body: null };
    }
    if (request.saveAs !== null) {
      const attachment = await saveResponse(ctx, response, request.saveAs);
      ctx.log(`→ ${response.status}`);
      return { status: response.status, headers: headersObject(response.headers), body: null, attachment };
    }
    const raw = await readBodyCapped(response, request.maxResponseBytes, ctx.signal, request.url);
    ctx.log(`→ ${response.status} (${raw.length} bytes)`);
    const contentType = response.headers.get('content-type');
    return {
      status: response.status,
      headers: headersObject(response.headers),
      body: parseBody(ctx, request, raw, contentType),
    };
  },
};
