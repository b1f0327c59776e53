// The contract between the executor and the step handlers that do outside work
// (http_request, webhook, script, agent_task). Control-flow steps (condition, loop, wait) are
// handled by the executor itself. Handlers know nothing about the database or dispatch.
import type { Agent } from '../../generated/prisma/client.ts';
import type { Readable } from 'node:stream';
import type { ScriptSettings } from '../../config.ts';

/** Server-wide settings a handler may need; built from Config by the engine. */
export interface StepEnvironment {
  scripts: ScriptSettings;
  agent: { baseUrl: string | null; apiKey: string | null; model: string | null };
  /** fetch for every outbound request: refuses non-public addresses unless WEFT_OUTBOUND_ALLOW allows them. */
  fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  /**
   * The same WEFT_OUTBOUND_ALLOW policy as `fetch`, for connections made otherwise (the proxy of
   * sandboxed scripts): the addresses a host may be reached at, or throws when it may not.
   */
  resolveOutbound: (host: string) => Promise<{ address: string; family: number }[]>;
  /** Upper bound for response/output sizes regardless of step config. */
  maxResponseBytes: number;
}

/** The settings a step uses: what the engine needs of a named agent (agents/service.ts finds them). */
export type AgentSettings = Pick<
  Agent,
  'id' | 'name' | 'model' | 'fallbackModels' | 'systemPrompt' | 'temperature' | 'maxTokens' | 'outputSchema'
>;

export interface StepContext {
  runId: string;
  stepId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The step's config with every expression already evaluated. */
  config: Record<string, unknown>;
  /** Aborted when the run is cancelled or the attempt times out: stop promptly. */
  signal: AbortSignal;
  /** Appends a line to the step's logs (also streamed as a STEP_LOG run event). */
  log(line: string): void;
  env: StepEnvironment;
  workflow: { commandAllowlist: string[] };
  /** Stable across retries of the same step of the same run: send it as Idempotency-Key. */
  idempotencyKey: string;
  /** Named agents of the run's workspace (agent_task's agentId), looked up when the step runs. */
  agents?: { resolve(reference: string): Promise<AgentSettings | null> };
  /** Input files and attachments; absent where no file storage is configured (unit tests of handlers). */
  files?: StepFiles;
}

/** A stored file as a step sees it. `id` is its global ID (what run inputs and outputs show). */
export interface StepFileInfo {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  downloadUrl: string;
}

/** Files for a step: reading uploads of the run's workspace, storing attachments of this step. */
export interface StepFiles {
  /** An upload or attachment of the run's workspace by id (global or raw); NonRetriableError when there is none. */
  open(ref: unknown, path: string): Promise<StepFileInfo & { read(): Promise<Readable> }>;
  /** Stores bytes as an attachment of this step of the run (records an ATTACHMENT_CREATED event). */
  attach(source: Readable, meta: { filename: string; contentType?: string | null }): Promise<StepFileInfo>;
  /** The same, for one iteration of a loop body. */
  forIteration(iteration: number): StepFiles;
}

export interface StepHandler {
  execute(ctx: StepContext): Promise<unknown>;
}

/** A failure that retrying cannot fix (4xx, script not allowed, bad config…): no more attempts. */
export class NonRetriableError extends Error {
  override name = 'NonRetriableError';
}
