// webhook: POSTs a JSON payload, signed with HMAC-SHA256 when a secret is set:
//   X-Weft-Timestamp: <unix seconds>
//   X-Weft-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
// Receivers recompute the HMAC over the timestamp, a dot and the raw body, compare in
// constant time, and reject old timestamps to stop replays. Run completion webhooks use the
// same scheme.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { excerpt, isRetryableStatus, networkError, readBodyCapped, stringRecord } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

export function signWebhookPayload(secret: string, timestamp: number, body: string): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'x-weft-timestamp': String(timestamp), 'x-weft-signature': `sha256=${signature}` };
}

/** True when `signature` is the HMAC of this body and timestamp, and the timestamp is recent. */
export function verifyWebhookSignature(secret: string, timestamp: string, body: string, signature: string, toleranceSeconds = 300, nowSeconds = Date.now() / 1000): boolean {
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhookPayload(secret, ts, body)['x-weft-signature']!);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export const webhookStep: StepHandler = {
  async execute(ctx: StepContext) {
    const { config } = ctx;
    if (typeof config.url !== 'string' || !/^https?:\/\//.test(config.url)) throw new NonRetriableError('webhook.url must be an http(s) URL');
    const body = JSON.stringify(config.payload ?? {});
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey, ...stringRecord(config.headers, 'webhook.headers') };
    if (config.secret !== undefined) {
      if (typeof config.secret !== 'string' || !config.secret) throw new NonRetriableError('webhook.secret must be a non-empty string');
      Object.assign(headers, signWebhookPayload(config.secret, Math.floor(Date.now() / 1000), body));
    }
    let response: Response;
    try {
      response = await ctx.env.fetch(config.url, { method: 'POST', headers, body, signal: ctx.signal });
    } catch (error) {
      throw networkError(error, ctx.signal, config.url);
    }
    const text = (await readBodyCapped(response, ctx.env.maxResponseBytes)).toString('utf8');
    ctx.log(`POST ${config.url} → ${response.status}`);
    if (!response.ok) {
      const message = `Webhook ${config.url} answered ${response.status}: ${excerpt(text)}`;
      throw isRetryableStatus(response.status) ? new Error(message) : new NonRetriableError(message);
    }
    return { status: response.status };
  },
};
