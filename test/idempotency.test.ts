// The Idempotency-Key header on mutations.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GraphQLFormattedError } from 'graphql';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const CREATE = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ... on CreateWorkflowPayload { workflow { id name } } } }`;
const input = (name: string) => ({
  input: { name, definition: { steps: [{ id: 'w', type: 'wait', config: { seconds: 1 } }] } },
});

async function send(key: string | null, variables: Record<string, unknown>, query = CREATE) {
  const response = await t.app.yoga.fetch('http://weft.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...t.authHeaders,
      ...(key !== null ? { 'idempotency-key': key } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: { createWorkflow?: { workflow?: { id: string; name: string } }; workflows?: { totalCount: number } };
    errors?: GraphQLFormattedError[];
  };
  return { body, replayed: response.headers.get('idempotent-replayed') };
}

it('runs a mutation once per key and replays the stored result', async () => {
  const before = await t.db.prisma.workflow.count();
  const first = await send('key-1', input('once'));
  const second = await send('key-1', input('once'));
  expect(second.body).toEqual(first.body);
  expect(first.replayed).toBeNull();
  expect(second.replayed).toBe('true');
  expect(await t.db.prisma.workflow.count()).toBe(before + 1);
});

it('refuses the same key with a different request', async () => {
  await send('key-2', input('a'));
  const other = await send('key-2', input('b'));
  expect(other.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect(other.body.errors?.[0]?.message).toMatch(/different request/);
});

it('lets exactly one of concurrent duplicates execute', async () => {
  const before = await t.db.prisma.workflow.count();
  const results = await Promise.all(Array.from({ length: 6 }, () => send('key-3', input('race'))));
  expect(await t.db.prisma.workflow.count()).toBe(before + 1);
  for (const r of results) {
    if (r.body.errors)
      expect(r.body.errors[0]?.extensions?.code).toBe('CONFLICT'); // still in progress
    else expect(r.body.data?.createWorkflow?.workflow?.name).toBe('race');
  }
});

it('forgets keys after 24 hours, ignores the header on queries, and checks its length', async () => {
  const before = await t.db.prisma.workflow.count();
  await send('key-4', input('expiring'));
  await t.db.prisma.idempotencyRecord.updateMany({
    where: { key: 'key-4' },
    data: { expiresAt: new Date(Date.now() - 1000) },
  });
  const again = await send('key-4', input('expiring'));
  expect(again.replayed).toBeNull();
  expect(await t.db.prisma.workflow.count()).toBe(before + 2);
  const query = await send('key-4', {}, '{ workflows(first: 1) { totalCount } }');
  expect(query.body.data?.workflows?.totalCount).toBeGreaterThan(0);
  const tooLong = await send('k'.repeat(256), input('x'));
  expect(tooLong.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
});
