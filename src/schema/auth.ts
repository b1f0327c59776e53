// Identity in the API: who am I (viewer), the workspace and its members, API keys.
import { createWorkspaceApiKey, revokeWorkspaceApiKey } from '../auth/service.ts';
import { isPermission, PERMISSIONS } from '../auth/permissions.ts';
import {
  addWorkspaceMember,
  createWorkspace,
  removeWorkspaceMember,
  updateWorkspaceMemberRole,
} from '../workspaces/service.ts';
import type { MemberRole } from '../generated/prisma/enums.ts';
import { builder } from './builder.ts';
import { MemberRoleEnum } from './enums.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { inWorkspace, isUuid, NO_ID, parseGlobalId } from '../ids.ts';

export const PermissionEnum = builder.enumType('Permission', {
  description: 'What a caller may do in a workspace; API key scopes are permissions.',
  values: {
    READ: { value: 'read', description: 'Read everything in the workspace (queries and subscriptions).' },
    WRITE: {
      value: 'write',
      description: 'Create and change workflows, versions, tags, schedules and templates; delete runs.',
    },
    RUN: { value: 'run', description: 'Start, cancel, resume and retry runs.' },
    ADMIN: { value: 'admin', description: 'Manage API keys, members, secrets and inbound webhook secrets.' },
  } as const,
});

builder.prismaNode('User', {
  nullable: true,
  description: "A person, identified by the subject (`sub`) of their identity provider's JWTs.",
  id: { field: 'id' },
  // Visible only when they are a member of your workspace.
  findUnique: (id, ctx) => ({ id: isUuid(id) ? id : NO_ID, memberships: { some: { workspaceId: ctx.workspaceId } } }),
  fields: (t) => ({
    subject: t.exposeString('externalId', { description: "The identity provider's subject (JWT `sub`)." }),
    email: t.exposeString('email', {
      nullable: true,
      description: 'Email, from the `email` claim or as given when added.',
    }),
    name: t.exposeString('name', {
      nullable: true,
      description: 'Display name, from the `name` claim or as given when added.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When Weft first saw this user.' }),
  }),
});

const MemberRef = builder.prismaObject('WorkspaceMember', {
  description: "A user's membership of a workspace.",
  fields: (t) => ({
    user: t.relation('user', { description: 'The member.' }),
    role: t.expose('role', { type: MemberRoleEnum, description: 'What they may do.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When they joined.' }),
  }),
});

const WorkspaceRef = builder.prismaNode('Workspace', {
  nullable: true,
  description: 'A tenant: every workflow, run, schedule, tag, template, secret and API key belongs to exactly one.',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id: isUuid(id) && id === ctx.workspaceId ? id : NO_ID }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    slug: t.exposeString('slug', { description: 'Unique short name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    members: t.relation('members', {
      description: 'Its members (visible in the workspace you are acting in). API keys are not members; see apiKeys.',
      authScopes: (workspace, _args, ctx) => (workspace.id === ctx.workspaceId ? { read: true } : false),
      query: { orderBy: { createdAt: 'asc' } },
    }),
  }),
});

const ApiKeyRef = builder.prismaNode('ApiKey', {
  nullable: true,
  description: 'An API key of the workspace. Only its prefix is shown; the key itself was shown once, when created.',
  id: { field: 'id' },
  findUnique: inWorkspace,
  // Admins see every key; any key sees itself through viewer.apiKey (granted there).
  authScopes: { admin: true, $granted: 'self' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What it is for.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to recognise it.' }),
    scopes: t.field({
      type: [PermissionEnum],
      description: 'What it may do (never more than its role allows).',
      resolve: (k) => k.scopes.filter(isPermission),
    }),
    role: t.expose('role', {
      type: MemberRoleEnum,
      description: 'The role of its creator when it was created: a ceiling on its scopes.',
    }),
    createdBy: t.relation('createdBy', {
      nullable: true,
      description: 'The user who created it; null for keys created by other keys or on first start.',
    }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it last authenticated a request (to the minute).',
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it stops working; null: never.',
    }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was revoked; null while active.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    active: t.boolean({
      description: 'Not revoked and not expired.',
      select: { revokedAt: true, expiresAt: true },
      resolve: (k) => !k.revokedAt && (!k.expiresAt || k.expiresAt > new Date()),
    }),
  }),
});

const ViewerKindEnum = builder.enumType('ViewerKind', {
  description: 'How the caller authenticated.',
  values: {
    USER: { value: 'user', description: 'A user with a JWT.' },
    API_KEY: { value: 'apiKey', description: 'An API key.' },
  } as const,
});

const ViewerRef = builder.objectRef<{ kind: 'user' | 'apiKey' }>('Viewer').implement({
  description: 'The caller of this request.',
  fields: (t) => ({
    kind: t.field({ type: ViewerKindEnum, description: 'User or API key.', resolve: (v) => v.kind }),
    user: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'The signed-in user; null for API keys.',
      resolve: (query, _v, _a, ctx) =>
        ctx.prisma.user.findUnique({ ...query, where: { id: ctx.principal.userId ?? NO_ID } }),
    }),
    apiKey: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      grantScopes: ['self'],
      description: 'The API key of this request; null for users.',
      resolve: (query, _v, _a, ctx) =>
        ctx.prisma.apiKey.findUnique({ ...query, where: { id: ctx.principal.apiKeyId ?? NO_ID } }),
    }),
    workspace: t.prismaField({
      type: 'Workspace',
      nullable: true,
      description:
        'The workspace this request acts in (X-Workspace-Id, or your default); null for a user who belongs to none yet.',
      resolve: (query, _v, _a, ctx) =>
        ctx.prisma.workspace.findUnique({ ...query, where: { id: ctx.principal.workspaceId ?? NO_ID } }),
    }),
    role: t.field({
      type: MemberRoleEnum,
      nullable: true,
      description: 'Your role there (for keys: the role they were created with).',
      resolve: (_v, _a, ctx) => ctx.principal.role,
    }),
    permissions: t.field({
      type: [PermissionEnum],
      description: 'What you may do there.',
      resolve: (_v, _a, ctx) => PERMISSIONS.filter((p) => ctx.principal.permissions.has(p)),
    }),
    memberships: t.prismaField({
      type: ['WorkspaceMember'],
      description:
        'Every workspace you are a member of, with your role (select one with the X-Workspace-Id header). Empty for API keys.',
      resolve: (query, _v, _a, ctx) =>
        ctx.prisma.workspaceMember.findMany({
          ...query,
          where: { userId: ctx.principal.userId ?? NO_ID },
          orderBy: { createdAt: 'asc' },
        }),
    }),
  }),
});

builder.prismaObjectField('WorkspaceMember', 'workspace', (t) =>
  t.relation('workspace', { description: 'The workspace.', skipTypeScopes: true }),
);

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    skipTypeScopes: true,
    authScopes: { authenticated: true },
    description:
      'Who you are, where you act and what you may do. Works for every valid credential, even one with no permissions.',
    resolve: (_r, _a, ctx) => ({ kind: ctx.principal.kind }),
  }),
  workspace: t.prismaField({
    type: WorkspaceRef,
    description: 'The workspace this request acts in.',
    resolve: (query, _r, _a, ctx) =>
      ctx.prisma.workspace.findUniqueOrThrow({ ...query, where: { id: ctx.workspaceId } }),
  }),
  apiKeys: t.prismaField({
    type: [ApiKeyRef],
    skipTypeScopes: true,
    authScopes: { admin: true },
    description: "The workspace's API keys, newest first (at most 200).",
    args: { includeRevoked: t.arg.boolean({ defaultValue: false, description: 'Also list revoked keys.' }) },
    resolve: (query, _r, args, ctx) =>
      ctx.prisma.apiKey.findMany({
        ...query,
        where: { workspaceId: ctx.workspaceId, ...(args.includeRevoked ? {} : { revokedAt: null }) },
        orderBy: { createdAt: 'desc' },
        take: 200,
      }),
  }),
}));

const CreateApiKeyPayload = builder
  .objectRef<{ apiKey: { id: string }; key: string }>('CreateApiKeyPayload')
  .implement({
    description: 'The new key. `key` is shown only here: store it now.',
    fields: (t) => ({
      apiKey: t.prismaField({
        type: ApiKeyRef,
        description: "The key's record.",
        resolve: (query, p, _a, ctx) => ctx.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: p.apiKey.id } }),
      }),
      key: t.exposeString('key', {
        description:
          'The secret key (weft_live_…). Send it as "Authorization: Bearer <key>". It cannot be shown again.',
      }),
    }),
  });

const ApiKeyPayload = builder.objectRef<{ id: string }>('ApiKeyPayload').implement({
  description: 'An API key.',
  fields: (t) => ({
    apiKey: t.prismaField({
      type: ApiKeyRef,
      description: 'The key.',
      resolve: (query, p, _a, ctx) => ctx.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: p.id } }),
    }),
  }),
});

const WorkspacePayload = builder.objectRef<{ id: string }>('WorkspacePayload').implement({
  description: 'A workspace.',
  fields: (t) => ({
    workspace: t.prismaField({
      type: WorkspaceRef,
      skipTypeScopes: true,
      description: 'The workspace.',
      resolve: (query, p, _a, ctx) => ctx.prisma.workspace.findUniqueOrThrow({ ...query, where: { id: p.id } }),
    }),
  }),
});

const MemberPayload = builder
  .objectRef<{ workspaceId: string; userId: string; removed: boolean }>('WorkspaceMemberPayload')
  .implement({
    description: 'A membership after the change.',
    fields: (t) => ({
      member: t.prismaField({
        type: MemberRef,
        nullable: true,
        description: 'The membership; null after removeWorkspaceMember.',
        resolve: (query, p, _a, ctx) =>
          ctx.prisma.workspaceMember.findUnique({
            ...query,
            where: { workspaceId_userId: { workspaceId: p.workspaceId, userId: p.removed ? NO_ID : p.userId } },
          }),
      }),
      userId: t.id({
        description: 'Global ID of the user.',
        resolve: (p) => Buffer.from(`User:${p.userId}`).toString('base64'),
      }),
    }),
  });

const memberInput = (name: string, description: string, withRole: boolean) =>
  builder.inputType(name, {
    description,
    fields: (f) => ({
      userId: f.id({ required: true, description: 'Global ID of the member (User).' }),
      ...(withRole ? { role: f.field({ type: MemberRoleEnum, required: true, description: 'The new role.' }) } : {}),
    }),
  });
const UpdateMemberInput = memberInput('UpdateWorkspaceMemberRoleInput', 'A member and their new role.', true);
const RemoveMemberInput = memberInput('RemoveWorkspaceMemberInput', 'The member to remove.', false);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: CreateApiKeyPayload,
    description:
      'Creates an API key for the workspace. The key is returned once; only its SHA-256 is stored. Its scopes cannot exceed yours (FORBIDDEN).',
    args: {
      input: t.arg({
        type: builder.inputType('CreateApiKeyInput', {
          description: 'A new API key.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'What it is for (1–100 characters).' }),
            scopes: f.field({
              type: [PermissionEnum],
              required: true,
              description: 'What it may do, e.g. [READ, RUN].',
            }),
            expiresAt: f.field({
              type: 'DateTime',
              required: false,
              description: 'When it stops working (in the future); default: never.',
            }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('CreateApiKeyResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        const created = await createWorkspaceApiKey(ctx, {
          name: input.name,
          scopes: input.scopes,
          expiresAt: input.expiresAt ?? null,
        });
        return { apiKey: created.apiKey, key: created.key };
      }),
  }),
  revokeApiKey: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: ApiKeyPayload,
    description:
      'Revokes an API key: requests with it are refused (UNAUTHENTICATED) from now on. Revoking twice is harmless.',
    args: {
      input: t.arg({
        type: builder.inputType('RevokeApiKeyInput', {
          description: 'The key to revoke.',
          fields: (f) => ({ id: f.id({ required: true, description: 'Global ID of the ApiKey.' }) }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('RevokeApiKeyResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, () => revokeWorkspaceApiKey(ctx, parseGlobalId(String(input.id), 'ApiKey'))),
  }),
  createWorkspace: t.field({
    skipTypeScopes: true,
    authScopes: { user: true },
    type: WorkspacePayload,
    description:
      'Creates a workspace with you (a signed-in user) as its OWNER. Act in it by sending its id as X-Workspace-Id.',
    args: {
      input: t.arg({
        type: builder.inputType('CreateWorkspaceInput', {
          description: 'A new workspace.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'Display name (1–100 characters).' }),
            slug: f.string({
              required: false,
              description: 'Unique short name (lowercase letters, digits, hyphens); default: derived from the name.',
            }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('CreateWorkspaceResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, () => createWorkspace(ctx, { name: input.name, slug: input.slug ?? null })),
  }),
  addWorkspaceMember: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: MemberPayload,
    description:
      'Adds a user to the workspace by their identity-provider subject (JWT `sub`). Only owners can add owners.',
    args: {
      input: t.arg({
        type: builder.inputType('AddWorkspaceMemberInput', {
          description: 'Who to add, and as what.',
          fields: (f) => ({
            subject: f.string({ required: true, description: "The user's JWT `sub`." }),
            email: f.string({
              required: false,
              description: 'Email, until their first sign-in fills it from the token.',
            }),
            name: f.string({
              required: false,
              description: 'Display name, until their first sign-in fills it from the token.',
            }),
            role: f.field({ type: MemberRoleEnum, required: true, description: 'Their role.' }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('AddWorkspaceMemberResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        const member = await addWorkspaceMember(ctx, {
          subject: input.subject,
          email: input.email ?? null,
          name: input.name ?? null,
          role: input.role,
        });
        return { ...member, removed: false };
      }),
  }),
  updateWorkspaceMemberRole: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: MemberPayload,
    description: "Changes a member's role. Only owners change owners; the last owner cannot be demoted (CONFLICT).",
    args: { input: t.arg({ type: UpdateMemberInput, required: true }) },
    errors: mutationErrors('UpdateWorkspaceMemberRoleResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        const member = await updateWorkspaceMemberRole(
          ctx,
          parseGlobalId(String(input.userId), 'User'),
          (input as { role: MemberRole }).role,
        );
        return { ...member, removed: false };
      }),
  }),
  removeWorkspaceMember: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: MemberPayload,
    description: 'Removes a member from the workspace. Only owners remove owners; the last owner stays (CONFLICT).',
    args: { input: t.arg({ type: RemoveMemberInput, required: true }) },
    errors: mutationErrors('RemoveWorkspaceMemberResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        const member = await removeWorkspaceMember(ctx, parseGlobalId(String(input.userId), 'User'));
        return { ...member, removed: true };
      }),
  }),
}));
