// buildApp(): the HTTP server with graphql-yoga (GraphQL over HTTP and SSE, GraphiQL),
// graphql-ws on the same /graphql path, and the HTTP routes (src/http/routes.ts). main.ts and tests use it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Config } from './config.ts';
import { createJwtVerifier } from './auth/jwt.ts';
import { createAuthenticator } from './auth/principal.ts';
import { Redis } from 'ioredis';
import { createRateLimiter, createRedisRateLimiter } from './auth/rate-limit.ts';
import { authorize, buildContext, type Context } from './context.ts';
import type { Database } from './db/client.ts';
import { pendingMigrations } from './db/migrate.ts';
import { createMemoryEventBus, type EventBus } from './events/log.ts';
import { Engine } from './engine/executor.ts';
import { GraphileDispatcher } from './engine/dispatch/graphile.ts';
import { InProcessDispatcher } from './engine/dispatch/in-process.ts';
import type { Dispatcher } from './engine/dispatch/types.ts';
import { createOutboundFetch, createOutboundPolicy } from './engine/outbound.ts';
import { probeSandbox } from './engine/steps/sandbox.ts';
import { createRedisEventBus, type RedisEventBus } from './events/redis-bus.ts';
import { Scheduler } from './schedules/scheduler.ts';
import { localKey, parseKey } from './secrets/crypto.ts';
import { errorCodesPlugin } from './http/error-codes.ts';
import { createFileStorage, type FileStorageHandle } from './files/storage.ts';
import { idempotencyPlugin } from './http/idempotency.ts';
import { hardeningPlugins } from './http/limits.ts';
import { createRoutes, handleRequest, type Readiness, type RouteDeps } from './http/routes.ts';
import { loggableUrl } from './http/wait-token.ts';
import { createWebApps } from './http/web.ts';
import { attachGraphQLWebSocket } from './http/websocket.ts';
import { inputGuardPlugin } from './http/input-guard.ts';
import { sendError } from './http/respond.ts';
import type { Logger } from './logger.ts';
import type { Permission } from './auth/permissions.ts';
import { coerceError, ForbiddenError, WeftError } from './errors.ts';
import { unusedQueryPolicy } from './schema/builder.ts';
import { schema } from './schema/index.ts';
import { createEngineObserver } from './observability/engine-observer.ts';
import { observabilityPlugin, operationOf } from './observability/graphql-plugin.ts';
import { startMetricsServer, type MetricsServer } from './observability/http.ts';
import { Metrics } from './observability/metrics.ts';
import { subscriptionFanoutPlugin } from './http/subscription-fanout.ts';
import { withTraceparent } from './observability/propagation.ts';
import { createScheduleObserver } from './observability/schedule-observer.ts';
import { createTracing, type Tracing } from './observability/tracing.ts';

/** The largest file a GraphQL multipart request carries (held in memory); larger ones use PUT /api/uploads. */
export const MAX_GRAPHQL_UPLOAD_BYTES = 32 * 1024 * 1024;

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
  /** Where uploads and attachments are stored. */
  files: FileStorageHandle;
  /** This process's Prometheus metrics (GET /metrics). */
  metrics: Metrics;
  tracing: Tracing;
  /** Listens on the port (0 = any free port); resolves with the bound URL. */
  start(port?: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes sockets. */
  stop(): Promise<void>;
  metricsUrl(): string | null;
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

/**
 * Start-up fails, within WEFT_REDIS_CONNECT_TIMEOUT_MS and with a message saying what to do,
 * when Redis cannot be reached: silently running without the cross-process event fan-out the
 * operator configured would lose live events. Once started, ioredis reconnects in the background.
 */
async function waitForRedis(bus: RedisEventBus, config: Config): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), config.redisConnectTimeoutMs)),
  );
  const outcome = await Promise.race([bus.ready.then(() => 'ready' as const), timeout]).finally(() =>
    clearTimeout(timer),
  );
  if (outcome === 'ready') return;
  await bus.close();
  const where = new URL(config.redisUrl!);
  throw new Error(
    `Redis at ${where.protocol}//${where.host} (REDIS_URL) did not answer within ${config.redisConnectTimeoutMs} ms. Start Redis, correct REDIS_URL, or unset it to run a single process without Redis.`,
  );
}

export function buildApp({ config, db, log }: AppDeps): App {
  unusedQueryPolicy.throw = config.env !== 'production';
  const redisBus = config.redisUrl
    ? createRedisEventBus(config.redisUrl, config.redisPrefix, log.child({ component: 'events' }))
    : null;
  const bus: EventBus = redisBus ?? createMemoryEventBus();
  const secretsKey = config.secretsKey
    ? parseKey(config.secretsKey)
    : config.secretsKeyFile && config.database.kind === 'pglite' && config.database.dataDir
      ? localKey(config.secretsKeyFile, path.join(path.dirname(config.database.dataDir), 'secrets.key'), log)
      : null;
  const serveApi = config.role !== 'worker';
  const runsWork = config.role !== 'serve';
  if (db.kind === 'postgres' && config.database.kind !== 'postgres')
    throw new Error('buildApp: a PostgreSQL database needs config.database (DATABASE_URL) for graphile-worker');
  const workerId = `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
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
          workerId,
        })
      : new InProcessDispatcher({
          workerConcurrency: config.engine.workerConcurrency,
          pollIntervalMs: config.engine.pollIntervalMs,
          log: log.child({ component: 'engine' }),
          now: () => new Date(),
        });
  const outbound = createOutboundPolicy(config.steps.outboundAllow);
  const files = createFileStorage(config.files);
  const tracing = createTracing(config.observability.tracing);
  const metrics = new Metrics({
    workflowLabel: config.observability.metrics.workflowLabel,
    labelCap: config.observability.metrics.labelCap,
    probes: {
      queuedRuns: () => db.prisma.run.count({ where: { status: 'QUEUED' } }),
      pendingJobs:
        db.kind === 'postgres'
          ? async () =>
              (await db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM graphile_worker.jobs`)[0]?.n ??
              0
          : undefined,
      pool: () => db.poolStats(),
    },
  });
  // Wait-token URLs use WEFT_PUBLIC_URL, else the address the server listens on (known at start).
  let boundOrigin = `http://${config.host}:${config.port}`;
  const engine = new Engine({
    dispatcher,
    runsWork,
    prisma: db.prisma,
    log: log.child({ component: 'engine' }),
    bus,
    workerId,
    limits: { maxConcurrentRuns: config.engine.maxConcurrentRuns },
    workerConcurrency: config.engine.workerConcurrency,
    pollIntervalMs: config.engine.pollIntervalMs,
    leaseMs: config.engine.leaseMs,
    // Two connections stay free for lease renewals, maintenance reads and the API.
    maxTransactions: config.database.kind === 'postgres' ? Math.max(1, config.database.poolMax - 2) : undefined,
    exclusive: db.kind === 'pglite',
    stepEnv: {
      ...config.steps,
      fetch: withTraceparent(createOutboundFetch(outbound)),
      resolveOutbound: (host) => outbound.resolve(host),
    },
    secretsKey,
    observer: createEngineObserver({
      metrics,
      tracing,
      prisma: db.prisma,
      log: log.child({ component: 'observability' }),
    }),
    publicUrl: () => config.publicUrl ?? boundOrigin,
    stepLogFlushMs: config.live.stepLogFlushMs,
    files,
  });
  const scheduler = new Scheduler({
    prisma: db.prisma,
    log: log.child({ component: 'scheduler' }),
    engine,
    bus,
    secretsKey,
    intervalMs: config.engine.schedulerIntervalMs,
    observer: createScheduleObserver(metrics, tracing),
  });
  if (runsWork) dispatcher.driveSchedules(scheduler);
  const authenticate = createAuthenticator({
    prisma: db.prisma,
    jwt: config.auth.jwt ? createJwtVerifier(config.auth.jwt) : null,
    log: log.child({ component: 'auth' }),
    apiKeyCacheMs: config.auth.apiKeyCacheMs,
  });
  const rateLimiter =
    config.redisUrl && serveApi
      ? createRedisRateLimiter(
          new Redis(config.redisUrl, { maxRetriesPerRequest: 1 }).on('error', (error) =>
            log.warn({ err: error }, 'rate limit redis error'),
          ),
          config.redisPrefix,
          config.auth.rateLimitPerMinute,
          config.auth.rateLimitBurst,
          log,
        )
      : createRateLimiter(config.auth.rateLimitPerMinute, config.auth.rateLimitBurst);
  const contextDeps = {
    prisma: db.prisma,
    log,
    engine,
    bus,
    secretsKey,
    live: config.live,
    authenticate,
    rateLimiter,
    files,
  };

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // The playground is Weft's own build of GraphiQL (src/http/web.ts): yoga's loads from a CDN.
    graphiql: false,
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
    // inputGuardPlugin after the hardening plugins: graphql-armor replaces the parse function for its
    // token limit, and the guard's refusal of over-nested text must be the one that stays.
    // Each subscription event is executed once per group of identical operations in one permission
    // scope, with a context object of its own (a shallow copy): the batching loaders the Pothos
    // plugins keep per context object would otherwise serve every push of a long subscription
    // (runUpdated) what they cached for the first one (src/http/subscription-fanout.ts).
    plugins: [
      observabilityPlugin(metrics, tracing),
      requestIdPlugin(),
      ...hardeningPlugins(config.limits),
      inputGuardPlugin(),
      errorCodesPlugin(),
      idempotencyPlugin(),
      subscriptionFanoutPlugin(metrics),
    ],
  });

  let migrationsApplied = false;
  async function readiness(): Promise<Readiness> {
    try {
      await db.prisma.$queryRaw`SELECT 1`;
    } catch (error) {
      return { ok: false, reason: `database unreachable: ${coerceError(error).message}` };
    }
    if (!migrationsApplied) {
      const pending = await pendingMigrations(db);
      if (pending.length) return { ok: false, reason: `pending migrations: ${pending.join(', ')}` };
      migrationsApplied = true;
    }
    if (redisBus && !redisBus.connected())
      return {
        ok: true,
        degraded: ['redis: disconnected, reconnecting (live events from other processes are not received meanwhile)'],
      };
    return { ok: true };
  }

  /** The same authentication and rate limit as GraphQL, for the plain HTTP routes (exports). */
  async function authorizeRestRequest(
    req: IncomingMessage,
    permission: Permission,
  ): Promise<{ workspaceId: string; actor: { kind: 'user' | 'apiKey'; id: string } } | WeftError> {
    try {
      const principal = await authorize({ authenticate, rateLimiter }, { req });
      if (!principal.permissions.has(permission) || !principal.workspaceId)
        throw new ForbiddenError(`This needs the ${permission.toUpperCase()} permission`, true);
      return { workspaceId: principal.workspaceId, actor: { kind: principal.kind, id: principal.id } };
    } catch (error) {
      if (error instanceof WeftError) return error;
      throw error;
    }
  }

  const web = createWebApps(config.web.dir);
  const inFlight = new Set<ServerResponse>();
  let stopping = false;

  const routeDeps: RouteDeps = {
    role: config.role,
    serveApi,
    stopping: () => stopping,
    readiness,
    authorize: authorizeRestRequest,
    prisma: db.prisma,
    engine,
    bus,
    secretsKey,
    maxBodyBytes: config.maxBodyBytes,
    metrics,
    metricsToken: config.observability.metrics.token,
    tracing,
    yoga,
    web,
    graphiql: config.graphiql,
    monitor: config.web.monitor,
    files,
    graphqlUploadLimitBytes: Math.min(config.files.maxUploadBytes, MAX_GRAPHQL_UPLOAD_BYTES),
  };
  const routes = createRoutes(routeDeps);

  const server: Server = createServer((req, res) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    const started = performance.now();
    res.on('finish', () => {
      log.info(
        {
          method: req.method,
          url: loggableUrl(req.url),
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          requestId: res.getHeader('x-request-id'),
          operationName: operationOf(req),
        },
        'request',
      );
    });
    handleRequest(routes, routeDeps, req, res).catch((error) => {
      log.error({ err: error }, 'request handler failed');
      if (!res.headersSent) sendError(res, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy();
    });
  });

  const webSocket = serveApi
    ? attachGraphQLWebSocket(
        server,
        yoga,
        { ...config.webSocket, maxMessageBytes: config.maxBodyBytes },
        log,
        authenticate,
        metrics,
      )
    : { dispose: async () => {} };

  let metricsServer: MetricsServer | null = null;

  return {
    yoga,
    engine,
    scheduler,
    bus,
    files,
    metrics,
    tracing,
    async start(port = config.port, host = config.host) {
      // Only processes that execute steps run scripts (all, worker; not serve). Refuse to start
      // rather than fail every script later: bwrap may be missing, or present and unable to
      // create namespaces here. Nothing has started yet when this throws.
      if (runsWork && config.steps.scripts.enabled) await probeSandbox(config.steps.scripts);
      if (redisBus) await waitForRedis(redisBus, config);
      await engine.start();
      if (runsWork) files.start(db.prisma, log.child({ component: 'files' }));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { port: metricsPort, host: metricsHost, token } = config.observability.metrics;
      if (metricsPort !== null) {
        metricsServer = await startMetricsServer(metrics, { host: metricsHost, port: metricsPort, token });
        log.info({ metricsUrl: metricsServer.url }, 'metrics are served on their own port');
      }
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      boundOrigin = `http://${shownHost}:${address.port}`;
      return { url: `http://${shownHost}:${address.port}/graphql`, port: address.port };
    },
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await webSocket.dispose();
      const deadline = Date.now() + config.shutdownTimeoutMs;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (inFlight.size > 0)
        log.warn({ open: inFlight.size }, 'shutdown timeout reached; closing remaining connections');
      server.closeAllConnections();
      await closed;
      await scheduler.stop();
      await engine.stop(config.shutdownTimeoutMs);
      await redisBus?.close();
      await rateLimiter.close();
      await metricsServer?.close();
      metrics.close();
      await tracing.shutdown();
      await files.close();
    },
    /** The WEFT_METRICS_PORT listener's URL, once started (null: none). */
    metricsUrl: () => metricsServer?.url ?? null,
  };
}
