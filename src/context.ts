import type { YogaInitialContext } from 'graphql-yoga';
import type { Authenticate, Credentials, Principal } from './auth/principal.ts';
import type { RateLimiter } from './auth/rate-limit.ts';
import type { PrismaClient } from './db/client.ts';
import type { EventBus } from './events/log.ts';
import { RateLimitedError } from './errors.ts';
import { NO_ID } from './ids.ts';
import type { FileStorage } from './files/service.ts';
import type { Logger } from './logger.ts';
import type { EngineHandle, PrincipalScope } from './scope.ts';

// Batching loaders live in the context too: the Pothos dataloader plugin creates them per
// request (t.loadable fields), so nothing is shared between requests.

/** A request's scope: the caller's workspace is NO_WORKSPACE for a user who belongs to none (scope-auth refuses them every workspace field). */
export interface Context extends PrincipalScope {
  requestId: string;
  log: Logger;
  /** Tuning of the live API (subscriptions). */
  live: LiveSettings;
  /** Where uploads and attachments are stored. */
  files: FileStorage;
}

export interface LiveSettings {
  /** runUpdated pushes a run at most once per this many milliseconds (the final state always). */
  runUpdatedIntervalMs: number;
}

export interface ContextDeps {
  prisma: PrismaClient;
  log: Logger;
  engine: EngineHandle;
  bus: EventBus;
  secretsKey: Buffer | null;
  live: LiveSettings;
  authenticate: Authenticate;
  rateLimiter: RateLimiter;
  files: FileStorage;
}

/** No workspace has this id, so a query scoped to it finds nothing (defence in depth). */
export const NO_WORKSPACE = NO_ID;

type InitialContext = Partial<YogaInitialContext> & {
  requestId?: string;
  /** graphql-ws: the client's connectionParams, and the HTTP upgrade request. */
  connectionParams?: Record<string, unknown>;
  req?: { headers: Record<string, string | string[] | undefined> };
};

/** Credentials from HTTP headers, or from graphql-ws connectionParams (falling back to the upgrade request's headers). */
export function credentialsOf(initial: InitialContext): Credentials {
  const header = (name: string) => {
    const upgradeHeader = initial.req?.headers[name];
    return initial.request?.headers.get(name) ?? (typeof upgradeHeader === 'string' ? upgradeHeader : null);
  };
  const params = initial.connectionParams ?? {};
  const param = (...names: string[]) => {
    for (const name of names) if (typeof params[name] === 'string') return params[name] as string;
    return null;
  };
  return {
    authorization: param('authorization', 'Authorization', 'apiKey', 'token') ?? header('authorization'),
    workspaceId: param('x-workspace-id', 'X-Workspace-Id', 'workspaceId') ?? header('x-workspace-id'),
  };
}

/** Authenticates (UNAUTHENTICATED / FORBIDDEN) and rate-limits (RATE_LIMITED) a caller: GraphQL and the plain HTTP routes alike. */
export async function authorize(
  deps: Pick<ContextDeps, 'authenticate' | 'rateLimiter'>,
  initial: InitialContext,
): Promise<Principal> {
  const principal = await deps.authenticate(credentialsOf(initial));
  const retryAfter = await deps.rateLimiter.take(`${principal.kind}:${principal.id}`);
  if (retryAfter > 0) throw new RateLimitedError(retryAfter);
  return principal;
}

export async function buildContext(deps: ContextDeps, initial: InitialContext): Promise<Context> {
  const requestId = initial.requestId ?? initial.request?.headers.get('x-request-id') ?? crypto.randomUUID();
  return contextFor(deps, await authorize(deps, initial), requestId);
}

export function contextFor(
  deps: Omit<ContextDeps, 'authenticate' | 'rateLimiter'>,
  principal: Principal,
  requestId: string,
): Context {
  return {
    requestId,
    workspaceId: principal.workspaceId ?? NO_WORKSPACE,
    actor: { kind: principal.kind, id: principal.id },
    principal,
    prisma: deps.prisma,
    log: deps.log.child({ requestId, principal: `${principal.kind}:${principal.id}` }),
    engine: deps.engine,
    bus: deps.bus,
    secretsKey: deps.secretsKey,
    live: deps.live,
    files: deps.files,
  };
}
