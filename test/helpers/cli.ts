// Runs the real `weft` CLI (packages/cli) as a child process, bounded in time, with its own
// HOME and WEFT_CONFIG so that it never reads or writes the developer's login.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './process.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliHome {
  home: string;
  config: string;
  /** Runs `weft …args`; `env` adds to (or, with '', removes from) the CLI's environment. */
  run(
    args: string[],
    env?: Record<string, string>,
    options?: { timeoutMs?: number; input?: string },
  ): Promise<CliResult>;
  remove(): void;
}

export const CLI_MAIN = path.join(ROOT, 'packages/cli/src/main.ts');

export function cliHome(): CliHome {
  const home = mkdtempSync(path.join(tmpdir(), 'weft-cli-'));
  const config = path.join(home, 'weft-config.json');
  return {
    home,
    config,
    run: (args, env = {}, options = {}) =>
      runCli([CLI_MAIN, ...args], { HOME: home, WEFT_CONFIG: config, ...env }, options),
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** `node --import tsx <argv…>` with a minimal environment (no WEFT_* from the developer's shell). */
export function runCli(
  argv: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  const { timeoutMs = 60_000, input } = options;
  const merged = Object.fromEntries(
    Object.entries({ PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env }).filter(([, value]) => value !== ''),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', ...argv], {
    cwd: ROOT,
    env: merged,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `weft ${argv.slice(1).join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
