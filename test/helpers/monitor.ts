// Driving the run monitor as a person would: sign in through the form, read what the page shows;
// and the setup the monitor's browser tests share (a served app and Chromium).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { startServedTestApp, type TestApp } from './app.ts';
import { useBrowser, type BrowserPage, type BrowserSession } from './browser.ts';

export async function signIn(page: Page, base: string, key: string) {
  await page.goto(`${base}/`);
  await page.getByLabel('API key or token').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** The status each DAG node shows, by step id. */
export async function nodeStatuses(page: Page): Promise<Record<string, string>> {
  const nodes = await page
    .locator('[data-step]')
    .evaluateAll((elements) => elements.map((e) => [e.getAttribute('data-step')!, e.getAttribute('data-status')!]));
  return Object.fromEntries(nodes);
}

/** Waits (bounded) until every node of the run page's DAG shows `status`. */
export async function expectAllNodes(page: Page, status: string, count: number, timeout = 30_000) {
  await expect
    .poll(async () => Object.values(await nodeStatuses(page)), { timeout, interval: 100 })
    .toEqual(Array(count).fill(status));
}

/** The event log's header, e.g. "12 events · last #12 · complete". */
export async function eventSummary(page: Page): Promise<string> {
  return (await page.getByTestId('event-count').innerText()).trim();
}

/** A mark that survives only as long as the document does: proves a page updated without reloading. */
export async function markDocument(page: Page) {
  await page.evaluate(() => ((window as unknown as { weftTestMark: boolean }).weftTestMark = true));
}

export async function documentMarked(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { weftTestMark?: boolean }).weftTestMark === true);
}

/** expect.poll options for what the page shows: pages load and runs progress on a busy machine. */
export const SHOWN = { timeout: 20_000, interval: 100 };

export interface MonitorSession {
  browser: BrowserSession;
  /** The served app, started before the file's first test and closed after its last. */
  readonly t: TestApp & { base: string };
  /** A page in a fresh context, signed in through the form as `key` (default: the admin key). */
  signedIn(key?: string): Promise<BrowserPage>;
  /** The run page of a run. */
  runUrl(runId: string): string;
}

/** Registers the file's hooks: Chromium (useBrowser) and a Weft served on a loopback port with `env`. */
export function useMonitor(env: Record<string, string> = {}): MonitorSession {
  const browser = useBrowser();
  let served: (TestApp & { base: string }) | undefined;
  beforeAll(async () => {
    served = await startServedTestApp(env);
  });
  afterAll(() => served?.close());
  const session: MonitorSession = {
    browser,
    get t() {
      if (!served) throw new Error('the served app is not started yet (use it inside a test)');
      return served;
    },
    async signedIn(key) {
      const p = await browser.open();
      await signIn(p.page, session.t.base, key ?? session.t.apiKey);
      return p;
    },
    runUrl: (runId) => `${session.t.base}/runs/${encodeURIComponent(runId)}`,
  };
  return session;
}
