// A real Chromium (Debian's, driven by playwright-core: no browser download) for the web tests.
// One browser per test file; every page gets a fresh context (empty storage) in which any
// request to a host other than loopback is aborted and recorded, so a test fails if the apps
// try to load anything from a CDN. Failed tests leave a screenshot in test/screenshots/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { ROOT } from './process.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'test', 'screenshots');

// Flags from the machine notes: no sandbox (root in a container), no GPU, nothing that phones home.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface BrowserPage {
  page: Page;
  context: BrowserContext;
  /** URLs of every request to another host that was attempted (and aborted). */
  blocked: string[];
  /** Console errors and page errors (a CSP violation shows up here). */
  errors: string[];
}

export interface BrowserSession {
  /** A page in a fresh context; `init` runs before any page script (e.g. to seed sessionStorage). */
  open(options?: { init?: string }): Promise<BrowserPage>;
  /** Fails the test if a page attempted a non-loopback request or logged an error (except the allowed ones). */
  expectClean(p: BrowserPage, allow?: RegExp[]): void;
}

/** Registers the file's hooks: launch Chromium once, close every context after each test, screenshot failures. */
export function useBrowser(): BrowserSession {
  let browser: Browser;
  let open: BrowserPage[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(({ task }) => async () => {
    // Runs after the test, before anything else tears down: the pages are still there to show.
    if (task.result?.state === 'fail') {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const name = task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
      await Promise.all(
        open.map((p, i) =>
          p.page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${i}.png`), fullPage: true }).catch(() => {}),
        ),
      );
    }
    await Promise.all(open.map((p) => p.context.close().catch(() => {})));
    open = [];
  });

  return {
    async open(options = {}) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const blocked: string[] = [];
      const errors: string[] = [];
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.protocol === 'data:' || url.protocol === 'blob:' || LOOPBACK.has(url.hostname)) return route.continue();
        blocked.push(url.toString());
        return route.abort('blockedbyclient');
      });
      if (options.init) await context.addInitScript(options.init);
      const page = await context.newPage();
      page.on('websocket', (ws) => {
        if (!LOOPBACK.has(new URL(ws.url()).hostname)) blocked.push(ws.url());
      });
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`));
      page.setDefaultTimeout(15_000);
      const opened = { page, context, blocked, errors };
      open.push(opened);
      return opened;
    },
    expectClean(p, allow = []) {
      expect(p.blocked, 'requests to hosts other than loopback').toEqual([]);
      expect(
        p.errors.filter((e) => !allow.some((re) => re.test(e))),
        'console errors',
      ).toEqual([]);
    },
  };
}

/** sessionStorage as the monitor leaves it after signing in (for pages that start signed in). */
export function signedInScript(token: string, workspaceId: string | null = null): string {
  return `sessionStorage.setItem('weft.session', ${JSON.stringify(JSON.stringify({ token, workspaceId }))});`;
}
