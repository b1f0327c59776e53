// webhook: POSTs a JSON payload → { status }. When a secret is set the request is signed:
//
//   X-Weft-Timestamp: <unix seconds>
//   X-Weft-Signature: sha256=<lower-case hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//
// Receivers recompute the HMAC over the timestamp, a dot and the exact bytes of the body,
// compare in constant time, and reject old timestamps to stop replays (verifyWebhookSignature
// does all three). Run completion webhooks and the inbound webhook trigger use the same scheme.
// Retries as http_request: network errors and 5xx are retryable, anything else is final.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describeUrl, headersFrom, httpUrl, isServerError, send, statusError } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

export const SIGNATURE_HEADER = 'x-weft-signature';
export const TIMESTAMP_HEADER = 'x-weft-timestamp';

/** The signature headers for `body` sent at `timestamp` (unix seconds). */
export function signWebhookPayload(secret: string, timestamp: number, body: string): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `sha256=${signature}` };
}

/** True when `signature` is the HMAC of this timestamp and body, and the timestamp is within `toleranceSeconds` of now. */
export function verifyWebhookSignature(secret: string, timestamp: string, body: string, signature: string, toleranceSeconds = 300, nowSeconds = Date.now() / 1000): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhookPayload(secret, ts, body)[SIGNATURE_HEADER]!);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export const webhookStep: StepHandler = {
  async execute(ctx: StepContext) {
    const { config } = ctx;
    const url = httpUrl(config.url, 'webhook.url');
    const headers = headersFrom(config.headers, 'webhook.headers');
    // Present but empty (say, a secret template that rendered to nothing) must not silently send unsigned.
    if (config.secret !== undefined && (typeof config.secret !== 'string' || !config.secret)) throw new NonRetriableError('webhook.secret must be a non-empty string when set');
    const body = JSON.stringify(config.payload === undefined ? {} : config.payload);

    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    if (!headers.has('idempotency-key')) headers.set('idempotency-key', ctx.idempotencyKey);
    if (typeof config.secret === 'string') {
      // Set last: the configured headers cannot replace the signature.
      for (const [name, value] of Object.entries(signWebhookPayload(config.secret, Math.floor(Date.now() / 1000), body))) headers.set(name, value);
    }

    const target = `POST ${describeUrl(url)}`;
    ctx.log(`${target}${typeof config.secret === 'string' ? ' (signed)' : ''}, ${Buffer.byteLength(body)} bytes`);
    // A redirect would turn the signed POST into something else (or send it somewhere else): not followed.
    const response = await send(ctx, url, { method: 'POST', headers, body, redirect: 'manual' });
    ctx.log(`→ ${response.status}`);
    if (response.status < 200 || response.status > 299) {
      const what = response.status >= 300 && response.status <= 399 ? `${target} (webhooks do not follow redirects)` : target;
      throw await statusError(response, what, isServerError(response.status));
    }
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status };
  },
};
