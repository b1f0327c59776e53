// script: runs a shell or Python script as a child process, in its own temp directory, with a
// scrubbed environment, an output cap and the step's timeout. Cancellation and timeouts kill
// the whole process group (SIGTERM, then SIGKILL after a grace period).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPythonScript, checkShellScript } from './command-allowlist.ts';
import { stringRecord } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
const KILL_GRACE_MS = 2000;
const MAX_LOGGED_LINES = 1000;
const TRUNCATED = '\n[truncated]';

class CappedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer) {
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (chunk.length > room) this.truncated = true;
    const kept = chunk.subarray(0, room);
    this.chunks.push(kept);
    this.size += kept.length;
  }
  text() {
    return Buffer.concat(this.chunks).toString('utf8') + (this.truncated ? TRUNCATED : '');
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export const scriptStep: StepHandler = {
  async execute(ctx: StepContext) {
    if (!ctx.env.scriptsEnabled) {
      throw new NonRetriableError('Script steps are disabled on this server. An operator can enable them by setting WEFT_SCRIPTS_ENABLED=true on the server.');
    }
    const { config } = ctx;
    const language = config.language;
    if (language !== 'shell' && language !== 'python') throw new NonRetriableError('script.language must be "shell" or "python"');
    if (typeof config.source !== 'string' || !config.source.trim()) throw new NonRetriableError('script.source must be a non-empty string');
    const args = Array.isArray(config.args) ? config.args.map(String) : [];
    const verdict = language === 'shell' ? checkShellScript(config.source, ctx.workflow.commandAllowlist) : checkPythonScript(ctx.workflow.commandAllowlist);
    if (!verdict.allowed) {
      throw new NonRetriableError(`Script refused by the workflow's command allowlist: ${verdict.reason}. Allowed templates: ${ctx.workflow.commandAllowlist.map((t) => JSON.stringify(t)).join(', ')}`);
    }
    const maxBytes = typeof config.maxOutputBytes === 'number' && config.maxOutputBytes > 0 ? Math.min(config.maxOutputBytes, ctx.env.maxResponseBytes) : DEFAULT_MAX_OUTPUT_BYTES;

    const dir = await mkdtemp(path.join(tmpdir(), 'weft-script-'));
    try {
      const file = path.join(dir, language === 'shell' ? 'script.sh' : 'script.py');
      await writeFile(file, config.source, { mode: 0o600 });
      const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: dir, TMPDIR: dir, LANG: 'C.UTF-8', ...stringRecord(config.env, 'script.env') };
      const command = language === 'shell' ? '/bin/sh' : 'python3';
      return await new Promise((resolve, reject) => {
        const child = spawn(command, [file, ...args], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        const stdout = new CappedBuffer(maxBytes);
        const stderr = new CappedBuffer(maxBytes);
        let logged = 0;
        const logLines = (prefix: string, chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split('\n')) {
            if (line && logged++ < MAX_LOGGED_LINES) ctx.log(`${prefix}${line}`);
          }
        };
        child.stdout!.on('data', (chunk: Buffer) => (stdout.push(chunk), logLines('', chunk)));
        child.stderr!.on('data', (chunk: Buffer) => (stderr.push(chunk), logLines('stderr: ', chunk)));
        let killTimer: NodeJS.Timeout | undefined;
        const onAbort = () => {
          killGroup(child.pid, 'SIGTERM');
          killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
        };
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        child.on('error', (error) => {
          ctx.signal.removeEventListener('abort', onAbort);
          reject(new NonRetriableError(`Could not start ${command}: ${error.message}`));
        });
        child.on('close', (code, signal) => {
          ctx.signal.removeEventListener('abort', onAbort);
          clearTimeout(killTimer);
          killGroup(child.pid, 'SIGKILL'); // leftovers of the group, if any
          if (ctx.signal.aborted) return reject(ctx.signal.reason);
          if (stdout.truncated || stderr.truncated) ctx.log(`output truncated at ${maxBytes} bytes`);
          const out = stdout.text();
          let json: unknown = null;
          try {
            json = out.trim() ? JSON.parse(out) : null;
          } catch {
            json = null;
          }
          const result = { exitCode: code ?? -1, stdout: out, stderr: stderr.text(), json };
          if (code !== 0) return reject(new Error(`Script exited with ${code ?? `signal ${signal}`}: ${stderr.text().slice(-300)}`));
          resolve(result);
        });
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
