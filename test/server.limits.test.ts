// Query limits (depth, aliases, tokens, cost), introspection switch and CSRF prevention.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let closed: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    WEFT_MAX_QUERY_DEPTH: '8',
    WEFT_MAX_ALIASES: '5',
    WEFT_MAX_TOKENS: '400',
    WEFT_MAX_QUERY_COST: '2000',
  });
  closed = await startTestApp({ WEFT_INTROSPECTION: 'false' });
});
afterAll(async () => {
  await t?.close();
  await closed?.close();
});

const codes = (res: { errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }) =>
  res.errors?.map((e) => e.extensions?.code);

it('refuses queries that are too deep, too aliased, too long or too costly — and runs ordinary ones', async () => {
  const ok = await t.gql(
    '{ workflows(first: 5) { edges { node { name versions(first: 2) { edges { node { number } } } } } } }',
  );
  expect(ok.errors).toBeUndefined();
  const deep = await t.gql(
    '{ workflows { edges { node { versions { edges { node { workflow { versions { edges { node { number } } } } } } } } } } }',
  );
  expect(deep.status).toBe(400);
  expect(deep.errors?.[0]?.message).toMatch(/depth/i);
  const aliases = await t.gql(
    `{ ${Array.from({ length: 8 }, (_, i) => `a${i}: workflows { totalCount }`).join(' ')} }`,
  );
  expect(aliases.errors?.[0]?.message).toMatch(/alias/i);
  const tokens = await t.gql(`{ workflows { totalCount ${'__typename '.repeat(500)} } }`);
  expect(tokens.errors?.[0]?.message).toMatch(/token/i);
  const costly = await t.gql(
    `{ a: runs(first: 200) { edges { node { stepRuns { stepId status attempt output error logs iterations { stepId status output } } events(first: 200) { edges { node { seq type data } } } } } } }`,
  );
  expect(costly.errors?.[0]?.message).toMatch(/cost/i);
  for (const res of [deep, aliases, tokens, costly])
    expect(codes(res)?.[0]).toMatch(/^GRAPHQL_(VALIDATION|PARSE)_FAILED$/);
});

it('can turn introspection off', async () => {
  expect((await t.gql('{ __schema { queryType { name } } }')).errors).toBeUndefined();
  const res = await closed.gql('{ __schema { queryType { name } } }');
  expect(res.errors?.[0]?.message).toMatch(/introspection/i);
});

it('refuses simple cross-site requests (CSRF) but accepts JSON and requests with the Weft header', async () => {
  const query = encodeURIComponent('{ workflows { totalCount } }');
  const simple = await t.app.yoga.fetch(`http://weft.test/graphql?query=${query}`, {
    method: 'GET',
    headers: t.authHeaders,
  });
  expect(simple.status).toBe(403);
  const withHeader = await t.app.yoga.fetch(`http://weft.test/graphql?query=${query}`, {
    method: 'GET',
    headers: { 'x-weft-csrf': '1', ...t.authHeaders },
  });
  expect(withHeader.status).toBe(200);
  const form = await t.app.yoga.fetch('http://weft.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...t.authHeaders },
    body: `query=${query}`,
  });
  expect(form.status).toBe(403);
});
