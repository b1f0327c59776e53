// Shared pieces of the outbound step handlers: reading a response with a byte cap, and
// classifying HTTP failures as retryable or not.
import { NonRetriableError } from './types.ts';

/** Reads the whole body, failing (non-retriably) as soon as it exceeds `maxBytes`. */
export async function readBodyCapped(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new NonRetriableError(`Response body is ${declared} bytes, more than the limit of ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw new NonRetriableError(`Response body exceeds the limit of ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** 5xx, 408 and 429 are worth retrying; other unexpected statuses are not. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export function excerpt(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Turns fetch's failures into our error classes: aborts keep their reason, others are retryable network errors. */
export function networkError(error: unknown, signal: AbortSignal, url: string): Error {
  if (error instanceof NonRetriableError) return error; // e.g. refused by the outbound address policy
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new Error(`Request to ${url} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
}

export function stringRecord(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new NonRetriableError(`${what} must be an object`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}
