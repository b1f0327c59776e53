// Regenerates the screenshots in docs/screenshots/ that the README shows: a workflow page with
// its DAG, a run page mid-run, a version diff and the GraphQL playground. Runs a Weft on an
// in-memory database (the test harness) and Debian's Chromium: `npm run screenshots`.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startServedTestApp } from '../test/helpers/app.ts';
import { CHROMIUM } from '../test/helpers/browser.ts';
import { json, startLoopbackServer } from '../test/helpers/http-server.ts';

const OUT = path.resolve(import.meta.dirname, '..', 'docs', 'screenshots');
mkdirSync(OUT, { recursive: true });

const t = await startServedTestApp();
const api = await startLoopbackServer((req, res) =>
  json(
    res,
    200,
    req.path.startsWith('/customers')
      ? { id: 42, name: 'Ada', spend: 1800, orders: [{ id: 1 }, { id: 2 }, { id: 3 }] }
      : { ok: true },
  ),
);

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const res = await t.gql(query, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as any;
}

const definition = {
  inputSchema: {
    type: 'object',
    properties: { customerId: { type: 'integer', title: 'Customer id' } },
    required: ['customerId'],
  },
  steps: [
    { id: 'fetch', type: 'http_request', config: { url: `${api.url}/customers/{{ input.customerId }}` } },
    {
      id: 'vip',
      type: 'condition',
      dependsOn: ['fetch'],
      config: { expression: 'steps.fetch.output.body.spend > 1000' },
    },
    {
      id: 'orders',
      type: 'loop',
      dependsOn: ['fetch'],
      config: {
        items: 'steps.fetch.output.body.orders',
        step: { type: 'http_request', config: { url: `${api.url}/orders/{{ item.id }}` } },
      },
    },
    { id: 'approval', type: 'wait', dependsOn: ['vip'], when: 'steps.vip.output.result', config: { seconds: 3600 } },
    {
      id: 'notify',
      type: 'webhook',
      dependsOn: ['approval', 'orders'],
      config: { url: `${api.url}/hooks/vip`, payload: { customer: '{{ steps.fetch.output.body.name }}' } },
    },
  ],
};
const created = await gql(
  `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ... on CreateWorkflowPayload { workflow { id } } } }`,
  {
    input: {
      name: 'Customer onboarding',
      description: 'Fetch the customer, check their orders, hold VIPs for approval, then notify sales',
      definition,
      tags: ['sales'],
      status: 'ACTIVE',
    },
  },
);
const workflowId = created.createWorkflow.workflow.id as string;
await gql(`mutation($input: PatchWorkflowInput!) { patchWorkflow(input: $input) { __typename } }`, {
  input: {
    id: workflowId,
    commitMessage: 'Hold VIPs for a day, and sign the notification',
    definition: {
      steps: { approval: { config: { seconds: 86400 } }, notify: { config: { secret: 'sign-me-please' } } },
    },
  },
});
const started = await gql(
  `mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { ... on RunPayload { run { id } } } }`,
  { input: { workflowId, input: { customerId: 42 } } },
);
const runId = started.runWorkflow.run.id as string;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, deviceScaleFactor: 1 });
await context.addInitScript(
  `sessionStorage.setItem('weft.session', ${JSON.stringify(JSON.stringify({ token: t.apiKey, workspaceId: null }))});`,
);
const page = await context.newPage();

async function shot(name: string, url: string, ready: (page: Page) => Promise<unknown>) {
  await page.goto(url);
  await ready(page);
  await page.screenshot({ path: path.join(OUT, name) });
  console.log(`docs/screenshots/${name}`);
}

await shot('monitor-workflow.png', `${t.base}/workflows/${encodeURIComponent(workflowId)}`, (p) =>
  p.locator('[data-step="notify"]').waitFor(),
);
await shot('monitor-run.png', `${t.base}/runs/${encodeURIComponent(runId)}`, async (p) => {
  await p.locator('[data-step="approval"][data-status="WAITING"]').waitFor({ timeout: 30_000 });
  await p.locator('[data-step="orders"][data-status="COMPLETED"]').waitFor({ timeout: 30_000 });
  await p.getByRole('button', { name: 'Step orders: COMPLETED' }).click();
  await p.getByText('3/3 iterations finished').waitFor();
});
await shot('monitor-diff.png', `${t.base}/workflows/${encodeURIComponent(workflowId)}/diff?from=1&to=2`, (p) =>
  p.getByLabel('Summary of changes').waitFor(),
);
await shot('playground.png', `${t.base}/graphql`, async (p) => {
  await p.locator('.graphiql-query-editor .view-line').first().waitFor({ timeout: 30_000 });
  await p.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
  await p
    .locator('.graphiql-response')
    .getByText(/API_KEY/)
    .waitFor({ timeout: 30_000 });
});

await browser.close();
await gql(`mutation($runId: ID!) { cancelRun(input: { runId: $runId }) { __typename } }`, { runId });
await api.close();
await t.close();
