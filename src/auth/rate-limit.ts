// Per-caller rate limit: a token bucket per API key or user, refilled continuously. Without
// Redis the buckets live in this process (with several API processes each enforces the limit on
// its own share of the traffic). With REDIS_URL they live in Redis, updated by one atomic Lua
// script using Redis's clock, so the limit holds across every API process.
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';

export interface RateLimiter {
  /** Takes one token; resolves 0 when allowed, else the seconds to wait before retrying. */
  take(callerKey: string): Promise<number>;
  close(): Promise<void>;
}

const UNLIMITED: RateLimiter = { take: async () => 0, close: async () => undefined };

export function createRateLimiter(perMinute: number, burst: number, now: () => number = Date.now): RateLimiter {
  if (perMinute === 0) return UNLIMITED;
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = now();
  return {
    async take(callerKey) {
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
    close: async () => undefined,
  };
}

// KEYS[1] bucket; ARGV: tokens per ms, burst. Returns the seconds to wait (0: allowed). The
// bucket expires once it would have refilled, so idle callers cost nothing.
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local data = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(data[1]) or burst
local at = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.max(1, math.ceil((1 - tokens) / rate / 1000)) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
`;

/**
 * The shared limiter. If Redis cannot be reached the request is allowed (and the failure
 * logged): the limit protects the service, it must not take it down with Redis.
 */
export function createRedisRateLimiter(
  redis: Redis,
  prefix: string,
  perMinute: number,
  burst: number,
  log: Logger,
): RateLimiter {
  if (perMinute === 0) return UNLIMITED;
  const perMs = String(perMinute / 60_000);
  return {
    async take(callerKey) {
      try {
        return Number(await redis.eval(TAKE_SCRIPT, 1, `${prefix}rate-limit:${callerKey}`, perMs, String(burst)));
      } catch (error) {
        log.warn({ err: error }, 'rate limit check failed (Redis); allowing the request');
        return 0;
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}
