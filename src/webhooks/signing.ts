// Weft's webhook signatures, one scheme for the three places that use it: webhook steps and
// run completion webhooks sign what they send, the inbound webhook trigger verifies what it
// receives.
//
//   X-Weft-Timestamp: <unix seconds>
//   X-Weft-Signature: sha256=<lower-case hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//
// Receivers recompute the HMAC over the timestamp, a dot and the exact bytes of the body,
// compare in constant time, and reject old timestamps to stop replays (verifyWebhookSignature
// does all three).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-weft-signature';
export const TIMESTAMP_HEADER = 'x-weft-timestamp';

/** The signature headers for `body` sent at `timestamp` (unix seconds). */
export function signWebhookPayload(secret: string, timestamp: number, body: string): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `sha256=${signature}` };
}

/** True when `signature` is the HMAC of this timestamp and body, and the timestamp is within `toleranceSeconds` of now. */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string,
  body: string,
  signature: string,
  toleranceSeconds = 300,
  nowSeconds = Date.now() / 1000,
): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhookPayload(secret, ts, body)[SIGNATURE_HEADER]!);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
