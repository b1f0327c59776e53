// The Idempotency-Key header on mutations: a mutation sent with the header runs at
// most once per workspace and key. A retry with the same key and the same request gets the
// stored result (response header `Idempotent-Replayed: true`); the same key with a different
// request, or while the first is still running, is refused with CONFLICT. Records expire after
// 24 hours.
//
// The record is inserted before the mutation executes, so the unique (workspaceId, key) index
// arbitrates concurrent duplicates: exactly one of them executes.
import { createHash } from 'node:crypto';
import { getOperationAST, GraphQLError, print, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';
import type { Prisma } from '../generated/prisma/client.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const MAX_KEY_LENGTH = 255;

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  return value;
}

function errorResult(code: string, message: string): ExecutionResult {
  return { errors: [new GraphQLError(message, { extensions: { code } })] };
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === 'P2002';
}

export function idempotencyPlugin(): Plugin<Context> {
  const replayed = new WeakSet<Request>();
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context & { request?: Request };
      const key = ctx.request?.headers.get('idempotency-key');
      if (key == null) return;
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      if (operation?.operation !== 'mutation') return;
      if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
        setResultAndStopExecution(
          errorResult('VALIDATION_FAILED', `Idempotency-Key must be 1–${MAX_KEY_LENGTH} characters`),
        );
        return;
      }
      const requestHash = createHash('sha256')
        .update(
          JSON.stringify({
            query: print(args.document),
            operationName: args.operationName ?? null,
            variables: canonical(args.variableValues ?? {}),
          }),
        )
        .digest('hex');
      const claimed = await claim(ctx, key, requestHash);
      if (claimed !== 'claimed') {
        if ('replayed' in claimed && ctx.request) replayed.add(ctx.request);
        setResultAndStopExecution(claimed.result);
        return;
      }
      return {
        async onExecuteDone({ result }) {
          if (!('data' in result) && !('errors' in result)) return; // streamed results are not stored
          const unexpected = (result as ExecutionResult).errors?.some(
            (e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR' || !e.extensions?.code,
          );
          if (unexpected) {
            // Let a retry run again rather than replaying a failure that was not the request's fault.
            await ctx.prisma.idempotencyRecord.deleteMany({ where: { workspaceId: ctx.workspaceId, key } });
            return;
          }
          const response = JSON.parse(
            JSON.stringify({
              data: (result as ExecutionResult).data ?? null,
              ...((result as ExecutionResult).errors ? { errors: (result as ExecutionResult).errors } : {}),
            }),
          );
          await ctx.prisma.idempotencyRecord.update({
            where: { workspaceId_key: { workspaceId: ctx.workspaceId, key } },
            data: { response: response as Prisma.InputJsonValue },
          });
        },
      };
    },
    onResponse({ request, response }) {
      if (replayed.has(request)) response.headers.set('idempotent-replayed', 'true');
    },
  };
}

type ClaimOutcome = 'claimed' | { result: ExecutionResult } | { result: ExecutionResult; replayed: true };

/** Inserts the record for this key, or explains what the key already holds. */
async function claim(ctx: Context, key: string, requestHash: string): Promise<ClaimOutcome> {
  const where = { workspaceId_key: { workspaceId: ctx.workspaceId, key } };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await ctx.prisma.idempotencyRecord.create({
        data: { workspaceId: ctx.workspaceId, key, requestHash, expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_MS) },
      });
      return 'claimed';
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const existing = await ctx.prisma.idempotencyRecord.findUnique({ where });
    if (!existing) continue;
    if (existing.expiresAt <= new Date()) {
      await ctx.prisma.idempotencyRecord.deleteMany({ where: { id: existing.id, expiresAt: { lte: new Date() } } });
      continue;
    }
    if (existing.requestHash !== requestHash) {
      return {
        result: errorResult(
          'CONFLICT',
          'This Idempotency-Key was already used with a different request (operation or variables). Use a new key for a new request.',
        ),
      };
    }
    if (existing.response === null)
      return {
        result: errorResult('CONFLICT', 'A request with this Idempotency-Key is still in progress; retry later.'),
      };
    return { result: existing.response as ExecutionResult, replayed: true };
  }
  return { result: errorResult('CONFLICT', 'Could not claim this Idempotency-Key; retry later.') };
}
