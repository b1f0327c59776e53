// Identities for authorization tests: JWTs signed like an identity provider would, and
// workspaces with keys created straight in the database.
import { SignJWT } from 'jose';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { PERMISSIONS, type Permission } from '../../src/auth/permissions.ts';
import type { MemberRole } from '../../src/generated/prisma/enums.ts';
import type { TestApp } from './app.ts';

export const JWT_ENV = {
  WEFT_JWT_SECRET: 'test-secret-that-is-at-least-32-characters-long',
  WEFT_JWT_ISSUER: 'https://id.weft.test/',
  WEFT_JWT_AUDIENCE: 'weft-api',
};

/** An HS256 token as the test identity provider would issue it; `overrides` forges variants. */
export async function signToken(
  subject: string,
  overrides: {
    secret?: string;
    issuer?: string;
    audience?: string;
    expiresIn?: string | number;
    claims?: Record<string, unknown>;
  } = {},
) {
  return new SignJWT({ email: `${subject}@example.test`, ...overrides.claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuer(overrides.issuer ?? JWT_ENV.WEFT_JWT_ISSUER)
    .setAudience(overrides.audience ?? JWT_ENV.WEFT_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(overrides.expiresIn ?? '10m')
    .sign(new TextEncoder().encode(overrides.secret ?? JWT_ENV.WEFT_JWT_SECRET));
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A second tenant: a workspace and a key with the given scopes (default: all). */
export async function createTenant(
  t: TestApp,
  slug: string,
  scopes: Permission[] = [...PERMISSIONS],
  role: MemberRole = 'ADMIN',
) {
  const workspace = await t.db.prisma.workspace.create({ data: { name: slug, slug } });
  const { key, apiKey } = await createApiKey(t.db.prisma, {
    workspaceId: workspace.id,
    name: `${slug} key`,
    scopes,
    role,
    createdById: null,
    expiresAt: null,
  });
  return { workspaceId: workspace.id, key, apiKeyId: apiKey.id, headers: bearer(key) };
}

/** A key of the test app's default workspace with the given scopes. */
export async function keyWith(t: TestApp, scopes: Permission[], role: MemberRole = 'ADMIN') {
  const { key } = await createApiKey(t.db.prisma, {
    workspaceId: t.workspaceId,
    name: `scopes ${scopes.join('+')}`,
    scopes,
    role,
    createdById: null,
    expiresAt: null,
  });
  return bearer(key);
}
