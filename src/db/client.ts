// One place that knows how to open each database: embedded PostgreSQL (PGlite, a data dir on
// disk or in memory) or a real PostgreSQL server through a pg pool. Both give a Prisma client
// (through its driver adapter) and raw sessions for the migrator.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.ts';
import { PrismaClient } from '../generated/prisma/client.ts';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.ts';

export type { PrismaClient };

/** A single connection, for advisory locks and multi-statement SQL. */
export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of one or more statements (simple query protocol). */
  exec(sql: string): Promise<void>;
}

export interface QueryEvent {
  query: string;
  params: string;
  durationMs: number;
}

export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: PrismaClient;
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Connections of the pg pool (PostgreSQL): busy, idle, and queries waiting for one; null for PGlite. */
  poolStats(): { inUse: number; idle: number; waiting: number } | null;
  /** Subscribes to every SQL statement Prisma sends (tests count them). Returns an unsubscribe. */
  onQuery(listener: (event: QueryEvent) => void): () => void;
  close(): Promise<void>;
}

export type DatabaseConfig = Config['database'];

export interface OpenOptions {
  /** Emit every SQL statement to onQuery listeners (tests count them). Costs time on every query, so off in production. */
  observeQueries?: boolean;
  /**
   * Test seam: start an in-memory PGlite from this dumped data directory (`PGlite.dumpDataDir`)
   * instead of running initdb. The test suite migrates one template per checkout and loads it in
   * every test file, as it clones a template database on PostgreSQL. Ignored with a dataDir.
   */
  pgliteImage?: Blob;
}

export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Database> {
  return config.kind === 'postgres' ? openPostgres(config, options) : openPglite(config.dataDir, options);
}

function createPrisma(adapter: ConstructorParameters<typeof PrismaClient>[0]['adapter'], options: OpenOptions) {
  const listeners = new Set<(event: QueryEvent) => void>();
  const prisma = new PrismaClient({
    adapter,
    ...(options.observeQueries ? { log: [{ emit: 'event', level: 'query' }] } : {}),
  } as ConstructorParameters<typeof PrismaClient>[0]);
  if (options.observeQueries) {
    (
      prisma as unknown as {
        $on(e: 'query', cb: (e: { query: string; params: string; duration: number }) => void): void;
      }
    ).$on('query', (e) => {
      for (const listener of listeners) listener({ query: e.query, params: e.params, durationMs: Number(e.duration) });
    });
  }
  const onQuery = (listener: (event: QueryEvent) => void) => {
    if (!options.observeQueries) throw new Error('open the database with { observeQueries: true } to observe queries');
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  return { prisma, onQuery };
}

async function openPglite(dataDir: string | null, options: OpenOptions): Promise<Database> {
  let lock: DataDirLock | null = null;
  if (dataDir) {
    mkdirSync(path.dirname(dataDir), { recursive: true });
    // PGlite is a single-process database: a second process on the same directory would
    // corrupt it, so refuse clearly instead.
    lock = acquireDataDirLock(dataDir);
  }
  const pglite = dataDir
    ? new PGlite(dataDir)
    : new PGlite(options.pgliteImage ? { loadDataDir: options.pgliteImage } : {});
  try {
    await pglite.waitReady;
  } catch (error) {
    lock?.release();
    throw new Error(`Could not open the embedded database in ${dataDir}`, { cause: error });
  }
  const { prisma, onQuery } = createPrisma(new PrismaPGlite(pglite), options);
  const session: SqlSession = {
    query: async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows,
    exec: async (sql: string) => void (await pglite.exec(sql)),
  };
  return {
    kind: 'pglite',
    poolStats: () => null,
    prisma,
    withSession: (fn) => fn(session),
    onQuery,
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
      lock?.release();
    },
  };
}

async function openPostgres(
  config: Extract<DatabaseConfig, { kind: 'postgres' }>,
  options: OpenOptions,
): Promise<Database> {
  // pg's defaults are max 10 and connectionTimeoutMillis 0 (wait forever): be explicit.
  const poolConfig = {
    connectionString: config.url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
  };
  // Our own pool (the adapter ends it on $disconnect) so that its usage can be reported as metrics.
  const pool = new pg.Pool(poolConfig);
  const { prisma, onQuery } = createPrisma(new PrismaPg(pool, { disposeExternalPool: true }), options);
  const poolStats = () => ({
    inUse: pool.totalCount - pool.idleCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
  });
  const withSession = async <T>(fn: (session: SqlSession) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: config.url, connectionTimeoutMillis: config.connectTimeoutMs });
    await client.connect();
    try {
      return await fn({
        query: async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[],
        exec: async (sql: string) => void (await client.query(sql)),
      });
    } finally {
      await client.end();
    }
  };
  return { kind: 'postgres', prisma, withSession, onQuery, poolStats, close: () => prisma.$disconnect() };
}
