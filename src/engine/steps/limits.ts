// What the outbound step handlers (http_request, webhook, agent_task) share: checking their
// evaluated config, sending a request that honours cancellation, reading a response under a
// byte cap, and sorting failures into retryable and non-retriable ones. Kept in one place so
// the handlers classify errors and enforce limits the same way.
import { NonRetriableError, type StepContext } from './types.ts';
import { isPlainObject } from '../../json.ts';
import { coerceError } from '../../errors.ts';

export const MIB = 1024 * 1024;
/** How much of a failed response's body goes into the error message. */
const EXCERPT_BYTES = 2048;
const EXCERPT_CHARS = 300;

// ---------------------------------------------------------------------------------------------
// Config checks. Configs were validated when the definition was saved, but templates are
// rendered at run time (`headers: "{{ input.headers }}"`), so handlers check what they receive.

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** An absolute http(s) URL without credentials (fetch refuses those, and they would be logged). */
export function httpUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string' || !value)
    throw new NonRetriableError(`${field} must be a non-empty string, got ${describe(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new NonRetriableError(`${field} is not an absolute URL: ${excerpt(value, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new NonRetriableError(`${field} must use http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password)
    throw new NonRetriableError(
      `${field} must not contain credentials (user:password@); send them in a header instead`,
    );
  return url;
}

/** Where a request goes, for logs and errors: no query string (it often carries API keys). */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** `{ name: scalar }` with every value turned into text; absent → {}. */
export function scalarRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw new NonRetriableError(`${field} must be an object, got ${describe(value)}`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
      throw new NonRetriableError(`${field}.${key} must be a string, number or boolean, got ${describe(item)}`);
    }
    out[key] = String(item);
  }
  return out;
}

/** Request headers from config; invalid names or values (a newline, say) are a config error. */
export function headersFrom(value: unknown, field: string): Headers {
  const headers = new Headers();
  for (const [name, item] of Object.entries(scalarRecord(value, field))) {
    try {
      headers.set(name, item);
    } catch {
      throw new NonRetriableError(
        `${field}.${name} is not a valid HTTP header (name or value contains characters HTTP does not allow)`,
      );
    }
  }
  return headers;
}

export function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new NonRetriableError(`${field} must be a string, got ${describe(value)}`);
  return value;
}

export function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.trim())
    throw new NonRetriableError(`${field} must be a non-empty string, got ${describe(value)}`);
  return value;
}

/** An integer in [min, max], or `fallback` when absent. */
export function integerIn(value: unknown, field: string, min: number, max: number, fallback: number): number;
export function integerIn(value: unknown, field: string, min: number, max: number): number | undefined;
export function integerIn(
  value: unknown,
  field: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new NonRetriableError(`${field} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Sending and reading.

/** Why an aborted step stops: the engine's reason (cancelled, timed out) is kept as is. */
function abortReason(signal: AbortSignal): Error {
  return coerceError(signal.reason ?? 'Aborted');
}

function failureCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return coerceError(error).message;
}

/**
 * Sends one request through the server's outbound fetch (which enforces WEFT_OUTBOUND_ALLOW),
 * tied to the step's signal. An abort surfaces as the signal's reason; a refusal by the address
 * policy stays non-retriable; every other failure (refused, reset, DNS) is a retryable error.
 */
export async function send(ctx: StepContext, url: URL, init: RequestInit): Promise<Response> {
  if (ctx.signal.aborted) throw abortReason(ctx.signal);
  try {
    return await ctx.env.fetch(url, { ...init, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    if (error instanceof NonRetriableError) throw error;
    throw new Error(`Request to ${describeUrl(url)} failed: ${failureCause(error)}`, { cause: error });
  }
}

/**
 * Reads the whole body, enforcing `maxBytes` as it streams (a declared Content-Length over the
 * cap fails before reading anything). Going over is non-retriable: the same request would
 * return the same oversized body. A connection dropped mid-body is retryable.
 */
export async function readBodyCapped(
  response: Response,
  maxBytes: number,
  signal: AbortSignal,
  url: URL,
): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new NonRetriableError(
      `Response from ${describeUrl(url)} is ${declared} bytes, over the limit of ${maxBytes} bytes`,
    );
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new NonRetriableError(`Response from ${describeUrl(url)} is over the limit of ${maxBytes} bytes`);
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  } catch (error) {
    if (error instanceof NonRetriableError) throw error;
    if (signal.aborted) throw abortReason(signal);
    throw new Error(`Reading the response from ${describeUrl(url)} failed: ${failureCause(error)}`, { cause: error });
  }
  return Buffer.concat(chunks, size);
}

/** The start of a body for an error message; never fails (the status is the real news). */
export async function readBodyExcerpt(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      size += value.byteLength;
    }
  } catch {
    // a truncated excerpt is fine
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return excerpt(decodeText(Buffer.concat(chunks).subarray(0, EXCERPT_BYTES), response.headers.get('content-type')));
}

/** Decodes a body with the charset its Content-Type names (UTF-8 when absent or unknown). */
export function decodeText(bytes: Buffer, contentType: string | null): string {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  if (charset) {
    try {
      return new TextDecoder(charset).decode(bytes);
    } catch {
      // unknown label: fall through to UTF-8
    }
  }
  return bytes.toString('utf8');
}

export function isJsonContentType(contentType: string | null): boolean {
  return /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType ?? '');
}

/** Response headers as a plain object with lower-case names (repeated headers joined by ", "). */
export function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Failures.

export function excerpt(text: string, max = EXCERPT_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function isServerError(status: number): boolean {
  return status >= 500 && status <= 599;
}

/** The error for a response with an unexpected status: retryable or not, as the caller decides. */
export async function statusError(response: Response, what: string, retryable: boolean): Promise<Error> {
  const body = await readBodyExcerpt(response);
  const message = `${what} answered HTTP ${response.status}${body ? `: ${body}` : ''}`;
  return retryable ? new Error(message) : new NonRetriableError(message);
}
