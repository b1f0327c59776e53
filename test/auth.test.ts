// Authentication and roles through the API: API keys, JWTs (HS256 and JWKS), workspaces,
// members and roles, X-Workspace-Id, rate limits, and every transport (HTTP, SSE, WebSocket, exports).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.ts';
import { hashApiKey } from '../src/auth/api-keys.ts';
import { createLogger } from '../src/logger.ts';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { bearer, createTenant, JWT_ENV, keyWith, signToken } from './helpers/auth.ts';
import { startLoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, gid, rawId } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(JWT_ENV);
});
afterAll(async () => {
  await t?.close();
});

const VIEWER = graphql(
  `query AuthViewer { viewer { kind role permissions user { subject email } apiKey { name } workspace { id slug } memberships { role workspace { slug } } } }`,
);
const CREATE_WF = graphql(
  `mutation AuthCreateWorkflow($input: CreateWorkflowInput!) { createWorkflow(input: $input) { __typename ... on CreateWorkflowPayload { workflow { id } } } }`,
);
const CREATE_KEY = graphql(
  `mutation AuthCreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeyPayload { key apiKey { id name prefix scopes role active lastUsedAt } } ... on ValidationError { problems { path } } } }`,
);
const CREATE_WORKSPACE = graphql(
  `mutation AuthCreateWorkspace($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { __typename ... on WorkspacePayload { workspace { id slug } } ... on Error { code } } }`,
);
const VIEWER_USER_ID = graphql(`query AuthViewerUserId { viewer { user { id } } }`);
const WORKFLOW_NAMES = graphql(`query AuthWorkflowNames { workflows { edges { node { name } } } }`);
const wfInput = (name: string) => ({
  input: { name, definition: { steps: [{ id: 'w', type: 'wait', config: { seconds: 1 } }] } },
});
const code = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) =>
  res.errors?.[0]?.extensions?.code;

describe('anonymous and invalid credentials', () => {
  it('refuses requests without credentials with 401 UNAUTHENTICATED and says how to authenticate', async () => {
    const res = await t.gql('{ workflows { totalCount } }', {}, { authorization: '' });
    expect(res.status).toBe(401);
    expect(code(res)).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toMatch(/Authorization: Bearer/);
    expect(res.data ?? null).toBeNull();
  });

  it.each([
    ['a malformed header', 'Basic dXNlcjpwYXNz'],
    ['an unknown key', `Bearer weft_live_${'x'.repeat(43)}`],
    ['a truncated key', 'Bearer weft_live_abc'],
    ['garbage', 'Bearer not-a-token'],
  ])('refuses %s', async (_label, authorization) => {
    const res = await t.gql('{ workflows { totalCount } }', {}, { authorization });
    expect(res.status).toBe(401);
    expect(code(res)).toBe('UNAUTHENTICATED');
  });
});

describe('API keys', () => {
  it('creates a key shown once, stores only its hash, lists it by prefix and records its use', async () => {
    const created = await t.gql(CREATE_KEY, { input: { name: 'ci', scopes: ['READ', 'RUN'] } });
    const payload = ofType(created.data?.createApiKey, 'CreateApiKeyPayload');
    expect(payload.key).toMatch(/^weft_live_[A-Za-z0-9_-]{43}$/);
    expect(payload.key.startsWith(payload.apiKey.prefix)).toBe(true);
    expect(payload.apiKey).toMatchObject({
      name: 'ci',
      scopes: ['READ', 'RUN'],
      role: 'ADMIN',
      active: true,
      lastUsedAt: null,
    });
    const row = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: rawId(payload.apiKey.id) } });
    expect(row.hash).toBe(hashApiKey(payload.key));
    expect(JSON.stringify(row)).not.toContain(payload.key);

    const me = await t.gql(VIEWER, {}, bearer(payload.key));
    expect(me.data?.viewer).toMatchObject({
      kind: 'API_KEY',
      permissions: ['READ', 'RUN'],
      apiKey: { name: 'ci' },
      user: null,
      workspace: { slug: 'default' },
    });
    const listed = await t.gql(graphql(`query AuthApiKeys { apiKeys { id prefix lastUsedAt } }`));
    expect(listed.data?.apiKeys).toContainEqual(
      expect.objectContaining({ id: payload.apiKey.id, lastUsedAt: expect.any(String) }),
    );
    expect(JSON.stringify(listed.data)).not.toContain(payload.key);
  });

  it('enforces scopes: READ reads, RUN runs, WRITE changes, ADMIN administers', async () => {
    const read = await keyWith(t, ['read']);
    const run = await keyWith(t, ['read', 'run']);
    const wf = await createWorkflow(t, { steps: [{ id: 'w', type: 'wait', config: { seconds: 60 } }] });
    expect((await t.gql('{ workflows { totalCount } }', {}, read)).errors).toBeUndefined();
    const refused = await t.gql(CREATE_WF, wfInput('by-reader'), read);
    expect(code(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.path).toEqual(['createWorkflow']);
    expect(refused.errors?.[0]?.message).toMatch(/Mutation\.createWorkflow.*read/);
    expect(await t.db.prisma.workflow.count({ where: { name: 'by-reader' } })).toBe(0);
    expect(
      code(
        await t.gql('mutation($id: ID!) { runWorkflow(input: { workflowId: $id }) { __typename } }', { id: wf }, read),
      ),
    ).toBe('FORBIDDEN');
    const started = await t.gql(
      graphql(
        `mutation AuthRunWorkflow($id: ID!) { runWorkflow(input: { workflowId: $id }) { __typename ... on RunPayload { run { id } } } }`,
      ),
      { id: wf },
      run,
    );
    ofType(started.data?.runWorkflow, 'RunPayload');
    expect(code(await t.gql(CREATE_WF, wfInput('by-runner'), run))).toBe('FORBIDDEN');
    expect(code(await t.gql('mutation { setSecret(input: { name: "X", value: "y" }) { __typename } }', {}, run))).toBe(
      'FORBIDDEN',
    );
    expect(code(await t.gql('{ apiKeys { id } }', {}, run))).toBe('FORBIDDEN');
    expect(
      code(await t.gql('mutation { createApiKey(input: { name: "x", scopes: [READ] }) { __typename } }', {}, run)),
    ).toBe('FORBIDDEN');
    // A key cannot mint a key with more than it holds.
    const limitedAdmin = await keyWith(t, ['read', 'admin']);
    const escalation = await t.gql(
      'mutation { createApiKey(input: { name: "x", scopes: [WRITE] }) { __typename } }',
      {},
      limitedAdmin,
    );
    expect(code(escalation)).toBe('FORBIDDEN');
    // A key's role caps its scopes: a VIEWER-role key with every scope still only reads.
    const capped = await keyWith(t, ['read', 'write', 'run', 'admin'], 'VIEWER');
    expect((await t.gql('{ viewer { permissions } }', {}, capped)).data).toEqual({ viewer: { permissions: ['READ'] } });
  });

  it('revokes keys: requests with them are refused from then on; revoking twice is harmless', async () => {
    const created = await t.gql(CREATE_KEY, { input: { name: 'temp', scopes: ['READ'] } });
    const { key, apiKey } = ofType(created.data?.createApiKey, 'CreateApiKeyPayload');
    expect((await t.gql('{ workflows { totalCount } }', {}, bearer(key))).status).toBe(200);
    const revoke = graphql(
      `mutation AuthRevokeApiKey($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on ApiKeyPayload { apiKey { active revokedAt } } } }`,
    );
    const first = ofType((await t.gql(revoke, { id: apiKey.id })).data?.revokeApiKey, 'ApiKeyPayload');
    expect(first.apiKey.active).toBe(false);
    const second = ofType((await t.gql(revoke, { id: apiKey.id })).data?.revokeApiKey, 'ApiKeyPayload');
    expect(second.apiKey.revokedAt).toBe(first.apiKey.revokedAt);
    const after = await t.gql('{ workflows { totalCount } }', {}, bearer(key));
    expect(after.status).toBe(401);
    expect(code(after)).toBe('UNAUTHENTICATED');
    const listed = await t.gql(
      graphql(`query AuthApiKeysRevoked { active: apiKeys { id } all: apiKeys(includeRevoked: true) { id } }`),
    );
    expect(listed.data?.active.map((k) => k.id)).not.toContain(apiKey.id);
    expect(listed.data?.all.map((k) => k.id)).toContain(apiKey.id);
  });

  it('refuses expired keys, and expiry dates in the past', async () => {
    const past = await t.gql(CREATE_KEY, {
      input: { name: 'old', scopes: ['READ'], expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect(past.data?.createApiKey).toEqual({
      __typename: 'ValidationError',
      problems: [{ path: ['input', 'expiresAt'] }],
    });
    const soon = await t.gql(CREATE_KEY, {
      input: { name: 'soon', scopes: ['READ'], expiresAt: new Date(Date.now() + 60_000).toISOString() },
    });
    const { key, apiKey } = ofType(soon.data?.createApiKey, 'CreateApiKeyPayload');
    await t.db.prisma.apiKey.update({
      where: { id: rawId(apiKey.id) },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(code(await t.gql('{ workflows { totalCount } }', {}, bearer(key)))).toBe('UNAUTHENTICATED');
  });
});

describe('JWT users, workspaces and roles', () => {
  it('verifies issuer, audience, expiry and signature', async () => {
    const good = await signToken('alice');
    expect((await t.gql(VIEWER, {}, bearer(good))).data).toMatchObject({
      viewer: {
        kind: 'USER',
        user: { subject: 'alice', email: 'alice@example.test' },
        workspace: null,
        permissions: [],
      },
    });
    const forged = [
      await signToken('alice', { issuer: 'https://evil.test/' }),
      await signToken('alice', { audience: 'someone-else' }),
      await signToken('alice', { expiresIn: Math.floor(Date.now() / 1000) - 3600 }),
      await signToken('alice', { secret: 'another-secret-that-is-also-32-characters!' }),
      // alg "none": an unsigned token.
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', iss: JWT_ENV.WEFT_JWT_ISSUER, aud: JWT_ENV.WEFT_JWT_AUDIENCE })).toString('base64url')}.`,
      `${good.slice(0, -4)}AAAA`,
    ];
    for (const token of forged) {
      const res = await t.gql(VIEWER, {}, bearer(token));
      expect(res.status, token).toBe(401);
      expect(code(res)).toBe('UNAUTHENTICATED');
    }
  });

  it('lets a user without a workspace see only viewer, create a workspace as OWNER and switch with X-Workspace-Id', async () => {
    const bob = bearer(await signToken('bob'));
    const nothing = await t.gql('{ workflows { totalCount } }', {}, bob);
    expect(code(nothing)).toBe('FORBIDDEN');
    const created = await t.gql(CREATE_WORKSPACE, { input: { name: "Bob's team" } }, bob);
    const { workspace } = ofType(created.data?.createWorkspace, 'WorkspacePayload');
    expect(workspace.slug).toBe('bob-s-team');
    const me = await t.gql(VIEWER, {}, bob);
    expect(me.data?.viewer).toMatchObject({
      role: 'OWNER',
      permissions: ['READ', 'WRITE', 'RUN', 'ADMIN'],
      workspace: { slug: 'bob-s-team' },
    });
    const second = await t.gql(CREATE_WORKSPACE, { input: { name: 'Side', slug: 'bob-side' } }, bob);
    const sideId = ofType(second.data?.createWorkspace, 'WorkspacePayload').workspace.id;
    await t.gql(CREATE_WF, wfInput('in-side'), { ...bob, 'x-workspace-id': sideId });
    const inDefault = await t.gql(WORKFLOW_NAMES, {}, bob);
    const inSide = await t.gql(WORKFLOW_NAMES, {}, { ...bob, 'x-workspace-id': rawId(sideId) });
    expect(inDefault.data?.workflows.edges).toEqual([]);
    expect(inSide.data?.workflows.edges).toEqual([{ node: { name: 'in-side' } }]);
    // Someone else's workspace, an unknown one and garbage all get the same 403.
    for (const other of [gid('Workspace', t.workspaceId), '01890000-0000-7000-8000-000000000000', 'nonsense']) {
      const res = await t.gql('{ workflows { totalCount } }', {}, { ...bob, 'x-workspace-id': other });
      expect(res.status).toBe(403);
      expect(code(res)).toBe('FORBIDDEN');
    }
    const taken = await t.gql(CREATE_WORKSPACE, { input: { name: 'x', slug: 'bob-side' } }, bob);
    expect(taken.data?.createWorkspace.__typename).toBe('ConflictError');
    // Keys cannot create workspaces.
    expect(code(await t.gql(`mutation { createWorkspace(input: { name: "k" }) { __typename } }`))).toBe('FORBIDDEN');
  });

  it('applies roles: viewer reads, runner runs, editor edits, admin manages; owners stay', async () => {
    const add = graphql(
      `mutation AuthAddMember($subject: String!, $role: MemberRole!) { addWorkspaceMember(input: { subject: $subject, role: $role }) { __typename ... on Error { code } ... on WorkspaceMemberPayload { userId member { role } } } }`,
    );
    const users: Record<string, string> = {};
    for (const role of ['VIEWER', 'RUNNER', 'EDITOR', 'ADMIN'] as const) {
      const added = ofType(
        (await t.gql(add, { subject: `member-${role}`, role })).data?.addWorkspaceMember,
        'WorkspaceMemberPayload',
      );
      expect(added.member?.role).toBe(role);
      users[role] = added.userId;
    }
    // API keys (ADMIN) cannot make owners.
    expect(code(await t.gql(add, { subject: 'would-be-owner', role: 'OWNER' }))).toBe('FORBIDDEN');
    expect((await t.gql(add, { subject: 'member-VIEWER', role: 'VIEWER' })).data).toMatchObject({
      addWorkspaceMember: { __typename: 'ConflictError' },
    });
    const wf = await createWorkflow(t, { steps: [{ id: 'w', type: 'wait', config: { seconds: 60 } }] });
    const as = async (role: string) => bearer(await signToken(`member-${role}`));
    const can = async (role: string) => ({
      read: !(await t.gql('{ workflows { totalCount } }', {}, await as(role))).errors,
      write: !(await t.gql(CREATE_WF, wfInput(`by-${role}`), await as(role))).errors,
      run: !(
        await t.gql(
          'mutation($id: ID!) { runWorkflow(input: { workflowId: $id }) { __typename } }',
          { id: wf },
          await as(role),
        )
      ).errors,
      admin: !(await t.gql('{ apiKeys { id } }', {}, await as(role))).errors,
    });
    expect(await can('VIEWER')).toEqual({ read: true, write: false, run: false, admin: false });
    expect(await can('RUNNER')).toEqual({ read: true, write: false, run: true, admin: false });
    expect(await can('EDITOR')).toEqual({ read: true, write: true, run: true, admin: false });
    expect(await can('ADMIN')).toEqual({ read: true, write: true, run: true, admin: true });
    const members = await t.gql(
      graphql(`query AuthMembers { workspace { members { role user { subject } } } }`),
      {},
      await as('VIEWER'),
    );
    expect(members.data?.workspace?.members.map((m) => m.user.subject)).toEqual([
      'member-VIEWER',
      'member-RUNNER',
      'member-EDITOR',
      'member-ADMIN',
    ]);

    const update = `mutation($id: ID!, $role: MemberRole!) { updateWorkspaceMemberRole(input: { userId: $id, role: $role }) { __typename ... on WorkspaceMemberPayload { member { role } } ... on Error { code } } }`;
    expect((await t.gql(update, { id: users.VIEWER, role: 'EDITOR' }, await as('ADMIN'))).data).toMatchObject({
      updateWorkspaceMemberRole: { __typename: 'WorkspaceMemberPayload', member: { role: 'EDITOR' } },
    });
    expect(code(await t.gql(update, { id: users.RUNNER, role: 'ADMIN' }, await as('EDITOR')))).toBe('FORBIDDEN');
    // Bob owns his own workspace alone: he cannot demote or remove himself.
    const bob = bearer(await signToken('bob'));
    const bobId = (await t.gql(VIEWER_USER_ID, {}, bob)).data?.viewer.user?.id ?? 'no user';
    expect((await t.gql(update, { id: bobId, role: 'ADMIN' }, bob)).data).toMatchObject({
      updateWorkspaceMemberRole: { __typename: 'ConflictError' },
    });
    const remove = `mutation($id: ID!) { removeWorkspaceMember(input: { userId: $id }) { __typename ... on WorkspaceMemberPayload { member { role } } ... on Error { code } } }`;
    expect((await t.gql(remove, { id: bobId }, bob)).data).toMatchObject({
      removeWorkspaceMember: { __typename: 'ConflictError' },
    });
    expect((await t.gql(remove, { id: users.RUNNER })).data).toMatchObject({
      removeWorkspaceMember: { __typename: 'WorkspaceMemberPayload', member: null },
    });
    expect(code(await t.gql('{ workflows { totalCount } }', {}, await as('RUNNER')))).toBe('FORBIDDEN');
  });

  it('verifies RS256 tokens against a JWKS file and a JWKS URL', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-jwks-'));
    const file = path.join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    const jwksServer = await startLoopbackServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    const sign = (key = privateKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('carol')
        .setIssuer('https://idp.test/')
        .setAudience('weft')
        .setExpirationTime('5m')
        .sign(key);
    const other = await generateKeyPair('RS256');
    try {
      for (const jwks of [file, `${jwksServer.url}/.well-known/jwks.json`]) {
        const app = await startTestApp({
          WEFT_JWT_JWKS: jwks,
          WEFT_JWT_ISSUER: 'https://idp.test/',
          WEFT_JWT_AUDIENCE: 'weft',
        });
        try {
          expect((await app.gql('{ viewer { user { subject } } }', {}, bearer(await sign()))).data).toEqual({
            viewer: { user: { subject: 'carol' } },
          });
          expect(code(await app.gql('{ viewer { kind } }', {}, bearer(await sign(other.privateKey))))).toBe(
            'UNAUTHENTICATED',
          );
          // HS256 with the public key as a secret (algorithm confusion) is refused.
          expect(
            code(
              await app.gql(
                '{ viewer { kind } }',
                {},
                bearer(
                  await signToken('carol', {
                    issuer: 'https://idp.test/',
                    audience: 'weft',
                    secret: JSON.stringify(jwk),
                  }),
                ),
              ),
            ),
          ).toBe('UNAUTHENTICATED');
        } finally {
          await app.close();
        }
      }
      expect(jwksServer.hits('/.well-known/jwks.json')).toBeGreaterThan(0);
    } finally {
      await jwksServer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses JWTs when JWT authentication is not configured', async () => {
    const app = await startTestApp();
    try {
      const res = await app.gql('{ viewer { kind } }', {}, bearer(await signToken('alice')));
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.message).toMatch(/JWT authentication is not configured/);
    } finally {
      await app.close();
    }
  });
});

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a caller exhausts its burst, without affecting others', async () => {
    const app = await startTestApp({ WEFT_RATE_LIMIT_PER_MINUTE: '60', WEFT_RATE_LIMIT_BURST: '3' });
    try {
      const raw = (headers: Record<string, string>) =>
        app.app.yoga.fetch('http://weft.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query: '{ workflows { totalCount } }' }),
        });
      for (let i = 0; i < 3; i++) expect((await raw(app.authHeaders)).status).toBe(200);
      const limited = await raw(app.authHeaders);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await limited.json()).toMatchObject({
        errors: [{ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) } }],
      });
      const other = await keyWith(app, ['read']);
      expect((await raw(other)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('shares the buckets through Redis, so the limit holds across API processes', async () => {
    const env = {
      WEFT_RATE_LIMIT_PER_MINUTE: '60',
      WEFT_RATE_LIMIT_BURST: '3',
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    };
    const first = await startTestApp(env);
    // A second API process on the same database and Redis, with its own (empty) memory.
    const second = buildApp({ config: first.config, db: first.db, log: createLogger('silent') });
    try {
      const via = (app: App) =>
        app.yoga.fetch('http://weft.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...first.authHeaders },
          body: JSON.stringify({ query: '{ viewer { kind } }' }),
        });
      expect((await via(first.app)).status).toBe(200);
      expect((await via(first.app)).status).toBe(200);
      expect((await via(second)).status).toBe(200);
      const limited = await via(second);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await via(first.app)).status).toBe(429);
    } finally {
      await second.stop();
      await first.close();
    }
  });
});

describe('transports', () => {
  let url: string;
  beforeAll(async () => {
    url = (await t.app.start(0, '127.0.0.1')).url;
  });

  it('refuses WebSocket connections without valid credentials (4403) and accepts them with a key', async () => {
    for (const connectionParams of [{}, { authorization: `Bearer weft_live_${'y'.repeat(43)}` }]) {
      const client = createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams,
      });
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: '{ workflows { totalCount } }' },
          { next: () => resolve('data'), error: (e) => resolve(e), complete: () => resolve('complete') },
        );
      });
      expect((outcome as CloseEvent).code).toBe(4403);
      await client.dispose();
    }
    const client = createClient({
      url: url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: t.apiKey },
    });
    const result = await new Promise<unknown>((resolve, reject) => {
      let value: unknown;
      client.subscribe(
        { query: '{ viewer { kind } }' },
        { next: (v) => (value = v), error: reject, complete: () => resolve(value) },
      );
    });
    expect(result).toEqual({ data: { viewer: { kind: 'API_KEY' } } });
    await client.dispose();
    // Subscriptions need READ, checked when the subscription is created.
    const runOnly = await keyWith(t, ['run']);
    const limited = createClient({
      url: url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: runOnly,
    });
    const refused = await new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => resolve('no answer'), 5000);
      limited.subscribe(
        { query: 'subscription { runsFeed { id } }' },
        {
          next: (v) => (clearTimeout(timer), resolve(v)),
          error: (e) => (clearTimeout(timer), resolve(e)),
          complete: () => (clearTimeout(timer), resolve('complete')),
        },
      );
    });
    expect(JSON.stringify(refused)).toMatch(/FORBIDDEN/);
    await limited.dispose();
  });

  it('refuses SSE subscriptions and run exports without credentials', async () => {
    const sse = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { runsFeed { id } }' }),
      signal: AbortSignal.timeout(5000),
    });
    expect(await sse.text()).toMatch(/UNAUTHENTICATED/);
    const exported = await fetch(
      url.replace('/graphql', `/api/runs/${gid('Run', '01890000-0000-7000-8000-000000000000')}/export`),
      { signal: AbortSignal.timeout(5000) },
    );
    expect(exported.status).toBe(401);
    expect(await exported.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    const tenant = await createTenant(t, 'export-tenant', ['write']);
    const noRead = await fetch(
      url.replace('/graphql', `/api/runs/${gid('Run', '01890000-0000-7000-8000-000000000000')}/export`),
      { headers: tenant.headers, signal: AbortSignal.timeout(5000) },
    );
    expect(noRead.status).toBe(403);
  });
});
