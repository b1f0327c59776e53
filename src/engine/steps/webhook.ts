// webhook: POSTs a JSON payload → { status }. When a secret is set the request is signed
// (src/webhooks/signing.ts: the scheme completion webhooks and inbound webhooks use too).
// Retries as http_request: network errors and 5xx are retryable, anything else is final.
import { signWebhookPayload } from '../../webhooks/signing.ts';
import { describeUrl, headersFrom, httpUrl, isServerError, send, statusError } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

export const webhookStep: StepHandler = {
  async execute(ctx: StepContext) {
    const { config } = ctx;
    const url = httpUrl(config.url, 'webhook.url');
    const headers = headersFrom(config.headers, 'webhook.headers');
    // Present but empty (say, a secret template that rendered to nothing) must not silently send unsigned.
    if (config.secret !== undefined && (typeof config.secret !== 'string' || !config.secret))
      throw new NonRetriableError('webhook.secret must be a non-empty string when set');
    const body = JSON.stringify(config.payload === undefined ? {} : config.payload);

    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    if (!headers.has('idempotency-key')) headers.set('idempotency-key', ctx.idempotencyKey);
    if (typeof config.secret === 'string') {
      // Set last: the configured headers cannot replace the signature.
      for (const [name, value] of Object.entries(
        signWebhookPayload(config.secret, Math.floor(Date.now() / 1000), body),
      ))
        headers.set(name, value);
    }

    const target = `POST ${describeUrl(url)}`;
    ctx.log(`${target}${typeof config.secret === 'string' ? ' (signed)' : ''}, ${Buffer.byteLength(body)} bytes`);
    // A redirect would turn the signed POST into something else (or send it somewhere else): not followed.
    const response = await send(ctx, url, { method: 'POST', headers, body, redirect: 'manual' });
    ctx.log(`→ ${response.status}`);
    if (response.status < 200 || response.status > 299) {
      const what =
        response.status >= 300 && response.status <= 399 ? `${target} (webhooks do not follow redirects)` : target;
      throw await statusError(response, what, isServerError(response.status));
    }
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status };
  },
};
