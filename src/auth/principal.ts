// Authentication: turns the credentials of a request (Authorization header or graphql-ws
// connectionParams, plus the optional X-Workspace-Id) into a Principal — who is calling, in
// which workspace, with which permissions. Every entry point (HTTP, SSE, WebSocket, exports)
// goes through `authenticate`, so there is one place that decides.
import type { PrismaClient } from '../db/client.ts';
import { coerceError, ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { MemberRole } from '../generated/prisma/enums.ts';
import type { Logger } from '../logger.ts';
import { idFromPathSegment } from '../ids.ts';
import { findActiveApiKey, looksLikeApiKey } from './api-keys.ts';
import type { JwtVerifier, VerifiedIdentity } from './jwt.ts';
import { keyPermissions, rolePermissions, type Permission } from './permissions.ts';

export interface Principal {
  kind: 'apiKey' | 'user';
  /** The API key's id for keys, the user's id for users. */
  id: string;
  userId: string | null;
  apiKeyId: string | null;
  /** The workspace this request acts in; null for a user who belongs to none yet. */
  workspaceId: string | null;
  /** The member's role; for keys, the role the key was created with. */
  role: MemberRole | null;
  permissions: ReadonlySet<Permission>;
}

export interface Credentials {
  /** The raw Authorization value ("Bearer …"), or a bare token from connectionParams. */
  authorization: string | null;
  /** X-Workspace-Id: a workspace's id (raw UUID or global ID). */
  workspaceId: string | null;
}

export type Authenticate = (credentials: Credentials) => Promise<Principal>;

/** A workspace id from a header (undefined: none given); anything unparseable is treated like a workspace you are not in. */
function requestedWorkspace(value: string | null): string | null | undefined {
  if (value == null || value === '') return undefined;
  return idFromPathSegment(value, 'Workspace')?.toLowerCase() ?? null;
}

function notYourWorkspace(value: string): ForbiddenError {
  // The same answer whether the workspace exists or not: ids of other tenants reveal nothing.
  return new ForbiddenError(`You are not a member of workspace ${JSON.stringify(value.slice(0, 100))}`, true);
}

function bearerToken(authorization: string | null): string | null {
  if (!authorization) return null;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match) return match[1]!;
  // graphql-ws clients often put the bare token in connectionParams.
  return /^\S+$/.test(authorization) && !/^(Basic|Bearer)$/i.test(authorization) ? authorization : null;
}

export function createAuthenticator(deps: {
  prisma: PrismaClient;
  jwt: JwtVerifier | null;
  log: Logger;
  apiKeyCacheMs?: number;
}): Authenticate {
  async function asApiKey(
    key: string,
    requested: string | null | undefined,
    rawRequested: string | null,
  ): Promise<Principal> {
    const apiKey = await findActiveApiKey(deps.prisma, key, new Date(), deps.apiKeyCacheMs ?? 0);
    if (!apiKey) throw new UnauthenticatedError('Invalid API key: it is unknown, revoked or expired');
    if (requested !== undefined && requested !== apiKey.workspaceId) throw notYourWorkspace(rawRequested!);
    return {
      kind: 'apiKey',
      id: apiKey.id,
      userId: null,
      apiKeyId: apiKey.id,
      workspaceId: apiKey.workspaceId,
      role: apiKey.role,
      permissions: keyPermissions(apiKey.role, apiKey.scopes),
    };
  }

  async function asUser(
    token: string,
    requested: string | null | undefined,
    rawRequested: string | null,
  ): Promise<Principal> {
    if (!deps.jwt)
      throw new UnauthenticatedError(
        'Invalid credentials: not a Weft API key, and JWT authentication is not configured',
      );
    let identity: VerifiedIdentity;
    try {
      identity = await deps.jwt(token);
    } catch (error) {
      deps.log.debug({ err: error }, 'JWT rejected');
      throw new UnauthenticatedError(`Invalid token: ${coerceError(error).message}`);
    }
    // Read first: most requests come from known users whose profile has not changed, and they
    // should not cost a write.
    const known = await deps.prisma.user.findUnique({ where: { externalId: identity.subject } });
    const changed =
      known && ((identity.email && identity.email !== known.email) || (identity.name && identity.name !== known.name));
    const user =
      known && !changed
        ? known
        : await deps.prisma.user
            .upsert({
              where: { externalId: identity.subject },
              create: { externalId: identity.subject, email: identity.email, name: identity.name },
              update: { email: identity.email ?? undefined, name: identity.name ?? undefined },
            })
            // Two first requests of a new user at once: the loser of the insert reads the winner's row.
            .catch(async (error: { code?: string }) => {
              if (error.code !== 'P2002') throw error;
              return deps.prisma.user.findUniqueOrThrow({ where: { externalId: identity.subject } });
            });
    const memberships = await deps.prisma.workspaceMember.findMany({
      where: { userId: user.id },
      orderBy: [{ isDefault: 'desc' }, { createdAt: 'asc' }],
    });
    const membership = requested === undefined ? memberships[0] : memberships.find((m) => m.workspaceId === requested);
    if (requested !== undefined && !membership) throw notYourWorkspace(rawRequested!);
    return {
      kind: 'user',
      id: user.id,
      userId: user.id,
      apiKeyId: null,
      workspaceId: membership?.workspaceId ?? null,
      role: membership?.role ?? null,
      permissions: membership ? rolePermissions(membership.role) : new Set(),
    };
  }

  return async ({ authorization, workspaceId }) => {
    const token = bearerToken(authorization);
    if (!token) throw new UnauthenticatedError();
    const requested = requestedWorkspace(workspaceId);
    return looksLikeApiKey(token) ? asApiKey(token, requested, workspaceId) : asUser(token, requested, workspaceId);
  };
}
