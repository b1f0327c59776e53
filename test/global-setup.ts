// On PostgreSQL: migrate a template database once; each test file clones it
// (CREATE DATABASE … TEMPLATE), which is much faster than migrating per file. On PGlite: dump a
// migrated data directory once per checkout and migration set; each test file loads it.
import pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { migrateJobQueue } from '../src/engine/dispatch/graphile.ts';
import { createLogger } from '../src/logger.ts';
import { adminUrl, databaseUrl, TEMPLATE_DB } from './helpers/pg.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

export default async function setup() {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    await ensurePgliteTemplate();
    return;
  }
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DB}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${TEMPLATE_DB}"`);
  } finally {
    await admin.end();
  }
  const db = await openDatabase({
    kind: 'postgres',
    url: databaseUrl(url, TEMPLATE_DB),
    poolMax: 2,
    connectTimeoutMs: 10_000,
  });
  try {
    await migrate(db);
    // graphile-worker's schema too: on PostgreSQL every claim inserts a job.
    await migrateJobQueue(databaseUrl(url, TEMPLATE_DB), createLogger('warn'));
  } finally {
    await db.close();
  }
}
