// buildApp(): the HTTP server with graphql-yoga (GraphQL over HTTP and SSE, GraphiQL),
// graphql-ws on the same /graphql path, and the health endpoints. main.ts and tests use it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { hostname } from 'node:os';
import type { Config } from './config.ts';
import { createJwtVerifier } from './auth/jwt.ts';
import { createAuthenticator } from './auth/principal.ts';
import { Redis } from 'ioredis';
import { createRateLimiter, createRedisRateLimiter } from './auth/rate-limit.ts';
import { authorize, buildContext, type Context } from './context.ts';
import type { Database } from './db/client.ts';
import { pendingMigrations } from './db/migrate.ts';
import { createMemoryEventBus, type EventBus } from './engine/events.ts';
import { Engine } from './engine/executor.ts';
import { GraphileDispatcher } from './engine/dispatch/graphile.ts';
import { InProcessDispatcher } from './engine/dispatch/in-process.ts';
import type { Dispatcher } from './engine/dispatch/types.ts';
import { createOutboundFetch, createOutboundPolicy } from './engine/outbound.ts';
import { probeSandbox } from './engine/steps/sandbox.ts';
import { createRedisEventBus } from './events/redis-bus.ts';
import { Scheduler } from './schedules/scheduler.ts';
import { localKey, parseKey } from './secrets/crypto.ts';
import { errorCodesPlugin } from './http/error-codes.ts';
import { handleExport, matchExportRoute } from './http/exports.ts';
import { idempotencyPlugin } from './http/idempotency.ts';
import { hardeningPlugins } from './http/limits.ts';
import { handleInboundWebhook, matchInboundWebhook } from './http/inbound-webhook.ts';
import { attachGraphQLWebSocket } from './http/websocket.ts';
import type { Logger } from './logger.ts';
import type { Permission } from './auth/permissions.ts';
import { ForbiddenError, WeftError } from './errors.ts';
import { unusedQueryPolicy } from './schema/builder.ts';
import { schema } from './schema/index.ts';

export interface AppDeps {
  config: Config;
  db: Database;
  log: Logger;
}

export interface App {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  engine: Engine;
  scheduler: Scheduler;
  bus: EventBus;
  /** Listens on the port (0 = any free port); resolves with the bound URL. */
  start(port?: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes sockets. */
  stop(): Promise<void>;
}

/** Echoes the request id (client-sent or generated) so logs and responses can be matched. */
function requestIdPlugin(): Plugin<Context> {
  return {
    onResponse({ request, response, serverContext }) {
      const id = (serverContext as { requestId?: string }).requestId ?? request.headers.get('x-request-id');
      if (id) response.headers.set('x-request-id', id);
    },
  };
}

const GRAPHIQL_DEFAULT_QUERY = `# Welcome to Weft. Every request needs credentials: put your API key in the
# Headers tab below as {"Authorization": "Bearer weft_live_…"}. On first start
# with the embedded database the admin key was printed on the console and
# written to .weft/admin-api-key.
query Me {
  viewer { kind role permissions workspace { name } }
}
`;

export function buildApp({ config, db, log }: AppDeps): App {
  unusedQueryPolicy.throw = config.env !== 'production';
  const redisBus = config.redisUrl ? createRedisEventBus(config.redisUrl, log.child({ component: 'events' })) : null;
  const bus: EventBus = redisBus ?? createMemoryEventBus();
  const secretsKey = config.secretsKey ? parseKey(config.secretsKey) : config.database.kind === 'pglite' && config.database.dataDir ? localKey(config.database.dataDir) : null;
  const serveApi = config.role !== 'worker';
  const runsWork = config.role !== 'serve';
  // Scheduler and dispatcher refer to each other (the scheduler starts runs through the engine,
  // the graphile dispatcher runs the scheduler's ticks as jobs): the closure breaks the cycle.
  let scheduler: Scheduler;
  if (db.kind === 'postgres' && config.database.kind !== 'postgres') throw new Error('buildApp: a PostgreSQL database needs config.database (DATABASE_URL) for graphile-worker');
  const dispatcher: Dispatcher =
    config.database.kind === 'postgres'
      ? new GraphileDispatcher({
          connectionString: config.database.url,
          prisma: db.prisma,
          log: log.child({ component: 'jobs' }),
          concurrency: config.engine.workerConcurrency,
          poolMax: config.database.poolMax,
          pollIntervalMs: config.engine.pollIntervalMs,
          shutdownTimeoutMs: config.shutdownTimeoutMs,
          scheduler: { intervalMs: config.engine.schedulerIntervalMs, tick: () => scheduler.tick() },
        })
      : new InProcessDispatcher({ workerConcurrency: config.engine.workerConcurrency, pollIntervalMs: config.engine.pollIntervalMs, log: log.child({ component: 'engine' }), now: () => new Date() });
  const outbound = createOutboundPolicy(config.steps.outboundAllow);
  const engine = new Engine({
    dispatcher,
    runsWork,
    prisma: db.prisma,
    log: log.child({ component: 'engine' }),
    bus,
    workerId: `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
    limits: { maxConcurrentRuns: config.engine.maxConcurrentRuns },
    workerConcurrency: config.engine.workerConcurrency,
    pollIntervalMs: config.engine.pollIntervalMs,
    leaseMs: config.engine.leaseMs,
    exclusive: db.kind === 'pglite',
    stepEnv: { ...config.steps, fetch: createOutboundFetch(outbound), resolveOutbound: (host) => outbound.resolve(host) },
    secretsKey,
  });
  scheduler = new Scheduler({ prisma: db.prisma, log: log.child({ component: 'scheduler' }), engine, bus, intervalMs: config.engine.schedulerIntervalMs });
  const authenticate = createAuthenticator({ prisma: db.prisma, jwt: config.auth.jwt ? createJwtVerifier(config.auth.jwt) : null, log: log.child({ component: 'auth' }) });
  const rateLimiter = config.redisUrl && serveApi
    ? createRedisRateLimiter(new Redis(config.redisUrl, { maxRetriesPerRequest: 1 }).on('error', (error) => log.warn({ err: error }, 'rate limit redis error')), config.auth.rateLimitPerMinute, config.auth.rateLimitBurst, log)
    : createRateLimiter(config.auth.rateLimitPerMinute, config.auth.rateLimitBurst);
  const contextDeps = { prisma: db.prisma, log, engine, bus, secretsKey, authenticate, rateLimiter };

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: config.graphiql ? { title: 'Weft', subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_DEFAULT_QUERY, headers: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2) } : false,
    context: (initial) => buildContext(contextDeps, initial as never),
    logging: {
      debug: (...args) => log.debug({ args }, 'yoga'),
      info: (...args) => log.info({ args }, 'yoga'),
      warn: (...args) => log.warn({ args }, 'yoga'),
      error: (...args) => log.error({ args }, 'yoga'),
    },
    maskedErrors: {
      maskError: (error, message) => {
        const masked = maskError(error, message, config.env === 'development');
        if ((masked as { extensions?: { code?: string } }).extensions?.code === 'INTERNAL_SERVER_ERROR') {
          log.error({ err: error }, 'unexpected error while executing a GraphQL operation');
        }
        return masked;
      },
    },
    plugins: [requestIdPlugin(), ...hardeningPlugins(config.limits), errorCodesPlugin(), idempotencyPlugin()],
  });

  let migrationsApplied = false;
  async function readiness(): Promise<{ ok: boolean; reason?: string }> {
    try {
      await db.prisma.$queryRaw`SELECT 1`;
    } catch (error) {
      return { ok: false, reason: `database unreachable: ${(error as Error).message}` };
    }
    if (!migrationsApplied) {
      const pending = await pendingMigrations(db);
      if (pending.length) return { ok: false, reason: `pending migrations: ${pending.join(', ')}` };
      migrationsApplied = true;
    }
    return { ok: true };
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  /** The same authentication and rate limit as GraphQL, for the plain HTTP routes (exports). */
  async function authorizeRestRequest(req: IncomingMessage, permission: Permission) {
    try {
      const principal = await authorize({ authenticate, rateLimiter }, { req });
      if (!principal.permissions.has(permission) || !principal.workspaceId) throw new ForbiddenError(`This needs the ${permission.toUpperCase()} permission`, true);
      return { ok: true as const, workspaceId: principal.workspaceId };
    } catch (error) {
      if (!(error instanceof WeftError)) throw error;
      const http = (error.extensions.http ?? {}) as { status?: number; headers?: Record<string, string> };
      const { http: _http, ...extensions } = error.extensions;
      return { ok: false as const, status: http.status ?? 400, headers: http.headers, body: { errors: [{ message: error.message, extensions }] } };
    }
  }

  const inFlight = new Set<ServerResponse>();
  let stopping = false;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? crypto.randomUUID();
    const url = req.url ?? '/';
    if (url === '/healthz') return sendJson(res, stopping ? 503 : 200, { status: stopping ? 'stopping' : 'ok' });
    if (url === '/readyz') {
      const ready = stopping ? { ok: false, reason: 'shutting down' } : await readiness();
      return sendJson(res, ready.ok ? 200 : 503, ready.ok ? { status: 'ready' } : { status: 'not ready', reason: ready.reason, role: config.role });
    }
    // A worker serves its health endpoints only: no API, no webhooks.
    if (!serveApi) return sendJson(res, 404, { errors: [{ message: 'This Weft process is a worker (WEFT_ROLE=worker): it serves /healthz and /readyz only', extensions: { code: 'NOT_FOUND' } }] });
    const hook = matchInboundWebhook(req.method, url.split('?')[0]!);
    if (hook) return handleInboundWebhook(req, res, hook, { prisma: db.prisma, engine, bus, maxBodyBytes: config.maxBodyBytes, secretsKey });
    const exportRoute = req.method === 'GET' ? matchExportRoute(url.split('?')[0]!) : null;
    if (exportRoute) {
      const authorized = await authorizeRestRequest(req, 'read');
      if (!authorized.ok) return sendJson(res, authorized.status, authorized.body, authorized.headers);
      return handleExport(res, exportRoute, { prisma: db.prisma, workspaceId: authorized.workspaceId });
    }
    if (url === '/' && req.method === 'GET') {
      res.writeHead(302, { location: '/graphql' });
      return res.end();
    }
    const declaredLength = Number(req.headers['content-length'] ?? 0);
    if (declaredLength > config.maxBodyBytes) {
      return sendJson(res, 413, { errors: [{ message: `Request body is larger than ${config.maxBodyBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    }
    return yoga(req, res, { requestId } as never);
  }

  const server: Server = createServer((req, res) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    const started = performance.now();
    res.on('finish', () => {
      log.info({ method: req.method, url: req.url, status: res.statusCode, ms: Math.round(performance.now() - started), requestId: res.getHeader('x-request-id') }, 'request');
    });
    handle(req, res).catch((error) => {
      log.error({ err: error }, 'request handler failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    });
  });

  const webSocket = serveApi ? attachGraphQLWebSocket(server, yoga, config.webSocket, log, authenticate) : { dispose: async () => {} };

  return {
    yoga,
    engine,
    scheduler,
    bus,
    async start(port = config.port, host = config.host) {
      // Only processes that execute steps run scripts (all, worker; not serve). Refuse to start
      // rather than fail every script later: bwrap may be missing, or present and unable to
      // create namespaces here. Nothing has started yet when this throws.
      if (runsWork && config.steps.scripts.enabled) await probeSandbox(config.steps.scripts);
      await redisBus?.ready;
      await engine.start();
      // With graphile-worker, schedules are ticked by a job (dispatch/graphile.ts).
      if (runsWork && dispatcher.kind === 'in-process') scheduler.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${shownHost}:${address.port}/graphql`, port: address.port };
    },
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await webSocket.dispose();
      const deadline = Date.now() + config.shutdownTimeoutMs;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (inFlight.size > 0) log.warn({ open: inFlight.size }, 'shutdown timeout reached; closing remaining connections');
      server.closeAllConnections();
      await closed;
      await scheduler.stop();
      await engine.stop(config.shutdownTimeoutMs);
      await redisBus?.close();
      await rateLimiter.close();
    },
  };
}
