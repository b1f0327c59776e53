// How the server serves the built web apps (no browser needed): content types, caching of
// hashed assets, client routes falling back to the monitor's index.html, no way out of the build
// folder, the API untouched, and a clear page when the build is missing.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { ROOT } from './helpers/process.ts';

let t: TestApp & { base: string };
beforeAll(async () => {
  t = await startServedTestApp();
});
afterAll(() => t?.close());

const assets = () => readdirSync(path.join(ROOT, 'web', 'dist', 'assets'));

describe('web apps', () => {
  it('serves the monitor at / and its client routes, revalidated, with a strict CSP', async () => {
    for (const route of ['/', '/runs', '/runs/UnVuOjE=', '/workflows/V29ya2Zsb3c6MQ==/diff?from=1&to=2']) {
      const res = await fetch(t.base + route);
      expect(res.status, route).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html;charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toMatch(
        /default-src 'self'.*script-src 'self'.*frame-ancestors 'none'/,
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await res.text();
      expect(html).toMatch(/<div id="root">/);
      expect(html).not.toMatch(/https?:\/\//);
    }
  });

  it('serves hashed assets with their type and a year of immutable caching, and answers ETags with 304', async () => {
    const js = assets().find((name) => name.endsWith('.js'))!;
    const css = assets().find((name) => name.endsWith('.css'))!;
    const script = await fetch(`${t.base}/assets/${js}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = script.headers.get('etag')!;
    await script.arrayBuffer();
    const again = await fetch(`${t.base}/assets/${js}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${t.base}/assets/${css}`)).headers.get('content-type')).toBe('text/css');
  });

  it('answers 404 for missing files and API-looking paths, and never leaves the build folder', async () => {
    for (const route of [
      '/assets/missing-abc123.js',
      '/api/nothing',
      '/hooks/nothing',
      '/../package.json',
      '/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/.built',
    ]) {
      const res = await fetch(t.base + route);
      const body = await res.text();
      expect(body, route).not.toMatch(/"dependencies"/);
      if (res.status === 200)
        expect(body, route).toMatch(/<div id="root">/); // the monitor, for a client route
      else expect(res.status, route).toBe(404);
    }
    expect((await fetch(`${t.base}/api/nothing`)).status).toBe(404);
    expect((await fetch(`${t.base}/assets/missing-abc123.js`)).status).toBe(404);
  });

  it('keeps /graphql an API for anything but a browser page request', async () => {
    const get = await fetch(`${t.base}/graphql?query=${encodeURIComponent('{ viewer { kind } }')}`, {
      headers: { ...t.authHeaders, 'x-weft-csrf': '1', accept: 'application/json' },
    });
    expect(await get.json()).toEqual({ data: { viewer: { kind: 'API_KEY' } } });
    const post = await fetch(`${t.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...t.authHeaders },
      body: JSON.stringify({ query: '{ viewer { kind } }' }),
    });
    expect(await post.json()).toEqual({ data: { viewer: { kind: 'API_KEY' } } });
    const other = await fetch(`${t.base}/anything`, { method: 'POST' });
    expect(other.status).toBe(404);
    expect((await other.json()).errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('says clearly at / and /graphql that the web apps are not built when the build is missing', {
    timeout: 120_000,
  }, async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'weft-web-'));
    const other = await startServedTestApp({ WEFT_WEB_DIR: empty });
    try {
      for (const route of ['/', '/runs/abc']) {
        const res = await fetch(other.base + route);
        expect(res.status).toBe(503);
        expect(await res.text()).toMatch(/web apps are not built.*npm run web:build/s);
      }
      const playground = await fetch(`${other.base}/graphql`, { headers: { accept: 'text/html' } });
      expect(playground.status).toBe(503);
      const api = await fetch(`${other.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...other.authHeaders },
        body: JSON.stringify({ query: '{ viewer { kind } }' }),
      });
      expect(await api.json()).toEqual({ data: { viewer: { kind: 'API_KEY' } } });
    } finally {
      await other.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('turns the monitor off with WEFT_MONITOR=false (/ then leads to the playground)', {
    timeout: 120_000,
  }, async () => {
    const other = await startServedTestApp({ WEFT_MONITOR: 'false' });
    try {
      const res = await fetch(`${other.base}/`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/graphql');
      expect((await fetch(`${other.base}/runs`)).status).toBe(404);
    } finally {
      await other.close();
    }
  });
});
