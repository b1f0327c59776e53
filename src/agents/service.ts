// Named agents: a workspace's reusable model settings (model, fallback models, system prompt,
// temperature, max tokens, output JSON Schema) that agent_task steps refer to by `agentId`.
//
// Not versioned, on purpose: an agent is configuration shared by many workflows, like a secret,
// and changing its model (say, because a provider retires one) should reach every workflow at
// once without a new version of each. Reproducibility comes from the step instead: each
// agent_task step records the agent's id and name, the settings it used and the model that
// answered (src/engine/steps/agent-task.ts). Workflow versions stay the only versioned thing.
import type { PrismaClient } from '../db/client.ts';
import { NotFoundError, ValidationError, type Problem } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { isPlainObject } from '../json.ts';
import type { ServiceScope } from '../scope.ts';
import { jsonSchemaProblems } from '../workflows/definition.ts';
import type { AgentSettings } from '../engine/steps/types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Path = (string | number)[];

export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/;
export const MAX_FALLBACK_MODELS = 5;
const MAX_MODEL = 200;
const MAX_SYSTEM_PROMPT = 100_000;
const MAX_TOKENS = 1_000_000;

export interface AgentInput {
  name?: string | null;
  model?: string | null;
  fallbackModels?: string[] | null;
  systemPrompt?: string | null;
  temperature?: number | null;
  maxTokens?: number | null;
  outputSchema?: unknown;
}

export type { AgentSettings };

function checkModel(model: unknown, path: Path): Problem[] {
  if (typeof model !== 'string' || model.trim().length === 0)
    return [{ path, message: 'must be a non-empty model id' }];
  if (model.length > MAX_MODEL) return [{ path, message: `must be at most ${MAX_MODEL} characters` }];
  return [];
}

/** Problems of the fields present in `input` (create checks the required ones separately). */
function agentProblems(input: AgentInput, has: (key: keyof AgentInput) => boolean): Problem[] {
  const problems: Problem[] = [];
  const at = (key: string): Path => ['input', key];
  if (has('name') && input.name !== null && (typeof input.name !== 'string' || !AGENT_NAME_PATTERN.test(input.name))) {
    problems.push({
      path: at('name'),
      message: 'must be 1–100 characters: letters, digits, space, ".", "_" or "-", starting with a letter or digit',
    });
  }
  if (has('model') && input.model !== null) problems.push(...checkModel(input.model, at('model')));
  if (has('fallbackModels') && input.fallbackModels != null) {
    if (input.fallbackModels.length > MAX_FALLBACK_MODELS)
      problems.push({ path: at('fallbackModels'), message: `must list at most ${MAX_FALLBACK_MODELS} models` });
    for (const [i, m] of input.fallbackModels.entries())
      problems.push(...checkModel(m, ['input', 'fallbackModels', i]));
  }
  if (has('systemPrompt') && input.systemPrompt != null && input.systemPrompt.length > MAX_SYSTEM_PROMPT) {
    problems.push({ path: at('systemPrompt'), message: `must be at most ${MAX_SYSTEM_PROMPT} characters` });
  }
  if (has('temperature') && input.temperature != null && !(input.temperature >= 0 && input.temperature <= 2)) {
    problems.push({ path: at('temperature'), message: 'must be a number from 0 to 2' });
  }
  if (
    has('maxTokens') &&
    input.maxTokens != null &&
    !(Number.isInteger(input.maxTokens) && input.maxTokens >= 1 && input.maxTokens <= MAX_TOKENS)
  ) {
    problems.push({ path: at('maxTokens'), message: `must be an integer from 1 to ${MAX_TOKENS}` });
  }
  if (has('outputSchema') && input.outputSchema != null)
    problems.push(...jsonSchemaProblems(input.outputSchema, at('outputSchema'), false));
  return problems;
}

function data(input: AgentInput, has: (key: keyof AgentInput) => boolean) {
  return {
    ...(has('name') ? { name: input.name!, nameKey: input.name!.toLowerCase() } : {}),
    ...(has('model') ? { model: input.model!.trim() } : {}),
    ...(has('fallbackModels') ? { fallbackModels: (input.fallbackModels ?? []).map((m) => m.trim()) } : {}),
    ...(has('systemPrompt') ? { systemPrompt: input.systemPrompt ?? null } : {}),
    ...(has('temperature') ? { temperature: input.temperature ?? null } : {}),
    ...(has('maxTokens') ? { maxTokens: input.maxTokens ?? null } : {}),
    ...(has('outputSchema') ? { outputSchema: (input.outputSchema ?? null) as Prisma.InputJsonValue } : {}),
  };
}

/** The unique index on (workspaceId, nameKey) is the backstop of the name check. */
function nameTaken(error: unknown, name: string): ValidationError | null {
  return (error as { code?: string }).code === 'P2002'
    ? ValidationError.single(
        ['input', 'name'],
        `an agent named '${name}' already exists in this workspace (names are unique regardless of case)`,
      )
    : null;
}

const presentIn = (input: object) => (key: string) =>
  Object.hasOwn(input, key) && (input as Record<string, unknown>)[key] !== undefined;

export async function createAgent(scope: ServiceScope, input: AgentInput) {
  const has = presentIn(input);
  const problems = agentProblems(input, has);
  for (const key of ['name', 'model'] as const)
    if (!has(key) || input[key] == null) problems.push({ path: ['input', key], message: 'is required' });
  if (problems.length) throw new ValidationError(problems);
  try {
    return await scope.prisma.agent.create({
      data: {
        workspaceId: scope.workspaceId,
        ...data(input, has),
        createdById: scope.actor.kind === 'user' ? scope.actor.id : null,
      } as Prisma.AgentUncheckedCreateInput,
    });
  } catch (error) {
    throw nameTaken(error, input.name!) ?? error;
  }
}

/** Only the fields present change (absent ≠ null); name and model cannot be null. */
export async function updateAgent(scope: ServiceScope, id: string, input: AgentInput) {
  const has = presentIn(input);
  const problems = agentProblems(input, has);
  for (const key of ['name', 'model'] as const)
    if (Object.hasOwn(input, key) && input[key] === null)
      problems.push({ path: ['input', key], message: 'cannot be null' });
  if (problems.length) throw new ValidationError(problems);
  try {
    const { count } = await scope.prisma.agent.updateMany({
      where: { id, workspaceId: scope.workspaceId },
      data: data(input, has),
    });
    if (count === 0) throw new NotFoundError('Agent', id);
  } catch (error) {
    throw nameTaken(error, input.name ?? '') ?? error;
  }
  return scope.prisma.agent.findFirstOrThrow({ where: { id, workspaceId: scope.workspaceId } });
}

/** Workflows that refer to a deleted agent fail at their next save (a definition error) or run (a step error). */
export async function deleteAgent(scope: ServiceScope, id: string): Promise<void> {
  const { count } = await scope.prisma.agent.deleteMany({ where: { id, workspaceId: scope.workspaceId } });
  if (count === 0) throw new NotFoundError('Agent', id);
}

/**
 * What an `agentId` in a step config refers to: the agent's id (a UUID or its global ID), else
 * its name (case-insensitive). Null when it is not an id, so it can only be a name.
 */
export function agentIdOf(reference: string): string | null {
  // Decoded here rather than with the schema's parseGlobalId: the engine uses this module and
  // stays independent of the GraphQL layer.
  if (UUID.test(reference)) return reference;
  const match = /^Agent:(.+)$/.exec(Buffer.from(reference, 'base64').toString('utf8'));
  return match && UUID.test(match[1]!) ? match[1]! : null;
}

/** The agents `references` resolve to in a workspace, by reference; unknown ones are absent. */
export async function findAgents(
  prisma: Pick<PrismaClient, 'agent'>,
  workspaceId: string,
  references: string[],
): Promise<Map<string, AgentSettings>> {
  if (references.length === 0) return new Map();
  const ids = references.map(agentIdOf).filter((id): id is string => id !== null);
  const rows = await prisma.agent.findMany({
    where: { workspaceId, OR: [{ id: { in: ids } }, { nameKey: { in: references.map((r) => r.toLowerCase()) } }] },
  });
  const found = new Map<string, AgentSettings>();
  for (const reference of references) {
    const id = agentIdOf(reference);
    const agent = rows.find((row) => row.id === id) ?? rows.find((row) => row.nameKey === reference.toLowerCase());
    if (agent) found.set(reference, agent);
  }
  return found;
}

/** Every `agentId` of a definition's agent_task steps (loop bodies included), with its path. */
export function agentReferences(definition: unknown): { reference: unknown; path: Path; stepId: string | null }[] {
  if (!isPlainObject(definition) || !Array.isArray(definition.steps)) return [];
  return definition.steps.flatMap((step, index) => {
    if (!isPlainObject(step) || !isPlainObject(step.config)) return [];
    const stepId = typeof step.id === 'string' ? step.id : null;
    const inner = step.type === 'loop' && isPlainObject(step.config.step) ? step.config.step : null;
    if (step.type === 'agent_task' && step.config.agentId !== undefined)
      return [{ reference: step.config.agentId, path: ['steps', index, 'config', 'agentId'], stepId }];
    if (inner?.type === 'agent_task' && isPlainObject(inner.config) && inner.config.agentId !== undefined)
      return [
        { reference: inner.config.agentId, path: ['steps', index, 'config', 'step', 'config', 'agentId'], stepId },
      ];
    return [];
  });
}

/**
 * Save-time check: every literal agentId names an agent of the workspace. A `{{ }}` template
 * can only be checked when the step runs. Paths are relative to the definition.
 */
export async function agentReferenceProblems(
  prisma: Pick<PrismaClient, 'agent'>,
  workspaceId: string,
  definition: unknown,
): Promise<Problem[]> {
  const refs = agentReferences(definition).filter(
    (r): r is typeof r & { reference: string } => typeof r.reference === 'string' && !r.reference.includes('{{'),
  );
  const found = await findAgents(prisma, workspaceId, [...new Set(refs.map((r) => r.reference))]);
  return refs
    .filter((r) => !found.has(r.reference))
    .map((r) => ({
      path: r.path,
      message: `No agent '${r.reference}' in this workspace (give an agent's id or name; create it with createAgent)`,
      stepId: r.stepId,
    }));
}
