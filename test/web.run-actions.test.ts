// Acting on runs from the run page, in a real Chromium: cancelling a long run, resuming a failed
// run from a step, retrying a finished one (from the failure and with all steps); each action's
// outcome is shown and the page follows the run live.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import {
  documentMarked,
  eventSummary,
  expectAllNodes,
  markDocument,
  nodeStatuses,
  SHOWN,
  useMonitor,
} from './helpers/monitor.ts';
import { createWorkflow, eventsOf, startRun, waitForRun } from './helpers/runs.ts';

const web = useMonitor();
const { browser, runUrl } = web;
let upstream: LoopbackServer;
let healthy = false;
beforeAll(async () => {
  // An upstream that refuses (404, which fails a step at once) until the test repairs it.
  upstream = await startLoopbackServer((_req, res) =>
    healthy ? json(res, 200, { ok: true }) : json(res, 404, { error: 'not yet' }),
  );
});
afterAll(() => upstream?.close());

describe('run actions', { timeout: 120_000 }, () => {
  it('cancels a long run from the page', async () => {
    const workflowId = await createWorkflow(web.t, {
      steps: [
        { id: 'start', type: 'condition', config: { expression: 'true' } },
        { id: 'hold', type: 'wait', dependsOn: ['start'], config: { seconds: 600 } },
        { id: 'after', type: 'condition', dependsOn: ['hold'], config: { expression: 'true' } },
      ],
    });
    const runId = await startRun(web.t, workflowId);
    const p = await web.signedIn();
    await p.page.goto(runUrl(runId));
    await p.page.getByRole('button', { name: 'Step hold: WAITING' }).waitFor({ timeout: 20_000 });
    // The stored events are replayed and the server's caught-up marker has come: the log is live.
    await expect.poll(() => eventSummary(p.page), SHOWN).toMatch(/^\d+ events · last #\d+ · live$/);
    await markDocument(p.page);

    await p.page.getByRole('button', { name: 'Cancel run' }).click();
    await p.page.getByRole('status').getByText('Cancelled: unfinished steps were stopped.').waitFor();
    await expect
      .poll(() => nodeStatuses(p.page), SHOWN)
      .toEqual({ start: 'COMPLETED', hold: 'CANCELLED', after: 'CANCELLED' });
    expect((await waitForRun(web.t, runId)).status).toBe('CANCELLED');
    const events = await eventsOf(web.t, runId);
    await expect
      .poll(() => eventSummary(p.page), SHOWN)
      .toBe(`${events.length} events · last #${events.length} · complete`);
    await p.page.getByRole('button', { name: 'Cancel run' }).waitFor({ state: 'detached' });
    expect(await documentMarked(p.page)).toBe(true);
    browser.expectClean(p);
  });

  it('resumes a failed run from a step, then retries it with all steps', async () => {
    healthy = false;
    const workflowId = await createWorkflow(web.t, {
      steps: [
        { id: 'prepare', type: 'condition', config: { expression: 'true' } },
        { id: 'fetch', type: 'http_request', dependsOn: ['prepare'], config: { url: `${upstream.url}/orders` } },
        { id: 'report', type: 'condition', dependsOn: ['fetch'], config: { expression: 'steps.fetch.output.body.ok' } },
      ],
    });
    const runId = await startRun(web.t, workflowId);
    expect((await waitForRun(web.t, runId)).status).toBe('FAILED');

    const p = await web.signedIn();
    await p.page.goto(runUrl(runId));
    await expect
      .poll(() => nodeStatuses(p.page), SHOWN)
      .toEqual({ prepare: 'COMPLETED', fetch: 'FAILED', report: 'SKIPPED' });
    await p.page
      .getByLabel('Run error')
      .getByText(/Step 'fetch' failed/)
      .waitFor();
    await p.page.getByRole('button', { name: 'Step fetch: FAILED' }).click();
    await p.page.getByLabel('Step fetch').locator('details', { hasText: 'Error' }).getByText(/404/).waitFor();
    await markDocument(p.page);

    healthy = true;
    await p.page.getByLabel('Resume from').selectOption('fetch');
    await p.page.getByRole('button', { name: 'Resume', exact: true }).click();
    await p.page.getByRole('status').getByText('Resumed from step fetch.').waitFor();
    await expectAllNodes(p.page, 'COMPLETED', 3);
    expect((await waitForRun(web.t, runId)).status).toBe('COMPLETED');
    // The event log carried on after the failure: every event once, in order.
    const events = await eventsOf(web.t, runId);
    expect(events.map((e) => e.type)).toContain('RUN_RESUMED');
    await expect
      .poll(() => eventSummary(p.page), SHOWN)
      .toBe(`${events.length} events · last #${events.length} · complete`);
    expect(await documentMarked(p.page)).toBe(true);

    await p.page.getByLabel('Retry strategy').selectOption('ALL_STEPS');
    await p.page.getByRole('button', { name: 'Retry', exact: true }).click();
    const started = p.page.getByRole('status').filter({ hasText: 'Retry started (all steps):' });
    await started.waitFor();
    await p.page.getByText(/^Retried as run/).waitFor();
    await started.getByRole('link').click();
    await p.page.getByText(/^Retry of run/).waitFor();
    await expectAllNodes(p.page, 'COMPLETED', 3);
    const retryId = decodeURIComponent(p.page.url().split('/runs/')[1]!);
    expect(retryId).not.toBe(runId);
    const retry = await waitForRun(web.t, retryId);
    expect(retry.parentRunId).not.toBeNull();
    expect(upstream.hits('/orders')).toBe(3); // failed once, resumed once, retried once
    browser.expectClean(p);
  });

  it("shows a loop's progress as its iterations finish", async () => {
    healthy = true;
    const workflowId = await createWorkflow(web.t, {
      steps: [
        {
          id: 'each',
          type: 'loop',
          config: {
            items: '[1, 2, 3, 4, 5, 6]',
            concurrency: 1,
            step: { type: 'http_request', config: { url: `${upstream.url}/items/{{ item }}` } },
          },
        },
      ],
    });
    const p = await web.signedIn();
    const runId = await startRun(web.t, workflowId);
    await p.page.goto(runUrl(runId));
    await p.page.getByRole('button', { name: /^Step each/ }).click();
    await p.page.getByLabel('Step each').getByText('6/6 iterations finished').waitFor({ timeout: 30_000 });
    expect(await p.page.getByRole('progressbar', { name: 'Loop progress' }).getAttribute('aria-valuenow')).toBe('6');
    await expect
      .poll(async () => p.page.locator('[data-step="each"]').textContent(), SHOWN)
      .toMatch(/COMPLETED · 6\/6/);
    expect(upstream.requests.filter((r) => r.path.startsWith('/items/')).map((r) => r.path)).toEqual([
      '/items/1',
      '/items/2',
      '/items/3',
      '/items/4',
      '/items/5',
      '/items/6',
    ]);
    browser.expectClean(p);
  });
});
