// A run's state as the state machine sees it inside the transaction that holds the run's row
// lock: the locked run row, its top-level step rows, secrets, redactor and wait-token
// references; and the claim a worker receives for one attempt. advanceRun (advance.ts) and the
// wait logic (signal-waits.ts) and the take-over of dispatched claims (claim.ts) share it.
import type { Prisma, StepRun } from '../generated/prisma/client.ts';
import type { StepStatus } from '../generated/prisma/enums.ts';
import type { StepDefinition, WorkflowDefinition } from '../workflows/definition.ts';
import type { NewEvent, StoredEvent } from '../events/log.ts';
import { loadSecrets } from '../secrets/service.ts';
import { renderTemplatesForRecord, type ExpressionContext } from './expressions.ts';
import type { FinishedRun } from './finalize.ts';
import { createRedactor, sensitiveValues, type Redactor } from './redact.ts';
import { signalRefsOf } from './signals.ts';
import { TOP_LEVEL } from './statuses.ts';

type Tx = Prisma.TransactionClient;

export type StepOutcome =
  | { ok: true; output: unknown }
  | { ok: false; message: string; retryable: boolean; name?: string };

export interface StepClaim {
  stepRunId: string;
  runId: string;
  workspaceId: string;
  workflowId: string | null;
  stepId: string;
  attempt: number;
  /** When the step was claimed (ready for a worker): the start of its dispatch latency. */
  claimedAt: Date | null;
  /** Leased to the claiming worker, which executes it after the commit; false: handed to the job queue. */
  leased: boolean;
  type: string;
  config: Record<string, unknown>;
  step: StepDefinition;
  expressionContext: ExpressionContext;
  commandAllowlist: string[];
  /** Scrubs sensitive inputs and secrets from anything recorded about this step. */
  redact: Redactor;
}

export interface AdvanceResult {
  events: StoredEvent[];
  claims: StepClaim[];
  /** Steps whose wake-up time is in the future: the engine sets a local timer as well. */
  timers: { stepRunId: string; runId: string; at: Date }[];
  finished: FinishedRun | null;
  /** Ready steps were left PENDING because this worker had no capacity left. */
  starved: boolean;
}

export interface AdvanceOptions {
  workerId: string;
  leaseMs: number;
  /** How many steps may be claimed now (in-process: this worker's free slots; a job queue: any number). */
  capacity: number;
  /**
   * How many of those claims this worker leases to itself at once and executes right after the
   * commit (the hot path: no job, no take-over). Further claims are left unleased for the job
   * queue (graphile-worker), whose worker takes the lease when it starts the job (claim.ts), so a
   * step waiting in the queue is never mistaken for one whose worker died.
   */
  localSlots: number;
  now: Date;
  /** Decrypts workspace secrets; null when secrets are not configured. */
  secretsKey: Buffer | null;
  /** The server's public origin, for the URLs of wait tokens (`steps.<id>.signal.url`). */
  publicUrl?: string;
}

/** The run row as read under its lock (the workflow's allowlist joined in). */
interface LockedRun {
  id: string;
  workspaceId: string;
  workflowId: string | null;
  status: string;
  definition: WorkflowDefinition;
  input: unknown;
  commandAllowlist: string[] | null;
  createdAt: Date;
}

export interface Loaded {
  run: LockedRun & { commandAllowlist: string[] };
  rows: Map<string, StepRun>;
  events: NewEvent[];
  redact: Redactor;
  secrets: Record<string, string>;
  /** `steps.<id>.signal` of the run's event waits (their token URL). */
  signalRefs: Record<string, { url: string; token: string } | null>;
}

/** Locks the run row for the rest of the transaction and reads what the state machine needs. */
export async function lockAndReadRun(tx: Tx, runId: string): Promise<LockedRun | undefined> {
  const rows = await tx.$queryRaw<LockedRun[]>`
    SELECT r.id::text AS id, r."workspaceId"::text AS "workspaceId", r."workflowId"::text AS "workflowId", r.status::text AS status,
           r.definition, r.input, w."commandAllowlist" AS "commandAllowlist", r."createdAt" AS "createdAt"
    FROM "Run" r LEFT JOIN "Workflow" w ON w.id = r."workflowId"
    WHERE r.id = ${runId}::uuid
    FOR UPDATE OF r`;
  return rows[0];
}

export function stepById(definition: WorkflowDefinition, stepId: string): StepDefinition | undefined {
  return definition.steps.find((s) => s.id === stepId);
}

export function expressionContextOf(
  state: Pick<Loaded, 'run' | 'rows' | 'secrets'> & { signalRefs?: Loaded['signalRefs'] },
): ExpressionContext {
  const steps: Record<string, { output: unknown; status: StepStatus; signal?: unknown }> = {};
  for (const row of state.rows.values())
    if (row.iteration === TOP_LEVEL) steps[row.stepId] = { output: row.output ?? null, status: row.status };
  for (const [id, signal] of Object.entries(state.signalRefs ?? {})) if (steps[id]) steps[id].signal = signal;
  return {
    input: state.run.input ?? {},
    steps,
    run: { id: state.run.id, workflowId: state.run.workflowId },
    secrets: state.secrets,
  };
}

/**
 * Locks the run row and reads its top-level steps, secrets and redactor. Undefined when the run
 * is gone or no longer active (a PAUSED run still records its other steps' results).
 */
export async function loadRunState(
  tx: Tx,
  runId: string,
  secretsKey: Buffer | null,
  publicUrl = '',
): Promise<Loaded | undefined> {
  const run = await lockAndReadRun(tx, runId);
  if (!run || (run.status !== 'RUNNING' && run.status !== 'PAUSED')) return undefined;
  const definition = run.definition;
  const rows = await tx.stepRun.findMany({ where: { runId, iteration: TOP_LEVEL } });
  // Secrets are decrypted only for runs whose definition refers to them.
  const secrets = JSON.stringify(definition).includes('secrets.')
    ? await loadSecrets(tx, run.workspaceId, secretsKey)
    : {};
  const signalRefs = signalRefsOf(definition.steps, run.id, secretsKey, publicUrl);
  return {
    run: { ...run, definition, commandAllowlist: run.commandAllowlist ?? [] },
    rows: new Map(rows.map((r) => [r.stepId, r])),
    events: [],
    // Every secret, however short (setSecret refuses new ones under 8 characters; older ones are
    // still hidden, at the price of over-redaction, rather than shown).
    // Wait tokens too: they are credentials, whatever step their URL is rendered into.
    redact: createRedactor([
      ...sensitiveValues(definition.inputSchema, run.input),
      ...Object.values(secrets),
      ...Object.values(signalRefs).flatMap((r) => (r ? [r.token] : [])),
    ]),
    secrets,
    signalRefs,
  };
}

/**
 * The config a worker executes, templates rendered (a loop renders per item, later), and the copy
 * to record, in which values computed from secrets are redacted as a whole.
 */
export async function claimConfig(
  step: StepDefinition,
  context: ExpressionContext,
): Promise<{ config: Record<string, unknown>; recorded: Record<string, unknown> }> {
  if (step.type === 'loop') return { config: step.config ?? {}, recorded: step.config ?? {} };
  const { value, recorded } = await renderTemplatesForRecord(step.config ?? {}, context);
  return { config: value as Record<string, unknown>, recorded: recorded as Record<string, unknown> };
}

/** The lease a claimed step starts with: this worker's when it executes the step itself, or none until a worker takes its job. */
export function claimLease(
  opts: AdvanceOptions,
  local: boolean,
): { leaseOwner: string | null; leaseExpiresAt: Date | null } {
  return local
    ? { leaseOwner: opts.workerId, leaseExpiresAt: new Date(opts.now.getTime() + opts.leaseMs) }
    : { leaseOwner: null, leaseExpiresAt: null };
}

/** Everything a worker needs to execute one attempt of a claimed step. */
export function buildClaim(
  state: Loaded,
  row: StepRun,
  step: StepDefinition,
  config: Record<string, unknown>,
  context: ExpressionContext,
): StepClaim {
  return {
    stepRunId: row.id,
    runId: state.run.id,
    workspaceId: state.run.workspaceId,
    workflowId: state.run.workflowId,
    stepId: step.id,
    attempt: row.attempt,
    claimedAt: row.startedAt,
    leased: row.leaseOwner !== null,
    type: step.type,
    config,
    step,
    expressionContext: context,
    commandAllowlist: state.run.commandAllowlist,
    redact: state.redact,
  };
}
