// The run monitor in a real Chromium against a real Weft on a loopback port (every other host
// blocked): signing in and out, workflows with their DAG and filters, starting a run from the
// generated form and watching it complete live, the live runs list, version diffs, and errors
// said in words.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { bearer, JWT_ENV, signToken } from './helpers/auth.ts';
import {
  documentMarked,
  eventSummary,
  expectAllNodes,
  markDocument,
  nodeStatuses,
  SHOWN,
  useMonitor,
} from './helpers/monitor.ts';
import { ofType } from './helpers/typename.ts';
import { createWorkflow, eventsOf, startRun, waitForRun } from './helpers/runs.ts';

const web = useMonitor(JWT_ENV);
const { browser, runUrl } = web;

const DIAMOND = {
  steps: [
    { id: 'plan', type: 'condition', config: { expression: '$exists(input.name)' } },
    { id: 'pause', type: 'wait', dependsOn: ['plan'], config: { seconds: 1.5 } },
    { id: 'check', type: 'condition', dependsOn: ['plan'], config: { expression: 'true' } },
    { id: 'finish', type: 'condition', dependsOn: ['pause', 'check'], config: { expression: 'true' } },
  ],
};

async function gqlOk<T, V extends Record<string, unknown>>(
  document: TypedDocumentNode<T, V>,
  variables?: V,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await web.t.gql(document, variables, headers);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

describe('monitor', { timeout: 120_000 }, () => {
  it('signs in with an API key kept for the tab, refuses a wrong one in words, and signs out', async () => {
    const p = await browser.open();
    await p.page.goto(`${web.t.base}/`);
    await p.page.getByLabel('API key or token').fill('weft_live_not-a-real-key-not-a-real-key-000');
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    await p.page.getByRole('alert').filter({ hasText: 'was not accepted' }).waitFor();

    await p.page.getByLabel('API key or token').fill(web.t.apiKey);
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    await p.page.getByText('Default workspace').waitFor();
    await p.page.getByRole('heading', { name: 'Runs' }).waitFor();
    await p.page.reload();
    await p.page.getByRole('button', { name: 'Sign out' }).waitFor(); // still signed in: the key is in sessionStorage

    await p.page.getByRole('button', { name: 'Sign out' }).click();
    await p.page.getByLabel('API key or token').waitFor();
    expect(await p.page.evaluate(() => sessionStorage.getItem('weft.session'))).toBeNull();
    browser.expectClean(p, [/status of 401/]);
  });

  it('lists workflows with search, status and tag filters, and draws a workflow created through the API', async () => {
    const billing = await createWorkflow(web.t, DIAMOND, {
      name: 'Nightly billing',
      tags: ['finance'],
      status: 'ACTIVE',
      description: 'Invoices every customer',
    });
    await createWorkflow(
      web.t,
      { steps: [{ id: 'only', type: 'condition', config: { expression: 'true' } }] },
      { name: 'Ingest orders' },
    );
    await gqlOk(
      graphql(`
        mutation MonitorCreateSchedule($input: CreateScheduleInput!) {
          createSchedule(input: $input) {
            __typename
            ... on Error {
              message
            }
          }
        }
      `),
      {
        input: {
          workflowId: billing,
          name: 'Every night',
          cronExpression: '0 2 * * *',
          timezone: 'Europe/Paris',
          inputData: { name: 'nightly' },
        },
      },
    );
    await gqlOk(
      graphql(`
        mutation MonitorSetReleaseLabel($input: SetReleaseLabelInput!) {
          setReleaseLabel(input: $input) {
            __typename
            ... on Error {
              message
            }
          }
        }
      `),
      { input: { workflowId: billing, label: 'production', version: 1 } },
    );

    const p = await web.signedIn();
    await p.page.getByRole('link', { name: 'Workflows' }).click();
    const table = p.page.getByRole('table', { name: 'Workflows' });
    await table.getByRole('link', { name: 'Nightly billing' }).waitFor();
    await table.getByRole('link', { name: 'Ingest orders' }).waitFor();

    await p.page.getByLabel('Search workflows').fill('billing');
    await expect.poll(() => table.getByRole('link').allInnerTexts(), SHOWN).toEqual(['Nightly billing']);
    await p.page.getByLabel('Search workflows').fill('');
    await p.page.getByLabel('Tag filter').selectOption('finance');
    await expect.poll(() => table.getByRole('link').allInnerTexts(), SHOWN).toEqual(['Nightly billing']);
    await p.page.getByLabel('Tag filter').selectOption('');
    await p.page.getByLabel('Status filter').selectOption('DRAFT');
    await expect.poll(() => table.getByRole('link').allInnerTexts(), SHOWN).toEqual(['Ingest orders']);
    await p.page.getByLabel('Status filter').selectOption('');

    await table.getByRole('link', { name: 'Nightly billing' }).click();
    await p.page.getByRole('group', { name: 'DAG of Nightly billing' }).waitFor();
    await expect
      .poll(() => nodeStatuses(p.page), SHOWN)
      .toEqual({ plan: 'DEFINED', pause: 'DEFINED', check: 'DEFINED', finish: 'DEFINED' });
    await p.page.getByRole('list', { name: 'Versions' }).getByText('v1').waitFor();
    await p.page.getByRole('list', { name: 'Release labels' }).getByText('→ v1').waitFor();
    const schedule = p.page.getByRole('list', { name: 'Schedules' });
    await schedule.getByText('Every night').waitFor();
    await schedule.getByText('0 2 * * *').waitFor();
    // The next three fire times, 02:00 in Paris, as the browser shows local times.
    const next = await schedule.getByText(/^Next: /).innerText();
    expect(next.split(' · ')).toHaveLength(3);
    expect(p.page.url()).toBe(`${web.t.base}/workflows/${encodeURIComponent(billing)}`);
    browser.expectClean(p);
  });

  it('starts a run from the form generated from the input schema and watches every node turn COMPLETED without reloading', async () => {
    const workflowId = await createWorkflow(web.t, DIAMOND, {
      name: 'Greeter',
      inputSchema: {
        type: 'object',
        properties: { name: { type: 'string', title: 'Name' }, times: { type: 'integer', title: 'Times' } },
        required: ['name'],
      },
    });
    const p = await web.signedIn();
    await p.page.goto(`${web.t.base}/workflows/${encodeURIComponent(workflowId)}`);
    await p.page.getByRole('button', { name: 'Run…' }).click();
    const dialog = p.page.getByRole('dialog', { name: 'Run workflow' });
    await dialog.getByLabel('Times').fill('3');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await dialog.getByRole('alert', { name: 'Input problems' }).getByText('name is required').waitFor(); // the server's verdict, on the form

    await dialog.getByLabel('Name*').fill('Ada');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await p.page.waitForURL(/\/runs\//);
    await markDocument(p.page);
    const runId = decodeURIComponent(p.page.url().split('/runs/')[1]!);

    await expect.poll(async () => (await nodeStatuses(p.page)).pause, { timeout: 20_000 }).toBe('WAITING');
    await expectAllNodes(p.page, 'COMPLETED', 4);
    await p.page.getByRole('heading', { name: /^Run / }).locator('..').getByText('COMPLETED').waitFor();
    const events = await eventsOf(web.t, runId);
    await expect
      .poll(() => eventSummary(p.page), SHOWN)
      .toBe(`${events.length} events · last #${events.length} · complete`);
    expect(await documentMarked(p.page)).toBe(true);
    const run = await waitForRun(web.t, runId);
    expect(run.input).toEqual({ name: 'Ada', times: 3 });

    // The step panel: input and output of a step, and its attempts from the log.
    await p.page.getByRole('button', { name: 'Step check: COMPLETED' }).click();
    const panel = p.page.getByLabel('Step check');
    await panel.getByText('Output').waitFor();
    await panel.getByText('"result": true').waitFor();
    await panel.getByRole('table', { name: 'Attempts' }).getByText('completed').waitFor();

    // Client-side navigation to the runs list: the run is there, with its status.
    await p.page.getByRole('link', { name: 'Runs', exact: true }).click();
    await p.page.locator(`tr[data-run-id="${runId}"]`).getByText('COMPLETED').waitFor();
    expect(await documentMarked(p.page)).toBe(true);
    browser.expectClean(p);
  });

  it('shows runs started elsewhere, and their status changes, live on the runs list', async () => {
    const workflowId = await createWorkflow(web.t, DIAMOND, { name: 'Live list' });
    const p = await web.signedIn();
    await p.page.getByRole('table', { name: 'Runs' }).or(p.page.getByText('No runs match')).first().waitFor();
    await markDocument(p.page);
    const runId = await startRun(web.t, workflowId, { name: 'x' });
    const row = p.page.locator(`tr[data-run-id="${runId}"]`);
    await row.getByText(/QUEUED|RUNNING/).waitFor();
    await row.getByText('COMPLETED').waitFor({ timeout: 20_000 });
    await row.getByRole('link', { name: 'Live list' }).waitFor();
    expect(await documentMarked(p.page)).toBe(true);

    // Filtered by workflow and status.
    await p.page.getByLabel('Workflow filter').selectOption(workflowId);
    await p.page.getByLabel('Status filter').selectOption('FAILED');
    await p.page.getByText('No runs match these filters').waitFor();
    await p.page.getByLabel('Status filter').selectOption('COMPLETED');
    await row.waitFor();
    browser.expectClean(p);
  });

  it('compares two versions side by side with the step summary', async () => {
    const workflowId = await createWorkflow(web.t, DIAMOND, { name: 'Versioned' });
    await gqlOk(
      graphql(`
        mutation MonitorPatchWorkflow($input: PatchWorkflowInput!) {
          patchWorkflow(input: $input) {
            __typename
            ... on Error {
              code
              message
            }
          }
        }
      `),
      {
        input: {
          id: workflowId,
          commitMessage: 'Wait longer, then notify',
          definition: {
            steps: {
              pause: { config: { seconds: 5 } },
              notify: { type: 'condition', dependsOn: ['finish'], config: { expression: 'true' } },
            },
          },
        },
      },
    );
    const p = await web.signedIn();
    await p.page.goto(`${web.t.base}/workflows/${encodeURIComponent(workflowId)}`);
    await p.page.getByRole('list', { name: 'Versions' }).getByText('Wait longer, then notify').waitFor();
    await p.page.getByLabel('Compare from version').selectOption('1');
    await p.page.getByLabel('Compare to version').selectOption('2');
    await p.page.getByRole('button', { name: 'Compare' }).click();

    const summary = p.page.getByLabel('Summary of changes');
    await summary.getByText('Added 1 step, modified 1 step').waitFor();
    await summary.getByText('Added: notify').waitFor();
    await summary.getByText('Modified: pause').waitFor();
    await summary.getByText('Wait longer, then notify').waitFor();
    const before = p.page.getByLabel('pause in v1');
    const after = p.page.getByLabel('pause in v2');
    await expect
      .poll(() => before.locator('.diff-removed').allInnerTexts(), SHOWN)
      .toEqual([expect.stringContaining('"seconds": 1.5')]);
    await expect
      .poll(() => after.locator('.diff-added').allInnerTexts(), SHOWN)
      .toEqual([expect.stringContaining('"seconds": 5')]);
    await p.page.getByLabel('notify in v2').getByText('"id": "notify"').waitFor();
    expect(await p.page.locator('[data-diff="unchanged"]').count()).toBe(0);
    await p.page.getByRole('button', { name: 'Show 3 unchanged steps' }).click();
    expect(await p.page.locator('[data-diff="unchanged"]').count()).toBe(3);
    browser.expectClean(p);
  });

  it('says what went wrong and what to do: not found, forbidden, revoked credential', async () => {
    const workflowId = await createWorkflow(
      web.t,
      { steps: [{ id: 'hold', type: 'wait', config: { seconds: 120 } }] },
      { name: 'Long wait' },
    );
    const runId = await startRun(web.t, workflowId);
    const created = ofType(
      (
        await gqlOk(
          graphql(`
            mutation MonitorViewerKey {
              createApiKey(input: { name: "viewer", scopes: [READ] }) {
                __typename
                ... on CreateApiKeyPayload {
                  key
                  apiKey {
                    id
                  }
                }
              }
            }
          `),
        )
      ).createApiKey,
      'CreateApiKeyPayload',
    );
    const viewerKey = created.key;

    const p = await web.signedIn(viewerKey);
    await p.page.goto(
      `${web.t.base}/runs/${encodeURIComponent(Buffer.from('Run:01a2b3c4-0000-7000-8000-000000000000').toString('base64'))}`,
    );
    await p.page.getByRole('alert').getByRole('heading', { name: 'Not found' }).waitFor();
    await p.page
      .getByRole('alert')
      .getByText(/no run with this id in this workspace/)
      .waitFor();

    await p.page.goto(runUrl(runId));
    await p.page.getByRole('button', { name: 'Step hold: WAITING' }).waitFor();
    await p.page.getByRole('button', { name: 'Cancel run' }).click();
    await p.page.getByRole('alert').getByRole('heading', { name: 'Not allowed' }).waitFor();
    await p.page
      .getByRole('alert')
      .getByText(/Ask a workspace admin/)
      .waitFor();
    expect((await waitForRun(web.t, runId, ['RUNNING'])).status).toBe('RUNNING');

    await gqlOk(
      graphql(`
        mutation MonitorRevokeKey($id: ID!) {
          revokeApiKey(input: { id: $id }) {
            __typename
          }
        }
      `),
      { id: created.apiKey.id },
    );
    await p.page.getByRole('link', { name: 'Workflows' }).click();
    await p.page.getByRole('alert').getByRole('heading', { name: 'Your credential was not accepted' }).waitFor();
    await p.page.getByRole('button', { name: 'Sign in again' }).click();
    await p.page.getByLabel('API key or token').waitFor();
    await gqlOk(
      graphql(`
        mutation MonitorCancelRun($runId: ID!) {
          cancelRun(input: { runId: $runId }) {
            __typename
          }
        }
      `),
      { runId },
    );
    browser.expectClean(p, [/status of (401|403|404)/]);
  });

  it('switches between the workspaces of a signed-in user, each showing only its own workflows', async () => {
    const token = await signToken('ada', { claims: { name: 'Ada Lovelace' } });
    const workspaces: Record<string, string> = {};
    for (const name of ['Analytical engine', 'Side project']) {
      const created = await gqlOk(
        graphql(`
          mutation MonitorCreateWorkspace($name: String!) {
            createWorkspace(input: { name: $name }) {
              __typename
              ... on WorkspacePayload {
                workspace {
                  id
                }
              }
            }
          }
        `),
        { name },
        bearer(token),
      );
      workspaces[name] = ofType(created.createWorkspace, 'WorkspacePayload').workspace.id;
      await gqlOk(
        graphql(`
          mutation MonitorCreateWorkflow($input: CreateWorkflowInput!) {
            createWorkflow(input: $input) {
              __typename
            }
          }
        `),
        { input: { name: `${name} workflow`, definition: DIAMOND } },
        { ...bearer(token), 'x-workspace-id': workspaces[name]! },
      );
    }

    const p = await web.signedIn(token);
    await p.page.getByText('Ada Lovelace').waitFor();
    await p.page.getByRole('link', { name: 'Workflows' }).click();
    const table = p.page.getByRole('table', { name: 'Workflows' });
    await expect.poll(() => table.getByRole('link').allInnerTexts(), SHOWN).toEqual(['Analytical engine workflow']);

    await p.page.getByLabel('Workspace').selectOption({ label: 'Side project' });
    await expect.poll(() => table.getByRole('link').allInnerTexts(), SHOWN).toEqual(['Side project workflow']);
    await p.page.reload();
    await expect.poll(() => table.getByRole('link').allInnerTexts(), SHOWN).toEqual(['Side project workflow']);
    expect(await p.page.getByLabel('Workspace').inputValue()).toBe(workspaces['Side project']);
    browser.expectClean(p);
  });
});
