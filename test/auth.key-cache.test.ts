// The API-key cache: a key read is reused for WEFT_API_KEY_CACHE_MS, so a request after the
// first costs no key lookup; revoking the key in this process refuses it at once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { ofType } from './helpers/typename.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ WEFT_API_KEY_CACHE_MS: '60000' });
});
afterAll(async () => {
  await t?.close();
});

async function keyLookups(headers: Record<string, string>) {
  const statements: string[] = [];
  const stop = t.db.onQuery((e) => statements.push(e.query));
  const res = await t.gql('{ __typename }', {}, headers);
  stop();
  return { res, lookups: statements.filter((s) => s.includes('"ApiKey"')).length };
}

it('reads a key once, then serves it from the cache until it is revoked', async () => {
  const created = await t.gql(
    graphql(`
      mutation KeyCacheCreateKey {
        createApiKey(input: { name: "cached", scopes: [READ] }) {
          __typename
          ... on CreateApiKeyPayload {
            key
            apiKey {
              id
            }
          }
        }
      }
    `),
  );
  expect(created.errors).toBeUndefined();
  const { key, apiKey } = ofType(created.data?.createApiKey, 'CreateApiKeyPayload');
  const headers = { authorization: `Bearer ${key}` };
  const first = await keyLookups(headers);
  expect(first.res.errors).toBeUndefined();
  expect(first.lookups).toBeGreaterThan(0);
  const second = await keyLookups(headers);
  expect(second.res.errors).toBeUndefined();
  expect(second.res.data).toEqual({ __typename: 'Query' });
  expect(second.lookups).toBe(0);

  const revoked = await t.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, {
    id: apiKey.id,
  });
  expect(revoked.errors).toBeUndefined();
  const refused = await t.gql('{ __typename }', {}, headers);
  expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
});
