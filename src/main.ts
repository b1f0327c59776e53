// Entry point: config → database → migrations → app.start(). Nothing else lives here.
// `tsx src/main.ts [all|serve|worker]` — the role may also come from WEFT_ROLE.
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { migrateJobQueue } from './engine/dispatch/graphile.ts';
import { SandboxUnavailableError } from './engine/steps/sandbox.ts';
import { createLogger } from './logger.ts';
import { ensureAdminAccess } from './auth/bootstrap.ts';
import { ensureDefaultWorkspace } from './workspaces/service.ts';

async function main() {
  let config: Config;
  try {
    config = loadConfig(process.env, { role: process.argv[2] });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const where =
    config.database.kind === 'postgres'
      ? 'PostgreSQL (DATABASE_URL)'
      : `embedded database at ${config.database.dataDir}`;
  log.info({ database: config.database.kind }, `opening ${where}`);
  const db = await openDatabase(config.database);
  const applied = await migrate(db, {
    onApplied: (name, ms) => log.info({ migration: name, ms: Math.round(ms) }, 'migration applied'),
  });
  log.info({ applied: applied.length }, applied.length ? 'migrations applied' : 'database schema up to date');
  if (config.database.kind === 'postgres') await migrateJobQueue(config.database.url, log.child({ component: 'jobs' }));
  const workspaceId = await ensureDefaultWorkspace(db.prisma);
  await ensureAdminAccess(db.prisma, {
    workspaceId,
    configuredKey: config.auth.adminApiKey,
    keyFile: config.auth.adminKeyFile,
    log,
    print: (text) => process.stdout.write(`${text}\n`),
  });
  const app = buildApp({ config, db, log });
  let url: string;
  try {
    ({ url } = await app.start());
  } catch (error) {
    // A start-up check that names its own fix: the message is the whole story, no stack trace.
    if (!(error instanceof SandboxUnavailableError)) throw error;
    console.error(error.message);
    await db.close();
    process.exit(2);
  }
  if (config.role === 'worker')
    log.info(
      { url: url.replace(/\/graphql$/, '/healthz'), role: config.role },
      'Weft worker is running (health endpoint only)',
    );
  else log.info({ url, role: config.role }, `Weft is listening: GraphiQL at ${url.replace('127.0.0.1', 'localhost')}`);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
    try {
      await app.stop();
      await db.close();
      log.info('stopped cleanly');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  console.error('Weft failed to start:', error);
  process.exit(1);
});
