// `weft apply -f` as a child process against a real Weft: creates workflows from YAML and JSON
// files, is idempotent (a second apply changes nothing, no new version), makes a new version
// only when the definition changed, keeps settings the file does not mention, and --dry-run
// changes nothing. Bad files are refused before anything is applied.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { cliHome, type CliHome } from './helpers/cli.ts';

let t: TestApp & { base: string };
let cli: CliHome;
let dir: string;

beforeAll(async () => {
  t = await startServedTestApp();
  cli = cliHome();
  dir = path.join(cli.home, 'workflows');
  mkdirSync(dir);
  expect((await cli.run(['login', '--server', t.base, '--api-key', t.apiKey])).code).toBe(0);
});
afterAll(async () => {
  await t?.close();
  cli?.remove();
});

/** One line of `weft apply --json`. */
interface ApplyResult {
  name: string;
  action: string;
  toVersion: number;
}

async function workflowNamed(name: string) {
  const res = await t.gql(
    graphql(`
      query ApplyWorkflowNamed($search: String) {
        workflows(first: 10, filter: { search: $search }) {
          edges {
            node {
              id
              name
              description
              latestVersion
              webhookUrl
              tags {
                name
              }
              definition
              versions(first: 10) {
                totalCount
              }
            }
          }
        }
      }
    `),
    { search: name },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.workflows.edges.map((e) => e.node).find((n) => n.name === name) ?? null;
}

const fetchDefinition = (url: string) => ({
  steps: [{ id: 'fetch', type: 'http_request', config: { method: 'GET', url } }],
});

it('creates, then changes nothing on a second apply, then versions only a changed definition', {
  timeout: 120_000,
}, async () => {
  writeFileSync(
    path.join(dir, 'alpha.yaml'),
    `# A workflow in YAML
name: Alpha
description: Fetches things
tags: [ops]
definition:
  steps:
    - id: fetch
      type: http_request
      config: { method: GET, url: "https://example.com/a" }
`,
  );
  writeFileSync(
    path.join(dir, 'beta.json'),
    JSON.stringify({ name: 'Beta', definition: fetchDefinition('https://example.com/b') }),
  );
  writeFileSync(path.join(dir, 'notes.txt'), 'not a workflow');

  const dry = await cli.run(['apply', '-f', dir, '--dry-run']);
  expect(dry.stderr).toBe('');
  expect(dry.code).toBe(0);
  expect(dry.stdout).toMatch(/^would create Alpha {2}version 1$/m);
  expect(dry.stdout).toMatch(/^would create Beta {2}version 1$/m);
  expect(await workflowNamed('Alpha')).toBeNull();

  const first = await cli.run(['apply', '-f', dir]);
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^created {6}Alpha {2}version 1$/m);
  expect(first.stdout).toContain('Created 2, updated 0, unchanged 0.');
  const alpha = await workflowNamed('Alpha');
  expect(alpha).toMatchObject({
    description: 'Fetches things',
    latestVersion: 1,
    tags: [{ name: 'ops' }],
    definition: fetchDefinition('https://example.com/a'),
  });

  // Settings the file does not mention must survive an update (updateWorkflow replaces all).
  const patched = await t.gql(
    graphql(`
      mutation ApplyPatchWebhook($input: PatchWorkflowInput!) {
        patchWorkflow(input: $input) {
          __typename
        }
      }
    `),
    { input: { id: alpha!.id, webhookUrl: 'https://hooks.example.com/alpha' } },
  );
  expect(patched.data?.patchWorkflow.__typename).toBe('WorkflowPayload');

  const second = await cli.run(['apply', '-f', dir, '--json']);
  expect(second.code).toBe(0);
  expect((JSON.parse(second.stdout) as ApplyResult[]).map((r) => [r.name, r.action, r.toVersion])).toEqual([
    ['Alpha', 'unchanged', 1],
    ['Beta', 'unchanged', 1],
  ]);
  expect((await workflowNamed('Alpha'))?.versions.totalCount).toBe(1);

  writeFileSync(
    path.join(dir, 'alpha.yaml'),
    `name: Alpha
description: Fetches things
tags: [ops]
definition:
  steps:
    - id: fetch
      type: http_request
      config: { method: GET, url: "https://example.com/a2" }
    - { id: check, type: condition, dependsOn: [fetch], config: { expression: "true" } }
`,
  );
  const dryUpdate = await cli.run(['apply', '-f', dir, '--dry-run']);
  expect(dryUpdate.code).toBe(0);
  expect(dryUpdate.stdout).toMatch(
    /^would update Alpha {2}version 1 → 2 \(definition: added check; modified fetch\)$/m,
  );
  expect(dryUpdate.stdout).toMatch(/^unchanged {4}Beta {2}version 1$/m);
  expect((await workflowNamed('Alpha'))?.latestVersion).toBe(1);

  const update = await cli.run(['apply', '-f', dir]);
  expect(update.code).toBe(0);
  expect(update.stdout).toMatch(/^updated {6}Alpha {2}version 1 → 2 /m);
  const updated = await workflowNamed('Alpha');
  expect(updated).toMatchObject({
    latestVersion: 2,
    webhookUrl: 'https://hooks.example.com/alpha',
    tags: [{ name: 'ops' }],
    description: 'Fetches things',
  });
  expect((await cli.run(['apply', '-f', dir])).stdout).toContain('Created 0, updated 0, unchanged 2.');

  // Only the description: patched, no new version.
  writeFileSync(
    path.join(dir, 'beta.json'),
    JSON.stringify({
      name: 'Beta',
      description: 'Now described',
      definition: fetchDefinition('https://example.com/b'),
    }),
  );
  const described = await cli.run(['apply', '-f', path.join(dir, 'beta.json')]);
  expect(described.code).toBe(0);
  expect(described.stdout).toMatch(/^updated {6}Beta {2}version 1 \(description\)$/m);
  expect(await workflowNamed('Beta')).toMatchObject({ description: 'Now described', latestVersion: 1 });
});

it('applies several YAML documents from one file', { timeout: 60_000 }, async () => {
  const file = path.join(cli.home, 'many.yml');
  writeFileSync(
    file,
    `name: Gamma\ndefinition: { steps: [{ id: a, type: condition, config: { expression: "true" } }] }\n---\nname: Delta\ndefinition: { steps: [{ id: a, type: condition, config: { expression: "false" } }] }\n`,
  );
  const result = await cli.run(['apply', '-f', file]);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('Created 2, updated 0, unchanged 0.');
  expect(await workflowNamed('Delta')).not.toBeNull();
});

it('refuses a bad file before applying anything, and shows server validation problems', {
  timeout: 60_000,
}, async () => {
  const bad = path.join(cli.home, 'bad');
  mkdirSync(bad);
  writeFileSync(
    path.join(bad, 'a.yaml'),
    `name: Epsilon\ndefinition: { steps: [{ id: a, type: condition, config: { expression: "true" } }] }\n`,
  );
  writeFileSync(path.join(bad, 'b.yaml'), `name: Zeta\n`);
  const refused = await cli.run(['apply', '-f', bad]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^error \[BAD_USER_INPUT\]: .*b\.yaml: `definition` must be an object/);
  expect(await workflowNamed('Epsilon')).toBeNull();

  const invalid = path.join(cli.home, 'invalid.json');
  writeFileSync(invalid, JSON.stringify({ name: 'Eta', definition: { steps: [{ id: 'a', type: 'no_such_type' }] } }));
  const result = await cli.run(['apply', '-f', invalid]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^error \[VALIDATION_FAILED\]: .*invalid\.json \(Eta\): /);
  expect(result.stderr).toMatch(/\n {2}- input\.definition\.steps\.0\.type: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
});
