// Workspaces and their members. Every tenant row carries its workspaceId; who may act in a
// workspace is decided by membership (users) or by the workspace of an API key.
import type { PrincipalScope } from '../scope.ts';
import type { PrismaClient } from '../db/client.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type Problem } from '../errors.ts';
import type { MemberRole } from '../generated/prisma/enums.ts';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/**
 * The workspace created on first start; the bootstrap admin key belongs to it. The slug is
 * unique, so two instances starting together end up with the same one.
 */
export async function ensureDefaultWorkspace(prisma: PrismaClient): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const workspace = await prisma.workspace.upsert({
        where: { slug: 'default' },
        create: { name: 'Default workspace', slug: 'default', isDefault: true },
        update: {},
      });
      return workspace.id;
    } catch (error) {
      // Two concurrent upserts can both try the insert; the loser sees a unique violation.
      if (attempt >= 2 || (error as { code?: string }).code !== 'P2002') throw error;
    }
  }
}

function slugFrom(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'workspace'
  );
}

/** A signed-in user creates a workspace and becomes its owner. */
export async function createWorkspace(ctx: PrincipalScope, input: { name: string; slug: string | null }) {
  const userId = ctx.principal.userId;
  if (!userId)
    throw new ForbiddenError(
      'Only users (signed in with a JWT) can create workspaces; API keys belong to one workspace',
    );
  const name = input.name.trim();
  const slug = input.slug ?? slugFrom(name);
  const problems: Problem[] = [];
  if (name.length === 0 || name.length > 100)
    problems.push({ path: ['input', 'name'], message: 'must be 1 to 100 characters' });
  if (!SLUG.test(slug))
    problems.push({ path: ['input', 'slug'], message: 'must be 1 to 64 lowercase letters, digits and inner hyphens' });
  if (problems.length) throw new ValidationError(problems);
  try {
    return await ctx.prisma.$transaction(async (tx) => {
      const memberships = await tx.workspaceMember.count({ where: { userId } });
      const workspace = await tx.workspace.create({ data: { name, slug } });
      await tx.workspaceMember.create({
        data: { workspaceId: workspace.id, userId, role: 'OWNER', isDefault: memberships === 0 },
      });
      return workspace;
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002')
      throw new ConflictError(`The slug ${JSON.stringify(slug)} is taken`);
    throw error;
  }
}

function assertMayGrant(ctx: PrincipalScope, role: MemberRole) {
  if (role === 'OWNER' && ctx.principal.role !== 'OWNER')
    throw new ForbiddenError('Only owners can make or unmake owners');
}

/** Adds a user (by identity-provider subject) to the workspace; creates the user record if needed. */
export async function addWorkspaceMember(
  ctx: PrincipalScope,
  input: { subject: string; email: string | null; name: string | null; role: MemberRole },
) {
  const subject = input.subject.trim();
  if (subject.length === 0 || subject.length > 255)
    throw ValidationError.single(['input', 'subject'], 'must be 1 to 255 characters (the JWT `sub` of the user)');
  assertMayGrant(ctx, input.role);
  return ctx.prisma.$transaction(async (tx) => {
    const user = await tx.user.upsert({
      where: { externalId: subject },
      create: { externalId: subject, email: input.email, name: input.name },
      update: {},
    });
    const existing = await tx.workspaceMember.findUnique({
      where: { workspaceId_userId: { workspaceId: ctx.workspaceId, userId: user.id } },
    });
    if (existing)
      throw new ConflictError('This user is already a member; change their role with updateWorkspaceMemberRole');
    const memberships = await tx.workspaceMember.count({ where: { userId: user.id } });
    return tx.workspaceMember.create({
      data: { workspaceId: ctx.workspaceId, userId: user.id, role: input.role, isDefault: memberships === 0 },
    });
  });
}

/** Changes a member's role. Owners are managed by owners only, and the last owner stays. */
export async function updateWorkspaceMemberRole(ctx: PrincipalScope, userId: string, role: MemberRole) {
  return ctx.prisma.$transaction(async (tx) => {
    await lockMembers(tx, ctx.workspaceId);
    const member = await tx.workspaceMember.findUnique({
      where: { workspaceId_userId: { workspaceId: ctx.workspaceId, userId } },
    });
    if (!member) throw new NotFoundError('WorkspaceMember', userId);
    assertMayGrant(ctx, member.role);
    assertMayGrant(ctx, role);
    if (member.role === 'OWNER' && role !== 'OWNER') await assertNotLastOwner(tx, ctx.workspaceId);
    return tx.workspaceMember.update({
      where: { workspaceId_userId: { workspaceId: ctx.workspaceId, userId } },
      data: { role },
    });
  });
}

export async function removeWorkspaceMember(ctx: PrincipalScope, userId: string) {
  return ctx.prisma.$transaction(async (tx) => {
    await lockMembers(tx, ctx.workspaceId);
    const member = await tx.workspaceMember.findUnique({
      where: { workspaceId_userId: { workspaceId: ctx.workspaceId, userId } },
    });
    if (!member) throw new NotFoundError('WorkspaceMember', userId);
    assertMayGrant(ctx, member.role);
    if (member.role === 'OWNER') await assertNotLastOwner(tx, ctx.workspaceId);
    await tx.workspaceMember.delete({ where: { workspaceId_userId: { workspaceId: ctx.workspaceId, userId } } });
    return member;
  });
}

/** Serialises membership changes of one workspace, so two demotions cannot both pass the last-owner check. */
async function lockMembers(tx: Pick<PrismaClient, '$executeRaw'>, workspaceId: string) {
  await tx.$executeRaw`SELECT 1 FROM "Workspace" WHERE id = ${workspaceId}::uuid FOR UPDATE`;
}

async function assertNotLastOwner(tx: Pick<PrismaClient, 'workspaceMember'>, workspaceId: string) {
  const owners = await tx.workspaceMember.count({ where: { workspaceId, role: 'OWNER' } });
  if (owners <= 1) throw new ConflictError('A workspace keeps at least one owner: make someone else owner first');
}
