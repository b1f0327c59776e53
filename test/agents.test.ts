// Named agents end to end through the GraphQL API: CRUD and its validation, agentId checked
// when a workflow is saved and resolved when the step runs, and the fallback models tried in
// order against a loopback server speaking the OpenAI chat-completions protocol.
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import type { CreateAgentInput, UpdateAgentInput } from './generated/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createTenant, keyWith } from './helpers/auth.ts';
import { json, startLoopbackServer, type LoopbackServer, type RecordedRequest } from './helpers/http-server.ts';
import { createWorkflow, rawId, startRun, stepsOf, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

let t: TestApp;
let models: LoopbackServer;
/** How each model answers: a status, or an answer text (200). Unlisted models answer 'fine'. */
let behaviour: Record<string, number | string> = {};

function completions(req: RecordedRequest, res: ServerResponse) {
  const body = JSON.parse(req.body) as { model: string; messages: { content: string }[] };
  const how = behaviour[body.model] ?? 'fine';
  if (typeof how === 'number') return json(res, how, { error: { message: `${body.model} says ${how}` } });
  json(res, 200, {
    model: `${body.model}-v1`,
    choices: [{ message: { role: 'assistant', content: how }, finish_reason: 'stop' }],
    usage: { total_tokens: 7 },
  });
}

beforeAll(async () => {
  models = await startLoopbackServer(completions);
  t = await startTestApp({
    WEFT_ENGINE_POLL_MS: '50',
    WEFT_AGENT_BASE_URL: `${models.url}/v1`,
    WEFT_AGENT_MODEL: 'server-default',
  });
  await t.app.engine.start();
});
afterAll(async () => {
  await t?.close();
  await models?.close();
});
beforeEach(() => {
  behaviour = {};
  models.requests.length = 0;
});

const CREATE_AGENT = graphql(`
  mutation AgentsCreate($input: CreateAgentInput!) {
    createAgent(input: $input) {
      __typename
      ... on AgentPayload {
        agent {
          id
          name
          model
          fallbackModels
          systemPrompt
          temperature
          maxTokens
          outputSchema
        }
      }
      ... on ValidationError {
        problems {
          path
          message
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`);

const UPDATE_AGENT = graphql(`
  mutation AgentsUpdate($input: UpdateAgentInput!) {
    updateAgent(input: $input) {
      __typename
      ... on AgentPayload {
        agent {
          id
          name
          model
          fallbackModels
          systemPrompt
          temperature
          maxTokens
          outputSchema
        }
      }
      ... on ValidationError {
        problems {
          path
          message
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`);

async function createAgent(input: CreateAgentInput) {
  const res = await t.gql(CREATE_AGENT, { input });
  expect(res.errors).toBeUndefined();
  return res.data!.createAgent;
}

async function updateAgent(input: UpdateAgentInput) {
  const res = await t.gql(UPDATE_AGENT, { input });
  expect(res.errors).toBeUndefined();
  return res.data!.updateAgent;
}

const problemsOf = (result: Awaited<ReturnType<typeof createAgent>>) =>
  Object.fromEntries(ofType(result, 'ValidationError').problems.map((p) => [p.path.join('.'), p.message]));
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

describe('agents: create, read, update, delete', () => {
  it('creates an agent, lists it, changes only the fields given and deletes it', async () => {
    const name = unique('Summarizer');
    const created = await createAgent({
      name,
      model: 'gpt-small',
      fallbackModels: ['gpt-medium', 'gpt-large'],
      systemPrompt: 'Be brief',
      temperature: 0.2,
      maxTokens: 300,
      outputSchema: { type: 'object' },
    });
    expect(created.__typename).toBe('AgentPayload');
    const { agent } = ofType(created, 'AgentPayload');
    expect(agent).toMatchObject({
      name,
      model: 'gpt-small',
      fallbackModels: ['gpt-medium', 'gpt-large'],
      systemPrompt: 'Be brief',
      temperature: 0.2,
      maxTokens: 300,
      outputSchema: { type: 'object' },
    });
    const id = agent.id;

    const list = await t.gql(
      graphql(`query AgentsList { agents(first: 200) { totalCount edges { node { id name } } } }`),
    );
    expect(list.errors).toBeUndefined();
    expect(list.data?.agents.edges.map((e) => e.node.id)).toContain(id);
    const node = await t.gql(graphql(`query AgentsNode($id: ID!) { node(id: $id) { ... on Agent { name model } } }`), {
      id,
    });
    expect(node.data?.node).toEqual({ name, model: 'gpt-small' });

    const updated = await updateAgent({ id, model: 'gpt-small-2', systemPrompt: null, fallbackModels: ['gpt-medium'] });
    expect(ofType(updated, 'AgentPayload').agent).toMatchObject({
      name,
      model: 'gpt-small-2',
      fallbackModels: ['gpt-medium'],
      systemPrompt: null,
      temperature: 0.2,
      maxTokens: 300,
    });

    const deleted = await t.gql(
      graphql(
        `mutation AgentsDelete($input: DeleteInput!) { deleteAgent(input: $input) { __typename ... on DeletedPayload { deletedId } ... on Error { code } } }`,
      ),
      { input: { id } },
    );
    expect(deleted.data?.deleteAgent).toEqual({ __typename: 'DeletedPayload', deletedId: id });
    expect(await t.db.prisma.agent.count({ where: { id: rawId(id) } })).toBe(0);
    const again = await t.gql(
      graphql(
        `mutation AgentsDeleteAgain($input: DeleteInput!) { deleteAgent(input: $input) { __typename ... on Error { code } } }`,
      ),
      { input: { id } },
    );
    expect(again.data?.deleteAgent).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('refuses bad input with every problem and its path, and names already taken in another case', async () => {
    const bad = await createAgent({
      name: ' no',
      model: ' ',
      fallbackModels: ['ok', '', 'a', 'b', 'c', 'd'],
      temperature: 3,
      maxTokens: 0,
      outputSchema: { type: 'nonsense' },
    });
    expect(bad.__typename).toBe('ValidationError');
    expect(problemsOf(bad)).toEqual({
      'input.name':
        'must be 1–100 characters: letters, digits, space, ".", "_" or "-", starting with a letter or digit',
      'input.model': 'must be a non-empty model id',
      'input.fallbackModels': 'must list at most 5 models',
      'input.fallbackModels.1': 'must be a non-empty model id',
      'input.temperature': 'must be a number from 0 to 2',
      'input.maxTokens': 'must be an integer from 1 to 1000000',
      'input.outputSchema.type': expect.stringMatching(/^is not a valid JSON Schema/),
    });
    const name = unique('Writer');
    expect((await createAgent({ name, model: 'm' })).__typename).toBe('AgentPayload');
    const taken = await createAgent({ name: name.toUpperCase(), model: 'm' });
    expect(problemsOf(taken)).toEqual({
      'input.name': `an agent named '${name.toUpperCase()}' already exists in this workspace (names are unique regardless of case)`,
    });
    const other = ofType(await createAgent({ name: unique('Other'), model: 'm' }), 'AgentPayload');
    const clash = await updateAgent({ id: other.agent.id, name });
    expect(clash.__typename).toBe('ValidationError');
    expect(ofType(await updateAgent({ id: other.agent.id, model: null }), 'ValidationError').problems).toEqual([
      { path: ['input', 'model'], message: 'cannot be null' },
    ]);
    expect(await t.db.prisma.agent.count({ where: { nameKey: name.toLowerCase() } })).toBe(1);
  });
});

describe('agent_task with agentId', () => {
  it('is checked when the workflow is saved: an unknown agent is a definition error at its path, by id or by name', async () => {
    const agent = ofType(await createAgent({ name: unique('Checker'), model: 'm' }), 'AgentPayload').agent;
    const definition = {
      steps: [
        { id: 'byName', type: 'agent_task', config: { agentId: agent.name.toLowerCase(), goal: 'x' } },
        { id: 'byId', type: 'agent_task', config: { agentId: agent.id, goal: 'x' } },
        { id: 'missing', type: 'agent_task', config: { agentId: 'nobody', goal: 'x' } },
        {
          id: 'each',
          type: 'loop',
          config: { items: '[1]', step: { type: 'agent_task', config: { agent_id: 'ghost', goal: 'x' } } },
        },
        { id: 'later', type: 'agent_task', config: { agentId: '{{ input.agent }}', goal: 'x' } },
      ],
    };
    const res = await t.gql(
      graphql(
        `mutation AgentsCreateWorkflow($input: CreateWorkflowInput!) { createWorkflow(input: $input) { __typename ... on ValidationError { problems { path message stepId } } } }`,
      ),
      { input: { name: 'agents', definition } },
    );
    expect(res.errors).toBeUndefined();
    expect(ofType(res.data?.createWorkflow, 'ValidationError').problems).toEqual([
      {
        path: ['input', 'definition', 'steps', '2', 'config', 'agentId'],
        message: "No agent 'nobody' in this workspace (give an agent's id or name; create it with createAgent)",
        stepId: 'missing',
      },
      {
        path: ['input', 'definition', 'steps', '3', 'config', 'step', 'config', 'agentId'],
        message: "No agent 'ghost' in this workspace (give an agent's id or name; create it with createAgent)",
        stepId: 'each',
      },
    ]);
    const check = await t.gql(
      graphql(
        `query AgentsValidate($d: JSON!) { validateWorkflowDefinition(definition: $d) { valid errors { path } } }`,
      ),
      { d: definition },
    );
    expect(check.data?.validateWorkflowDefinition.errors.map((e) => e.path.join('.'))).toEqual([
      'steps.2.config.agentId',
      'steps.3.config.step.config.agentId',
    ]);
    expect(await t.db.prisma.workflow.count({ where: { name: 'agents' } })).toBe(0);
  });

  it('falls back to the next model when the first answers 5xx, and records which model answered', async () => {
    const agent = ofType(
      await createAgent({
        name: unique('Resilient'),
        model: 'primary',
        fallbackModels: ['secondary', 'tertiary'],
        systemPrompt: 'You summarise.',
        temperature: 0.5,
        maxTokens: 64,
      }),
      'AgentPayload',
    ).agent;
    behaviour = { primary: 503, secondary: 'the summary' };
    const wf = await createWorkflow(t, {
      steps: [{ id: 'ask', type: 'agent_task', config: { agentId: agent.id, goal: 'Summarise {{ input.text }}' } }],
    });
    const run = await startRun(t, wf, { text: 'the text' });
    const finished = await waitForRun(t, run);
    expect(finished.status).toBe('COMPLETED');
    const step = (await stepsOf(t, run)).ask!;
    expect(step.output).toEqual({
      answer: 'the summary',
      model: 'secondary-v1',
      usage: { total_tokens: 7 },
      agent: { id: rawId(agent.id), name: agent.name },
      fallbacks: [{ model: 'primary', error: expect.stringMatching(/answered HTTP 503: .*primary says 503/) }],
    });
    expect(step.attempt).toBe(1);
    const read = await t.gql(graphql(`query AgentsRunModels($id: ID!) { run(id: $id) { stepRuns { model } } }`), {
      id: run,
    });
    expect(read.errors).toBeUndefined();
    expect(read.data?.run?.stepRuns).toEqual([{ model: 'secondary-v1' }]);
    expect(step.logs).toMatch(/primary failed: .*503.*; falling back to secondary/);
    expect(step.logs).toMatch(/answered by fallback model secondary \(after primary\)/);
    const sent = models.requests.map((r) => JSON.parse(r.body));
    expect(sent.map((b) => b.model)).toEqual(['primary', 'secondary']);
    expect(sent[1]).toEqual({
      model: 'secondary',
      messages: [
        { role: 'system', content: 'You summarise.' },
        { role: 'user', content: 'Summarise the text' },
      ],
      max_tokens: 64,
      temperature: 0.5,
    });
  });

  it('falls back on a reply that breaks the output schema, stops at errors every model would get, and fails after the last model', async () => {
    const schema = { type: 'object', required: ['score'], properties: { score: { type: 'integer' } } };
    const agent = ofType(
      await createAgent({ name: unique('Scorer'), model: 'chatty', fallbackModels: ['strict'], outputSchema: schema }),
      'AgentPayload',
    ).agent;
    const wf = await createWorkflow(t, {
      steps: [{ id: 'score', type: 'agent_task', config: { agentId: agent.name, goal: 'Score it' } }],
    });

    behaviour = { chatty: 'I think 7', strict: '{"score": 7}' };
    const ok = await startRun(t, wf);
    expect((await waitForRun(t, ok)).status).toBe('COMPLETED');
    const out = (await stepsOf(t, ok)).score!.output as { fallbacks: unknown[] };
    expect(out).toMatchObject({ answer: '{"score": 7}', data: { score: 7 }, model: 'strict-v1' });
    expect(out.fallbacks[0]).toEqual({
      model: 'chatty',
      error: expect.stringMatching(/^chatty answered text that is not JSON/),
    });
    expect(JSON.parse(models.requests[0]!.body).response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'output', schema },
    });

    models.requests.length = 0;
    behaviour = { chatty: 401 };
    const denied = await waitForRun(t, await startRun(t, wf));
    expect(denied.status).toBe('FAILED');
    expect(models.requests.map((r) => JSON.parse(r.body).model)).toEqual(['chatty']); // a bad key is bad for every model

    behaviour = { chatty: 500, strict: 502 };
    const down = await startRun(t, wf);
    expect((await waitForRun(t, down)).status).toBe('FAILED');
    expect(((await stepsOf(t, down)).score!.error as { message: string }).message).toMatch(/answered HTTP 502/);
  });

  it('resolves the agent when the step runs: a changed model is used at once, a deleted agent fails the step clearly', async () => {
    const agent = ofType(await createAgent({ name: unique('Changing'), model: 'old-model' }), 'AgentPayload').agent;
    const wf = await createWorkflow(t, {
      steps: [{ id: 'ask', type: 'agent_task', config: { agentId: agent.id, goal: 'Hi' } }],
    });
    await updateAgent({ id: agent.id, model: 'new-model' });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    expect((await stepsOf(t, run)).ask!.output).toMatchObject({ model: 'new-model-v1', fallbacks: [] });

    await t.gql(`mutation($input: DeleteInput!) { deleteAgent(input: $input) { __typename } }`, {
      input: { id: agent.id },
    });
    const orphan = await startRun(t, wf);
    expect((await waitForRun(t, orphan)).status).toBe('FAILED');
    const step = (await stepsOf(t, orphan)).ask!;
    expect((step.error as { message: string }).message).toBe(
      `agent_task.agentId: no agent '${agent.id}' in this workspace (deleted or renamed since the workflow was saved?)`,
    );
    expect(step.attempt).toBe(1);
  });

  it("never reaches another workspace's agent, by name or by id, and needs write permission to change agents", async () => {
    const other = await createTenant(t, unique('agents-other'));
    const mine = ofType(await createAgent({ name: unique('Private'), model: 'secret-model' }), 'AgentPayload').agent;
    const definition = {
      steps: [
        { id: 'a', type: 'agent_task', config: { agentId: mine.name, goal: 'x' } },
        { id: 'b', type: 'agent_task', config: { agentId: mine.id, goal: 'x' } },
      ],
    };
    const res = await t.gql(
      graphql(
        `mutation AgentsCreateTheirWorkflow($input: CreateWorkflowInput!) { createWorkflow(input: $input) { __typename ... on ValidationError { problems { path } } } }`,
      ),
      { input: { name: 'theirs', definition } },
      other.headers,
    );
    expect(res.errors).toBeUndefined();
    expect(ofType(res.data?.createWorkflow, 'ValidationError').problems.map((p) => p.path.join('.'))).toEqual([
      'input.definition.steps.0.config.agentId',
      'input.definition.steps.1.config.agentId',
    ]);
    // The same name is free in their workspace (names are unique per workspace).
    const theirs = await t.gql(
      graphql(`mutation AgentsCreateTheirs($input: CreateAgentInput!) { createAgent(input: $input) { __typename } }`),
      { input: { name: mine.name, model: 'their-model' } },
      other.headers,
    );
    expect(theirs.data?.createAgent.__typename).toBe('AgentPayload');
    const listed = await t.gql(
      graphql(`query AgentsTheirList { agents(first: 200) { edges { node { model } } } }`),
      {},
      other.headers,
    );
    expect(listed.data?.agents.edges.map((e) => e.node.model)).toEqual(['their-model']);

    const reader = await keyWith(t, ['read']);
    const denied = await t.gql(
      `mutation { createAgent(input: { name: "${unique('nope')}", model: "m" }) { __typename } }`,
      {},
      reader,
    );
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const read = await t.gql(
      graphql(`query AgentsReadOther($id: ID!) { node(id: $id) { ... on Agent { model } } }`),
      { id: mine.id },
      reader,
    );
    expect(read.data?.node).toEqual({ model: 'secret-model' });
  });
});
