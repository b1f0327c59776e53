// Serving /metrics: on the main port (API or worker health port) only behind
// WEFT_METRICS_TOKEN, and on WEFT_METRICS_PORT, a listener of its own (loopback by default) for
// Prometheus in the same network namespace or a worker that should not expose its health port.
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendError } from '../http/respond.ts';
import type { Metrics } from './metrics.ts';

function sameSecret(a: string, b: string): boolean {
  // Hash both so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Answers a /metrics request. `token` null on the main port means metrics are not served there
 * (404 naming the settings); on the metrics port it means no token is asked for.
 */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: Metrics,
  token: string | null,
  where: 'main' | 'metrics-port',
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return sendError(res, 'METHOD_NOT_ALLOWED', 'GET /metrics', { headers: { allow: 'GET, HEAD' } });
  if (where === 'main' && token === null)
    return sendError(
      res,
      'NOT_FOUND',
      'Metrics are not served on this port: set WEFT_METRICS_TOKEN (bearer token for /metrics here) or WEFT_METRICS_PORT (a listener of their own)',
    );
  if (token !== null) {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!given || !sameSecret(given, token))
      return sendError(res, 'UNAUTHENTICATED', 'GET /metrics needs Authorization: Bearer <WEFT_METRICS_TOKEN>', {
        headers: { 'www-authenticate': 'Bearer realm="weft-metrics"' },
      });
  }
  const { body, contentType } = await metrics.text();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** The WEFT_METRICS_PORT listener: /metrics and nothing else. */
export async function startMetricsServer(
  metrics: Metrics,
  options: { host: string; port: number; token: string | null },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return sendError(res, 'NOT_FOUND', 'This port serves /metrics only');
    serveMetrics(req, res, metrics, options.token, 'metrics-port').catch(() => {
      if (!res.headersSent) sendError(res, 'INTERNAL_SERVER_ERROR', 'Collecting metrics failed');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
