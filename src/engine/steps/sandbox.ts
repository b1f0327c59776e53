// The script sandbox: every script step runs under bubblewrap (bwrap), never as a plain child.
//
// What a sandboxed script gets (docs/steps.md, "What a script sees"):
//   - new user, PID, mount, IPC, UTS, cgroup and network namespaces; uid/gid 65534 inside, no
//     capabilities, and no way to make further user namespaces (--disable-userns);
//   - a root that is an empty, read-only tmpfs holding: /usr (read-only, with the /bin, /sbin,
//     /lib* links or directories of the host layout), a few generated /etc files and a few
//     harmless host ones (dynamic linker cache, time zone, alternatives links, CA certificates),
//     its own /proc (its own processes only) and a minimal /dev, a private tmpfs /tmp, /job (the
//     attempt's own writable directory) and /run/weft (the script file, read-only);
//   - nothing else of the host: no server process, environment, data directory, key file, other
//     attempt's directory, and no network but its own loopback (WEFT_SCRIPTS_NETWORK=outbound
//     adds a proxy, see sandbox-proxy.ts).
//
// Two details matter for secrecy:
//   - bwrap is started with an empty environment and its options (with the script's --setenv
//     values) come through a pipe (--args), not the command line: bwrap itself stays PID 1 of the
//     sandbox and its /proc/1/environ and cmdline are readable from inside, and a host command
//     line is readable by every local user;
//   - when Weft runs as root, bwrap runs as uid/gid 65534 on the host too (the attempt
//     directory is handed to that user), so a script is unprivileged on both sides of the user
//     namespace. Run by anyone else, bwrap maps 65534 inside to the server's own uid.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ScriptSettings } from '../../config.ts';

/** The script's user and group inside the sandbox ("nobody"), and on the host when Weft runs as root. */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;
/** Paths inside the sandbox. */
export const JOB_DIR = '/job';
export const RUN_DIR = '/run/weft';
const NODE_IN_SANDBOX = '/run/weft-node';
/** Where the in-sandbox forwarder listens, in the sandbox's own network namespace. */
export const PROXY_PORT = 3128;
const TMP_BYTES = 64 * 1024 * 1024;
/**
 * A fixed, conventional PATH rather than the server's own: what a script can find does not depend
 * on how the server was started. bwrap is looked up in the same directories.
 */
export const SCRIPT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Host files shown read-only at the same path when they exist: none of them is a secret. */
const HOST_ETC = ['/etc/ld.so.cache', '/etc/localtime', '/etc/alternatives', '/etc/ssl/certs'];
/** Generated instead of the host's: the host's user list and name service setup are none of the script's business. */
const GENERATED_ETC: Record<string, string> = {
  passwd: `nobody:x:${SANDBOX_UID}:${SANDBOX_GID}:nobody:${JOB_DIR}:/usr/sbin/nologin\n`,
  group: `nogroup:x:${SANDBOX_GID}:\n`,
  hosts: '127.0.0.1 localhost\n::1 localhost\n',
  'nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files dns\n',
};

export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

/** The bwrap executable: the configured path, or the first one in the standard directories. */
export function findBwrap(configured: string | null): string | null {
  const candidates = configured ? [configured] : SCRIPT_PATH.split(':').map((dir) => path.join(dir, 'bwrap'));
  return candidates.find(isExecutable) ?? null;
}

/** Whether `command` (a path, or a name on SCRIPT_PATH) can be run inside the sandbox, which shows the host's /usr, /bin and /sbin as they are. */
export function existsInSandbox(command: string): boolean {
  if (command.startsWith('/')) return isExecutable(command);
  return SCRIPT_PATH.split(':').some((dir) => isExecutable(path.join(dir, command)));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return lstatSync(file).isDirectory() === false;
  } catch {
    return false;
  }
}

/** Root drops to nobody for bwrap; anyone else runs it as themselves. */
function hostUser(): { uid: number; gid: number } | null {
  return process.getuid?.() === 0 ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : null;
}

/** The environment every script gets; a step's `env` adds to it but cannot replace these. */
export function sandboxEnvironment(network: ScriptSettings['network']): Record<string, string> {
  const env: Record<string, string> = { PATH: SCRIPT_PATH, HOME: JOB_DIR, TMPDIR: '/tmp', LANG: 'C.UTF-8' };
  if (network === 'outbound') {
    const proxy = `http://127.0.0.1:${PROXY_PORT}`;
    // Upper and lower case: curl reads only http_proxy in lower case, others prefer upper case.
    for (const name of ['http_proxy', 'https_proxy', 'all_proxy']) env[name] = env[name.toUpperCase()] = proxy;
  }
  return env;
}

/** One attempt's directories on the host: `job` is /job, `run` is /run/weft, `etc` holds the generated /etc files. */
export interface AttemptDirs {
  root: string;
  job: string;
  run: string;
  etc: string;
}

/** Creates an attempt's directories (mode 0700), owned by the user bwrap will run as. */
export async function createAttemptDirs(): Promise<AttemptDirs> {
  const root = await mkdtemp(path.join(tmpdir(), 'weft-script-'));
  const dirs = { root, job: path.join(root, 'job'), run: path.join(root, 'run'), etc: path.join(root, 'etc') };
  try {
    await Promise.all([dirs.job, dirs.run, dirs.etc].map((dir) => mkdir(dir, { mode: 0o700 })));
    await Promise.all(
      Object.entries(GENERATED_ETC).map(([name, text]) => writeFile(path.join(dirs.etc, name), text, { mode: 0o444 })),
    );
    await handOver([
      dirs.root,
      dirs.job,
      dirs.run,
      dirs.etc,
      ...Object.keys(GENERATED_ETC).map((name) => path.join(dirs.etc, name)),
    ]);
    return dirs;
  } catch (error) {
    await removeAttemptDirs(dirs);
    throw error;
  }
}

/** Gives files of an attempt to the user bwrap runs as (a no-op unless Weft runs as root). */
export async function handOver(files: string[]) {
  const user = hostUser();
  if (user) await Promise.all(files.map((file) => chown(file, user.uid, user.gid)));
}

export async function removeAttemptDirs(dirs: AttemptDirs) {
  await rm(dirs.root, { recursive: true, force: true, maxRetries: 3 });
}

let systemLayout: string[] | undefined;
/** /usr read-only, and /bin, /sbin, /lib… as the host has them: links into /usr (merged /usr) or read-only directories. */
function systemMounts(): string[] {
  if (systemLayout) return systemLayout;
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const name of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      const stat = lstatSync(name);
      if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(name), name);
      else if (stat.isDirectory()) args.push('--ro-bind', name, name);
    } catch {
      // not on this system
    }
  }
  systemLayout = args;
  return args;
}

export interface SandboxSpec {
  dirs: AttemptDirs;
  /** The script's whole environment. */
  env: Record<string, string>;
  network: ScriptSettings['network'];
  /** The command to run inside, e.g. ['/bin/sh', '/run/weft/script.sh', 'arg']. */
  command: string[];
}

/** bwrap's options (sent through --args) and the command line after them. */
export function bwrapInvocation(spec: SandboxSpec): { options: string[]; command: string[] } {
  const options = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'weft-script',
    '--cap-drop',
    'ALL',
  ];
  options.push('--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID), '--clearenv');
  for (const [name, value] of Object.entries(spec.env)) options.push('--setenv', name, value);
  options.push(...systemMounts(), '--dir', '/etc');
  for (const name of Object.keys(GENERATED_ETC))
    options.push('--ro-bind', path.join(spec.dirs.etc, name), `/etc/${name}`);
  for (const file of HOST_ETC) options.push('--ro-bind-try', file, file);
  options.push('--proc', '/proc', '--dev', '/dev', '--size', String(TMP_BYTES), '--tmpfs', '/tmp');
  options.push('--bind', spec.dirs.job, JOB_DIR, '--ro-bind', spec.dirs.run, RUN_DIR);
  let command = spec.command;
  if (spec.network === 'outbound') {
    // The server's own Node runs the forwarder: it is there whatever the host has under /usr.
    options.push('--ro-bind', process.execPath, NODE_IN_SANDBOX);
    command = [
      NODE_IN_SANDBOX,
      '-e',
      forwarderSource(),
      '--',
      String(PROXY_PORT),
      `${RUN_DIR}/proxy.sock`,
      ...spec.command,
    ];
  }
  options.push('--remount-ro', '/', '--chdir', JOB_DIR, '--info-fd', '4');
  // The options travel NUL-separated: a NUL inside one would start another option.
  if (options.some((option) => option.includes('\0'))) throw new Error('sandbox: a NUL character in an option');
  return { options, command };
}

let forwarder: string | undefined;
function forwarderSource(): string {
  forwarder ??= readFileSync(new URL('./sandbox-forwarder.cjs', import.meta.url), 'utf8');
  return forwarder;
}

export interface SandboxProcess {
  /** bwrap on the host; its own process group (detached). */
  child: ChildProcess & { stdout: Readable; stderr: Readable };
  /** The host pid of the sandbox's init, whose process group holds the script; null until bwrap reports it. */
  sandboxPid(): number | null;
}

/** Starts bwrap for one attempt. stdout and stderr are the script's; stdin is empty. */
export function spawnSandbox(bwrap: string, spec: SandboxSpec): SandboxProcess {
  const { options, command } = bwrapInvocation(spec);
  const user = hostUser();
  // env {}: nothing of the server's environment reaches bwrap, which the script can read (/proc/1/environ).
  const child = spawn(bwrap, ['--args', '3', ...command], {
    env: {},
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    ...(user ?? {}),
  });
  const argsPipe = child.stdio[3] as Writable;
  argsPipe.on('error', () => {}); // bwrap failed before reading them: its exit says why
  argsPipe.end(options.map((option) => `${option}\0`).join(''));
  let info = '';
  let pid: number | null = null;
  const infoPipe = child.stdio[4] as Readable;
  infoPipe.on('error', () => {});
  infoPipe.on('data', (chunk: Buffer) => {
    info += chunk.toString('utf8');
    const match = /"child-pid"\s*:\s*(\d+)/.exec(info);
    if (match) pid = Number(match[1]);
  });
  return { child: child as SandboxProcess['child'], sandboxPid: () => pid };
}

/**
 * Runs a trivial command in a sandbox exactly as a script would run (with the forwarder when
 * the network is outbound), once at start-up: bwrap can be installed and still be unable to
 * create namespaces. Throws a SandboxUnavailableError that says what to do.
 */
export async function probeSandbox(settings: ScriptSettings, timeoutMs = 15_000): Promise<void> {
  const bwrap = findBwrap(settings.bwrapPath);
  const off = 'or turn script steps off with WEFT_SCRIPTS_ENABLED=false';
  if (!bwrap) {
    const where = settings.bwrapPath
      ? `at WEFT_BWRAP_PATH=${settings.bwrapPath}`
      : `in ${SCRIPT_PATH.split(':').join(', ')}`;
    throw new SandboxUnavailableError(
      `Script steps are enabled (WEFT_SCRIPTS_ENABLED=true), but bubblewrap (bwrap), the sandbox every script runs in, was not found ${where}. ` +
        `Install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install bubblewrap; Alpine: apk add bubblewrap) or set WEFT_BWRAP_PATH, ${off}.`,
    );
  }
  const dirs = await createAttemptDirs();
  try {
    const { child } = spawnSandbox(bwrap, {
      dirs,
      env: sandboxEnvironment(settings.network),
      network: settings.network,
      command: ['/bin/sh', '-c', 'exit 0'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.resume();
    const outcome = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(
        () => (child.pid && process.kill(-child.pid, 'SIGKILL'), resolve(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.on('error', (error) => (clearTimeout(timer), resolve(error.message)));
      child.on(
        'close',
        (code, signal) => (
          clearTimeout(timer),
          resolve(
            code === 0
              ? null
              : `${signal ? `killed by ${signal}` : `exit code ${code}`}${stderr.trim() ? `: ${stderr.trim().slice(-500)}` : ''}`,
          )
        ),
      );
    });
    if (outcome === null) return;
    const needs = [
      'bubblewrap 0.8 or later',
      'unprivileged user namespaces (sysctl user.max_user_namespaces above 0; kernel.unprivileged_userns_clone=1 on older Debian kernels; on Ubuntu 23.10 and later an AppArmor profile that lets bwrap use them)',
      ...(hostUser() ? [`a temporary directory (${tmpdir()}) that uid ${SANDBOX_UID} can traverse`] : []),
      ...(settings.network === 'outbound' && hostUser()
        ? [
            `with WEFT_SCRIPTS_NETWORK=outbound, the Node.js binary (${process.execPath}) readable by uid ${SANDBOX_UID}`,
          ]
        : []),
    ];
    throw new SandboxUnavailableError(
      `Script steps are enabled (WEFT_SCRIPTS_ENABLED=true), but bubblewrap (${bwrap}) could not run a script in a sandbox (${outcome}). It needs ${needs.join('; ')}. Fix that, ${off}.`,
    );
  } finally {
    await removeAttemptDirs(dirs);
  }
}
