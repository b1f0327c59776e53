// The reference docs' definitions as written (/work/shared/seeds, the workflows API reference):
// its "Create a workflow" example is saved in canonical form and runs end to end against
// loopback peers; workflows are found by a unique case-insensitive name; runs carry the
// caller's trigger label apart from the system's trigger.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import type { TriggerType } from './generated/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer, type RecordedRequest } from './helpers/http-server.ts';
import { createWorkflow, eventsOf, rawId, startRun, stepsOf, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

const SEED = '/work/shared/seeds/workflows-api-reference.txt';

/** The request body of the reference's "Create a workflow" example, exactly as the page prints it. */
function seedCreateBody(): { definition: Record<string, unknown>; trigger_type: string; tags: string[] } {
  const page = readFileSync(SEED, 'utf8');
  const start = page.indexOf('POST /api/workflows{') + 'POST /api/workflows'.length;
  const end = page.indexOf('Returns 201', start);
  return JSON.parse(page.slice(start, end));
}

/** The run body of the reference's "Run a workflow" example. */
function seedRunBody(): { input_data: Record<string, unknown>; trigger: string } {
  const page = readFileSync(SEED, 'utf8');
  const start = page.indexOf('/run{') + '/run'.length;
  return JSON.parse(page.slice(start, page.indexOf('Returns 202', start)));
}

let t: TestApp;
let peer: LoopbackServer;

function peers(req: RecordedRequest, res: ServerResponse) {
  if (req.path === '/v1/chat/completions') {
    const body = JSON.parse(req.body) as { model: string; messages: { content: string }[] };
    return json(res, 200, {
      model: body.model,
      choices: [{ message: { content: `Posted summary of: ${body.messages.at(-1)!.content}` } }],
      usage: { total_tokens: 9 },
    });
  }
  if (req.path === '/data') return json(res, 200, { rows: [1, 2, 3] });
  json(res, 404, { error: 'not found' });
}

beforeAll(async () => {
  peer = await startLoopbackServer(peers);
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50', WEFT_AGENT_BASE_URL: `${peer.url}/v1` });
  await t.app.engine.start();
});
afterAll(async () => {
  await t?.close();
  await peer?.close();
});

const CREATE = graphql(
  `mutation SeedDefinitionCreate($input: CreateWorkflowInput!) { createWorkflow(input: $input) { __typename ... on CreateWorkflowPayload { workflow { id name triggerType tags { name } definition } } ... on ValidationError { problems { path message } } } }`,
);

describe("the reference docs' example definition", () => {
  it("is saved in canonical form and runs end to end, started by name with the seed's trigger label", async () => {
    const body = seedCreateBody();
    expect(body.definition.name).toBe('Fetch and notify'); // the page as it is, not a copy edited to suit Weft
    // The one change: api.example.com is a loopback peer here (no test reaches the internet).
    const definition = JSON.parse(JSON.stringify(body.definition).replaceAll('https://api.example.com', peer.url));
    const agent = await t.gql(
      graphql(
        `mutation SeedDefinitionCreateAgent { createAgent(input: { name: "agent_123", model: "notifier", systemPrompt: "You post summaries to Slack." }) { __typename } }`,
      ),
    );
    expect(agent.errors).toBeUndefined();
    expect(agent.data?.createAgent.__typename).toBe('AgentPayload');

    const res = await t.gql(CREATE, {
      input: { definition, triggerType: body.trigger_type.toUpperCase() as TriggerType, tags: body.tags },
    });
    expect(res.errors).toBeUndefined();
    const created = ofType(res.data?.createWorkflow, 'CreateWorkflowPayload');
    expect(created.workflow).toMatchObject({
      name: 'Fetch and notify',
      triggerType: 'MANUAL',
      tags: [{ name: 'notifications' }],
    });
    // Stored in one form: camelCase fields, the name on the workflow rather than in the version.
    expect(created.workflow.definition).toEqual({
      steps: [
        { id: 'fetch', type: 'http_request', config: { method: 'GET', url: `${peer.url}/data` } },
        {
          id: 'notify',
          type: 'agent_task',
          config: { agentId: 'agent_123', goal: 'Summarize the fetched data and post to Slack' },
          dependsOn: ['fetch'],
        },
      ],
    });

    const run = seedRunBody();
    expect(run.trigger).toBe('manual');
    const started = await t.gql(
      graphql(
        `mutation SeedDefinitionRunByName($input: RunWorkflowInput!) { runWorkflow(input: $input) { __typename ... on RunPayload { run { id trigger triggerLabel workflow { id } } } ... on Error { message } } }`,
      ),
      { input: { workflowId: 'FETCH AND NOTIFY', input: run.input_data, triggerLabel: run.trigger } },
    );
    expect(started.errors).toBeUndefined();
    const queued = ofType(started.data?.runWorkflow, 'RunPayload');
    expect(queued.run).toMatchObject({
      trigger: 'MANUAL',
      triggerLabel: 'manual',
      workflow: { id: created.workflow.id },
    });
    const finished = await waitForRun(t, queued.run.id);
    expect(finished.status).toBe('COMPLETED');
    expect(finished.triggerLabel).toBe('manual');
    const steps = await stepsOf(t, queued.run.id);
    expect((steps.fetch!.output as { body: unknown }).body).toEqual({ rows: [1, 2, 3] });
    expect(steps.notify!.output).toMatchObject({
      answer: 'Posted summary of: Summarize the fetched data and post to Slack',
      model: 'notifier',
      agent: { name: 'agent_123' },
    });
    expect(peer.requests.map((r) => r.path)).toEqual(['/data', '/v1/chat/completions']);
    const queuedEvent = (await eventsOf(t, queued.run.id)).find((e) => e.type === 'RUN_QUEUED')!;
    expect(queuedEvent.data).toMatchObject({ trigger: 'MANUAL', triggerLabel: 'manual' });
  });

  it('normalises every snake_case spelling it knows, refuses two spellings of one field, and keeps user data as written', async () => {
    const definition = {
      name: 'Spellings',
      max_parallel_steps: 2,
      steps: [
        {
          id: 'a',
          type: 'http_request',
          timeout_seconds: 5,
          retry: { attempts: 2, backoff_seconds: 1 },
          config: {
            url: `${peer.url}/data`,
            expected_status: 200,
            headers: { x_custom_header: 'kept' },
            body: { user_field: 1 },
          },
        },
        {
          id: 'b',
          type: 'loop',
          depends_on: ['a'],
          config: {
            items: '[1]',
            max_items: 5,
            step: { type: 'agent_task', timeout_seconds: 9, config: { goal: 'x', max_tokens: 5, model: 'm' } },
          },
        },
      ],
    };
    const check = await t.gql(
      graphql(
        `query SeedDefinitionValidate($d: JSON!) { validateWorkflowDefinition(definition: $d) { valid errors { path message } normalizedDefinition } }`,
      ),
      { d: definition },
    );
    expect(check.errors).toBeUndefined();
    const result = check.data!.validateWorkflowDefinition;
    expect(result.errors).toEqual([]);
    expect(result.normalizedDefinition).toEqual({
      maxParallelSteps: 2,
      steps: [
        {
          id: 'a',
          type: 'http_request',
          timeoutSeconds: 5,
          retry: { attempts: 2, backoffSeconds: 1 },
          config: {
            url: `${peer.url}/data`,
            expectedStatus: 200,
            headers: { x_custom_header: 'kept' },
            body: { user_field: 1 },
          },
        },
        {
          id: 'b',
          type: 'loop',
          dependsOn: ['a'],
          config: {
            items: '[1]',
            maxItems: 5,
            step: { type: 'agent_task', timeoutSeconds: 9, config: { goal: 'x', maxTokens: 5, model: 'm' } },
          },
        },
      ],
    });

    const both = await t.gql(CREATE, {
      input: {
        name: 'Other name',
        definition: { ...definition, steps: [{ ...definition.steps[0], timeoutSeconds: 6 }] },
      },
    });
    expect(ofType(both.data?.createWorkflow, 'ValidationError').problems).toEqual([
      {
        path: ['input', 'definition', 'name'],
        message: "differs from input.name ('Other name'): give the workflow's name in one place",
      },
      {
        path: ['input', 'definition', 'steps', '0', 'timeout_seconds'],
        message: "'timeout_seconds' is another spelling of 'timeoutSeconds', which is also given: keep one",
      },
    ]);
    const numbered = await t.gql(
      graphql(
        `query SeedDefinitionValidateName($d: JSON!) { validateWorkflowDefinition(definition: $d) { errors { path message } } }`,
      ),
      { d: { ...definition, name: 5 } },
    );
    expect(numbered.data?.validateWorkflowDefinition.errors).toEqual([
      { path: ['name'], message: "must be a string (the workflow's name)" },
    ]);
    const nameless = await t.gql(CREATE, { input: { definition: { steps: definition.steps } } });
    expect(ofType(nameless.data?.createWorkflow, 'ValidationError').problems).toEqual([
      { path: ['input', 'name'], message: "is required (or give it as the definition's name)" },
    ]);
  });

  it('accepts the same spellings in a patch, which may address the workflow by name', async () => {
    const name = `Patched ${Math.random().toString(36).slice(2, 8)}`;
    await createWorkflow(
      t,
      { steps: [{ id: 'a', type: 'http_request', config: { url: `${peer.url}/data` } }] },
      { name },
    );
    const res = await t.gql(
      graphql(
        `mutation SeedDefinitionPatch($input: PatchWorkflowInput!) { patchWorkflow(input: $input) { __typename ... on WorkflowPayload { workflow { latestVersion definition } } ... on ValidationError { problems { path message } } } }`,
      ),
      {
        input: {
          id: name.toLowerCase(),
          definition: {
            steps: {
              a: { config: { expected_status: 200 } },
              b: { type: 'agent_task', depends_on: ['a'], config: { goal: 'x', max_tokens: 3 } },
            },
          },
        },
      },
    );
    expect(res.errors).toBeUndefined();
    expect(ofType(res.data?.patchWorkflow, 'WorkflowPayload').workflow).toEqual({
      latestVersion: 2,
      definition: {
        steps: [
          { id: 'a', type: 'http_request', config: { url: `${peer.url}/data`, expectedStatus: 200 } },
          { id: 'b', type: 'agent_task', dependsOn: ['a'], config: { goal: 'x', maxTokens: 3 } },
        ],
      },
    });
    const patchProblems = async (definition: unknown) => {
      const res = await t.gql(
        graphql(
          `mutation SeedDefinitionPatchProblems($input: PatchWorkflowInput!) { patchWorkflow(input: $input) { __typename ... on ValidationError { problems { path message } } } }`,
        ),
        { input: { id: name, definition } },
      );
      expect(res.errors).toBeUndefined();
      return ofType(res.data?.patchWorkflow, 'ValidationError').problems;
    };
    expect(await patchProblems({ steps: { b: { depends_on: [], dependsOn: ['a'] } } })).toEqual([
      {
        path: ['input', 'definition', 'steps', 'b', 'depends_on'],
        message: "'depends_on' is another spelling of 'dependsOn', which is also given: keep one",
      },
    ]);
    // A changed step's config is mapped by the type of the step in the base version.
    expect(await patchProblems({ steps: { b: { config: { max_tokens: 4, maxTokens: 5 } } } })).toEqual([
      {
        path: ['input', 'definition', 'steps', 'b', 'config', 'max_tokens'],
        message: "'max_tokens' is another spelling of 'maxTokens', which is also given: keep one",
      },
    ]);
    expect(await t.db.prisma.workflowVersion.count({ where: { workflow: { name } } })).toBe(2);
  });
});

describe('workflows by name', () => {
  it('finds a unique name in any case, and says which workflows share an ambiguous one', async () => {
    const name = `Twin ${Math.random().toString(36).slice(2, 8)}`;
    const first = await createWorkflow(
      t,
      { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] },
      { name },
    );
    const found = await t.gql(graphql(`query SeedDefinitionByName($id: ID!) { workflow(id: $id) { id name } }`), {
      id: name.toUpperCase(),
    });
    expect(found.errors).toBeUndefined();
    expect(found.data?.workflow).toEqual({ id: first, name });

    const second = await createWorkflow(
      t,
      { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] },
      { name: name.toLowerCase() },
    );
    const ambiguous = await t.gql(`query($id: ID!) { workflow(id: $id) { id } }`, { id: name });
    expect(ambiguous.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(ambiguous.errors?.[0]?.message).toContain(
      `the name '${name}' is ambiguous: 2 workflows are called that (case-insensitively): ${first}, ${second}. Use the workflow's id`,
    );

    const run = await t.gql(
      graphql(
        `mutation SeedDefinitionRunAmbiguous($input: RunWorkflowInput!) { runWorkflow(input: $input) { __typename ... on ValidationError { problems { path message } } } }`,
      ),
      { input: { workflowId: name } },
    );
    expect(run.errors).toBeUndefined();
    expect(ofType(run.data?.runWorkflow, 'ValidationError').problems[0]?.path).toEqual(['input', 'workflowId']);
    const missing = await t.gql(`query { workflow(id: "no such workflow") { id } }`);
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // Names with LIKE wildcards are matched literally.
    const wild = await t.gql(`query { workflow(id: "Twin %") { id } }`);
    expect(wild.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('trigger labels', () => {
  it('are free text kept apart from the system trigger, checked for length and control characters', async () => {
    const wf = await createWorkflow(t, { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] });
    const run = await startRun(t, wf, {}, { triggerLabel: 'nightly-sync' });
    const row = await waitForRun(t, run);
    expect({ trigger: row.trigger, triggerLabel: row.triggerLabel }).toEqual({
      trigger: 'MANUAL',
      triggerLabel: 'nightly-sync',
    });
    const plain = await waitForRun(t, await startRun(t, wf));
    expect(plain.triggerLabel).toBeNull();
    for (const bad of ['', 'x'.repeat(101), 'a\nb']) {
      const res = await t.gql(
        graphql(
          `mutation SeedDefinitionRunLabel($input: RunWorkflowInput!) { runWorkflow(input: $input) { __typename ... on ValidationError { problems { path } } } }`,
        ),
        { input: { workflowId: wf, triggerLabel: bad } },
      );
      expect(res.data?.runWorkflow).toEqual({
        __typename: 'ValidationError',
        problems: [{ path: ['input', 'triggerLabel'] }],
      });
    }
    expect(await t.db.prisma.run.count({ where: { workflowId: rawId(wf) } })).toBe(2);
  });
});
