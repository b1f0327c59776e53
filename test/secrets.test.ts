// Workspace secrets: encrypted at rest, usable from step configs, never returned or recorded.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, parseKey } from '../src/secrets/crypto.ts';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { prng } from './helpers/random.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

let t: TestApp;
let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer((req, res) =>
    json(res, 200, { echoed: req.headers['x-api-key'], body: req.body }),
  );
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

const SET_SECRET = graphql(
  `mutation SecretsSet($input: SetSecretInput!) { setSecret(input: $input) { __typename ... on SecretPayload { secret { name } } ... on ValidationError { problems { path message } } } }`,
);

it('uses a secret in a step without it ever appearing in the API, events, logs or the database in clear', async () => {
  const set = await t.gql(SET_SECRET, { input: { name: 'API_TOKEN', value: SECRET } });
  expect(ofType(set.data?.setSecret, 'SecretPayload').secret.name).toBe('API_TOKEN');
  const bad = await t.gql(SET_SECRET, { input: { name: '1bad name', value: '' } });
  expect(ofType(bad.data?.setSecret, 'ValidationError').problems.map((p) => p.path.join('.'))).toEqual([
    'input.name',
    'input.value',
  ]);
  const row = await t.db.prisma.secret.findFirstOrThrow({ where: { name: 'API_TOKEN' } });
  expect(row.ciphertext).not.toContain(SECRET);

  const wf = await createWorkflow(t, {
    steps: [
      {
        id: 'call',
        type: 'http_request',
        config: {
          method: 'POST',
          url: `${server.url}/x`,
          headers: { 'x-api-key': '{{ secrets.API_TOKEN }}' },
          body: { token: '{{ secrets.API_TOKEN }}' },
        },
      },
      {
        id: 'each',
        type: 'loop',
        config: {
          items: '[1, 2]',
          step: { type: 'http_request', config: { url: `${server.url}/loop?k={{ secrets.API_TOKEN }}` } },
        },
      },
    ],
  });
  const run = await startRun(t, wf);
  expect((await waitForRun(t, run)).status).toBe('COMPLETED');
  expect(server.requests.filter((r) => r.headers['x-api-key'] === SECRET)).toHaveLength(1); // the step really used it

  const everything = await t.gql(
    graphql(
      `query SecretsEverything($id: ID!) { run(id: $id) { output stepRuns { input output logs error iterations { input output } } events(first: 100) { edges { node { data } } } } secrets { name } }`,
    ),
    { id: run },
  );
  expect(everything.errors).toBeUndefined();
  expect(JSON.stringify(everything.data)).not.toContain(SECRET);
  expect(everything.data?.secrets).toEqual([{ name: 'API_TOKEN' }]);
  const stored = JSON.stringify(
    {
      steps: await t.db.prisma.stepRun.findMany({ where: { runId: rawId(run) } }),
      events: await t.db.prisma.runEvent.findMany({ where: { runId: rawId(run) } }),
      run: await t.db.prisma.run.findUnique({ where: { id: rawId(run) } }),
    },
    (_k, v) => (typeof v === 'bigint' ? String(v) : v),
  );
  expect(stored).not.toContain(SECRET);
  expect(stored).toContain('[sensitive]');
});

// ---------------------------------------------------------------------------------------------
// Secrets that are not written character for character: changed case, URL-encoded, JSON-escaped,
// base64 (also inside a longer base64 string), hex — and values computed from a secret.

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  '0123456789',
  '"\\/% +=&?#:@',
  'éü漢字🙂',
  '-_.~',
];

/** Every form the issue found leaking, for one value, inside some surrounding text. */
function leakedForms(secret: string, random: () => number): [string, string][] {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const mixedCase = [...secret].map((c) => (random() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
  return [
    ['as is', secret],
    ['lower case', secret.toLowerCase()],
    ['upper case', secret.toUpperCase()],
    ['mixed case', mixedCase],
    ['URL-encoded', encodeURIComponent(secret)],
    ['URL-encoded, lower-case escapes', encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['encodeURI', encodeURI(secret)],
    ['form-encoded', encodeURIComponent(secret).replaceAll('%20', '+')],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['JSON-escaped twice', JSON.stringify(JSON.stringify(secret)).slice(1, -1)],
    ['base64', b64(secret)],
    ['base64url', Buffer.from(secret).toString('base64url')],
    ['inside basic auth', b64(`user:${secret}`)],
    ['inside base64 at offset 1', b64(`x${secret}yz`)],
    ['inside base64 at offset 2', b64(`xy${secret}z`)],
    ['hex', Buffer.from(secret).toString('hex')],
  ];
}

it('scrubs every generated secret in each of its common encodings from what is recorded', async () => {
  const { createRedactor } = await import('../src/engine/redact.ts');
  const random = prng(20261129);
  const failures: string[] = [];
  for (let n = 0; n < 200; n++) {
    const length = 8 + Math.floor(random() * 40);
    const alphabet = ALPHABETS.filter(() => random() < 0.6).join('') || ALPHABETS[0]!;
    const chars = [...alphabet];
    const secret = Array.from({ length }, () => chars[Math.floor(random() * chars.length)]).join('');
    const redact = createRedactor([secret]);
    for (const [form, text] of leakedForms(secret, random)) {
      const recorded = redact({ log: `before ${text} after`, nested: [{ [`key-${text}`]: text }] });
      const shown = JSON.stringify(recorded);
      // What must be gone is the encoded secret (the distinctive middle of a base64 form).
      const needle = form.startsWith('inside') ? text.slice(4, -4) : text;
      if (shown.includes(needle) || recorded.log.includes(text))
        failures.push(`${form} of ${JSON.stringify(secret)}: ${shown.slice(0, 200)}`);
    }
  }
  expect(failures.slice(0, 10)).toEqual([]);
});

it('refuses secrets shorter than 8 characters', async () => {
  const set = async (value: string) =>
    (await t.gql(SET_SECRET, { input: { name: 'SHORTISH', value } })).data?.setSecret;
  for (const value of ['a', 'abc', '1234567', '🙂🙂🙂🙂🙂🙂🙂']) {
    expect(ofType(await set(value), 'ValidationError').problems, value).toEqual([
      { path: ['input', 'value'], message: expect.stringMatching(/at least 8 characters/) },
    ]);
  }
  ofType(await set('12345678'), 'SecretPayload');
});

it('records values computed from a secret as redacted, and scrubs echoed encodings, in every read path', async () => {
  const TRICKY = 'Tr1cky "se\\cret/ %value+ü';
  await t.gql('mutation($i: SetSecretInput!) { setSecret(input: $i) { __typename } }', {
    i: { name: 'TRICKY', value: TRICKY },
  });
  const quiet = await startLoopbackServer((_req, res) => json(res, 200, { ok: true }));
  try {
    const wf = await createWorkflow(t, {
      steps: [
        // The peer echoes what it got: the output holds the secret upper-cased, base64'd, URL- and JSON-encoded.
        {
          id: 'echo',
          type: 'http_request',
          config: {
            method: 'POST',
            url: `${server.url}/e?q={{ $encodeUrlComponent(secrets.TRICKY) }}`,
            headers: { 'x-api-key': '{{ $uppercase(secrets.TRICKY) }}' },
            body: { b64: '{{ $base64encode(secrets.TRICKY) }}', raw: 'prefix {{ secrets.TRICKY }} suffix' },
          },
        },
        // Values derived from the secret that no encoding of it would find: recorded redacted as a whole.
        {
          id: 'derived',
          type: 'http_request',
          config: {
            method: 'POST',
            url: `${quiet.url}/q`,
            body: {
              part: '{{ $substring(secrets.TRICKY, 1, 6) }}',
              chars: '{{ $split(secrets.TRICKY, "") }}',
              all: '{{ $string($) }}',
              whole: '{{ secrets }}',
              fine: '{{ input.who }}',
            },
          },
        },
      ],
    });
    const run = await startRun(t, wf, { who: 'visible input' });
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    expect(quiet.requests[0]!.body).toContain('r1cky '); // the step really received the derived values

    const forbidden = [...leakedForms(TRICKY, prng(1)).map(([, text]) => text), 'r1cky ', 'cky "s'];
    const check = (where: string, text: string) => {
      for (const form of forbidden)
        expect(text.toLowerCase().includes(form.toLowerCase()), `${where} shows ${JSON.stringify(form)}`).toBe(false);
    };
    const read = await t.gql(
      graphql(
        `query SecretsRead($id: ID!) { run(id: $id) { output stepRuns { input output logs error } events(first: 100) { edges { node { data } } } } }`,
      ),
      { id: run },
    );
    expect(read.errors).toBeUndefined();
    check('the GraphQL run', JSON.stringify(read.data));
    const derived = read.data?.run?.stepRuns.find((s) =>
      String((s.input as { url?: string } | null)?.url).endsWith('/q'),
    );
    expect((derived?.input as { body?: unknown } | undefined)?.body).toEqual({
      part: '[sensitive]',
      chars: '[sensitive]',
      all: '[sensitive]',
      whole: '[sensitive]',
      fine: 'visible input',
    });

    const base = (await t.app.start(0, '127.0.0.1')).url.replace('/graphql', '');
    const exported = await fetch(`${base}/api/runs/${encodeURIComponent(run)}/export`, { headers: t.authHeaders });
    expect(exported.status).toBe(200);
    check('the run export', await exported.text());
    const download = await fetch(`${base}/api/runs/${encodeURIComponent(run)}/steps/echo/output`, {
      headers: t.authHeaders,
    });
    expect(download.status).toBe(200);
    check('the step download', await download.text());
    const sse = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { ...t.authHeaders, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: 'subscription($id: ID!) { runEvents(runId: $id) { seq type data } }',
        variables: { id: run },
      }),
    });
    const streamed = await sse.text(); // the stream completes after the terminal event
    expect(streamed).toContain('RUN_COMPLETED');
    check('events over SSE', streamed);
    const stored = JSON.stringify(
      {
        steps: await t.db.prisma.stepRun.findMany({ where: { runId: rawId(run) } }),
        events: await t.db.prisma.runEvent.findMany({ where: { runId: rawId(run) } }),
      },
      (_k, v) => (typeof v === 'bigint' ? String(v) : v),
    );
    check('the database', stored);
  } finally {
    await quiet.close();
  }
});
