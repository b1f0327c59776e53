// npm run migration:new -- <name>
// Writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that turns the
// schema as of the last migration (prisma/migrations/schema.snapshot.prisma) into the current
// prisma/schema.prisma, then updates the snapshot. The test in test/db.migrations.test.ts
// proves that applying every migration yields exactly what schema.prisma describes.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { diffDatamodels, loadSchemaEngine } from './lib/schema-engine.ts';

const root = path.resolve(import.meta.dirname, '..');
const schemaPath = path.join(root, 'prisma/schema.prisma');
const snapshotPath = path.join(root, 'prisma/migrations/schema.snapshot.prisma');

const name = (process.argv[2] ?? '').trim();
if (!/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run migration:new -- <name>   (name: lowercase letters, digits, _)');
  process.exit(2);
}

const current = await readFile(schemaPath, 'utf8');
const previous = existsSync(snapshotPath) ? await readFile(snapshotPath, 'utf8') : null;
const engine = await loadSchemaEngine({ path: 'schema.prisma', content: current });
const sql = await diffDatamodels(engine, previous, current);
if (!sql.trim() || /^-- This is an empty migration\.?\s*$/.test(sql.trim())) {
  console.log('schema.prisma has no changes since the last migration; nothing written.');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const dir = path.join(root, 'prisma/migrations', `${stamp}_${name}`);
await mkdir(dir, { recursive: true });
await writeFile(path.join(dir, 'migration.sql'), sql);
await writeFile(snapshotPath, current);
console.log(`wrote ${path.relative(root, dir)}/migration.sql (${sql.split('\n').length} lines)`);
