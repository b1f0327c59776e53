// The built-in "Approval" template end to end over real sockets: its webhook step carries the
// wait's token URL to a loopback "approver", the server restarts (a new app on the same
// database: nothing of the first one's memory survives), and the approver's POST to the token
// route releases the step. Also the route's refusals: wrong method, bad JSON, unknown or used
// token (404), a step that is no longer waiting (409).
import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.ts';
import { createApiKey } from '../src/auth/api-keys.ts';
import { PERMISSIONS } from '../src/auth/permissions.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { BUILTIN_TEMPLATES } from '../src/templates/builtin.ts';
import { ensureDefaultWorkspace } from '../src/workspaces/service.ts';
import { graphql } from './generated/gql.ts';
import { openTestDatabase, type GraphQLErrorBody, type TestDatabase } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { rawId } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';
import { until } from './helpers/wait.ts';

const PUBLIC = 'https://weft.example.com';
let database: TestDatabase;
let approver: LoopbackServer;
let app: App | null = null;
let base = '';
let apiKey = '';
const received: { approveUrl: string; subject: string }[] = [];

const config = () =>
  loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WEFT_SHUTDOWN_TIMEOUT_MS: '2000',
    WEFT_OUTBOUND_ALLOW: 'loopback',
    WEFT_ENGINE_POLL_MS: '50',
    WEFT_PUBLIC_URL: PUBLIC,
    WEFT_SECRETS_KEY: secretsKey,
    ...(database.url ? { DATABASE_URL: database.url, WEFT_DB_POOL_MAX: '5' } : {}),
  });
const secretsKey = randomBytes(32).toString('hex');

async function startWeft(): Promise<void> {
  const c = config();
  app = buildApp({ config: c, db: database.db, log: createLogger(c.logLevel) });
  base = (await app.start(0, '127.0.0.1')).url.replace(/\/graphql$/, '');
}

async function gql<T, V>(document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data!;
}

/** The `extensions.code` of the first error of a refused token-route request. */
async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as GraphQLErrorBody).errors[0]?.extensions?.code as string | undefined;
}

beforeAll(async () => {
  database = await openTestDatabase();
  const workspaceId = await ensureDefaultWorkspace(database.db.prisma);
  apiKey = (
    await createApiKey(database.db.prisma, {
      workspaceId,
      name: 'test admin',
      scopes: [...PERMISSIONS],
      role: 'ADMIN',
      createdById: null,
      expiresAt: null,
    })
  ).key;
  approver = await startLoopbackServer((req, res) => {
    received.push(JSON.parse(req.body));
    json(res, 200, { ok: true });
  });
  await startWeft();
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await approver?.close();
  await database?.close();
});

async function startApproval(subject: string, timeoutSeconds: number): Promise<{ runId: string; approveUrl: string }> {
  const template = BUILTIN_TEMPLATES.find((x) => x.name === 'Approval')!;
  const created = await gql(
    graphql(`
      mutation WaitsTokenCreateWorkflow($input: CreateWorkflowInput!) {
        createWorkflow(input: $input) {
          __typename
          ... on CreateWorkflowPayload {
            workflow {
              id
            }
          }
          ... on ValidationError {
            problems {
              path
              message
            }
          }
        }
      }
    `),
    {
      input: { name: `approval ${subject}`, definition: template.definition },
    },
  );
  const workflowId = ofType(created.createWorkflow, 'CreateWorkflowPayload').workflow.id;
  const started = await gql(
    graphql(`
      mutation WaitsTokenRunWorkflow($input: RunWorkflowInput!) {
        runWorkflow(input: $input) {
          __typename
          ... on RunPayload {
            run {
              id
            }
          }
        }
      }
    `),
    {
      input: { workflowId, input: { notifyUrl: `${approver.url}/notify`, subject, timeoutSeconds } },
    },
  );
  const runId = ofType(started.runWorkflow, 'RunPayload').run.id;
  const message = await until(
    `the approval request for ${subject}`,
    15_000,
    async () => received.find((r) => r.subject === subject) ?? false,
  );
  await until(
    `${subject}: the approval step to wait`,
    15_000,
    async () =>
      (await database.db.prisma.stepRun.findFirst({
        where: { runId: rawId(runId), stepId: 'approval', status: 'WAITING' },
      })) ?? false,
  );
  return { runId, approveUrl: message.approveUrl };
}

const post = (path: string, body: string, method = 'POST') =>
  fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : body,
  });

async function runOf(runId: string) {
  const { run } = await gql(
    graphql(`
      query WaitsTokenRun($id: ID!) {
        run(id: $id) {
          status
          output
          stepRuns {
            stepId
            status
            input
            output
          }
          events(first: 200) {
            edges {
              node {
                type
                stepId
                data
              }
            }
          }
        }
      }
    `),
    { id: runId },
  );
  expect(run).not.toBeNull();
  return run!;
}

it('an approval sent before a restart is released by its token route after it', { timeout: 90_000 }, async () => {
  const { runId, approveUrl } = await startApproval('deploy v2', 3600);
  const url = new URL(approveUrl);
  expect(url.origin).toBe(PUBLIC); // WEFT_PUBLIC_URL, not the listening address
  const token = url.pathname.split('/').pop()!;
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  // The token is a credential: only its hash is stored, and the recorded request shows it redacted.
  expect(JSON.stringify(await database.db.prisma.waitToken.findMany())).not.toContain(token);
  const before = await runOf(runId);
  expect(JSON.stringify(before)).not.toContain(token);
  const request = before.stepRuns.find((s) => s.stepId === 'request');
  expect((request!.input as { payload: { approveUrl: string } }).payload.approveUrl).toMatch(
    /^https:\/\/weft\.example\.com\/hooks\/signals\/\[.+\]$/,
  );

  await app!.stop();
  await startWeft(); // a new process image in all but name: another port, empty memory

  expect((await post(url.pathname, '{}', 'GET')).status).toBe(405);
  const badJson = await post(url.pathname, '{nope');
  expect([badJson.status, await errorCode(badJson)]).toEqual([400, 'BAD_REQUEST']);
  const unknown = await post(`/hooks/signals/${'x'.repeat(43)}`, '{}');
  expect([unknown.status, await errorCode(unknown)]).toEqual([404, 'NOT_FOUND']);

  const released = await post(url.pathname, JSON.stringify({ approved: true, by: 'ana' }));
  expect(released.status).toBe(200);
  expect(await released.json()).toEqual({ runId, stepId: 'approval', status: 'DELIVERED' });

  const run = await until('the approved run to finish', 15_000, async () => {
    const r = await runOf(runId);
    return r.status === 'COMPLETED' || r.status === 'FAILED' ? r : false;
  });
  expect(run.status).toBe('COMPLETED');
  expect(run.output).toEqual({ approved: true, answer: { approved: true, by: 'ana' }, timedOut: false });
  const steps = Object.fromEntries(run.stepRuns.map((s) => [s.stepId, s]));
  expect([
    (steps.approval!.output as { event: { source: string } }).event.source,
    steps.decide!.status,
    steps.expired!.status,
  ]).toEqual(['WAIT_TOKEN', 'COMPLETED', 'SKIPPED']);
  const types = run.events.edges.map((e) => e.node.type);
  expect(types).toContain('SIGNAL_DELIVERED');

  const again = await post(url.pathname, JSON.stringify({ approved: false }));
  expect([again.status, await errorCode(again)]).toEqual([404, 'NOT_FOUND']);
});

it('a token whose step timed out answers 409, and the timeout branch ran', { timeout: 60_000 }, async () => {
  const { runId, approveUrl } = await startApproval('late', 1);
  const run = await until('the unanswered run to finish', 15_000, async () => {
    const r = await runOf(runId);
    return r.status === 'COMPLETED' || r.status === 'FAILED' ? r : false;
  });
  expect(run.output).toMatchObject({ approved: false, timedOut: true });
  const steps = Object.fromEntries(run.stepRuns.map((s) => [s.stepId, s.status]));
  expect([steps.decide, steps.expired]).toEqual(['SKIPPED', 'COMPLETED']);
  const late = await post(new URL(approveUrl).pathname, JSON.stringify({ approved: true }));
  const body = (await late.json()) as GraphQLErrorBody;
  expect([late.status, body.errors[0]!.extensions?.code, body.errors[0]!.message]).toEqual([
    409,
    'CONFLICT',
    "Step 'approval' is not waiting (it is COMPLETED)",
  ]);
});
