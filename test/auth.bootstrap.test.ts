// Zero-config first start: a fresh installation creates an admin key for the default
// workspace, prints it once and writes it to a file only its owner can read; anonymous
// requests are refused; a restart neither prints nor replaces the key.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { onPostgres } from './helpers/app.ts';
import { graphql } from './generated/gql.ts';
import { isolatedDatabaseEnv, postGraphQL, startWeftProcess } from './helpers/process.ts';

const Viewer = graphql(`
  query BootstrapViewer {
    viewer {
      kind
      permissions
      workspace {
        slug
      }
    }
  }
`);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('creates, prints and stores the first admin key once', { timeout: 120_000 }, async () => {
  const env = await isolatedDatabaseEnv(cleanups);
  // The embedded database writes the key into Weft's own directory (WEFT_HOME); PostgreSQL needs a path.
  const keyFile = onPostgres
    ? path.join(mkdtempSync(path.join(tmpdir(), 'weft-key-')), 'admin-api-key')
    : path.join(env.WEFT_HOME!, 'admin-api-key');
  if (onPostgres) {
    env.WEFT_ADMIN_KEY_FILE = keyFile;
    cleanups.push(() => rmSync(path.dirname(keyFile), { recursive: true, force: true }));
  }
  const first = await startWeftProcess({ ...env, WEFT_ADMIN_API_KEY: '' });
  cleanups.push(() => first.stop('SIGKILL'));
  const printed = /^\s+(weft_live_[A-Za-z0-9_-]{43})$/m.exec(first.output())?.[1];
  expect(printed, first.output()).toBeDefined();
  expect(existsSync(keyFile)).toBe(true);
  expect(readFileSync(keyFile, 'utf8').trim()).toBe(printed);
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  // The key is not in the structured log lines (only the banner shows it).
  expect(
    first
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes(printed!)),
  ).toEqual([]);

  const anonymous = await fetch(first.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ viewer { kind } }' }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(anonymous.status).toBe(401);
  const me = await postGraphQL(first.url, Viewer, undefined, printed);
  expect(me.data?.viewer).toEqual({
    kind: 'API_KEY',
    permissions: ['READ', 'WRITE', 'RUN', 'ADMIN'],
    workspace: { slug: 'default' },
  });
  expect(await first.stop('SIGTERM')).toBe(0);

  const second = await startWeftProcess({ ...env, WEFT_ADMIN_API_KEY: '' });
  cleanups.push(() => second.stop('SIGKILL'));
  expect(second.output()).not.toMatch(/weft_live_/);
  expect(readFileSync(keyFile, 'utf8').trim()).toBe(printed);
  expect((await postGraphQL(second.url, Viewer, undefined, printed)).data?.viewer.kind).toBe('API_KEY');
  expect(await second.stop('SIGTERM')).toBe(0);
});
