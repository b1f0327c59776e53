// The real weft CLI as a child process against a real Weft on a loopback port: login (verified
// key, 0600 file), whoami, `run --watch` with per-step progress and exit codes, and errors in
// words with their code and no stack trace.
import { readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { cliHome, runCli, type CliHome } from './helpers/cli.ts';
import { ROOT } from './helpers/process.ts';
import { createWorkflow, gid } from './helpers/runs.ts';

let t: TestApp & { base: string };
let cli: CliHome;

beforeAll(async () => {
  t = await startServedTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  cli = cliHome();
});
afterAll(async () => {
  await t?.close();
  cli?.remove();
});

describe('login and whoami', { timeout: 120_000 }, () => {
  it('refuses a bad key with its code, writes nothing, and prints no stack trace', async () => {
    const result = await cli.run(['login', '--server', t.base, '--api-key', `weft_live_${'z'.repeat(43)}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[UNAUTHENTICATED\]: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(cli.config)).toBe(false);
  });

  it('says how to log in when there is no login', async () => {
    const result = await cli.run(['whoami']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error [UNAUTHENTICATED]: Not logged in: run `weft login');
  });

  it('stores a verified key in a 0600 file, and whoami uses it', async () => {
    const result = await cli.run(['login', '--server', t.base, '--api-key', t.apiKey]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged in to ${t.base} as API key "test admin"`);
    expect(statSync(cli.config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(cli.config, 'utf8'))).toEqual({ server: t.base, apiKey: t.apiKey });

    const whoami = await cli.run(['whoami']);
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toMatch(/role:\s+ADMIN/);
    expect(whoami.stdout).toContain(gid('Workspace', t.workspaceId));
    const json = await cli.run(['whoami', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ server: t.base, viewer: { kind: 'API_KEY', role: 'ADMIN' } });
  });

  it('defaults to ~/.config/weft/config.json under HOME', async () => {
    const result = await cli.run(['login', '--server', t.base, '--api-key', t.apiKey], { WEFT_CONFIG: '' });
    expect(result.code).toBe(0);
    const file = path.join(cli.home, '.config', 'weft', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('is runnable through the package bin, with --help', async () => {
    const result = await runCli([path.join(ROOT, 'packages/cli/bin/weft.js'), 'run', '--help'], { HOME: cli.home });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: weft run [options] <workflow>');
    expect(result.stdout).toContain('--watch');
  });
});

describe('run', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    expect((await cli.run(['login', '--server', t.base, '--api-key', t.apiKey])).code).toBe(0);
  });

  it('--watch prints each step with its duration and exits 0 when the run COMPLETED', async () => {
    const name = `cli-ok-${Date.now()}`;
    await createWorkflow(
      t,
      {
        steps: [
          { id: 'begin', type: 'condition', config: { expression: 'input.n > 1' } },
          { id: 'hold', type: 'wait', dependsOn: ['begin'], config: { seconds: 0.3 } },
          { id: 'end', type: 'condition', dependsOn: ['hold'], config: { expression: 'true' } },
        ],
      },
      { name },
    );
    const result = await cli.run(['run', name, '--input', '{"n": 2}', '--watch']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Run \\S+ of ${name} \\(version 1\\)$`));
    expect(lines).toContain('  … begin started');
    // Durations as formatDuration writes them (a loaded machine may turn 40ms into 1.2s).
    expect(lines.find((l) => l.includes('begin completed'))).toMatch(/^ {2}✓ begin completed in (\d+ms|\d+\.\ds)$/);
    expect(lines.find((l) => l.includes('hold completed'))).toMatch(/^ {2}✓ hold completed in (\d{3}ms|\d+\.\ds)$/); // waited 0.3 s at least
    expect(lines.some((l) => /^ {2}✓ end completed/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^Run COMPLETED in /);
  });

  it('--watch shows the failing step’s error and exits 2 when the run FAILED', async () => {
    const name = `cli-fail-${Date.now()}`;
    await createWorkflow(
      t,
      { steps: [{ id: 'fetch', type: 'http_request', config: { url: 'http://127.0.0.1:9/nothing' } }] },
      { name },
    );
    const result = await cli.run(['run', name, '--watch']);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/ {2}✗ fetch failed( in (\d+ms|\d+\.\ds))?: .+/);
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^Run FAILED/);
  });

  it('--watch --json prints one event per line, ending with the terminal one', async () => {
    const workflowId = await createWorkflow(t, {
      steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }],
    });
    const result = await cli.run(['run', workflowId, '--watch', '--json']);
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1).type).toBe('RUN_COMPLETED');
  });

  it('reads the input from a file, and without --watch prints the queued run', async () => {
    const name = `cli-file-${Date.now()}`;
    await createWorkflow(t, { steps: [{ id: 'a', type: 'condition', config: { expression: 'input.ok' } }] }, { name });
    const file = path.join(cli.home, 'input.json');
    (await import('node:fs')).writeFileSync(file, '{"ok": true}');
    const result = await cli.run(['run', name, '--input', `@${file}`, '--json']);
    expect(result.code).toBe(0);
    const run = JSON.parse(result.stdout);
    expect(run.workflow.name).toBe(name);
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(run.status);
  });

  it('fails with NOT_FOUND for an unknown workflow and BAD_USER_INPUT for bad input JSON', async () => {
    const missing = await cli.run(['run', 'no such workflow', '--watch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error \[NOT_FOUND\]: No workflow is named "no such workflow"/);
    const bad = await cli.run(['run', 'whatever', '--input', '{nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error \[BAD_USER_INPUT\]: --input is not valid JSON/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('shows a validation error’s problems, and a stack trace only with WEFT_DEBUG=1', async () => {
    const name = `cli-schema-${Date.now()}`;
    await createWorkflow(
      t,
      {
        inputSchema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
        steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }],
      },
      { name },
    );
    const result = await cli.run(['run', name, '--input', '{"n": "x"}']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[VALIDATION_FAILED\]: /);
    expect(result.stderr).toMatch(/\n {2}- input\.input[.\w]*: /);
    const debug = await cli.run(['run', name, '--input', '{"n": "x"}'], { WEFT_DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});
