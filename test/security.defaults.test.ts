// Safe by default: no error details for clients unless an operator asks for development mode,
// a start-up that fails fast and says why when Redis is unreachable, key files only inside
// Weft's own directory, and tokens whose claims cannot be stored refused like any bad token.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { loadConfig } from '../src/config.ts';
import { localKey } from '../src/secrets/crypto.ts';
import { onPostgres, startTestApp } from './helpers/app.ts';
import { JWT_ENV, signToken } from './helpers/auth.ts';
import { isolatedDatabaseEnv, ROOT, startWeftProcess } from './helpers/process.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('error details', () => {
  // Two embedded databases are initialised: seconds alone, far more on a loaded machine.
  it('are not shown without configuration, nor by npm start; development mode shows them', {
    timeout: 120_000,
  }, async () => {
    expect(loadConfig({}).env).toBe('production');
    const scripts = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts.start).not.toMatch(/NODE_ENV/);
    expect(scripts.dev).toMatch(/NODE_ENV=\$\{NODE_ENV:-development\}/);

    const shown: Record<string, unknown> = {};
    for (const env of ['production', 'development'] as const) {
      const t = await startTestApp({ NODE_ENV: env });
      try {
        await t.db.withSession((s) => s.exec('ALTER TABLE "Workflow" RENAME TO "Workflow_gone"'));
        const res = await t.gql('{ workflows { totalCount } }');
        expect(res.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
        shown[env] = res.errors?.[0];
      } finally {
        await t.close();
      }
    }
    expect(JSON.stringify(shown.production)).not.toMatch(/Workflow|does not exist|stack|originalError|\.ts:\d+/);
    expect(JSON.stringify(shown.development)).toMatch(/originalError.*does not exist/);
  });
});

describe('Redis', () => {
  it('unreachable at start-up: the process exits within seconds, saying what to do', { timeout: 150_000 }, async () => {
    // A port that accepts nothing: bound, never listening.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const env = await isolatedDatabaseEnv(cleanups);
    const started = Date.now();
    const failure = await startWeftProcess(
      { ...env, REDIS_URL: `redis://127.0.0.1:${port}`, WEFT_REDIS_CONNECT_TIMEOUT_MS: '1500' },
      120_000,
    ).then(
      (p) => (cleanups.push(() => p.stop('SIGKILL')), null),
      (error: Error) => error,
    );
    expect(failure?.message).toMatch(/exited with 1 before listening/);
    expect(failure?.message).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\) did not answer within 1500 ms/);
    // The wait for Redis is the bounded one the message names; the rest is start-up itself
    // (embedded database, migrations), seconds on an idle machine and more on a loaded one.
    expect(Date.now() - started).toBeLessThan(110_000);
  });
});

describe.skipIf(onPostgres)('key files', () => {
  it('are written inside WEFT_HOME, never beside a data directory in a shared folder', {
    timeout: 90_000,
  }, async () => {
    const shared = mkdtempSync(path.join(tmpdir(), 'weft-shared-'));
    const home = mkdtempSync(path.join(tmpdir(), 'weft-home-'));
    cleanups.push(
      () => rmSync(shared, { recursive: true, force: true }),
      () => rmSync(home, { recursive: true, force: true }),
    );
    const p = await startWeftProcess({
      WEFT_HOME: home,
      WEFT_DATA_DIR: path.join(shared, 'instance-a'),
      WEFT_ADMIN_API_KEY: '',
      WEFT_SECRETS_KEY: '',
    });
    cleanups.push(() => p.stop('SIGKILL'));
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(readdirSync(shared).sort()).toEqual(['instance-a']); // the database only (its lock is gone)
    for (const file of ['admin-api-key', 'secrets.key']) {
      expect(existsSync(path.join(home, file)), file).toBe(true);
      expect(statSync(path.join(home, file)).mode & 0o777, file).toBe(0o600);
    }
  });

  it('carry over a secrets key from its old place beside the data directory (copied, not moved)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-legacy-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const legacy = path.join(dir, 'secrets.key');
    const old = 'ab'.repeat(32);
    writeFileSync(legacy, old, { mode: 0o600 });
    const key = localKey(path.join(dir, 'home', 'secrets.key'), legacy);
    expect(key.toString('hex')).toBe(old);
    expect(readFileSync(legacy, 'utf8')).toBe(old);
    // A fresh home without an old key gets a new one, stable across calls.
    const fresh = localKey(path.join(dir, 'other', 'secrets.key'), path.join(dir, 'nothing-here'));
    expect(fresh.toString('hex')).not.toBe(old);
    expect(localKey(path.join(dir, 'other', 'secrets.key'), null).equals(fresh)).toBe(true);
  });
});

describe('JWT claims that cannot be stored', () => {
  it('are refused (401) or ignored, never an internal error', async () => {
    const t = await startTestApp(JWT_ENV);
    try {
      const nulSubject = await signToken('alice\u0000admin');
      const refused = await t.gql('{ viewer { kind } }', {}, { authorization: `Bearer ${nulSubject}` });
      expect(refused.status).toBe(401);
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const nulName = await signToken('bob', { claims: { name: 'Bob\u0000', email: 'b\u0000@x.test' } });
      const ok = await t.gql(
        graphql(`
          query DefaultsViewerUser {
            viewer {
              kind
              user {
                subject
                name
                email
              }
            }
          }
        `),
        {},
        { authorization: `Bearer ${nulName}` },
      );
      expect(ok.errors).toBeUndefined();
      expect(ok.data?.viewer.user).toEqual({ subject: 'bob', name: null, email: null });
    } finally {
      await t.close();
    }
  });
});
