// The GraphQL playground in a real Chromium with every non-loopback request blocked: it loads
// from Weft alone, shows how to authenticate, runs a query and a runEvents subscription with the
// credentials typed into its Headers tab, and shows a refused subscription's error.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { signedInScript, useBrowser } from './helpers/browser.ts';
import { createWorkflow, startRun, waitForRun, eventsOf } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

const browser = useBrowser();
let t: TestApp & { base: string };
beforeAll(async () => {
  t = await startServedTestApp();
});
afterAll(() => t?.close());

// Monaco editors: select everything and paste, as a person would (typed text gets brackets and
// quotes auto-closed and completions offered).
async function replaceEditorText(page: Page, editor: string, value: string) {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  // On a loaded machine a keystroke can reach the editor before it has focus (the paste then
  // lands beside the old text): check what the editor shows, and do it again if needed.
  const shown = async () =>
    (await text(page, editor))
      .split('\n')
      .filter((line) => !/^\d+$/.test(line))
      .join('\n')
      .trim();
  for (let attempt = 1; attempt <= 3; attempt++) {
    await page.evaluate((v) => navigator.clipboard.writeText(v), value);
    await page.locator(`${editor} .monaco-editor`).filter({ visible: true }).first().click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('ControlOrMeta+V');
    // Monaco renders only the lines in view, so the visible text alone cannot tell a paste that
    // landed beside the old text; GraphiQL keeps the whole query in localStorage (*:query).
    const pasted = await until(
      `${editor} to show the pasted text`,
      2000,
      async () => (await shown()) === value && (await storedQueryMatches(page, editor, value)),
    ).catch(() => false);
    if (pasted) return;
  }
  throw new Error(`the editor ${editor} shows ${JSON.stringify(await shown())} instead of ${JSON.stringify(value)}`);
}

/** For the query editor: whether the whole stored query is `value` (true where nothing is stored). */
async function storedQueryMatches(page: Page, editor: string, value: string): Promise<boolean> {
  if (editor !== '.graphiql-query-editor') return true;
  const stored = await page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key?.endsWith(':query')) return localStorage.getItem(key);
    }
    return null;
  });
  return stored === null || stored.trim() === value;
}

const RESULT = '.graphiql-response';
/** What an editor shows (Monaco renders spaces as no-break spaces). */
const text = async (page: Page, selector: string) => (await page.locator(selector).innerText()).replace(/\u00a0/g, ' ');
const run = (page: Page) => page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();

describe('playground', { timeout: 120_000 }, () => {
  it('loads without any other host, welcomes with how to authenticate, and runs a query and a subscription with the Headers tab', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [
        { id: 'decide', type: 'condition', config: { expression: '1 = 1' } },
        { id: 'then', type: 'condition', dependsOn: ['decide'], config: { expression: 'steps.decide.output.result' } },
      ],
    });
    const runId = await startRun(t, workflowId);
    await waitForRun(t, runId);
    const events = await eventsOf(t, runId);

    const p = await browser.open();
    const { page } = p;
    const response = await page.goto(`${t.base}/graphql`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await expect
      .poll(() => text(page, '.graphiql-query-editor'), { timeout: 15_000 })
      .toMatch(/Welcome to the Weft GraphQL playground/);
    await expect
      .poll(() => text(page, '.graphiql-query-editor'), { timeout: 15_000 })
      .toMatch(/"Authorization": "Bearer weft_live_…"/);

    // The welcome query runs as it is, once the key is in the Headers tab.
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    await replaceEditorText(page, '.graphiql-editor-tool', JSON.stringify({ Authorization: `Bearer ${t.apiKey}` }));
    await run(page);
    await expect.poll(() => text(page, RESULT), { timeout: 15_000 }).toMatch(/"kind":\s*"API_KEY"/);
    expect(await text(page, RESULT)).not.toMatch(/errors/);

    // A subscription over graphql-ws with the same headers: replays the run's events and completes.
    // Under load a paste can still land beside the welcome text where neither the editor's visible
    // lines nor its stored copy show it yet; the server then cannot tell which operation to run
    // (OPERATION_RESOLUTION_FAILURE). That is the editor, not Weft: paste again (at most 3 times).
    let repasted = false;
    for (let attempt = 1; ; attempt++) {
      await replaceEditorText(
        page,
        '.graphiql-query-editor',
        `subscription { runEvents(runId: "${runId}") { seq type } }`,
      );
      await run(page);
      await expect
        .poll(() => text(page, RESULT), { timeout: 15_000 })
        .toMatch(/RUN_COMPLETED|OPERATION_RESOLUTION_FAILURE/);
      if (!/OPERATION_RESOLUTION_FAILURE/.test(await text(page, RESULT)) || attempt === 3) break;
      repasted = true;
    }
    expect(await text(page, RESULT)).toMatch(/RUN_COMPLETED/);
    expect(await text(page, RESULT)).toMatch(new RegExp(`"seq":\\s*${events.length}\\b`));

    // Without credentials the server refuses the socket (4403): the error is shown, no spinner.
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    await replaceEditorText(page, '.graphiql-editor-tool', '{}');
    await run(page);
    await expect.poll(() => text(page, RESULT), { timeout: 15_000 }).toMatch(/4403 Forbidden/);
    expect(await text(page, RESULT)).toMatch(/"code":\s*"FORBIDDEN"/);
    // A repasted subscription leaves the browser's note of the refused (400) first attempt.
    browser.expectClean(p, repasted ? [/status of 401/, /status of 400/] : [/status of 401/]);
  });

  it('starts with the monitor session key in its headers', async () => {
    const p = await browser.open({ init: signedInScript(t.apiKey) });
    await p.page.goto(`${t.base}/graphql`);
    await expect.poll(() => text(p.page, '.graphiql-query-editor'), { timeout: 15_000 }).toMatch(/query Me/);
    await run(p.page);
    await expect.poll(() => text(p.page, RESULT), { timeout: 15_000 }).toMatch(/"role":\s*"ADMIN"/);
    browser.expectClean(p);
  });
});
