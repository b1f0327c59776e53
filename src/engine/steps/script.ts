// script: runs a shell or Python script as a child process → { exitCode, stdout, stderr, json }.
//
// Isolation, such as it is (this is not a sandbox: the script runs as the server's user):
//   - disabled unless the server sets WEFT_SCRIPTS_ENABLED=true;
//   - the workflow's command allowlist is checked before anything runs (command-allowlist.ts);
//   - a fresh temp directory is the working directory, HOME and TMPDIR, and is removed after;
//   - a scrubbed environment: a fixed PATH, HOME, TMPDIR, LANG and the step's `env`, nothing of
//     the server's (no database URL, no keys);
//   - its own process group, so cancellation, the step timeout and the end of the script reach
//     every process it started (SIGTERM, then SIGKILL after a grace period);
//   - stdout and stderr are each capped; the excess is dropped and marked.
// A non-zero exit is an ordinary (retryable) failure; not being allowed to run, or not being
// able to start the interpreter, is not.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { checkPythonScript, checkShellScript } from './command-allowlist.ts';
import { integerIn, isPlainObject, MIB } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
const MAX_OUTPUT_BYTES = 10 * MIB;
const MAX_SOURCE_CHARS = 100_000;
const KILL_GRACE_MS = 2000;
/** Lines streamed to the step's log per attempt, and characters per line; the output keeps the rest. */
const MAX_LOGGED_LINES = 500;
const MAX_LOGGED_LINE_CHARS = 1000;
export const TRUNCATED_MARKER = '\n[truncated]';
/**
 * A fixed, conventional PATH rather than the server's own: what a script can find does not depend
 * on how the server was started (npm puts node_modules/.bin first, version managers add shims).
 */
export const SCRIPT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Set by the handler itself: a step may not replace them. */
const RESERVED_ENV = new Set(['PATH', 'HOME', 'TMPDIR']);
/** With an allowlist, variables that change what a checked command actually runs are refused too. */
const LOADER_ENV = /^(LD_|DYLD_)|^(BASH_ENV|ENV|IFS|CDPATH)$/;

type Language = 'shell' | 'python';

interface ScriptConfig {
  language: Language;
  source: string;
  args: string[];
  env: Record<string, string>;
  maxOutputBytes: number;
}

function parseEnv(value: unknown, allowlisted: boolean): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw new NonRetriableError('script.env must be an object of NAME: value');
  const env: Record<string, string> = {};
  for (const [name, item] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new NonRetriableError(`script.env: '${name}' is not a valid variable name (letters, digits and _, not starting with a digit)`);
    if (RESERVED_ENV.has(name)) throw new NonRetriableError(`script.env.${name} cannot be set: Weft sets PATH, HOME and TMPDIR itself`);
    if (allowlisted && LOADER_ENV.test(name)) throw new NonRetriableError(`script.env.${name} cannot be set when the workflow has a command allowlist (it changes what the allowed commands run)`);
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') throw new NonRetriableError(`script.env.${name} must be a string, number or boolean`);
    env[name] = String(item);
  }
  return env;
}

function parseConfig(ctx: StepContext): ScriptConfig {
  const { config } = ctx;
  const language = config.language;
  if (language !== 'shell' && language !== 'python') throw new NonRetriableError(`script.language must be "shell" or "python", got ${JSON.stringify(language)}`);
  const source = config.source;
  if (typeof source !== 'string' || !source.trim()) throw new NonRetriableError('script.source must be a non-empty string');
  if (source.length > MAX_SOURCE_CHARS) throw new NonRetriableError(`script.source is ${source.length} characters, more than ${MAX_SOURCE_CHARS}`);
  const rawArgs = config.args ?? [];
  if (!Array.isArray(rawArgs) || !rawArgs.every((a) => typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean')) {
    throw new NonRetriableError('script.args must be a list of strings');
  }
  const allowlisted = ctx.workflow.commandAllowlist.length > 0;
  const configured = integerIn(config.maxOutputBytes, 'script.maxOutputBytes', 1, MAX_OUTPUT_BYTES, DEFAULT_MAX_OUTPUT_BYTES);
  return { language, source, args: rawArgs.map(String), env: parseEnv(config.env, allowlisted), maxOutputBytes: Math.min(configured, ctx.env.maxResponseBytes) };
}

function checkAllowlist(ctx: StepContext, script: ScriptConfig) {
  const allowlist = ctx.workflow.commandAllowlist;
  const verdict = script.language === 'shell' ? checkShellScript(script.source, allowlist) : checkPythonScript(allowlist);
  if (verdict.allowed) return;
  throw new NonRetriableError(`Script refused by the workflow's command allowlist: ${verdict.reason}. Allowed templates: ${allowlist.map((t) => JSON.stringify(t)).join(', ')}`);
}

/** Keeps the first `max` bytes of a stream and remembers whether anything was dropped. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly max: number;
  truncated = false;

  constructor(max: number) {
    this.max = max;
  }

  push(chunk: Buffer) {
    const room = this.max - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.subarray(0, room);
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8') + (this.truncated ? TRUNCATED_MARKER : '');
  }
}

/** Streams complete lines to the step log as they arrive, within a budget shared by both streams. */
class LineLogger {
  private logged = 0;
  private readonly log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.log = log;
  }

  stream(prefix: string) {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    const emit = (line: string) => {
      if (this.logged === MAX_LOGGED_LINES) this.log(`… more output is not logged (the step output keeps up to its cap)`);
      if (this.logged++ >= MAX_LOGGED_LINES) return;
      this.log(`${prefix}${line.length > MAX_LOGGED_LINE_CHARS ? `${line.slice(0, MAX_LOGGED_LINE_CHARS)}…` : line}`);
    };
    return {
      write: (chunk: Buffer) => {
        pending += decoder.write(chunk);
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          emit(pending.slice(0, newline).replace(/\r$/, ''));
          pending = pending.slice(newline + 1);
        }
        // A very long line without a newline is logged in pieces rather than held forever.
        if (pending.length > MAX_LOGGED_LINE_CHARS) (emit(pending), (pending = ''));
      },
      end: () => {
        pending += decoder.end();
        if (pending) emit(pending);
      },
    };
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

function parseJson(stdout: string, truncated: boolean): unknown {
  if (truncated || !stdout.trim()) return null;
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    return null;
  }
}

interface ScriptResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  json: unknown;
}

function run(ctx: StepContext, script: ScriptConfig, dir: string, file: string): Promise<ScriptResult> {
  const command = script.language === 'shell' ? '/bin/sh' : 'python3';
  const env = { PATH: SCRIPT_PATH, HOME: dir, TMPDIR: dir, LANG: 'C.UTF-8', ...script.env };
  return new Promise((resolve, reject) => {
    // detached: the child leads a new process group, so one kill reaches everything it started.
    const child = spawn(command, [file, ...script.args], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = new CappedOutput(script.maxOutputBytes);
    const stderr = new CappedOutput(script.maxOutputBytes);
    const lines = new LineLogger((line) => ctx.log(line));
    const outLog = lines.stream('');
    const errLog = lines.stream('stderr: ');
    child.stdout.on('data', (chunk: Buffer) => (stdout.push(chunk), outLog.write(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr.push(chunk), errLog.write(chunk)));

    let killTimer: NodeJS.Timeout | undefined;
    let startError: Error | undefined;
    const onAbort = () => {
      ctx.log('stopping the script (SIGTERM to its process group)');
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error) => {
      startError = error;
    });
    // When the script itself ends, whatever it left running in the background goes too; otherwise
    // a leftover holding stdout open would keep the step waiting for 'close'.
    child.on('exit', () => killGroup(child.pid, 'SIGKILL'));
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      outLog.end();
      errLog.end();
      if (ctx.signal.aborted) return reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(String(ctx.signal.reason)));
      if (startError) {
        return reject(new NonRetriableError(`Could not start ${command}: ${startError.message}${(startError as NodeJS.ErrnoException).code === 'ENOENT' ? ` (is ${command} installed on the server's PATH?)` : ''}`));
      }
      if (stdout.truncated) ctx.log(`stdout was over ${script.maxOutputBytes} bytes; the rest was dropped`);
      if (stderr.truncated) ctx.log(`stderr was over ${script.maxOutputBytes} bytes; the rest was dropped`);
      const out = stdout.text();
      const err = stderr.text();
      if (code !== 0) {
        const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
        const tail = err.trim().slice(-500);
        return reject(new Error(`Script ${how}${tail ? `: ${tail}` : ''}`));
      }
      ctx.log('script exited with code 0');
      resolve({ exitCode: code, stdout: out, stderr: err, json: parseJson(out, stdout.truncated) });
    });
  });
}

export const scriptStep: StepHandler = {
  async execute(ctx: StepContext) {
    if (!ctx.env.scriptsEnabled) {
      throw new NonRetriableError('Script steps are disabled on this server. To enable them, set WEFT_SCRIPTS_ENABLED=true on the server and restart it.');
    }
    const script = parseConfig(ctx);
    checkAllowlist(ctx, script);
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(String(ctx.signal.reason));

    const dir = await mkdtemp(path.join(tmpdir(), 'weft-script-'));
    try {
      const file = path.join(dir, script.language === 'shell' ? 'script.sh' : 'script.py');
      await writeFile(file, script.source, { mode: 0o600 });
      ctx.log(`running ${script.language} script (${script.source.length} characters${script.args.length ? `, ${script.args.length} arguments` : ''})`);
      return await run(ctx, script, dir, file);
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  },
};
