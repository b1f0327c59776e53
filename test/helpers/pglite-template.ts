// A migrated PGlite data directory, dumped once per checkout and migration set, that every test
// file loads instead of running initdb and the migrations itself (the PGlite counterpart of the
// PostgreSQL template database). Starting a fresh PGlite costs seconds (initdb in Wasm);
// loading a dump costs about a quarter of that.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Database, SqlSession } from '../../src/db/client.ts';
import { migrate, readMigrationFiles } from '../../src/db/migrate.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Where the dump lives: keyed by the checkout (two worktrees never share one), the migration
 * files and the PGlite version, so a new migration or a PGlite upgrade builds a new template.
 */
export function pgliteTemplatePath(): string {
  // The package does not export its package.json; read it from the checkout's node_modules.
  const pgliteVersion = (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const key = createHash('sha256')
    .update(ROOT)
    .update(pgliteVersion)
    .update(
      readMigrationFiles()
        .map((f) => `${f.name}:${f.checksum}`)
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 16);
  return path.join(tmpdir(), 'weft-test-pglite', `${key}.tar`);
}

/** Builds the template unless this checkout already has one for the current migrations (vitest globalSetup). */
export async function ensurePgliteTemplate(): Promise<string> {
  const file = pgliteTemplatePath();
  if (existsSync(file)) return file;
  const pglite = new PGlite();
  try {
    const session: SqlSession = {
      query: async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows,
      exec: async (sql: string) => void (await pglite.exec(sql)),
    };
    // The migrator only opens sessions; no Prisma client is needed to build the template.
    await migrate({ withSession: (fn) => fn(session) } as Pick<Database, 'withSession'> as Database);
    const dump = await pglite.dumpDataDir('none');
    mkdirSync(path.dirname(file), { recursive: true });
    // Write then rename: a concurrent run never loads half a file.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, file);
  } finally {
    await pglite.close();
  }
  return file;
}

/** The dumped template if globalSetup built one (null otherwise: the caller migrates a fresh database). */
export function loadPgliteTemplate(): Blob | null {
  const file = pgliteTemplatePath();
  return existsSync(file) ? new Blob([readFileSync(file)]) : null;
}
