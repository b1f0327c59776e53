// API keys: `weft_live_` + 43 random base64url characters (256 bits). Shown once when created;
// only the SHA-256 is stored, so a database leak does not leak usable keys. A plain hash (not
// bcrypt/scrypt) is right here: the key is random and long, so there is nothing to brute-force,
// and every request looks the key up by its hash.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/client.ts';
import type { MemberRole } from '../generated/prisma/enums.ts';
import type { Permission } from './permissions.ts';

export const API_KEY_PREFIX = 'weft_live_';
const KEY_PATTERN = /^weft_live_[A-Za-z0-9_-]{32,}$/;
/** How much of the key listings show: the fixed prefix and 6 random characters. */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 6;
/** lastUsedAt is written at most this often per key, so reads do not each cost a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function looksLikeApiKey(token: string): boolean {
  return KEY_PATTERN.test(token);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface NewApiKey {
  workspaceId: string;
  name: string;
  scopes: Permission[];
  role: MemberRole;
  createdById: string | null;
  expiresAt: Date | null;
}

/** Creates a key and returns it with its one-time plaintext. */
export async function createApiKey(prisma: Pick<PrismaClient, 'apiKey'>, input: NewApiKey, key = generateApiKey()) {
  const apiKey = await prisma.apiKey.create({
    data: { ...input, prefix: key.slice(0, SHOWN_PREFIX_LENGTH), hash: hashApiKey(key) },
  });
  return { apiKey, key };
}

type StoredApiKey = NonNullable<Awaited<ReturnType<PrismaClient['apiKey']['findUnique']>>>;

/**
 * Keys read in the last WEFT_API_KEY_CACHE_MS, by hash: the lookup was a statement on every
 * request, the largest part of a small request's fixed cost. Only active keys are kept; expiry is
 * checked on every use; a revocation in this process forgets the key at once (forgetApiKey), one
 * made by another server process takes effect within the TTL. Bounded: cleared when full.
 */
const recentKeys = new Map<string, { apiKey: StoredApiKey; until: number }>();
const MAX_CACHED_KEYS = 10_000;

/** Drops a key from this process's cache (called when it is revoked). */
export function forgetApiKey(id: string): void {
  for (const [hash, entry] of recentKeys) if (entry.apiKey.id === id) recentKeys.delete(hash);
}

async function lookUp(prisma: PrismaClient, hash: string, now: Date, cacheMs: number): Promise<StoredApiKey | null> {
  const cached = recentKeys.get(hash);
  if (cached && cached.until > now.getTime()) return cached.apiKey;
  const apiKey = await prisma.apiKey.findUnique({ where: { hash } });
  if (apiKey && !apiKey.revokedAt && cacheMs > 0) {
    if (recentKeys.size >= MAX_CACHED_KEYS) recentKeys.clear();
    recentKeys.set(hash, { apiKey, until: now.getTime() + cacheMs });
  } else recentKeys.delete(hash);
  return apiKey;
}

/** The active key with this plaintext, or null (unknown, revoked or expired). `cacheMs`: how long a key read may be reused (0: read every time). */
export async function findActiveApiKey(prisma: PrismaClient, key: string, now = new Date(), cacheMs = 0) {
  if (!looksLikeApiKey(key)) return null;
  const apiKey = await lookUp(prisma, hashApiKey(key), now, cacheMs);
  if (!apiKey || apiKey.revokedAt || (apiKey.expiresAt && apiKey.expiresAt <= now)) return null;
  if (!apiKey.lastUsedAt || now.getTime() - apiKey.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    // Set first so concurrent requests holding the cached row do not all write.
    apiKey.lastUsedAt = now;
    // Conditional so concurrent requests do not all write; losing this write is harmless.
    await prisma.apiKey.updateMany({
      where: {
        id: apiKey.id,
        OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } }],
      },
      data: { lastUsedAt: now },
    });
  }
  return apiKey;
}
