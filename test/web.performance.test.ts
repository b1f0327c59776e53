// The monitor's budgets, measured: the JavaScript a first visit downloads (gzipped, ≤ 250 KB),
// the run page's first paint with a warm server (printed), and a run with 50,000 events, which
// streams into a virtualised log that keeps only the visible rows in the page.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { signedInScript, useBrowser } from './helpers/browser.ts';
import { eventSummary } from './helpers/monitor.ts';
import { ROOT } from './helpers/process.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';

const browser = useBrowser();
let t: TestApp & { base: string };
beforeAll(async () => {
  t = await startServedTestApp();
});
afterAll(() => t?.close());

const DIST = path.join(ROOT, 'web', 'dist');
const BUDGET_BYTES = 250 * 1024;

/** The scripts index.html loads before anything else: its entry and the chunks it preloads. */
function initialScripts(): string[] {
  const html = readFileSync(path.join(DIST, 'index.html'), 'utf8');
  const urls = [
    ...html.matchAll(/<script[^>]+src="([^"]+\.js)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g),
  ].map((m) => m[1]!);
  return [...new Set(urls)];
}

describe('monitor budgets', { timeout: 120_000 }, () => {
  it('loads at most 250 KB of gzipped JavaScript on a first visit', () => {
    const scripts = initialScripts();
    expect(scripts.length).toBeGreaterThan(0);
    const sizes = scripts.map((url) => {
      const bytes = readFileSync(path.join(DIST, url));
      return { url, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
    const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
    console.log(
      `monitor initial JavaScript: ${sizes.map((s) => `${path.basename(s.url)} ${(s.gzip / 1024).toFixed(1)} KB`).join(', ')}; total ${(total / 1024).toFixed(1)} KB gzipped (${(sizes.reduce((sum, s) => sum + s.raw, 0) / 1024).toFixed(0)} KB raw), budget 250 KB`,
    );
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
    // The playground (Monaco) and the graph layout are not part of it.
    expect(readFileSync(path.join(DIST, 'index.html'), 'utf8')).not.toMatch(/monaco|playground|dagre/);
  });

  it('paints the run page quickly with a warm server (measured and printed)', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [
        { id: 'a', type: 'condition', config: { expression: 'true' } },
        { id: 'b', type: 'condition', dependsOn: ['a'], config: { expression: 'true' } },
      ],
    });
    const runId = await startRun(t, workflowId);
    await waitForRun(t, runId);
    const url = `${t.base}/runs/${encodeURIComponent(runId)}`;
    const warm = await browser.open({ init: signedInScript(t.apiKey) });
    await warm.page.goto(url);
    await warm.page.locator('[data-step="b"][data-status="COMPLETED"]').waitFor();

    // A first visit: a new browser context (empty cache), the server warm.
    const p = await browser.open({ init: signedInScript(t.apiKey) });
    await p.page.goto(url);
    await p.page.locator('[data-step="b"][data-status="COMPLETED"]').waitFor();
    const timing = await p.page.evaluate(() => ({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      dag: performance.now(),
    }));
    console.log(
      `run page: first contentful paint ${timing.fcp?.toFixed(0)} ms, DAG with statuses drawn by ${timing.dag.toFixed(0)} ms (cold browser cache, warm server)`,
    );
    expect(timing.fcp).not.toBeNull();
    browser.expectClean(p);
  });

  it('streams a run with 50,000 events into a virtualised log that stays responsive', {
    timeout: 300_000,
  }, async () => {
    const workflowId = await createWorkflow(t, {
      steps: [{ id: 'chatty', type: 'condition', config: { expression: 'true' } }],
    });
    const runId = await startRun(t, workflowId);
    await waitForRun(t, runId);
    const total = await withManyEvents(runId, 50_000);

    // The longest main-thread task while the events stream in (a frozen page shows up here).
    const observeLongTasks = `window.longest = 0; new PerformanceObserver((l) => l.getEntries().forEach((e) => (window.longest = Math.max(window.longest, e.duration)))).observe({ type: 'longtask', buffered: true });`;
    const p = await browser.open({ init: signedInScript(t.apiKey) + observeLongTasks });
    const started = Date.now();
    await p.page.goto(`${t.base}/runs/${encodeURIComponent(runId)}`);
    await expect
      .poll(() => eventSummary(p.page), { timeout: 240_000, interval: 250 })
      .toBe(`${total.toLocaleString('en-US')} events · last #${total} · complete`);
    const streamedMs = Date.now() - started;

    // Only what is in view (plus a little overscan) exists in the page.
    const rows = await p.page.locator('.event-row').count();
    expect(rows).toBeGreaterThan(5);
    expect(rows).toBeLessThan(100);
    await p.page.locator(`[data-seq="${total}"]`).waitFor(); // follow mode: the newest is in view

    // Still responsive: selecting a step answers promptly, and the log scrolls back to the start.
    const clicked = Date.now();
    await p.page.getByRole('button', { name: 'Step chatty: COMPLETED' }).click();
    await p.page.getByLabel('Step chatty').getByRole('heading', { name: 'chatty' }).waitFor();
    const panelMs = Date.now() - clicked;
    await p.page.getByRole('log', { name: 'Event log' }).evaluate((el) => el.scrollTo({ top: 0 }));
    await p.page.locator('[data-seq="1"]').waitFor();
    expect(await p.page.getByLabel('Follow').isChecked()).toBe(true); // our own scrolling, not the reader's
    const longest = await p.page.evaluate(() => (window as unknown as { longest: number }).longest);
    console.log(
      `50,000 events: ${total} streamed and shown in ${streamedMs} ms; ${rows} rows in the page; step panel opened in ${panelMs} ms; longest main-thread task ${longest.toFixed(0)} ms`,
    );
    expect(await p.page.locator('.event-row').count()).toBeLessThan(100);
    browser.expectClean(p);
  });
});

/**
 * Gives a finished run `count` more events (STEP_LOG lines) before its terminal event, straight in
 * the database: executing a loop that writes 50,000 events would take minutes here. Returns the
 * run's new event count.
 */
async function withManyEvents(runGlobalId: string, count: number): Promise<number> {
  const runId = rawId(runGlobalId);
  const prisma = t.db.prisma;
  const last = await prisma.runEvent.findFirstOrThrow({ where: { runId }, orderBy: { seq: 'desc' } });
  expect(last.type).toBe('RUN_COMPLETED');
  await prisma.$transaction([
    prisma.runEvent.update({ where: { id: last.id }, data: { seq: last.seq + count } }),
    prisma.$executeRawUnsafe(
      `INSERT INTO "RunEvent" ("workspaceId", "runId", seq, type, "stepId", data, "createdAt")
       SELECT $1::uuid, $2::uuid, $3::int + g - 1, 'STEP_LOG', 'chatty', jsonb_build_object('lines', jsonb_build_array('log line ' || g)), now()
       FROM generate_series(1, $4::int) AS g`,
      last.workspaceId,
      runId,
      last.seq,
      count,
    ),
    prisma.run.update({ where: { id: runId }, data: { lastEventSeq: last.seq + count } }),
  ]);
  return last.seq + count;
}
