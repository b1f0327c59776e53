// Throwaway PostgreSQL databases for tests (only used when TEST_DATABASE_URL is set).
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';

// One template per checkout: two worktrees running their suites on the same server at once
// would otherwise drop and re-create each other's template (with different migrations) mid-run.
export const TEMPLATE_DB = `weft_test_template_${createHash('sha256')
  .update(path.resolve(import.meta.dirname, '../..'))
  .digest('hex')
  .slice(0, 8)}`;

export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The server's maintenance database, for CREATE/DROP DATABASE. */
export function adminUrl(base: string): string {
  return databaseUrl(base, 'postgres');
}

async function admin<T>(base: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl(base) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database (empty, or cloned from the migrated template); returns its URL and a dropper. */
export async function createTestDatabase(base: string, options: { fromTemplate: boolean }) {
  const name = `weft_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(base, (c) =>
    c.query(options.fromTemplate ? `CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"` : `CREATE DATABASE "${name}"`),
  );
  return {
    name,
    url: databaseUrl(base, name),
    drop: () => admin(base, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
