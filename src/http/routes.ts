// The HTTP routes of a Weft process, in the order they are tried. Each REST route's module
// matches its own paths and answers with the one REST error body (respond.ts); GraphQL (yoga)
// and the web apps take what no route claims. app.ts builds the dependencies and hands every
// request to handleRequest with the table createRoutes built once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Permission } from '../auth/permissions.ts';
import type { Context } from '../context.ts';
import type { PrismaClient } from '../db/client.ts';
import { WeftError } from '../errors.ts';
import type { EventBus } from '../events/log.ts';
import { serveMetrics } from '../observability/http.ts';
import type { Metrics } from '../observability/metrics.ts';
import { observeInboundWebhook } from '../observability/propagation.ts';
import type { Tracing } from '../observability/tracing.ts';
import type { Actor, EngineHandle } from '../scope.ts';
import type { FileStorage } from '../files/service.ts';
import { handleExport, matchExportRoute } from './exports.ts';
import { handleDownload, handleUpload, matchFilesRoute } from './files.ts';
import { handleInboundWebhook, matchInboundWebhook } from './inbound-webhook.ts';
import { normaliseRequestTarget, readBody } from './request.ts';
import { sendError, sendJson, sendWeftError } from './respond.ts';
import { handleWaitToken, matchWaitTokenRoute } from './wait-token.ts';
import type { WebApps } from './web.ts';

export interface Readiness {
  ok: boolean;
  reason?: string;
  degraded?: string[];
}

export interface RouteDeps {
  role: string;
  /** False for a worker process: it serves health and metrics only. */
  serveApi: boolean;
  stopping: () => boolean;
  readiness: () => Promise<Readiness>;
  /** The same authentication and rate limit as GraphQL: the caller's workspace, or the error to send. */
  authorize: (
    req: IncomingMessage,
    permission: Permission,
  ) => Promise<{ workspaceId: string; actor: Actor } | WeftError>;
  prisma: PrismaClient;
  engine: EngineHandle;
  bus: EventBus;
  secretsKey: Buffer | null;
  maxBodyBytes: number;
  metrics: Metrics;
  metricsToken: string | null;
  tracing: Tracing;
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  web: WebApps;
  graphiql: boolean;
  monitor: boolean;
  files: FileStorage;
  /** The largest file a GraphQL multipart request may carry (yoga holds it in memory). */
  graphqlUploadLimitBytes: number;
}

/** A route: `match` says whether it takes the request (and what it parsed from the path). */
interface Route<T = unknown> {
  /** Served by worker processes too (health, metrics). */
  everyRole?: true;
  match(req: IncomingMessage, path: string, target: { pathname: string; search: string }): T | undefined;
  handle(req: IncomingMessage, res: ServerResponse, matched: T): unknown;
}

const route = <T>(r: Route<T>) => r as Route;
const exactPath = (expected: string) => (_req: IncomingMessage, path: string) => (path === expected ? true : undefined);

export function createRoutes(deps: RouteDeps): Route[] {
  return [
    route({
      everyRole: true,
      match: exactPath('/healthz'),
      handle: (_req, res) =>
        sendJson(res, deps.stopping() ? 503 : 200, { status: deps.stopping() ? 'stopping' : 'ok' }),
    }),
    route({
      everyRole: true,
      match: exactPath('/readyz'),
      handle: async (_req, res) => {
        const ready = deps.stopping() ? { ok: false, reason: 'shutting down' } : await deps.readiness();
        if (ready.ok) sendJson(res, 200, { status: 'ready', ...(ready.degraded ? { degraded: ready.degraded } : {}) });
        else sendJson(res, 503, { status: 'not ready', reason: ready.reason, role: deps.role });
      },
    }),
    route({
      everyRole: true,
      match: exactPath('/metrics'),
      handle: (req, res) => serveMetrics(req, res, deps.metrics, deps.metricsToken, 'main'),
    }),
    route<string | null>({
      match: (_req, path) => matchWaitTokenRoute(path),
      handle: (req, res, token) =>
        handleWaitToken(req, res, token, { prisma: deps.prisma, engine: deps.engine, maxBodyBytes: deps.maxBodyBytes }),
    }),
    route<string | null>({
      match: (req, path) => matchInboundWebhook(req.method, path),
      handle: (req, res, hook) =>
        observeInboundWebhook(req, res, deps, async () => {
          if (hook === null) return sendError(res, 'NOT_FOUND', 'No webhook-triggered workflow at this address');
          return handleInboundWebhook(req, res, hook, {
            prisma: deps.prisma,
            engine: deps.engine,
            bus: deps.bus,
            maxBodyBytes: deps.maxBodyBytes,
            secretsKey: deps.secretsKey,
          });
        }),
    }),
    route({
      match: (req, path) => (req.method === 'GET' ? matchExportRoute(path) : undefined),
      handle: async (req, res, exportRoute) => {
        if (exportRoute === null) return sendError(res, 'NOT_FOUND', 'No run at this address');
        const authorized = await deps.authorize(req, 'read');
        if (authorized instanceof WeftError) return sendWeftError(res, authorized);
        return handleExport(res, exportRoute, { prisma: deps.prisma, workspaceId: authorized.workspaceId });
      },
    }),
    route({
      match: (req, path, target) => {
        const filesRoute = matchFilesRoute(req.method, path);
        return filesRoute && { ...filesRoute, search: target.search };
      },
      handle: async (req, res, filesRoute) => {
        const authorized = await deps.authorize(req, filesRoute.kind === 'upload' ? 'write' : 'read');
        if (authorized instanceof WeftError) return sendWeftError(res, authorized);
        const scope = { prisma: deps.prisma, ...authorized };
        if (filesRoute.kind === 'upload') return handleUpload(req, res, filesRoute.search, scope, deps.files);
        return handleDownload(req, res, filesRoute.ref, scope, deps.files);
      },
    }),
    route({ match: exactPath('/graphql'), handle: (req, res) => serveGraphQL(deps, req, res) }),
  ];
}

async function serveGraphQL(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (deps.graphiql && deps.web.wantsPlayground(req)) return deps.web.servePlayground(req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    // Read here, within the limit, whatever the framing: a chunked body declares no length.
    // A GraphQL multipart request (file uploads) may be larger, up to its own limit: yoga holds
    // its files in memory, so big files go through PUT /api/uploads, which streams.
    const multipart = /^multipart\/form-data/i.test(req.headers['content-type'] ?? '');
    const limit = multipart ? deps.maxBodyBytes + deps.graphqlUploadLimitBytes : deps.maxBodyBytes;
    const body = await readBody(req, limit);
    if (body === null)
      return sendError(
        res,
        'PAYLOAD_TOO_LARGE',
        `Request body is larger than ${limit} bytes${multipart ? ' (send large files with PUT /api/uploads)' : ''}`,
        { headers: { connection: 'close' } },
      );
    // The fetch-API adapter uses a body a framework already read instead of the consumed stream.
    if (body.length > 0) (req as IncomingMessage & { body?: Buffer }).body = body;
  }
  const requestId = (req.headers['x-request-id'] as string | undefined) ?? crypto.randomUUID();
  await deps.yoga(req, res, { requestId } as never);
}

/** Every page that is not a route is the monitor's (a file of its build or one of its client routes); API-like paths are not. */
function serveFallback(deps: RouteDeps, req: IncomingMessage, res: ServerResponse, path: string) {
  const page =
    (req.method === 'GET' || req.method === 'HEAD') && !path.startsWith('/api/') && !path.startsWith('/hooks/');
  if (page && deps.monitor) return deps.web.serveMonitor(req, res);
  if (page && path === '/' && deps.graphiql) {
    res.writeHead(302, { location: '/graphql' });
    res.end();
    return;
  }
  return sendError(res, 'NOT_FOUND', `Nothing at ${req.method} ${path}: the API is at /graphql`);
}

/** Answers one request: the first route that matches, else GraphQL's playground or the monitor. */
export async function handleRequest(
  routes: Route[],
  deps: RouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const target = normaliseRequestTarget(req);
  if (!target) return sendError(res, 'BAD_REQUEST', 'The request target is not a valid URL path');
  const path = target.pathname;
  for (const candidate of routes) {
    if (!candidate.everyRole && !deps.serveApi) continue;
    const matched = candidate.match(req, path, target);
    if (matched !== undefined) {
      await candidate.handle(req, res, matched);
      return;
    }
  }
  // A worker serves its health endpoints and metrics only: no API, no webhooks.
  if (!deps.serveApi)
    return sendError(
      res,
      'NOT_FOUND',
      'This Weft process is a worker (WEFT_ROLE=worker): it serves /healthz, /readyz and /metrics only',
    );
  return serveFallback(deps, req, res, path);
}
