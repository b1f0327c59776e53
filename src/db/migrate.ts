// Weft's migrator: applies prisma/migrations/<name>/migration.sql files in name order, on the
// embedded database and on PostgreSQL alike, without Prisma's native engine (which cannot be
// installed here). Bookkeeping is Prisma's own `_prisma_migrations` table, so `prisma migrate
// status` would read the same history.
//
// Concurrency: the whole run holds a session-level advisory lock (Prisma's own key, so Weft
// and `prisma migrate` exclude each other too). Two instances starting together: the second
// waits, then finds nothing pending. Each file runs in its own transaction together with its
// bookkeeping row, so a failing migration leaves neither half its DDL nor a record behind.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Database, SqlSession } from './client.ts';
import { coerceError } from '../errors.ts';

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../prisma/migrations');
const PRISMA_ADVISORY_LOCK_KEY = 72707369;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export function readMigrationFiles(dir = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const CREATE_BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

async function appliedRows(session: SqlSession): Promise<AppliedRow[]> {
  const exists = await session.query<{ exists: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS exists`,
  );
  if (!exists[0]?.exists) return [];
  return session.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
}

/** Names of migration files not yet applied (for /readyz and `npm run migrate -- --status`). */
export async function pendingMigrations(db: Database, files = readMigrationFiles()): Promise<string[]> {
  const applied = await db.withSession(appliedRows);
  const done = new Set(applied.filter((r) => r.finished_at).map((r) => r.migration_name));
  return files.filter((f) => !done.has(f.name)).map((f) => f.name);
}

export interface MigrateOptions {
  files?: MigrationFile[];
  onApplied?: (name: string, ms: number) => void;
}

export async function migrate(db: Database, options: MigrateOptions = {}): Promise<string[]> {
  const files = options.files ?? readMigrationFiles();
  return db.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    try {
      await session.exec(CREATE_BOOKKEEPING);
      const applied = new Map((await appliedRows(session)).map((r) => [r.migration_name, r]));
      for (const [name, row] of applied) {
        if (!row.finished_at) {
          throw new MigrationError(
            `Migration ${name} was started but never finished (recorded by another tool). Resolve it by hand before starting Weft.`,
          );
        }
        const file = files.find((f) => f.name === name);
        if (file && file.checksum !== row.checksum) {
          throw new MigrationError(
            `Migration ${name} was changed after it was applied (checksum mismatch). Never edit an applied migration: add a new one.`,
          );
        }
      }
      const done: string[] = [];
      for (const file of files) {
        if (applied.has(file.name)) continue;
        const started = performance.now();
        await session.exec('BEGIN');
        try {
          await session.exec(file.sql);
          await session.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES ($1, $2, $3, now(), now(), 1)`,
            [randomUUID(), file.checksum, file.name],
          );
          await session.exec('COMMIT');
        } catch (error) {
          await session.exec('ROLLBACK');
          throw new MigrationError(`Migration ${file.name} failed and was rolled back: ${coerceError(error).message}`, {
            cause: error,
          });
        }
        done.push(file.name);
        options.onApplied?.(file.name, performance.now() - started);
      }
      return done;
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    }
  });
}
