// The Pothos builder: plugins, scalars and settings. No domain types here; each entity's
// types, queries and mutations live in src/schema/<entity>.ts.
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { isObjectType, type GraphQLSchema } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Context } from '../context.ts';
import { ForbiddenError } from '../errors.ts';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

/**
 * A resolver that forgets to spread `...query` silently loses its planned selections and
 * brings N+1 back. Development and tests fail loudly; production only logs (app.ts decides).
 */
export const unusedQueryPolicy = { throw: true };

function isNodeType(schema: GraphQLSchema, typename: string): boolean {
  const type = schema.getType(typename);
  return isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
}

export interface BuilderTypes {
  PrismaTypes: PrismaTypes;
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    /** A file of a GraphQL multipart request (graphql-multipart-request-spec), as yoga hands it over. */
    File: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
  /**
   * Permissions of the caller in the current workspace (src/auth/permissions.ts), plus
   * `authenticated` (any valid credentials) and `user` (a person signed in with a JWT).
   */
  AuthScopes: {
    authenticated: boolean;
    user: boolean;
    read: boolean;
    write: boolean;
    run: boolean;
    admin: boolean;
  };
}

export const builder = new SchemaBuilder<BuilderTypes>({
  // Relay first so scope checks see decoded global IDs; scope-auth before errors so a refusal is a
  // FORBIDDEN GraphQL error, never turned into a member of a result union.
  plugins: [RelayPlugin, ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, DataloaderPlugin],
  scopeAuth: {
    // A subscription is refused when it is created, not silently on its first event.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      const can = ctx.principal.permissions;
      return {
        authenticated: true,
        user: ctx.principal.kind === 'user',
        read: can.has('read'),
        write: can.has('write'),
        run: can.has('run'),
        admin: can.has('admin'),
      };
    },
    unauthorizedError: (_parent, ctx, info) => {
      const held = [...ctx.principal.permissions].join(', ') || 'none';
      return new ForbiddenError(
        `Not allowed to use ${info.parentType.name}.${info.fieldName} (your permissions in this workspace: ${held})`,
      );
    },
  },
  defaultFieldNullability: false,
  prisma: {
    // Each request carries the client of the database the app was started with.
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    maxConnectionSize: MAX_PAGE_SIZE,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
    onUnusedQuery: (info) => {
      const message = `Prisma query planned for ${info.parentType.name}.${info.fieldName} was not used (spread ...query)`;
      if (unusedQueryPolicy.throw) throw new Error(message);
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // A well-formed global ID of a type that is not a Node is as absent as an unknown row: null,
    // not the relay plugin's "has not been implemented" error (only malformed IDs are errors).
    nodeQueryOptions: {
      description: 'Fetches any object by its global ID; null when it does not exist in your workspace.',
      resolve: (_root, args, _ctx, info, resolveNode) =>
        isNodeType(info.schema, args.id.typename) ? resolveNode(args.id) : null,
    },
    nodesQueryOptions: {
      description: 'Fetches several objects by their global IDs, in order; null for each one that does not exist.',
      resolve: async (_root, args, _ctx, info, resolveNodes) => {
        const all = args.ids;
        const known = all.filter((id) => isNodeType(info.schema, id.typename));
        // resolveNodes reads args.ids: hand it only the ids it can resolve, then put the nulls back.
        args.ids = known;
        const found = await resolveNodes(known);
        const byPosition = new Map(known.map((id, i) => [id, found[i]]));
        return all.map((id) => byPosition.get(id) ?? null);
      },
    },
  },
  errors: {
    defaultTypes: [],
  },
});

builder.addScalarType('DateTime', DateTimeResolver, {});
builder.addScalarType('JSON', JSONResolver, {});
builder.scalarType('File', {
  description:
    'A file sent with the GraphQL multipart request spec (a multipart/form-data request with operations, map and the files). Input only.',
  serialize: () => {
    throw new Error('File is an input-only scalar');
  },
  parseValue: (value) => {
    // Duck-typed: yoga's fetch layer hands over its own File implementation, not Node's.
    const file = value as Partial<File> | null;
    if (
      file &&
      typeof file === 'object' &&
      typeof file.name === 'string' &&
      typeof file.stream === 'function' &&
      typeof file.size === 'number'
    )
      return value as File;
    throw new TypeError('File must be a file of a multipart request (see the GraphQL multipart request spec)');
  },
});
