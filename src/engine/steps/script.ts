// script: runs a shell or Python script in a sandbox → { exitCode, stdout, stderr, json }.
//
// Every script runs under bubblewrap (sandbox.ts): its own namespaces, uid 65534, a read-only
// minimal root, a private /job and /tmp, no view of the server's processes, environment or
// files, and no network unless WEFT_SCRIPTS_NETWORK=outbound gives it a proxy that applies
// WEFT_OUTBOUND_ALLOW (sandbox-proxy.ts). There is no unsandboxed fallback. Around that:
//   - disabled unless the server sets WEFT_SCRIPTS_ENABLED=true;
//   - the workflow's command allowlist is checked before anything runs (command-allowlist.ts),
//     and with an allowlist the step's `env` may set only the names in WEFT_SCRIPT_ENV_ALLOW;
//   - the environment is Weft's fixed one (PATH, HOME, TMPDIR, LANG, proxy variables) plus the
//     step's `env`;
//   - cancellation and the step timeout send SIGTERM to the script's processes, then SIGKILL to
//     the sandbox after a grace period; when the script ends, the sandbox (and anything it left
//     running) ends with it;
//   - stdout and stderr are each capped; the excess is dropped and marked;
//   - the step's `files` (upload ids) are copied into /job/input, and the regular files the
//     script leaves in /job/output become attachments of the step (output.attachments).
// A non-zero exit is an ordinary (retryable) failure; not being allowed to run, or not being
// able to start the interpreter, is not.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { checkPythonScript, checkShellScript } from './command-allowlist.ts';
import { isPlainObject } from '../../json.ts';
import { integerIn, MIB } from './limits.ts';
import {
  createAttemptDirs,
  existsInSandbox,
  findBwrap,
  handOver,
  removeAttemptDirs,
  RUN_DIR,
  sandboxEnvironment,
  spawnSandbox,
  type SandboxSpec,
} from './sandbox.ts';
import { startSandboxProxy, type SandboxProxy } from './sandbox-proxy.ts';
import { collectOutputFiles, makeJobDir, parseFileRefs, placeInputFiles } from './step-file-io.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';
import { coerceError } from '../../errors.ts';

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
const MAX_OUTPUT_BYTES = 10 * MIB;
const MAX_SOURCE_CHARS = 100_000;
const KILL_GRACE_MS = 2000;
/** Lines streamed to the step's log per attempt, and characters per line; the output keeps the rest. */
const MAX_LOGGED_LINES = 500;
const MAX_LOGGED_LINE_CHARS = 1000;
export const TRUNCATED_MARKER = '\n[truncated]';
/** Refused lines of the outbound proxy logged per attempt; the script sees every refusal anyway. */
const MAX_LOGGED_REFUSALS = 20;

type Language = 'shell' | 'python';

interface ScriptConfig {
  language: Language;
  source: string;
  args: string[];
  env: Record<string, string>;
  maxOutputBytes: number;
}

function envAllowed(name: string, allow: string[]): boolean {
  return allow.some((entry) => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry));
}

/**
 * The step's `env`. With a command allowlist only names the operator allows may be set: almost any
 * variable can change what an allowed program does (GIT_CONFIG_* turns `git status` into running
 * anything, and so do LD_PRELOAD, PYTHONSTARTUP, BASH_ENV, PERL5OPT…), so this is an allowlist,
 * not a list of the dangerous ones.
 */
function parseEnv(value: unknown, ctx: StepContext): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw new NonRetriableError('script.env must be an object of NAME: value');
  const reserved = Object.keys(sandboxEnvironment(ctx.env.scripts.network)).filter((name) => name !== 'LANG');
  const allowlisted = ctx.workflow.commandAllowlist.length > 0;
  const allow = ctx.env.scripts.envAllow;
  const env: Record<string, string> = {};
  for (const [name, item] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new NonRetriableError(
        `script.env: '${name}' is not a valid variable name (letters, digits and _, not starting with a digit)`,
      );
    if (reserved.includes(name))
      throw new NonRetriableError(`script.env.${name} cannot be set: Weft sets ${reserved.join(', ')} itself`);
    if (allowlisted && !envAllowed(name, allow)) {
      throw new NonRetriableError(
        `script.env.${name} cannot be set: the workflow has a command allowlist, and then a step may set only the variables the server's WEFT_SCRIPT_ENV_ALLOW allows (${allow.join(', ') || 'none'}), because a variable can change what an allowed command does`,
      );
    }
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean')
      throw new NonRetriableError(`script.env.${name} must be a string, number or boolean`);
    if (String(item).includes('\0')) throw new NonRetriableError(`script.env.${name} must not contain a NUL character`);
    env[name] = String(item);
  }
  return env;
}

function parseConfig(ctx: StepContext): ScriptConfig {
  const { config } = ctx;
  const language = config.language;
  if (language !== 'shell' && language !== 'python')
    throw new NonRetriableError(`script.language must be "shell" or "python", got ${JSON.stringify(language)}`);
  const source = config.source;
  if (typeof source !== 'string' || !source.trim())
    throw new NonRetriableError('script.source must be a non-empty string');
  if (source.length > MAX_SOURCE_CHARS)
    throw new NonRetriableError(`script.source is ${source.length} characters, more than ${MAX_SOURCE_CHARS}`);
  const rawArgs = config.args ?? [];
  if (
    !Array.isArray(rawArgs) ||
    !rawArgs.every((a) => typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean')
  ) {
    throw new NonRetriableError('script.args must be a list of strings');
  }
  const args = rawArgs.map(String);
  const withNul = args.findIndex((arg) => arg.includes('\0'));
  if (withNul >= 0) throw new NonRetriableError(`script.args[${withNul}] must not contain a NUL character`);
  const configured = integerIn(
    config.maxOutputBytes,
    'script.maxOutputBytes',
    1,
    MAX_OUTPUT_BYTES,
    DEFAULT_MAX_OUTPUT_BYTES,
  );
  return {
    language,
    source,
    args,
    env: parseEnv(config.env, ctx),
    maxOutputBytes: Math.min(configured, ctx.env.maxResponseBytes),
  };
}

function checkAllowlist(ctx: StepContext, script: ScriptConfig) {
  const allowlist = ctx.workflow.commandAllowlist;
  const verdict =
    script.language === 'shell' ? checkShellScript(script.source, allowlist) : checkPythonScript(allowlist);
  if (verdict.allowed) return;
  throw new NonRetriableError(
    `Script refused by the workflow's command allowlist: ${verdict.reason}. Allowed templates: ${allowlist.map((t) => JSON.stringify(t)).join(', ')}`,
  );
}

/**
 * Text a script printed, fit for storing: PostgreSQL text and jsonb cannot hold NUL (a NUL in a
 * step's output or log made recording the result fail, again on every retry), so each becomes
 * U+FFFD, as an invalid UTF-8 byte does.
 */
function storable(text: string): string {
  return text.replaceAll('\0', '\uFFFD');
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
    return storable(Buffer.concat(this.chunks, this.size).toString('utf8')) + (this.truncated ? TRUNCATED_MARKER : '');
  }
}

/** Streams complete lines to the step log as they arrive, within a budget shared by both streams. */
class LineLogger {
  private logged = 0;
  private readonly log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.log = (line) => log(storable(line));
  }

  stream(prefix: string) {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    const emit = (line: string) => {
      if (this.logged === MAX_LOGGED_LINES)
        this.log(`… more output is not logged (the step output keeps up to its cap)`);
      if (this.logged++ >= MAX_LOGGED_LINES) return;
      this.log(`${prefix}${line.length > MAX_LOGGED_LINE_CHARS ? `${line.slice(0, MAX_LOGGED_LINE_CHARS)}…` : line}`);
    };
    return {
      write: (chunk: Buffer) => {
        pending += decoder.write(chunk);
        for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
          emit(pending.slice(0, newline).replace(/\r$/, ''));
          pending = pending.slice(newline + 1);
        }
        // A very long line without a newline is logged in pieces rather than held forever.
        if (pending.length > MAX_LOGGED_LINE_CHARS) {
          emit(pending);
          pending = '';
        }
      },
      end: () => {
        pending += decoder.end();
        if (pending) emit(pending);
      },
    };
  }
}

function killGroup(pid: number | null | undefined, signal: NodeJS.Signals) {
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
    // "\u0000" in the JSON is a NUL once parsed: the same rule as for the text.
    return JSON.parse(stdout, (_key, value: unknown) => {
      if (typeof value === 'string') return storable(value);
      if (isPlainObject(value) && Object.keys(value).some((key) => key.includes('\0')))
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [storable(key), item]));
      return value;
    }) as unknown;
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

function run(ctx: StepContext, script: ScriptConfig, bwrap: string, spec: SandboxSpec): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const { child, sandboxPid } = spawnSandbox(bwrap, spec);
    const stdout = new CappedOutput(script.maxOutputBytes);
    const stderr = new CappedOutput(script.maxOutputBytes);
    const lines = new LineLogger((line) => ctx.log(line));
    const outLog = lines.stream('');
    const errLog = lines.stream('stderr: ');
    child.stdout.on('data', (chunk: Buffer) => (stdout.push(chunk), outLog.write(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr.push(chunk), errLog.write(chunk)));

    let killTimer: NodeJS.Timeout | undefined;
    let startError: Error | undefined;
    // The script's processes are the process group of the sandbox's init (bwrap makes a new
    // session there), so SIGTERM reaches them all and they may clean up. SIGKILL goes to bwrap
    // outside: its death takes the init (--die-with-parent) and with it the whole PID namespace.
    // Before bwrap has reported the init, there is nothing to be gentle with.
    const onAbort = () => {
      ctx.log('stopping the script (SIGTERM to its processes)');
      const pid = sandboxPid();
      if (pid) killGroup(pid, 'SIGTERM');
      else killGroup(child.pid, 'SIGKILL');
      killTimer = setTimeout(
        () => (killGroup(child.pid, 'SIGKILL'), killGroup(sandboxPid(), 'SIGKILL')),
        KILL_GRACE_MS,
      );
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error) => {
      startError = error;
    });
    // When the script ends, the sandbox's init ends and the kernel kills whatever else was left
    // in its PID namespace: nothing can keep the output pipes open after that.
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      outLog.end();
      errLog.end();
      if (ctx.signal.aborted) return reject(coerceError(ctx.signal.reason));
      if (startError)
        return reject(new NonRetriableError(`Could not start the script sandbox (${bwrap}): ${startError.message}`));
      const err = stderr.text();
      if (sandboxPid() === null)
        return reject(
          new Error(
            `The script sandbox could not be set up (bwrap ${code === null ? `was killed by ${signal}` : `exited with code ${code}`}): ${err.trim().slice(-500)}`,
          ),
        );
      if (stdout.truncated) ctx.log(`stdout was over ${script.maxOutputBytes} bytes; the rest was dropped`);
      if (stderr.truncated) ctx.log(`stderr was over ${script.maxOutputBytes} bytes; the rest was dropped`);
      const out = stdout.text();
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

/** The outbound proxy of one attempt, in its run directory, usable by the sandbox's user. */
async function startProxy(ctx: StepContext, runDir: string): Promise<SandboxProxy> {
  const socketPath = path.join(runDir, 'proxy.sock');
  let refusals = 0;
  const proxy = await startSandboxProxy({
    socketPath,
    resolve: ctx.env.resolveOutbound,
    onRefused: (message) => {
      if (refusals++ < MAX_LOGGED_REFUSALS) ctx.log(`network: ${message}`);
    },
  });
  await handOver([socketPath]);
  return proxy;
}

export const scriptStep: StepHandler = {
  async execute(ctx: StepContext) {
    const settings = ctx.env.scripts;
    if (!settings.enabled) {
      throw new NonRetriableError(
        'Script steps are disabled on this server. To enable them, set WEFT_SCRIPTS_ENABLED=true on the server and restart it.',
      );
    }
    const script = parseConfig(ctx);
    const inputRefs = parseFileRefs(ctx.config.files, 'script.files');
    checkAllowlist(ctx, script);
    const interpreter = script.language === 'shell' ? '/bin/sh' : 'python3';
    if (!existsInSandbox(interpreter))
      throw new NonRetriableError(
        `Could not start ${interpreter}: it is not installed on the server where scripts can see it (the sandbox shows the host's /usr, /bin and /sbin)`,
      );
    const bwrap = findBwrap(settings.bwrapPath);
    if (!bwrap)
      throw new NonRetriableError(
        'Could not start the script sandbox: bubblewrap (bwrap) is not installed on the server (see WEFT_SCRIPTS_ENABLED in the README)',
      );
    if (ctx.signal.aborted) throw coerceError(ctx.signal.reason);

    const dirs = await createAttemptDirs();
    let proxy: SandboxProxy | undefined;
    try {
      const name = script.language === 'shell' ? 'script.sh' : 'script.py';
      const file = path.join(dirs.run, name);
      await writeFile(file, script.source, { mode: 0o400 });
      await handOver([file]);
      if (settings.network === 'outbound') proxy = await startProxy(ctx, dirs.run);
      ctx.log(
        `running ${script.language} script (${script.source.length} characters${script.args.length ? `, ${script.args.length} arguments` : ''}) in the sandbox, network ${settings.network}`,
      );
      const env = { ...sandboxEnvironment(settings.network), ...script.env };
      // /job/input holds the step's input files, /job/output what becomes the step's attachments.
      const inputDir = path.join(dirs.job, 'input');
      const outputDir = path.join(dirs.job, 'output');
      await Promise.all([makeJobDir(inputDir), makeJobDir(outputDir)]);
      const inputs = await placeInputFiles(ctx, inputRefs, inputDir, 'script.files');
      await handOver([inputDir, outputDir, ...inputs.map((input) => path.join(inputDir, input.name))]);
      if (inputs.length) ctx.log(`input files: ${inputs.map((input) => `input/${input.name}`).join(', ')}`);
      const result = await run(ctx, script, bwrap, {
        dirs,
        env,
        network: settings.network,
        command: [interpreter, `${RUN_DIR}/${name}`, ...script.args],
      });
      const attachments = await collectOutputFiles(ctx, outputDir);
      return attachments.length ? { ...result, attachments } : result;
    } finally {
      await proxy?.close();
      await removeAttemptDirs(dirs);
    }
  },
};
