// What a caller may do. Members have a role; API keys have scopes, capped by the role of the
// member (or key) that created them. Both reduce to one set of permissions per request, which
// the schema checks with Pothos scope-auth (src/schema/builder.ts).
import type { MemberRole } from '../generated/prisma/enums.ts';

export const PERMISSIONS = ['read', 'write', 'run', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * - viewer: reads everything in the workspace;
 * - runner: + starts, cancels and retries runs;
 * - editor: + creates and changes workflows, versions, tags, schedules, templates;
 * - admin: + API keys, members, secrets;
 * - owner: admin, and the only role that can grant or remove OWNER.
 */
export const ROLE_PERMISSIONS: Record<MemberRole, readonly Permission[]> = {
  VIEWER: ['read'],
  RUNNER: ['read', 'run'],
  EDITOR: ['read', 'write', 'run'],
  ADMIN: ['read', 'write', 'run', 'admin'],
  OWNER: ['read', 'write', 'run', 'admin'],
};

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** A key's permissions: its scopes, never more than its role allows. */
export function keyPermissions(role: MemberRole, scopes: readonly string[]): Set<Permission> {
  const allowed = new Set(ROLE_PERMISSIONS[role]);
  return new Set(scopes.filter(isPermission).filter((scope) => allowed.has(scope)));
}

export function rolePermissions(role: MemberRole): Set<Permission> {
  return new Set(ROLE_PERMISSIONS[role]);
}
