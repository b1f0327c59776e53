// `weft run --watch` across a graceful server restart, with real processes: the CLI follows a
// run while the Weft process is stopped (SIGTERM) and started again on the same database and
// port; it says it is reconnecting, then prints every remaining step exactly once and exits 0.
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { CLI_MAIN } from './helpers/cli.ts';
import { createWorkflowAt, isolatedDatabaseEnv, PROCESS_ADMIN_KEY, ROOT, startWeftProcess } from './helpers/process.ts';
import { until } from './helpers/wait.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('keeps following a run through a server restart and exits 0 when it completes', { timeout: 240_000 }, async () => {
  const env = { ...(await isolatedDatabaseEnv(cleanups)), WEFT_ENGINE_POLL_MS: '100' };
  let weft = await startWeftProcess(env, { timeoutMs: 120_000 });
  cleanups.push(() => weft.stop('SIGKILL'));
  const { port } = new URL(weft.url);
  // Throws with the whole response unless the workflow was created.
  await createWorkflowAt(weft.url, {
    name: 'Across restarts',
    definition: {
      steps: [
        { id: 'begin', type: 'condition', config: { expression: 'true' } },
        { id: 'hold', type: 'wait', dependsOn: ['begin'], config: { seconds: 3 } },
        { id: 'end', type: 'condition', dependsOn: ['hold'], config: { expression: 'true' } },
      ],
    },
  });

  // WEFT_SERVER and WEFT_API_KEY instead of a login file.
  const cli = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'run', 'Across restarts', '--watch'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: '/nonexistent',
      NO_COLOR: '1',
      WEFT_SERVER: weft.url.replace(/\/graphql$/, ''),
      WEFT_API_KEY: PROCESS_ADMIN_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  cli.stdout.on('data', (chunk) => (stdout += chunk));
  cli.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => cli.once('close', resolve));
  cleanups.push(() => void cli.kill('SIGKILL'));

  await until('the CLI to show the wait', 30_000, async () => stdout.includes('hold waiting'));
  expect(await weft.stop('SIGTERM')).toBe(0);
  weft = await startWeftProcess({ ...env, PORT: port }, { timeoutMs: 120_000 });

  const code = await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`the CLI did not exit within 60 s\nstdout: ${stdout}\nstderr: ${stderr}`)),
        60_000,
      ).unref(),
    ),
  ]);
  expect(code, `stdout: ${stdout}\nstderr: ${stderr}`).toBe(0);
  expect(stderr).toMatch(/^connection lost: .+; reconnecting in \d+/m);
  expect(stderr).not.toMatch(/connection lost: ;/); // every attempt says why
  const lines = stdout.trim().split('\n');
  for (const step of ['begin', 'hold', 'end'])
    expect(lines.filter((line) => line.startsWith(`  ✓ ${step} completed`))).toHaveLength(1);
  expect(lines.filter((line) => line === '▶ run started')).toHaveLength(1);
  expect(lines.at(-1)).toMatch(/^Run COMPLETED in /);
});
