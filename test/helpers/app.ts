// A Weft app on a throwaway database — PGlite in memory loaded from the migrated template dump,
// or a PostgreSQL database cloned from the migrated template when TEST_DATABASE_URL is set — driven through yoga.fetch.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { print, type DocumentNode, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { PERMISSIONS } from '../../src/auth/permissions.ts';
import { ensureDefaultWorkspace } from '../../src/workspaces/service.ts';
import { createTestDatabase } from './pg.ts';
import { loadPgliteTemplate } from './pglite-template.ts';

export const onPostgres = !!process.env.TEST_DATABASE_URL;

export interface TestDatabase {
  db: Database;
  /** The PostgreSQL URL (null for PGlite): the app's config needs it for graphile-worker. */
  url: string | null;
  close(): Promise<void>;
}

/** A migrated database of the kind this test run uses. */
export async function openTestDatabase(): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    const image = loadPgliteTemplate();
    const db = await openDatabase(
      { kind: 'pglite', dataDir: null },
      { observeQueries: true, ...(image ? { pgliteImage: image } : {}) },
    );
    // Loaded from the migrated template this finds nothing to do; without one it migrates.
    await migrate(db);
    return { db, url: null, close: () => db.close() };
  }
  const created = await createTestDatabase(base, { fromTemplate: true });
  const db = await openDatabase(
    { kind: 'postgres', url: created.url, poolMax: 5, connectTimeoutMs: 10_000 },
    { observeQueries: true },
  );
  return {
    db,
    url: created.url,
    close: async () => {
      await db.close();
      await created.drop();
    },
  };
}

/** The body of a refused request read as raw JSON (no data, only errors). */
export interface GraphQLErrorBody {
  errors: GraphQLFormattedError[];
}

/**
 * The body of a response to a document the test does not type (deliberately malformed or
 * hostile input, arbitrary documents): data is read field by field, narrowed where it is used.
 */
export interface RawGraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLFormattedError[];
}

export interface GraphQLResponse<T> extends ExecutionResult<T> {
  status: number;
}

/** A logger that keeps its JSON lines in memory (to check what was logged, and at which level). */
export function memoryLogger(level = 'info'): {
  log: Logger;
  lines: { level: number; msg: string; [key: string]: unknown }[];
} {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

export interface TestApp {
  app: App;
  db: Database;
  config: Config;
  workspaceId: string;
  /** An admin API key of the default workspace; `gql` sends it unless told otherwise. */
  apiKey: string;
  /** `{ authorization: 'Bearer <apiKey>' }`, for raw requests. */
  authHeaders: Record<string, string>;
  /**
   * Executes an operation in-process through yoga.fetch (the full HTTP pipeline, no socket),
   * as the admin key. Headers override; a header set to '' is not sent (e.g. anonymous).
   */
  gql<T, V extends Record<string, unknown>>(
    document: TypedDocumentNode<T, V> | DocumentNode | string,
    variables?: V,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}, options: { log?: Logger } = {}): Promise<TestApp> {
  const { db, url, close } = await openTestDatabase();
  // Tests talk to servers on loopback, which Weft refuses by default (SSRF protection). Tests
  // change keys in the database directly and expect the next request to see it: no key cache
  // unless a test asks for one (test/auth.key-cache.test.ts).
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WEFT_API_KEY_CACHE_MS: '0',
    WEFT_SHUTDOWN_TIMEOUT_MS: '2000',
    WEFT_OUTBOUND_ALLOW: 'loopback',
    WEFT_SECRETS_KEY: randomBytes(32).toString('hex'),
    ...(url ? { DATABASE_URL: url, WEFT_DB_POOL_MAX: '5' } : {}),
    ...env,
  });
  const workspaceId = await ensureDefaultWorkspace(db.prisma);
  const { key: apiKey } = await createApiKey(db.prisma, {
    workspaceId,
    name: 'test admin',
    scopes: [...PERMISSIONS],
    role: 'ADMIN',
    createdById: null,
    expiresAt: null,
  });
  const authHeaders = { authorization: `Bearer ${apiKey}` };
  const app = buildApp({ config, db, log: options.log ?? createLogger(config.logLevel) });
  return {
    app,
    db,
    config,
    workspaceId,
    apiKey,
    authHeaders,
    async gql(document, variables, headers = {}) {
      const query = typeof document === 'string' ? document : print(document);
      const merged = Object.entries({
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...authHeaders,
        ...headers,
      }).filter(([, value]) => value !== '');
      const response = await app.yoga.fetch('http://weft.test/graphql', {
        method: 'POST',
        headers: Object.fromEntries(merged),
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as ExecutionResult<never>;
      return { ...body, status: response.status };
    },
    async close() {
      await app.stop();
      await close();
    },
  };
}

/** A test app listening on a real loopback port (for browsers, WebSockets, SSE); `base` is its origin. */
export async function startServedTestApp(env: Record<string, string> = {}): Promise<TestApp & { base: string }> {
  const t = await startTestApp(env);
  const { url } = await t.app.start(0, '127.0.0.1');
  return Object.assign(t, { base: url.replace(/\/graphql$/, '') });
}
