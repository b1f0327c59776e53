// `npm start` as a real process: data survives a restart, and SIGTERM shuts down cleanly.
import { afterAll, expect, it } from 'vitest';
import { onPostgres } from './helpers/app.ts';
import { graphql } from './generated/gql.ts';
import { createWorkflowAt, isolatedDatabaseEnv, postGraphQL, startWeftProcess } from './helpers/process.ts';

const Fetch = graphql(`
  query RestartFetchWorkflow($id: ID!) {
    workflow(id: $id) {
      id
      name
      currentVersion {
        number
      }
    }
  }
`);

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('keeps a created workflow across a restart and exits 0 on SIGTERM', { timeout: 120_000 }, async () => {
  const env = await isolatedDatabaseEnv(cleanups);

  const first = await startWeftProcess(env);
  cleanups.push(() => void first.stop('SIGKILL'));
  const id = await createWorkflowAt(first.url, {
    name: 'Survives restarts',
    definition: { steps: [{ id: 'w', type: 'wait', config: { seconds: 1 } }] },
  });
  expect(await first.stop('SIGTERM')).toBe(0);
  expect(first.output()).toContain('stopped cleanly');
  expect(first.output()).toContain('migration applied');

  const second = await startWeftProcess(env);
  cleanups.push(() => void second.stop('SIGKILL'));
  expect(second.output()).toContain('database schema up to date');
  const fetched = await postGraphQL(second.url, Fetch, { id });
  expect(fetched.data?.workflow).toEqual({ id, name: 'Survives restarts', currentVersion: { number: 1 } });
  const ready = await fetch(second.url.replace('/graphql', '/readyz'));
  expect(ready.status).toBe(200);
  expect(await second.stop('SIGINT')).toBe(0);
});

it.runIf(!onPostgres)(
  'refuses a second process on the same embedded data directory',
  { timeout: 120_000 },
  async () => {
    const env = await isolatedDatabaseEnv(cleanups);
    const first = await startWeftProcess(env);
    cleanups.push(() => void first.stop('SIGKILL'));
    await expect(startWeftProcess(env)).rejects.toThrow(/is in use by process/);
    expect(await first.stop()).toBe(0);
  },
);
