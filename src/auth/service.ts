// API key management through the API: create (the plaintext is returned once), list, revoke.
// A key can never hold more than its creator: its scopes must be among the creator's
// permissions, and it remembers the creator's role as its ceiling.
import type { PrincipalScope } from '../scope.ts';
import { ForbiddenError, NotFoundError, ValidationError, type Problem } from '../errors.ts';
import { createApiKey, forgetApiKey } from './api-keys.ts';
import { isPermission, type Permission } from './permissions.ts';
import { inWorkspace } from '../ids.ts';

export interface CreateApiKeyInput {
  name: string;
  scopes: string[];
  expiresAt: Date | null;
}

export async function createWorkspaceApiKey(ctx: PrincipalScope, input: CreateApiKeyInput, now = new Date()) {
  const problems: Problem[] = [];
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100)
    problems.push({ path: ['input', 'name'], message: 'must be 1 to 100 characters' });
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0) problems.push({ path: ['input', 'scopes'], message: 'must name at least one scope' });
  if (input.expiresAt && input.expiresAt <= now)
    problems.push({ path: ['input', 'expiresAt'], message: 'must be in the future' });
  if (problems.length) throw new ValidationError(problems);
  const beyond = scopes.filter((scope) => !isPermission(scope) || !ctx.principal.permissions.has(scope));
  if (beyond.length)
    throw new ForbiddenError(`A key cannot have scopes you do not hold yourself: ${beyond.join(', ').toUpperCase()}`);
  return createApiKey(ctx.prisma, {
    workspaceId: ctx.workspaceId,
    name,
    scopes: scopes as Permission[],
    role: ctx.principal.role ?? 'ADMIN',
    createdById: ctx.principal.userId,
    expiresAt: input.expiresAt,
  });
}

/** Revokes a key of the workspace; revoking a revoked key changes nothing and returns it. */
export async function revokeWorkspaceApiKey(ctx: PrincipalScope, id: string, now = new Date()) {
  await ctx.prisma.apiKey.updateMany({
    where: { id, workspaceId: ctx.workspaceId, revokedAt: null },
    data: { revokedAt: now },
  });
  forgetApiKey(id);
  const key = await ctx.prisma.apiKey.findFirst({ where: inWorkspace(id, ctx) });
  if (!key) throw new NotFoundError('ApiKey', id);
  return key;
}
