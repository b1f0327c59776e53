// Workspace secrets: encrypted at rest, usable from step configs, never returned or recorded.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, parseKey } from '../src/secrets/crypto.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';

let t: TestApp;
let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer((req, res) => json(res, 200, { echoed: req.headers['x-api-key'], body: req.body }));
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  await t.app.engine.start();
});
afterAll(async () => {
  await t?.close();
  await server?.close();
});

const SECRET = 'sk-live-very-secret-value-123';

it('encrypts with AES-256-GCM bound to the name', () => {
  const key = parseKey(randomBytes(32).toString('hex'));
  const stored = encryptSecret(key, 'A', 'value');
  expect(stored).not.toContain('value');
  expect(decryptSecret(key, 'A', stored)).toBe('value');
  expect(() => decryptSecret(key, 'B', stored)).toThrow(/cannot be decrypted/);
  expect(() => decryptSecret(parseKey(randomBytes(32).toString('base64')), 'A', stored)).toThrow(/cannot be decrypted/);
  expect(() => parseKey('short')).toThrow(/32 bytes/);
});

it('uses a secret in a step without it ever appearing in the API, events, logs or the database in clear', async () => {
  const set = await t.gql(`mutation($input: SetSecretInput!) { setSecret(input: $input) { ... on SecretPayload { secret { name } } ... on ValidationError { problems { path } } } }`, { input: { name: 'API_TOKEN', value: SECRET } });
  expect((set.data as any).setSecret.secret.name).toBe('API_TOKEN');
  const bad = await t.gql(`mutation($input: SetSecretInput!) { setSecret(input: $input) { ... on ValidationError { problems { path } } } }`, { input: { name: '1bad name', value: '' } });
  expect((bad.data as any).setSecret.problems.map((p: any) => p.path.join('.'))).toEqual(['input.name', 'input.value']);
  const row = await t.db.prisma.secret.findFirstOrThrow({ where: { name: 'API_TOKEN' } });
  expect(row.ciphertext).not.toContain(SECRET);

  const wf = await createWorkflow(t, {
    steps: [
      { id: 'call', type: 'http_request', config: { method: 'POST', url: `${server.url}/x`, headers: { 'x-api-key': '{{ secrets.API_TOKEN }}' }, body: { token: '{{ secrets.API_TOKEN }}' } } },
      { id: 'each', type: 'loop', config: { items: '[1, 2]', step: { type: 'http_request', config: { url: `${server.url}/loop?k={{ secrets.API_TOKEN }}` } } } },
    ],
  });
  const run = await startRun(t, wf);
  expect((await waitForRun(t, run)).status).toBe('COMPLETED');
  expect(server.requests.filter((r) => r.headers['x-api-key'] === SECRET)).toHaveLength(1); // the step really used it

  const everything = await t.gql(`query($id: ID!) { run(id: $id) { output stepRuns { input output logs error iterations { input output } } events(first: 100) { edges { node { data } } } } secrets { name } }`, { id: run });
  expect(JSON.stringify(everything.data)).not.toContain(SECRET);
  expect((everything.data as any).secrets).toEqual([{ name: 'API_TOKEN' }]);
  const stored = JSON.stringify({
    steps: await t.db.prisma.stepRun.findMany({ where: { runId: rawId(run) } }),
    events: await t.db.prisma.runEvent.findMany({ where: { runId: rawId(run) } }),
    run: await t.db.prisma.run.findUnique({ where: { id: rawId(run) } }),
  }, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  expect(stored).not.toContain(SECRET);
  expect(stored).toContain('[sensitive]');
});
