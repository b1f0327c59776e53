// Per-caller rate limit: a token bucket per API key or user, refilled continuously. In memory,
// per process: with several API processes behind a load balancer each enforces the limit on
// its own share of the traffic (documented in the README). Buckets of idle callers are dropped.
export interface RateLimiter {
  /** Takes one token; returns 0 when allowed, else the seconds to wait before retrying. */
  take(callerKey: string): number;
}

export function createRateLimiter(perMinute: number, burst: number, now: () => number = Date.now): RateLimiter {
  if (perMinute === 0) return { take: () => 0 };
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = now();
  return {
    take(callerKey) {
      const t = now();
      if (t - lastSweep > 60_000) {
        // A bucket that has refilled completely carries no information: forget it.
        for (const [key, bucket] of buckets) if (bucket.tokens + (t - bucket.at) * perMs >= burst) buckets.delete(key);
        lastSweep = t;
      }
      const bucket = buckets.get(callerKey) ?? { tokens: burst, at: t };
      bucket.tokens = Math.min(burst, bucket.tokens + (t - bucket.at) * perMs);
      bucket.at = t;
      buckets.set(callerKey, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    },
  };
}
