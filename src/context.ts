import type { YogaInitialContext } from 'graphql-yoga';
import type { PrismaClient } from './db/client.ts';
import type { EventBus } from './engine/events.ts';
import type { EngineHandle } from './runs/service.ts';
import type { Logger } from './logger.ts';

// Batching loaders live in the context too: the Pothos dataloader plugin creates them per
// request (t.loadable fields), so nothing is shared between requests.

/** Who is calling. Until authentication lands every request acts as the system actor. */
export interface Actor {
  kind: 'system' | 'user' | 'apiKey';
  id: string | null;
}

export interface Context {
  requestId: string;
  workspaceId: string;
  actor: Actor;
  prisma: PrismaClient;
  log: Logger;
  engine: EngineHandle;
  bus: EventBus;
  secretsKey: Buffer | null;
}

export interface ContextDeps {
  prisma: PrismaClient;
  log: Logger;
  engine: EngineHandle;
  bus: EventBus;
  secretsKey: Buffer | null;
  defaultWorkspaceId: () => string;
}

export function buildContext(deps: ContextDeps, initial: Partial<YogaInitialContext> & { requestId?: string }): Context {
  const requestId = initial.requestId ?? initial.request?.headers.get('x-request-id') ?? crypto.randomUUID();
  return {
    requestId,
    workspaceId: deps.defaultWorkspaceId(),
    actor: { kind: 'system', id: null },
    prisma: deps.prisma,
    log: deps.log.child({ requestId }),
    engine: deps.engine,
    bus: deps.bus,
    secretsKey: deps.secretsKey,
  };
}
