// Classes of input that gave 5xx or INTERNAL_SERVER_ERROR when Weft was tested from outside, each
// generated over every place it can reach, on a real socket: ids that are not visible to the
// caller, U+0000 in any string, deeply nested JSON and documents, malformed percent-encoding and
// request targets, malformed GET parameters, bodies over the limit however they are framed (and
// over graphql-ws), introspection over graphql-ws, and the documented HTTP statuses.
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.ts';
import { memoryLogger, startTestApp, type TestApp } from './helpers/app.ts';
import { createTenant } from './helpers/auth.ts';
import { databaseFingerprint } from './helpers/fingerprint.ts';
import { startLoopbackServer } from './helpers/http-server.ts';
import { sendRawHttp } from './helpers/raw-http.ts';
import { createWorkflow, gid, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

let t: TestApp;
let url: string;
const logged = memoryLogger('info');
let other: Awaited<ReturnType<typeof createTenant>>;
/** Objects of every Node type: ours, another workspace's, and deleted ones. */
const own: Record<string, string> = {};
const theirs: Record<string, string> = {};
const deleted: Record<string, string> = {};

const NODE_QUERY = graphql(`
  query BadInputNode($id: ID!) {
    node(id: $id) {
      id
      __typename
    }
  }
`);
const STEP = { id: 's', type: 'condition', config: { expression: 'true' } };

async function objectsOf(headers: Record<string, string> | undefined, into: Record<string, string>) {
  const gql = async <T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V) => {
    const res = await t.gql(document, variables, headers);
    expect(res.errors).toBeUndefined();
    return res.data!;
  };
  const suffix = () => Math.random().toString(36).slice(2);
  const wf = await gql(
    graphql(`
      mutation BadInputCreateWorkflow($input: CreateWorkflowInput!) {
        createWorkflow(input: $input) {
          __typename
          ... on CreateWorkflowPayload {
            workflow {
              id
              currentVersion {
                id
              }
            }
          }
        }
      }
    `),
    { input: { name: `n-${suffix()}`, definition: { steps: [STEP] } } },
  );
  const workflow = ofType(wf.createWorkflow, 'CreateWorkflowPayload').workflow;
  into.Workflow = workflow.id;
  into.Version = workflow.currentVersion!.id;
  const run = await gql(
    graphql(`
      mutation BadInputRunWorkflow($w: ID!) {
        runWorkflow(input: { workflowId: $w }) {
          __typename
          ... on RunPayload {
            run {
              id
            }
          }
        }
      }
    `),
    { w: into.Workflow },
  );
  into.Run = ofType(run.runWorkflow, 'RunPayload').run.id;
  await waitForRun(t, into.Run);
  const details = await gql(
    graphql(`
      query BadInputRunDetails($r: ID!) {
        run(id: $r) {
          stepRuns {
            id
          }
          events(first: 1) {
            edges {
              node {
                id
              }
            }
          }
        }
      }
    `),
    { r: into.Run },
  );
  into.StepRun = details.run!.stepRuns[0]!.id;
  into.RunEvent = details.run!.events.edges[0]!.node.id;
  const group = await gql(
    graphql(`
      mutation BadInputCreateTagGroup($name: String!) {
        createTagGroup(input: { name: $name }) {
          __typename
          ... on TagGroupPayload {
            tagGroup {
              id
            }
          }
        }
      }
    `),
    { name: `g-${suffix()}` },
  );
  into.TagGroup = ofType(group.createTagGroup, 'TagGroupPayload').tagGroup.id;
  const tag = await gql(
    graphql(`
      mutation BadInputCreateTag($name: String!) {
        createTag(input: { name: $name }) {
          __typename
          ... on TagPayload {
            tag {
              id
            }
          }
        }
      }
    `),
    { name: `t-${suffix()}` },
  );
  into.Tag = ofType(tag.createTag, 'TagPayload').tag.id;
  const schedule = await gql(
    graphql(`
      mutation BadInputCreateSchedule($w: ID!) {
        createSchedule(input: { workflowId: $w, cronExpression: "0 0 * * *", enabled: false }) {
          __typename
          ... on SchedulePayload {
            schedule {
              id
            }
          }
        }
      }
    `),
    { w: into.Workflow },
  );
  into.Schedule = ofType(schedule.createSchedule, 'SchedulePayload').schedule.id;
  const key = await gql(
    graphql(`
      mutation BadInputCreateApiKey {
        createApiKey(input: { name: "k", scopes: [READ] }) {
          __typename
          ... on CreateApiKeyPayload {
            apiKey {
              id
            }
          }
        }
      }
    `),
    {},
  );
  into.ApiKey = ofType(key.createApiKey, 'CreateApiKeyPayload').apiKey.id;
  const viewer = await gql(
    graphql(`
      query BadInputViewer {
        viewer {
          workspace {
            id
          }
        }
      }
    `),
    {},
  );
  into.Workspace = viewer.viewer.workspace!.id;
  const template = await gql(
    graphql(`
      mutation BadInputCreateTemplate($w: ID!) {
        createTemplateFromWorkflow(input: { workflowId: $w, name: "tpl", category: "x" }) {
          __typename
          ... on TemplatePayload {
            template {
              id
            }
          }
        }
      }
    `),
    { w: into.Workflow },
  );
  into.Template = ofType(template.createTemplateFromWorkflow, 'TemplatePayload').template.id;
  const agent = await gql(
    graphql(`
      mutation BadInputCreateAgent($name: String!) {
        createAgent(input: { name: $name, model: "m" }) {
          __typename
          ... on AgentPayload {
            agent {
              id
            }
          }
        }
      }
    `),
    { name: `a-${suffix()}` },
  );
  into.Agent = ofType(agent.createAgent, 'AgentPayload').agent.id;
}

beforeAll(async () => {
  t = await startTestApp({ WEFT_RATE_LIMIT_PER_MINUTE: '0' }, { log: logged.log });
  url = (await t.app.start(0, '127.0.0.1')).url;
  other = await createTenant(t, 'bad-input-other');
  await objectsOf(undefined, own);
  await objectsOf(other.headers, theirs);
  // Deleted: a workflow (with its runs), a run, a tag, a tag group, a schedule, a template.
  await objectsOf(undefined, deleted);
  await t.gql('mutation($id: ID!) { deleteSchedule(input: { id: $id }) { __typename } }', { id: deleted.Schedule });
  await t.gql('mutation($id: ID!) { deleteRun(input: { runId: $id }) { __typename } }', { id: deleted.Run });
  await t.gql('mutation($id: ID!) { deleteTag(input: { id: $id }) { __typename } }', { id: deleted.Tag });
  await t.gql('mutation($id: ID!) { deleteTagGroup(input: { id: $id }) { __typename } }', { id: deleted.TagGroup });
  await t.gql('mutation($id: ID!) { deleteTemplate(input: { id: $id }) { __typename } }', { id: deleted.Template });
  await t.gql('mutation($id: ID!) { deleteWorkflow(input: { id: $id }) { __typename } }', { id: deleted.Workflow });
  await t.gql('mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }', { id: deleted.ApiKey });
  await t.gql('mutation($id: ID!) { deleteAgent(input: { id: $id }) { __typename } }', { id: deleted.Agent });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const errorLines = () => logged.lines.filter((line) => line.level >= 50);

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...t.authHeaders,
      ...headers,
    },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: (() => {
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    })(),
  };
}

const raw = (request: string | Buffer[]) => sendRawHttp(url, request);

const STACK = /\bat [\w.<>]+ \(|node_modules|\.[jt]s:\d+|TypeError|SyntaxError|URIError/;

describe('ids the caller cannot see', () => {
  it('node and nodes answer null, without an error or an error log, for every Node type', async () => {
    const schema = await t.gql(
      graphql(`
        query BadInputNodeTypes {
          __schema {
            types {
              name
              kind
              interfaces {
                name
              }
            }
          }
        }
      `),
    );
    expect(schema.errors).toBeUndefined();
    const nodeTypes = schema
      .data!.__schema.types.filter((type) => type.kind === 'OBJECT' && type.interfaces?.some((i) => i.name === 'Node'))
      .map((type) => type.name!);
    expect(nodeTypes.sort()).toEqual([
      'Agent',
      'ApiKey',
      'Run',
      'RunEvent',
      'Schedule',
      'StepRun',
      'Tag',
      'TagGroup',
      'Template',
      'Upload',
      'User',
      'Version',
      'Workflow',
      'Workspace',
    ]);

    const invisible: [string, string][] = [];
    for (const type of nodeTypes) {
      const uuid = crypto.randomUUID();
      invisible.push([`${type}: unknown id`, gid(type, type === 'RunEvent' ? '987654321' : uuid)]);
      invisible.push([`${type}: id that cannot be one`, gid(type, 'not-an-id')]);
      invisible.push([`${type}: out-of-range number`, gid(type, '99999999999999999999999')]);
      invisible.push([`${type}: nil uuid`, gid(type, '00000000-0000-0000-0000-000000000000')]);
      if (theirs[type] && type !== 'Template') invisible.push([`${type}: another workspace's`, theirs[type]!]);
      // Revoked keys stay visible to admins (apiKeys(includeRevoked)); every other deletion removes the row.
      if (deleted[type] && type !== 'ApiKey' && type !== 'Workspace')
        invisible.push([`${type}: deleted`, deleted[type]!]);
    }
    for (const typename of ['Secret', 'Nope', 'Viewer', 'WorkflowVersion', 'Query', 'PageInfo'])
      invisible.push([`${typename}: not a Node type`, gid(typename, crypto.randomUUID())]);

    const before = errorLines().length;
    const failures: string[] = [];
    for (const [what, id] of invisible) {
      const res = await t.gql(NODE_QUERY, { id });
      if (res.errors || res.data?.node !== null) failures.push(`${what}: ${JSON.stringify(res)}`);
    }
    expect(failures).toEqual([]);

    // nodes: in order, nulls where invisible, our own objects where visible.
    const mixed = [own.Workflow!, ...invisible.map(([, id]) => id), own.Run!];
    const res = await t.gql(
      graphql(`
        query BadInputNodes($ids: [ID!]!) {
          nodes(ids: $ids) {
            id
          }
        }
      `),
      { ids: mixed },
    );
    expect(res.errors).toBeUndefined();
    const nodes = res.data!.nodes;
    expect(nodes).toHaveLength(mixed.length);
    expect(nodes[0]).toEqual({ id: own.Workflow });
    expect(nodes.at(-1)).toEqual({ id: own.Run });
    expect(nodes.slice(1, -1).every((n) => n === null)).toBe(true);
    // And every own object is found, so the nulls above are not a broken node field.
    for (const [type, id] of Object.entries(own)) {
      const found = await t.gql(NODE_QUERY, { id });
      expect(found.errors, type).toBeUndefined();
      expect(found.data?.node, type).toMatchObject({ id });
    }
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('refuses a malformed global id with BAD_USER_INPUT, never an internal error', async () => {
    for (const id of ['garbage', '', '%%%', Buffer.from('no colon').toString('base64'), 'x'.repeat(300)]) {
      const res = await t.gql(NODE_QUERY, { id });
      expect(res.errors?.[0]?.extensions?.code, id).toBe('BAD_USER_INPUT');
    }
  });

  it('takes a raw UUID where an id of that type is expected', async () => {
    const res = await t.gql('query($r: ID!, $w: ID!) { run(id: $r) { id } workflow(id: $w) { id } }', {
      r: rawId(own.Run!),
      w: rawId(own.Workflow!),
    });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ run: { id: own.Run }, workflow: { id: own.Workflow } });
    // Another workspace's raw UUID is as absent as ever.
    const theirRun = await t.gql('query($r: ID!) { run(id: $r) { id } }', { r: rawId(theirs.Run!) });
    expect(theirRun.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------------------
// U+0000: every argument that reaches a text or jsonb column or a LIKE search.

/** A string with NULs at generated places: alone, leading, trailing, inside, several. */
function withNul(seed: number): string {
  const forms = ['\u0000', '\u0000abc', 'abc\u0000', 'ab\u0000cd', 'a\u0000b\u0000c', `${'x'.repeat(seed % 50)}\u0000`];
  return forms[seed % forms.length]!;
}

type NulCase = { what: string; query: string; variables: (nul: string) => Record<string, unknown> };

const NUL_CASES: NulCase[] = [
  {
    what: 'workflow name',
    query: 'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({ i: { name: nul, definition: { steps: [STEP] } } }),
  },
  {
    what: 'workflow description',
    query: 'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({ i: { name: 'ok', description: nul, definition: { steps: [STEP] } } }),
  },
  {
    what: 'definition config string',
    query: 'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({
      i: { name: 'ok', definition: { steps: [{ ...STEP, config: { expression: `"${nul}" = "x"` } }] } },
    }),
  },
  {
    what: 'definition key',
    query: 'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({
      i: { name: 'ok', definition: { steps: [{ ...STEP, config: { expression: 'true', [nul]: 1 } }] } },
    }),
  },
  {
    what: 'workflow metadata',
    query: 'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({ i: { name: 'ok', metadata: { note: nul }, definition: { steps: [STEP] } } }),
  },
  {
    what: 'patch name',
    query: 'mutation($i: PatchWorkflowInput!) { patchWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({ i: { id: own.Workflow, name: nul } }),
  },
  {
    what: 'tag name',
    query: 'mutation($i: CreateTagInput!) { createTag(input: $i) { __typename } }',
    variables: (nul) => ({ i: { name: nul } }),
  },
  {
    what: 'tag group name',
    query: 'mutation($i: CreateTagGroupInput!) { createTagGroup(input: $i) { __typename } }',
    variables: (nul) => ({ i: { name: nul } }),
  },
  {
    what: 'API key name',
    query: 'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { __typename } }',
    variables: (nul) => ({ i: { name: nul, scopes: ['READ'] } }),
  },
  {
    what: 'secret value',
    query: 'mutation($i: SetSecretInput!) { setSecret(input: $i) { __typename } }',
    variables: (nul) => ({ i: { name: 'NUL_SECRET', value: `long-enough-${nul}` } }),
  },
  {
    what: 'run input value',
    query: 'mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({ i: { workflowId: own.Workflow, input: { text: nul } } }),
  },
  {
    what: 'run input key',
    query: 'mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { __typename } }',
    variables: (nul) => ({ i: { workflowId: own.Workflow, input: { [nul]: 'x' } } }),
  },
  {
    what: 'workflow search',
    query: 'query($s: String) { workflows(filter: { search: $s }) { totalCount } }',
    variables: (nul) => ({ s: nul }),
  },
  {
    what: 'tag search',
    query: 'query($s: String) { tags(search: $s) { totalCount } }',
    variables: (nul) => ({ s: nul }),
  },
  {
    what: 'template search',
    query: 'query($s: String) { templates(search: $s) { edges { node { id } } } }',
    variables: (nul) => ({ s: nul }),
  },
  {
    what: 'schedule timezone',
    query: 'mutation($i: CreateScheduleInput!) { createSchedule(input: $i) { __typename } }',
    variables: (nul) => ({ i: { workflowId: own.Workflow, cronExpression: '0 0 * * *', timezone: nul } }),
  },
  {
    what: 'validated definition',
    query: 'query($d: JSON!) { validateWorkflowDefinition(definition: $d) { valid } }',
    variables: (nul) => ({ d: { steps: [{ ...STEP, id: nul }] } }),
  },
];

describe('U+0000 in any string', () => {
  it('is refused with VALIDATION_FAILED and the path, over variables, literals and graphql-ws, writing nothing', async () => {
    const before = await databaseFingerprint(t.db.prisma);
    const errorsBefore = errorLines().length;
    const failures: string[] = [];
    for (const [index, c] of NUL_CASES.entries()) {
      for (let seed = 0; seed < 6; seed++) {
        const res = await post(JSON.stringify({ query: c.query, variables: c.variables(withNul(seed + index)) }));
        const error = res.json?.errors?.[0];
        if (
          res.status >= 500 ||
          error?.extensions?.code !== 'VALIDATION_FAILED' ||
          !error.extensions.problems?.[0]?.path?.length
        )
          failures.push(`${c.what} #${seed}: ${res.status} ${res.text.slice(0, 300)}`);
      }
    }
    // As a literal in the document (the \u0000 escape of GraphQL strings).
    for (const literal of [
      'mutation { createTag(input: { name: "a\\u0000b" }) { __typename } }',
      '{ workflows(filter: { search: "\\u0000" }) { totalCount } }',
      'query { validateWorkflowDefinition(definition: { steps: [{ id: "x\\u0000" }] }) { valid } }',
    ]) {
      const res = await post(JSON.stringify({ query: literal }));
      if (res.json?.errors?.[0]?.extensions?.code !== 'VALIDATION_FAILED')
        failures.push(`literal ${literal}: ${res.text.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
    // Over graphql-ws the same refusal.
    const client = createClient({
      url: url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: `Bearer ${t.apiKey}` },
    });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        let value: unknown;
        client.subscribe(
          { query: NUL_CASES[6]!.query, variables: NUL_CASES[6]!.variables('x\u0000') },
          { next: (v) => (value = v), error: (e) => resolve({ errors: e }), complete: () => resolve(value) },
        );
        setTimeout(() => reject(new Error('no answer over graphql-ws')), 10_000);
      });
      expect(JSON.stringify(result)).toContain('VALIDATION_FAILED');
    } finally {
      await client.dispose();
    }
    expect(await databaseFingerprint(t.db.prisma)).toEqual(before);
    expect(errorLines().slice(errorsBefore)).toEqual([]);
  });

  it('is refused in an inbound webhook body with a 422, starting nothing', async () => {
    const wf = await createWorkflow(t, { steps: [STEP] }, { triggerType: 'WEBHOOK' });
    const rotated = await t.gql(
      graphql(`
        mutation BadInputRotateSecret($id: ID!) {
          rotateWebhookSecret(input: { workflowId: $id }) {
            __typename
            ... on WebhookSecretPayload {
              secret
              path
            }
          }
        }
      `),
      { id: wf },
    );
    const { secret, path } = ofType(rotated.data?.rotateWebhookSecret, 'WebhookSecretPayload');
    for (const body of ['{"a":"\\u0000"}', '{"\\u0000":1}', '["x\\u0000y"]']) {
      const res = await fetch(url.replace('/graphql', path), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body,
      });
      expect(res.status, body).toBe(422);
      expect((await res.json()).errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(await t.db.prisma.run.count({ where: { workflowId: rawId(wf) } })).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('deep nesting', () => {
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('refuses JSON variables nested 20,000 levels deep with VALIDATION_FAILED, at every JSON argument', async () => {
    const before = await databaseFingerprint(t.db.prisma);
    for (const depth of [101, 1_000, 20_000]) {
      for (const nested of [deepObject(depth), deepArray(depth)]) {
        const bodies = [
          `{"query":"mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { __typename } }","variables":{"i":{"workflowId":"${own.Workflow}","input":{"x":${nested}}}}}`,
          `{"query":"query($d: JSON!) { validateWorkflowDefinition(definition: $d) { valid } }","variables":{"d":${nested}}}`,
          `{"query":"mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { __typename } }","variables":{"i":{"name":"deep","metadata":{"m":${nested}},"definition":{"steps":[]}}}}`,
        ];
        for (const body of bodies) {
          const res = await post(body);
          expect(res.status, `${depth}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
          expect(res.json?.errors?.[0]?.extensions?.code, res.text.slice(0, 300)).toBe('VALIDATION_FAILED');
          expect(res.json.errors[0].extensions.problems[0].message).toMatch(/nested more than 100 levels/);
        }
      }
    }
    // 100 levels are fine.
    const ok = await post(
      `{"query":"query($d: JSON!) { validateWorkflowDefinition(definition: $d) { valid } }","variables":{"d":${deepObject(99)}}}`,
    );
    expect(ok.json.errors).toBeUndefined();
    expect(await databaseFingerprint(t.db.prisma)).toEqual(before);
  });

  it('refuses documents nested beyond the limit (selections and literals) with GRAPHQL_PARSE_FAILED, HTTP 400', async () => {
    for (const depth of [151, 2_400, 20_000]) {
      const documents = [
        `{ ${'viewer {'.repeat(depth)} kind ${'}'.repeat(depth)} }`,
        `query { validateWorkflowDefinition(definition: ${'['.repeat(depth)}${']'.repeat(depth)}) { valid } }`,
        `query { validateWorkflowDefinition(definition: ${'{a:'.repeat(depth)}1${'}'.repeat(depth)}) { valid } }`,
        `query(${'$a: [['.repeat(1)}${'['.repeat(depth)}Int${']'.repeat(depth)}]]) { __typename }`,
      ];
      for (const query of documents) {
        const res = await post(JSON.stringify({ query }));
        expect(res.status, res.text.slice(0, 200)).toBe(400);
        expect(res.json?.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
      }
    }
    // Braces inside strings and comments do not count.
    const quoted = await post(
      JSON.stringify({
        query: `# ${'{'.repeat(500)}\n{ workflows(filter: { search: "${'{['.repeat(90)}" }) { totalCount } }`,
      }),
    );
    expect(quoted.json.errors).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe('malformed HTTP', () => {
  it('answers malformed percent-encoding in REST paths with a JSON 4xx', async () => {
    const paths = [
      '/api/runs/%ZZ/export',
      '/api/runs/%E0%A4%A/export',
      `/api/runs/${encodeURIComponent(own.Run!)}/steps/%C0/output`,
      '/api/runs/%/export',
      '/hooks/%ZZ',
      '/hooks/%E0%A4%A',
      '/hooks/%',
      '/hooks/signals/%ZZ',
      '/hooks/signals/%E0%A4%A',
    ];
    for (const path of paths) {
      const res = await fetch(url.replace('/graphql', path), {
        method: path.startsWith('/hooks') ? 'POST' : 'GET',
        headers: { ...t.authHeaders, 'content-type': 'application/json' },
        body: path.startsWith('/hooks') ? '{}' : undefined,
      });
      expect(res.status, path).toBe(404);
      expect((await res.json()).errors[0].extensions.code, path).toBe('NOT_FOUND');
    }
  });

  it('answers any request target and Host header without a 5xx or a stack trace', async () => {
    const targets = [
      'http://evil.example/graphql',
      'http://evil.example:99999/graphql',
      'https://[::1/graphql',
      'http://a b/graphql',
      '//evil/graphql',
      '*',
      'http://evil.example/healthz',
      '/graphql?%ZZ',
      'ftp://x/graphql',
    ];
    const hosts = ['evil.example', 'a b', '[::1', 'x:99999', '', '%'];
    const body = '{"query":"{ __typename }"}';
    const failures: string[] = [];
    for (const target of targets) {
      for (const host of hosts) {
        for (const method of ['GET', 'POST']) {
          const request = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${t.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${method === 'POST' ? body.length : 0}\r\nConnection: close\r\n\r\n${method === 'POST' ? body : ''}`;
          const res = await raw(request);
          if (res.status >= 500 || res.status === -1 || STACK.test(res.text))
            failures.push(`${method} ${target} Host: ${host} → ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses malformed JSON in GET parameters with 400 BAD_REQUEST', async () => {
    for (const params of ['variables={{', 'variables=%7B', 'extensions={{', 'variables=[1', 'variables=nul']) {
      const res = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}&${params}`, {
        headers: { ...t.authHeaders, 'x-weft-csrf': '1' },
      });
      expect(res.status, params).toBe(400);
      expect((await res.json()).errors[0].extensions.code, params).toBe('BAD_REQUEST');
    }
  });

  it('answers parse, validation and variable errors with the HTTP statuses the README documents', async () => {
    // README, "Errors": document errors are 400 with Accept: application/graphql-response+json and
    // 200 with application/json (or no Accept), as GraphQL over HTTP says; variable errors are 400.
    const requests: [string, unknown, number, number][] = [
      ['GRAPHQL_PARSE_FAILED', { query: '{ workflows { totalCount }' }, 400, 200],
      ['GRAPHQL_VALIDATION_FAILED', { query: '{ nope }' }, 400, 200],
      [
        'BAD_USER_INPUT',
        { query: 'query($n: Int!) { workflows(first: $n) { totalCount } }', variables: { n: 'ten' } },
        400,
        400,
      ],
    ];
    for (const [code, body, graphqlResponseStatus, jsonStatus] of requests) {
      for (const [accept, status] of [
        ['application/graphql-response+json', graphqlResponseStatus],
        ['application/json', jsonStatus],
        ['', jsonStatus],
      ] as const) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}), ...t.authHeaders },
          body: JSON.stringify(body),
        });
        expect(res.status, `${code} with Accept: ${accept || '(none)'}`).toBe(status);
        expect((await res.json()).errors[0].extensions.code).toBe(code);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('the body limit, whatever the framing', () => {
  it('refuses a chunked body over WEFT_MAX_BODY_BYTES with 413 and executes nothing', async () => {
    const name = `chunked-${Date.now()}`;
    const start = `{"query":"mutation { createTag(input: { name: \\"${name}\\" }) { __typename } } #`;
    const chunks: Buffer[] = [
      Buffer.from(
        `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.apiKey}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      ),
    ];
    const piece = (text: string) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
    chunks.push(piece(start));
    for (let sent = 0; sent < 3 * 1024 * 1024; sent += 64 * 1024) chunks.push(piece('x'.repeat(64 * 1024)));
    chunks.push(piece('"}'), Buffer.from('0\r\n\r\n'));
    const res = await raw(chunks);
    expect(res.status).toBe(413);
    expect(res.text).toContain('PAYLOAD_TOO_LARGE');
    expect(await t.db.prisma.tag.count({ where: { name } })).toBe(0);
    // Under the limit, chunked still works.
    const small = await raw([
      Buffer.from(
        `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.apiKey}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      ),
      piece('{"query":"{ __typename }"}'),
      Buffer.from('0\r\n\r\n'),
    ]);
    expect(small.status).toBe(200);
    expect(small.text).toContain('"__typename":"Query"');
  });

  it('closes a graphql-ws connection whose message is over the limit (1009) without executing it', async () => {
    const name = `ws-big-${Date.now()}`;
    const socket = new WebSocket(url.replace('http', 'ws'), 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => (socket.on('open', () => resolve()), socket.on('error', reject)));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.apiKey}` } }));
    await new Promise<void>((resolve) => socket.once('message', () => resolve()));
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: {
          query: `mutation { createTag(input: { name: "${name}" }) { __typename } } # ${'x'.repeat(20 * 1024 * 1024)}`,
        },
      }),
    );
    expect(await closed).toBe(1009);
    expect(await t.db.prisma.tag.count({ where: { name } })).toBe(0);
  });
});

describe('what steps return', () => {
  it('is stored even when it holds NUL characters (as U+FFFD), in outputs, keys, logs and errors', async () => {
    const peer = await startLoopbackServer((req, res) => {
      if (req.path === '/fail')
        return void (res.writeHead(500, { 'content-type': 'text/plain' }), res.end('broken\u0000body'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"text":"a\\u0000b","\\u0000key":1,"list":["\\u0000"]}');
    });
    try {
      const wf = await createWorkflow(t, {
        steps: [
          { id: 'get', type: 'http_request', config: { url: `${peer.url}/ok` } },
          {
            id: 'bad',
            type: 'http_request',
            dependsOn: ['get'],
            retry: { attempts: 1 },
            config: { url: `${peer.url}/fail` },
          },
        ],
      });
      const run = await startRun(t, wf);
      const done = await waitForRun(t, run);
      expect(done.status).toBe('FAILED'); // 'bad' fails on its 500, and that failure is recorded too
      const steps = await t.gql(
        graphql(`
          query BadInputRunSteps($id: ID!) {
            run(id: $id) {
              stepRuns {
                stepId
                status
                output
                error
              }
              events(first: 50) {
                edges {
                  node {
                    type
                    data
                  }
                }
              }
            }
          }
        `),
        { id: run },
      );
      expect(steps.errors).toBeUndefined();
      const byId = Object.fromEntries(steps.data!.run!.stepRuns.map((s) => [s.stepId, s]));
      expect(byId.get!.status).toBe('COMPLETED');
      expect((byId.get!.output as { body: unknown }).body).toEqual({
        text: 'a\uFFFDb',
        '\uFFFDkey': 1,
        list: ['\uFFFD'],
      });
      expect(byId.bad!.status).toBe('FAILED');
      expect(JSON.stringify(steps.data)).not.toContain('\\u0000');
    } finally {
      await peer.close();
    }
  });
});

describe('introspection turned off', () => {
  it('holds over graphql-ws as over HTTP', async () => {
    const closed = await startTestApp({ WEFT_INTROSPECTION: 'false' });
    try {
      const closedUrl = (await closed.app.start(0, '127.0.0.1')).url;
      const http = await closed.gql('{ __schema { queryType { name } } }');
      expect(http.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const client = createClient({
        url: closedUrl.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization: `Bearer ${closed.apiKey}` },
      });
      try {
        const errors = await new Promise<unknown[]>((resolve, reject) => {
          client.subscribe(
            { query: '{ __schema { types { name } } }' },
            {
              next: (v) => resolve([...(v.errors ?? [])]),
              error: (e) => resolve(Array.isArray(e) ? e : [e]),
              complete: () => undefined,
            },
          );
          setTimeout(() => reject(new Error('no answer')), 10_000);
        });
        expect(JSON.stringify(errors)).toMatch(/GraphQL introspection has been disabled|introspection/i);
        expect(JSON.stringify(errors)).not.toContain('queryType');
      } finally {
        await client.dispose();
      }
    } finally {
      await closed.close();
    }
  });
});
