// Named agents (src/agents/service.ts): the Agent type, its queries and mutations.
import type { Agent } from '../generated/prisma/client.ts';
import { createAgent, deleteAgent, updateAgent, type AgentInput } from '../agents/service.ts';
import { builder } from './builder.ts';
import { DeleteInput, DeletedPayload } from './delete.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { inWorkspace, parseGlobalId } from '../ids.ts';
import { checkPageSize } from './pagination.ts';

export const AgentRef = builder.prismaNode('Agent', {
  nullable: true,
  description:
    'A named model configuration of the workspace that agent_task steps refer to with `agentId` (its id or name). Not versioned: steps resolve it when they run and record what they used.',
  id: { field: 'id' },
  findUnique: inWorkspace,
  fields: (t) => ({
    name: t.exposeString('name', {
      description: 'Unique in the workspace regardless of case; agent_task steps may refer to it by name.',
    }),
    model: t.exposeString('model', { description: 'The model asked first.' }),
    fallbackModels: t.exposeStringList('fallbackModels', {
      description:
        'Asked in order when the models before them fail with a provider error (429, 5xx, network error, malformed or schema-violating reply).',
    }),
    systemPrompt: t.exposeString('systemPrompt', {
      nullable: true,
      description: "System prompt sent before the goal (a step's own `system` replaces it).",
    }),
    temperature: t.exposeFloat('temperature', {
      nullable: true,
      description: "Sampling temperature, 0–2 (null: the provider's default).",
    }),
    maxTokens: t.exposeInt('maxTokens', {
      nullable: true,
      description: "Most tokens in an answer (a step's own `maxTokens` wins).",
    }),
    outputSchema: t.expose('outputSchema', {
      type: 'JSON',
      nullable: true,
      description: "JSON Schema the answer must match; the answer is then parsed into the step output's `data`.",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the agent was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.queryFields((t) => ({
  agents: t.prismaConnection({
    type: 'Agent',
    cursor: 'id',
    description: 'Agents of your workspace, by name. At most 200 per page.',
    resolve: (query, _root, args, ctx) => {
      checkPageSize(args);
      return ctx.prisma.agent.findMany({
        ...query,
        where: { workspaceId: ctx.workspaceId },
        orderBy: [{ nameKey: 'asc' }, { id: 'asc' }],
      });
    },
    totalCount: (_parent, _args, ctx) => ctx.prisma.agent.count({ where: { workspaceId: ctx.workspaceId } }),
  }),
}));

type FieldBuilder = Parameters<NonNullable<Parameters<typeof builder.inputType>[1]['fields']>>[0];

function agentFields(t: FieldBuilder, required: boolean) {
  return {
    name: t.string({
      required,
      description:
        '1–100 characters: letters, digits, space, ".", "_" or "-"; unique in the workspace regardless of case.',
    }),
    model: t.string({ required, description: 'Model id asked first, e.g. "gpt-4o-mini".' }),
    fallbackModels: t.stringList({
      description:
        'Up to 5 model ids asked in order when the ones before fail with a provider error. null or [] removes them.',
    }),
    systemPrompt: t.string({ description: 'System prompt (at most 100000 characters); null removes it.' }),
    temperature: t.float({ description: "Sampling temperature from 0 to 2; null: the provider's default." }),
    maxTokens: t.int({ description: 'Most tokens in an answer, 1–1000000; null: no limit sent.' }),
    outputSchema: t.field({
      type: 'JSON',
      description: 'JSON Schema (draft 2020-12) the answer must match; null removes it.',
    }),
  };
}

const CreateAgentInput = builder.inputType('CreateAgentInput', {
  description: 'A new agent.',
  fields: (t) => agentFields(t, true),
});
const UpdateAgentInput = builder.inputType('UpdateAgentInput', {
  description: 'Only the fields present change (absent ≠ null).',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID of the agent.' }), ...agentFields(t, false) }),
});

const AgentPayload = builder.objectRef<{ agent: Agent }>('AgentPayload').implement({
  description: 'The agent after the change.',
  fields: (t) => ({ agent: t.field({ type: AgentRef, description: 'The agent.', resolve: (p) => p.agent }) }),
});

const aid = (id: string | number) => parseGlobalId(String(id), 'Agent');

builder.mutationFields((t) => ({
  createAgent: t.field({
    type: AgentPayload,
    description: 'Creates an agent. Invalid input is refused with every problem listed.',
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    errors: mutationErrors('CreateAgentResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ agent: await createAgent(ctx, input as AgentInput) })),
  }),
  updateAgent: t.field({
    type: AgentPayload,
    description:
      'Changes an agent; the next agent_task steps that refer to it use the new settings (agents are not versioned).',
    args: { input: t.arg({ type: UpdateAgentInput, required: true }) },
    errors: mutationErrors('UpdateAgentResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        const { id, ...fields } = input;
        return { agent: await updateAgent(ctx, aid(id), fields as AgentInput) };
      }),
  }),
  deleteAgent: t.field({
    type: DeletedPayload,
    description:
      'Deletes an agent. Workflows that refer to it are refused at their next save, and their agent_task steps fail when they run.',
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    errors: mutationErrors('DeleteAgentResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => (await deleteAgent(ctx, aid(input.id)), { deletedId: String(input.id) })),
  }),
}));
