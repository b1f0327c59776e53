// Workspace secrets: names are listed, values can be set or deleted but never read back.
import type { Secret } from '../generated/prisma/client.ts';
import { deleteSecret, setSecret } from '../secrets/service.ts';
import { builder } from './builder.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';

const SecretInfoRef = builder.objectRef<Pick<Secret, 'name' | 'createdAt' | 'updatedAt'>>('SecretInfo').implement({
  description: 'A workspace secret, referenced from step configs as {{ secrets.NAME }}. Its value is never returned.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The name used in {{ secrets.NAME }}.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first set.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its value last changed.' }),
  }),
});

builder.queryFields((t) => ({
  secrets: t.field({
    type: [SecretInfoRef],
    description: "Names of your workspace's secrets (values are write-only).",
    resolve: (_r, _a, ctx) =>
      ctx.prisma.secret.findMany({
        where: { workspaceId: ctx.workspaceId },
        select: { name: true, createdAt: true, updatedAt: true },
        orderBy: { name: 'asc' },
      }),
  }),
}));

const SecretPayload = builder
  .objectRef<{ secret: Pick<Secret, 'name' | 'createdAt' | 'updatedAt'> }>('SecretPayload')
  .implement({
    description: 'The secret (without its value).',
    fields: (t) => ({ secret: t.field({ type: SecretInfoRef, description: 'The secret.', resolve: (p) => p.secret }) }),
  });

builder.mutationFields((t) => ({
  setSecret: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: SecretPayload,
    description:
      'Creates or replaces a workspace secret. The value is encrypted at rest (AES-256-GCM) and never returned, logged or recorded in runs.',
    args: {
      input: t.arg({
        type: builder.inputType('SetSecretInput', {
          description: 'A secret name and its value.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'Letters, digits and _, e.g. API_TOKEN.' }),
            value: f.string({ required: true, description: 'The value (at most 64 KiB).' }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('SetSecretResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ secret: await setSecret(ctx, input.name, input.value) })),
  }),
  deleteSecret: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: builder.objectRef<{ deletedName: string }>('DeleteSecretPayload').implement({
      description: 'The secret was deleted.',
      fields: (f) => ({ deletedName: f.exposeString('deletedName', { description: 'Its name.' }) }),
    }),
    description: 'Deletes a workspace secret; runs referring to it fail until it is set again.',
    args: {
      input: t.arg({
        type: builder.inputType('DeleteSecretInput', {
          description: 'The secret to delete.',
          fields: (f) => ({ name: f.string({ required: true, description: 'Its name.' }) }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('DeleteSecretResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => (await deleteSecret(ctx, input.name), { deletedName: input.name })),
  }),
}));
