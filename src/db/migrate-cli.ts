// npm run migrate            apply pending migrations to the configured database
// npm run migrate -- --status list pending migrations, exit 1 if any
import { loadConfig } from '../config.ts';
import { openDatabase } from './client.ts';
import { migrate, pendingMigrations } from './migrate.ts';

const config = loadConfig();
const db = await openDatabase(config.database);
const target = config.database.kind === 'postgres' ? 'PostgreSQL' : `embedded database at ${config.database.dataDir}`;
try {
  if (process.argv.includes('--status')) {
    const pending = await pendingMigrations(db);
    console.log(pending.length ? `Pending on ${target}:\n  ${pending.join('\n  ')}` : `${target} is up to date.`);
    process.exitCode = pending.length ? 1 : 0;
  } else {
    const applied = await migrate(db, {
      onApplied: (name, ms) => console.log(`applied ${name} (${ms.toFixed(0)} ms)`),
    });
    console.log(applied.length ? `${applied.length} migration(s) applied to ${target}.` : `${target} is up to date.`);
  }
} finally {
  await db.close();
}
