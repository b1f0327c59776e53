// Retry policy for steps: how many attempts, and how long to wait between them
// (exponential backoff with full jitter, so retries of many runs do not stampede together).

export interface RetryPolicy {
  attempts: number;
  backoffSeconds: number;
  maxBackoffSeconds: number;
}

export const DEFAULT_STEP_TIMEOUT_SECONDS = 300;

export function retryPolicyOf(step: { retry?: unknown }): RetryPolicy {
  const retry = (step.retry ?? {}) as Partial<Record<keyof RetryPolicy, unknown>>;
  const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback);
  return {
    attempts: Math.max(1, Math.floor(num(retry.attempts, 1))),
    backoffSeconds: num(retry.backoffSeconds, 1),
    maxBackoffSeconds: num(retry.maxBackoffSeconds, 300),
  };
}

/** Delay before attempt `nextAttempt` (2 = the first retry). */
export function backoffMs(policy: RetryPolicy, nextAttempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffSeconds, policy.backoffSeconds * 2 ** Math.max(0, nextAttempt - 2));
  return Math.round(random() * ceiling * 1000);
}

export function timeoutMsOf(step: { timeoutSeconds?: unknown }): number {
  const t = step.timeoutSeconds;
  return (typeof t === 'number' && t > 0 ? t : DEFAULT_STEP_TIMEOUT_SECONDS) * 1000;
}
