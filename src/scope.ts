// What every service acts with: who acts, in which workspace, over which database, and the
// engine to nudge. The GraphQL Context extends it; the scheduler and inbound webhooks build one
// for the system. It imports only types, so any layer may import it.
import type { Principal } from './auth/principal.ts';
import type { PrismaClient } from './db/client.ts';
import type { SignalChange } from './engine/signals.ts';
import type { EventBus } from './events/log.ts';

/** Who did something, as recorded on rows (createdById) — the system for scheduler and webhooks. */
export interface Actor {
  kind: 'system' | 'user' | 'apiKey';
  id: string | null;
}

/** What the services need from the engine: a nudge, and aborting a cancelled run's work. */
export interface EngineHandle {
  notify(): void;
  abortRun(runId: string): void;
  advance(
    runId: string,
    change: { kind: 'resume-wait'; stepId: string; data?: unknown } | SignalChange,
  ): Promise<unknown>;
}

export interface ServiceScope {
  prisma: PrismaClient;
  workspaceId: string;
  actor: Actor;
  engine: EngineHandle;
  bus: EventBus;
  /** Encrypts secrets and secret settings (webhook secrets) at rest; null: not configured. */
  secretsKey: Buffer | null;
}

/** A scope acting on a caller's own authority (API keys, memberships): never the system. */
export interface PrincipalScope extends ServiceScope {
  principal: Principal;
}

/** The system's actor: scheduled and webhook-triggered work. */
export const SYSTEM_ACTOR: Actor = { kind: 'system', id: null };
