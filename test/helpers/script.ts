// Running the script handler directly, as the engine does, and watching its sandboxes from outside:
// their attempt directories on the host and the host processes of their PID namespaces.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scriptStep } from '../../src/engine/steps/script.ts';
import type { StepContext } from '../../src/engine/steps/types.ts';
import { stepContext, stepEnvFrom, type TestStepContext } from './step-env.ts';
import { until } from './wait.ts';

export type ScriptTestContext = TestStepContext;

export interface ScriptOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  json: unknown;
}

/** A step context with scripts enabled; `vars` are server environment variables (WEFT_SCRIPTS_NETWORK…). */
export function scriptContext(
  config: Record<string, unknown>,
  overrides: Partial<StepContext> = {},
  vars: Record<string, string> = {},
): ScriptTestContext {
  return stepContext(config, stepEnvFrom({ WEFT_SCRIPTS_ENABLED: 'true', ...vars }), overrides);
}

export async function runScript(
  config: Record<string, unknown>,
  overrides: Partial<StepContext> = {},
  vars: Record<string, string> = {},
): Promise<ScriptOutput> {
  return (await scriptStep.execute(scriptContext(config, overrides, vars))) as ScriptOutput;
}

export async function failure(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(result instanceof Error)) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

/**
 * Points os.tmpdir() (which follows TMPDIR) at a fresh directory, so a test sees exactly the
 * attempt directories its scripts create. Traversable by others: bwrap runs as uid 65534 when
 * the tests run as root.
 */
export function privateTmpdir() {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-script-tests-'));
  chmodSync(dir, 0o711);
  process.env.TMPDIR = dir;
  return {
    dir,
    attempts: () =>
      readdirSync(dir)
        .filter((name) => name.startsWith('weft-script-'))
        .map((name) => path.join(dir, name)),
    restore() {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Host pids of the live processes in a PID namespace, named as /proc/self/ns/pid reads inside it
 * ("pid:[4026532180]"). Zombies do not count: bwrap leaves the sandbox's init to the system's
 * reaper, which may be slow to reap it (or, in some containers, never).
 */
export function processesInNamespace(ns: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const zombie = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z';
      if (!zombie && readlinkSync(`/proc/${entry}/ns/pid`) === ns) found.push(Number(entry));
    } catch {
      // gone meanwhile, or a zombie
    }
  }
  return found;
}

/** Waits (bounded) for a step log line matching `pattern` and returns its match. */
export function logLine(ctx: ScriptTestContext, pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
  return until(
    `a log line matching ${pattern}`,
    timeoutMs,
    async () => {
      for (const line of ctx.lines) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      return false;
    },
    20,
  );
}
