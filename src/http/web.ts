// Serves the browser apps built into web/dist (by `npm install`, see scripts/build-web.ts): the
// run monitor at / — static files, and index.html for its client-side routes — and the GraphQL
// playground, which browsers get at /graphql. sirv serves only files that exist in the build
// (indexed when first needed, so no path can escape the folder), with content types, ETags,
// long-lived caching for the content-hashed files under /assets and revalidation for the rest.
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import sirv from 'sirv';
import { sendError } from './respond.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

const YEAR_SECONDS = 31_536_000;

// Everything the apps load comes from Weft itself; the only other origin they talk to is the
// WebSocket on the same host ('self' covers ws: and wss: in CSP 3). Monaco (the playground's
// editor) and React set inline style attributes, hence 'unsafe-inline' for styles only.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function setSecurityHeaders(res: ServerResponse) {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

export interface WebApps {
  /** A browser asking for a page at /graphql (GET with Accept: text/html) gets the playground. */
  wantsPlayground(req: IncomingMessage): boolean;
  servePlayground(req: IncomingMessage, res: ServerResponse): void;
  /** GET/HEAD of any other path: a file of the build, or the monitor's index.html for its routes. */
  serveMonitor(req: IncomingMessage, res: ServerResponse): void;
}

export function createWebApps(dir: string): WebApps {
  let handler: Handler | null = null;
  // Built lazily, and again later if the build was missing: a server started before
  // `npm run web:build` finished picks the build up without a restart.
  function files(): Handler | null {
    if (handler) return handler;
    if (!existsSync(path.join(dir, 'index.html'))) return null;
    handler = sirv(dir, {
      single: true,
      etag: true,
      gzip: false,
      setHeaders(res, pathname) {
        res.setHeader(
          'Cache-Control',
          pathname.startsWith('/assets/') ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache',
        );
        setSecurityHeaders(res);
      },
    }) as Handler;
    return handler;
  }

  function notBuilt(res: ServerResponse) {
    setSecurityHeaders(res);
    res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Weft: web apps not built</title></head><body>
<h1>Weft's web apps are not built</h1>
<p>The run monitor and the GraphQL playground are built by <code>npm install</code> (and by <code>npm start</code> when they are missing or stale). Build them now with <code>npm run web:build</code> — this page then works without a restart.</p>
<p>Looked in: <code>${escapeHtml(dir)}</code> (<code>WEFT_WEB_DIR</code>).</p>
<p>The GraphQL API itself works without them: POST to <code>/graphql</code>.</p>
</body></html>`);
  }

  return {
    wantsPlayground(req) {
      return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    },
    servePlayground(req, res) {
      const serve = files();
      if (!serve) return notBuilt(res);
      // sirv reads only the URL and the conditional/range headers of the request it is given.
      serve({ url: '/playground.html', headers: req.headers, method: req.method } as IncomingMessage, res, () =>
        notBuilt(res),
      );
    },
    serveMonitor(req, res) {
      const serve = files();
      if (!serve) return notBuilt(res);
      serve(req, res, () => sendError(res, 'NOT_FOUND', 'No such file in the web app build'));
    },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
