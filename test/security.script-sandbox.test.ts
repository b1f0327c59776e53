// Issue #20: from inside a script step nothing of the server is within reach — not its
// environment or memory, not the data directory or key files, not another attempt's directory,
// not a loopback port (PostgreSQL, Redis, Weft itself), not an env-based escape from the command
// allowlist; and with WEFT_SCRIPTS_NETWORK=outbound, the way out is the outbound policy's proxy.
// Each scenario first shows the thing is there to be found (a file exists, a port listens), so
// the test fails if the sandbox does not hide it. Real bwrap, real servers, a real Weft process.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSandbox, SandboxUnavailableError } from '../src/engine/steps/sandbox.ts';
import { scriptStep } from '../src/engine/steps/script.ts';
import { NonRetriableError } from '../src/engine/steps/types.ts';
import { startTestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { graphql } from './generated/gql.ts';
import { createWorkflowAt, isolatedDatabaseEnv, postGraphQL, startRunAt, startWeftProcess } from './helpers/process.ts';
import { failure, logLine, privateTmpdir, processesInNamespace, runScript, scriptContext } from './helpers/script.ts';
import { until } from './helpers/wait.ts';

const MIB = 1024 * 1024;
const RunSteps = graphql(`
  query SandboxSnoopRun($id: ID!) {
    run(id: $id) {
      status
      stepRuns {
        stepId
        status
        output
        error
        logs
      }
    }
  }
`);
const SNOOP = readFileSync(path.join(import.meta.dirname, 'helpers/sandbox-snoop.py'), 'utf8');
const fakeSecret = (what: string) => `weft-fake-secret-${what}-${randomBytes(12).toString('hex')}`;

interface Attempt {
  ok: boolean;
  value?: unknown;
  error?: string;
}
interface Snoop {
  uid: number;
  gid: number;
  ppid: number;
  pids: number[];
  files: Record<string, Attempt>;
  dirs: Record<string, Attempt>;
  ports: Record<string, Attempt>;
  procfs: Record<string, { environ: Attempt; cmdline: Attempt; maps: Attempt | null; mem: Attempt | null }>;
}

/** What the snoop script reached: every file, directory and port it tried must have failed, and no secret may show anywhere. */
function expectNothingReached(snoop: Snoop | null, stdout: string, secrets: string[]) {
  if (!snoop) throw new Error(`the snoop script printed no JSON: ${stdout.slice(0, 500)}`);
  const reached = [snoop.files, snoop.dirs, snoop.ports].flatMap((tried) =>
    Object.entries(tried)
      .filter(([, attempt]) => attempt.ok)
      .map(([what, attempt]) => `${what}: ${JSON.stringify(attempt.value).slice(0, 200)}`),
  );
  expect(reached).toEqual([]);
  for (const secret of secrets) expect(stdout).not.toContain(secret);
  const found = Object.entries(snoop.procfs)
    .filter(([, tried]) => tried.mem?.value === 'FOUND')
    .map(([pid]) => pid);
  expect(found).toEqual([]); // no readable memory holds anything marked as a server secret
}

async function listening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host, timeout: 2000 }, () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false)).on('timeout', () => (socket.destroy(), resolve(false)));
  });
}

let tmp: ReturnType<typeof privateTmpdir>;
let server: LoopbackServer;
let hostFiles: string;
beforeAll(async () => {
  tmp = privateTmpdir();
  server = await startLoopbackServer((req, res) => json(res, 200, { reached: req.path }));
  hostFiles = mkdtempSync(path.join(tmpdir(), 'weft-sandbox-host-'));
});
afterAll(async () => {
  await server?.close();
  rmSync(hostFiles, { recursive: true, force: true });
  tmp?.restore();
});

describe('what a script is', () => {
  it('runs as uid and gid 65534 without capabilities, seeing only its own processes and a minimal read-only root', async () => {
    const source = `import json, os
def writable(path):
    try:
        open(os.path.join(path, '.probe'), 'w').close()
        return True
    except OSError:
        return False
status = dict(line.split(':', 1) for line in open('/proc/self/status'))
print(json.dumps({
    'uid': os.getuid(), 'gid': os.getgid(), 'groups': os.getgroups(), 'caps': status['CapEff'].strip(), 'bounding': status['CapBnd'].strip(),
    'host': os.uname().nodename, 'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), 'root': sorted(os.listdir('/')),
    'writable': {p: writable(p) for p in ['/', '/etc', '/usr', '/run/weft', '/job', '/tmp']},
}))`;
    const out = await runScript({ language: 'python', source });
    const seen = out.json as {
      groups: number[];
      pids: number[];
      root: string[];
      writable: Record<string, boolean>;
    } & Record<string, unknown>;
    expect(seen).toMatchObject({
      uid: 65534,
      gid: 65534,
      caps: '0000000000000000',
      bounding: '0000000000000000',
      host: 'weft-script',
    });
    expect(seen.groups).toEqual([]); // no supplementary groups
    expect(seen.pids).toEqual([1, 2]); // bwrap's init and this script: nothing of the host
    expect(
      seen.root.filter(
        (name: string) =>
          ![
            'bin',
            'dev',
            'etc',
            'job',
            'lib',
            'lib32',
            'lib64',
            'libx32',
            'proc',
            'run',
            'sbin',
            'tmp',
            'usr',
          ].includes(name),
      ),
    ).toEqual([]);
    expect(seen.writable).toEqual({
      '/': false,
      '/etc': false,
      '/usr': false,
      '/run/weft': false,
      '/job': true,
      '/tmp': true,
    });
  });
});

describe('the server stays out of reach', () => {
  it("cannot read the server's environment or memory, or any process's environ, cmdline, maps or mem that holds a secret", async () => {
    // Secrets the server process holds (here the test process runs the handler, as the engine would).
    const secrets = ['WEFT_SECRETS_KEY', 'WEFT_ADMIN_API_KEY', 'WEFT_JWT_SECRET', 'WEFT_AGENT_API_KEY'].map(
      (name) => [name, fakeSecret(name)] as const,
    );
    for (const [name, value] of secrets) process.env[name] = value;
    try {
      const config = { pids: [process.pid, process.ppid] };
      const out = await runScript({
        language: 'python',
        source: SNOOP,
        maxOutputBytes: MIB,
        args: [JSON.stringify(config)],
      });
      const snoop = out.json as Snoop;
      expectNothingReached(
        snoop,
        out.stdout,
        secrets.map(([, value]) => value),
      );
      // The script's parent is the sandbox's init, whose environment is empty; the server's pid does not exist in there.
      expect(snoop.ppid).toBe(1);
      expect(snoop.procfs['1']!.environ).toMatchObject({ ok: true, value: '' });
      if (process.pid > 2) expect(snoop.procfs[String(process.pid)]!.environ).toEqual({ ok: false, error: 'ENOENT' });
    } finally {
      for (const [name] of secrets) delete process.env[name];
    }
  });

  it('cannot read the data directory, the key files or anything else of the host file system', async () => {
    // Laid out as Weft lays out an embedded installation: data/, secrets.key and admin-api-key side by side, 0600.
    const dataDir = path.join(hostFiles, 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dataDir, 'PG_VERSION'), '17\n', { mode: 0o600 });
    writeFileSync(path.join(hostFiles, 'secrets.key'), fakeSecret('secrets-key'), { mode: 0o600 });
    writeFileSync(path.join(hostFiles, 'admin-api-key'), fakeSecret('admin-key'), { mode: 0o600 });
    const files = [
      path.join(dataDir, 'PG_VERSION'),
      path.join(hostFiles, 'secrets.key'),
      path.join(hostFiles, 'admin-api-key'),
      '/etc/shadow',
      '/etc/hostname',
      path.join(process.cwd(), 'package.json'),
    ];
    const dirs = [dataDir, hostFiles, tmp.dir, process.cwd(), '/root', '/home', '/var', '/etc/ssl/private'];
    const out = await runScript({
      language: 'python',
      source: SNOOP,
      maxOutputBytes: MIB,
      args: [JSON.stringify({ files, dirs })],
    });
    const snoop = out.json as Snoop;
    expectNothingReached(snoop, out.stdout, [
      readFileSync(path.join(hostFiles, 'secrets.key'), 'utf8'),
      readFileSync(path.join(hostFiles, 'admin-api-key'), 'utf8'),
    ]);
    expect(Object.values(snoop.files).map((attempt) => attempt.error)).toEqual(files.map(() => 'ENOENT'));
  });

  it("cannot see or touch another attempt's directory, /tmp or processes", async () => {
    const controller = new AbortController();
    const first = scriptContext(
      {
        language: 'shell',
        source:
          'echo secret-of-the-first > /job/mine.txt\necho secret-of-the-first > /tmp/mine.txt\nreadlink /proc/self/ns/pid\nsleep 20',
      },
      { signal: controller.signal },
    );
    const running = scriptStep.execute(first);
    try {
      const [ns] = await logLine(first, /^pid:\[\d+\]$/);
      const [root] = tmp.attempts();
      const theirs = [path.join(root!, 'job', 'mine.txt'), path.join(root!, 'run', 'script.sh')];
      expect(readFileSync(theirs[0]!, 'utf8')).toBe('secret-of-the-first\n'); // it is there on the host
      const files = [...theirs, '/tmp/mine.txt', '/job/mine.txt'];
      const out = await runScript({
        language: 'python',
        source: SNOOP,
        maxOutputBytes: MIB,
        args: [JSON.stringify({ files, dirs: [root!, path.join(root!, 'job')] })],
      });
      const snoop = out.json as Snoop;
      expectNothingReached(snoop, out.stdout, ['secret-of-the-first']);
      expect(snoop.pids).toEqual([1, 2]);
      expect(processesInNamespace(ns).length).toBeGreaterThan(0); // the first attempt was alive meanwhile
    } finally {
      controller.abort(new Error('done'));
      await running.catch(() => {});
    }
  });

  it('cannot connect to any loopback port of the host (PostgreSQL, Redis, a server), with or without outbound network', async () => {
    const port = Number(new URL(server.url).port);
    for (const [what, open] of [
      ['PostgreSQL', await listening(5432)],
      ['Redis', await listening(6379)],
      ['the test server', await listening(port)],
    ] as const)
      expect(open, `${what} listens`).toBe(true);
    const ports = [5432, 6379, port].flatMap((p) => [
      ['127.0.0.1', p],
      ['::1', p],
      ['localhost', p],
    ]);
    for (const network of ['none', 'outbound']) {
      const out = await runScript(
        { language: 'python', source: SNOOP, maxOutputBytes: MIB, args: [JSON.stringify({ ports })] },
        {},
        { WEFT_SCRIPTS_NETWORK: network },
      );
      const snoop = out.json as Snoop;
      expectNothingReached(snoop, out.stdout, []);
      expect(Object.keys(snoop.ports)).toHaveLength(9);
    }
    expect(server.requests).toEqual([]);
  });

  it('cannot use the env of an allowlisted git to run something else (GIT_CONFIG_* → core.fsmonitor)', async () => {
    const hook = {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.fsmonitor',
      GIT_CONFIG_VALUE_0: 'echo HOOK-RAN-AS-$(id -u) >&2; false',
    };
    const source = 'git init -q\ngit status --short';
    // Without an allowlist the script may run anything anyway — and the hook is real:
    const free = await runScript({ language: 'shell', source, env: hook });
    expect(free.stderr).toContain('HOOK-RAN-AS-65534');
    // With one, the same env is refused before anything runs.
    const c = scriptContext(
      { language: 'shell', source, env: hook },
      { workflow: { commandAllowlist: ['git init -q', 'git status --short'] } },
    );
    const error = await failure(scriptStep.execute(c));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(
      /^script\.env\.GIT_CONFIG_COUNT cannot be set: the workflow has a command allowlist, and then a step may set only the variables the server's WEFT_SCRIPT_ENV_ALLOW allows/,
    );
    expect(c.lines).toEqual([]);
  });
});

describe('network', () => {
  const outbound = { WEFT_SCRIPTS_NETWORK: 'outbound', WEFT_OUTBOUND_ALLOW: 'loopback' };
  const FETCH = `import http.client, json, os, socket, sys, urllib.request
url, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def attempt(fn):
    try:
        return fn()
    except urllib.error.HTTPError as e:
        return f'HTTP {e.code}: {e.read().decode()}'
    except Exception as e:
        return f'{type(e).__name__}: {e}'
def tunnel():
    conn = http.client.HTTPConnection('127.0.0.1', 3128, timeout=5)
    conn.set_tunnel(host, port)
    conn.request('GET', '/through-connect')
    return conn.getresponse().read().decode()
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print(json.dumps({
    'proxy': os.environ.get('HTTP_PROXY'),
    'viaProxy': attempt(lambda: urllib.request.urlopen(url + '/through-proxy', timeout=5).read().decode()),
    'viaConnect': attempt(tunnel),
    'direct': attempt(lambda: direct.open(url + '/direct', timeout=3).read().decode()),
    'socket': attempt(lambda: socket.create_connection((host, port), timeout=3) and 'connected'),
}))`;
  const args = () => [server.url, '127.0.0.1', new URL(server.url).port];

  it('reaches an allowed server only through the proxy (absolute-form requests and CONNECT), never directly', async () => {
    const before = server.requests.length;
    const out = await runScript({ language: 'python', source: FETCH, args: args() }, {}, outbound);
    const seen = out.json as Record<string, string>;
    expect(seen.proxy).toBe('http://127.0.0.1:3128');
    expect(JSON.parse(seen.viaProxy!)).toEqual({ reached: '/through-proxy' });
    expect(seen.viaConnect).toContain('/through-connect');
    expect(seen.direct).toMatch(/URLError|ConnectionRefused|Network is unreachable/);
    expect(seen.socket).toMatch(/ConnectionRefusedError|OSError|unreachable/);
    expect(server.requests.slice(before).map((r) => r.path)).toEqual(['/through-proxy', '/through-connect']);
  });

  it('is refused by the proxy with the policy’s reason for a destination the policy blocks, by address or by name', async () => {
    const c = scriptContext(
      {
        language: 'python',
        source: `import json, urllib.request
out = {}
for url in ['http://10.1.2.3/', 'http://169.254.169.254/latest/meta-data/']:
    try:
        out[url] = urllib.request.urlopen(url, timeout=5).read().decode()
    except urllib.error.HTTPError as e:
        out[url] = f'{e.code} {e.read().decode()}'
print(json.dumps(out))`,
      },
      {},
      outbound,
    );
    const seen = (await scriptStep.execute(c)) as { json: Record<string, string> };
    expect(seen.json['http://10.1.2.3/']).toBe(
      '403 Outbound request to 10.1.2.3 refused: 10.1.2.3 is a private address. Allow it with WEFT_OUTBOUND_ALLOW (e.g. "loopback", "private", a CIDR or the host name).',
    );
    expect(seen.json['http://169.254.169.254/latest/meta-data/']).toMatch(
      /^403 Outbound request to 169\.254\.169\.254 refused: 169\.254\.169\.254 is a linkLocal address/,
    );
    expect(c.lines).toContain(
      'network: HTTP request to 10.1.2.3:80: Outbound request to 10.1.2.3 refused: 10.1.2.3 is a private address. Allow it with WEFT_OUTBOUND_ALLOW (e.g. "loopback", "private", a CIDR or the host name).',
    );

    // Without "loopback" in WEFT_OUTBOUND_ALLOW the test server is refused too, as a literal and by a name resolving to it.
    const before = server.requests.length;
    const strict = await runScript(
      {
        language: 'python',
        source: FETCH,
        args: [server.url.replace('127.0.0.1', 'localhost'), 'localhost', new URL(server.url).port],
      },
      {},
      { WEFT_SCRIPTS_NETWORK: 'outbound', WEFT_OUTBOUND_ALLOW: '' },
    );
    const refused = strict.json as Record<string, string>;
    expect(refused.viaProxy).toMatch(
      /^HTTP 403: Outbound request to localhost refused: (127\.0\.0\.1|::1) is a loopback address/,
    );
    expect(refused.viaConnect).toMatch(/Tunnel connection failed: 403/);
    expect(server.requests.length).toBe(before);
  });

  it('has no network at all by default', async () => {
    const before = server.requests.length;
    const out = await runScript({ language: 'python', source: FETCH, args: args() });
    const seen = out.json as Record<string, string>;
    expect(seen.proxy).toBeNull();
    for (const how of ['viaProxy', 'direct', 'socket', 'viaConnect'] as const)
      expect(seen[how], how).toMatch(/Error|refused|unreachable/i);
    expect(server.requests.length).toBe(before);
  });
});

describe('start-up', () => {
  it('probes bwrap by running a sandboxed command, and says what to do when it is missing or cannot sandbox', async () => {
    const settings = { enabled: true, network: 'none' as const, envAllow: [] };
    await probeSandbox({ ...settings, bwrapPath: null });
    await probeSandbox({ ...settings, network: 'outbound', bwrapPath: null });
    const missing = await failure(probeSandbox({ ...settings, bwrapPath: '/nonexistent/bwrap' }));
    expect(missing).toBeInstanceOf(SandboxUnavailableError);
    expect(missing.message).toBe(
      'Script steps are enabled (WEFT_SCRIPTS_ENABLED=true), but bubblewrap (bwrap), the sandbox every script runs in, was not found at WEFT_BWRAP_PATH=/nonexistent/bwrap. ' +
        'Install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install bubblewrap; Alpine: apk add bubblewrap) or set WEFT_BWRAP_PATH, or turn script steps off with WEFT_SCRIPTS_ENABLED=false.',
    );
    // Present but unable to sandbox (here: a program that always fails).
    const broken = await failure(probeSandbox({ ...settings, bwrapPath: '/bin/false' }));
    expect(broken.message).toMatch(
      /^Script steps are enabled \(WEFT_SCRIPTS_ENABLED=true\), but bubblewrap \(\/bin\/false\) could not run a script in a sandbox \(exit code 1\)\. It needs bubblewrap 0\.8 or later; unprivileged user namespaces .* or turn script steps off with WEFT_SCRIPTS_ENABLED=false\.$/,
    );
    // Run by root, bwrap runs as uid 65534, which must reach the attempt directories.
    if (process.getuid?.() === 0)
      expect(broken.message).toContain(`a temporary directory (${tmpdir()}) that uid 65534 can traverse`);
  });

  it('is probed when a process that executes steps starts, and only with scripts enabled', {
    timeout: 120_000,
  }, async () => {
    const enabled = await startTestApp({ WEFT_SCRIPTS_ENABLED: 'true', WEFT_BWRAP_PATH: '/nonexistent/bwrap' });
    try {
      expect(await failure(enabled.app.start(0))).toBeInstanceOf(SandboxUnavailableError);
    } finally {
      await enabled.close();
    }
    const disabled = await startTestApp({ WEFT_SCRIPTS_ENABLED: 'false', WEFT_BWRAP_PATH: '/nonexistent/bwrap' });
    try {
      await disabled.app.start(0);
    } finally {
      await disabled.close();
    }
  });

  it('exits with code 2 and the message alone, before listening, as a real process', { timeout: 240_000 }, async () => {
    const cleanups: (() => unknown)[] = [];
    try {
      const env = await isolatedDatabaseEnv(cleanups);
      const error = await failure(
        startWeftProcess({ ...env, WEFT_SCRIPTS_ENABLED: 'true', WEFT_BWRAP_PATH: '/nonexistent/bwrap' }, 180_000),
      );
      expect(error.message).toMatch(/^Weft exited with 2 before listening:/);
      expect(error.message).toContain(
        'bubblewrap (bwrap), the sandbox every script runs in, was not found at WEFT_BWRAP_PATH=/nonexistent/bwrap',
      );
      expect(error.message).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
  });
});

describe('through a real Weft process and the GraphQL API', () => {
  it('a script step of a workflow finds none of the server’s secrets, files or ports', {
    timeout: 300_000,
  }, async () => {
    const cleanups: (() => unknown)[] = [];
    try {
      const env = await isolatedDatabaseEnv(cleanups);
      const keyDir = mkdtempSync(path.join(tmpdir(), 'weft-sandbox-keys-'));
      cleanups.push(() => rmSync(keyDir, { recursive: true, force: true }));
      const dataDir = env.WEFT_DATA_DIR ?? null;
      const secrets: Record<string, string> = {
        WEFT_JWT_SECRET: fakeSecret('jwt'),
        WEFT_AGENT_API_KEY: fakeSecret('agent'),
        // On the embedded database the key is a file beside the data directory; on PostgreSQL, this variable.
        ...(dataDir ? {} : { WEFT_SECRETS_KEY: randomBytes(32).toString('hex') }),
      };
      const adminKeyFile = dataDir
        ? path.join(path.dirname(dataDir), 'admin-api-key')
        : path.join(keyDir, 'admin-api-key');
      const weft = await startWeftProcess(
        {
          ...env,
          ...secrets,
          WEFT_JWT_ISSUER: 'https://issuer.test',
          WEFT_JWT_AUDIENCE: 'weft',
          WEFT_ADMIN_API_KEY: '', // first start: the admin key is created and written to its file
          WEFT_ADMIN_KEY_FILE: adminKeyFile,
          WEFT_SCRIPTS_ENABLED: 'true',
          WEFT_ENGINE_POLL_MS: '50',
        },
        180_000,
      );
      cleanups.push(() => weft.stop('SIGKILL'));
      const apiKey = readFileSync(adminKeyFile, 'utf8').trim();
      const port = Number(new URL(weft.url).port);
      const files = [
        adminKeyFile,
        ...(dataDir ? [path.join(path.dirname(dataDir), 'secrets.key'), path.join(dataDir, 'PG_VERSION')] : []),
      ];
      for (const file of files) readFileSync(file); // they exist on the host
      const snoopConfig = {
        files,
        dirs: dataDir ? [dataDir] : [],
        ports: [
          ['127.0.0.1', port],
          ['127.0.0.1', 5432],
          ['127.0.0.1', 6379],
        ],
        pids: [weft.child.pid!],
      };

      const workflowId = await createWorkflowAt(
        weft.url,
        {
          name: 'snoop',
          definition: {
            steps: [
              {
                id: 'snoop',
                type: 'script',
                timeoutSeconds: 60,
                config: { language: 'python', source: SNOOP, maxOutputBytes: MIB, args: '{{ [$string(input)] }}' },
              },
            ],
          },
        },
        apiKey,
      );
      const runId = await startRunAt(weft.url, workflowId, snoopConfig, apiKey);
      let last: unknown;
      const run = await until('the run to finish', 60_000, async () => {
        const res = await postGraphQL(weft.url, RunSteps, { id: runId }, apiKey);
        expect(res.errors).toBeUndefined();
        last = res.data?.run;
        const current = res.data?.run;
        return current && ['COMPLETED', 'FAILED'].includes(current.status) ? current : false;
      }).catch((error: Error) => {
        const logs = weft
          .output()
          .split('\n')
          .filter((line) => !line.includes('"msg":"request"'));
        throw new Error(`${error.message}: ${JSON.stringify(last)}\n${logs.join('\n').slice(-3000)}`);
      });
      const step = run.stepRuns[0]!;
      expect(step.error).toBeNull();
      expect(run.status).toBe('COMPLETED');
      const output = step.output as { json: Snoop; stdout: string };
      const snoop = output.json;
      const everything = [
        ...Object.values(secrets),
        apiKey,
        ...(dataDir ? [readFileSync(path.join(path.dirname(dataDir), 'secrets.key'), 'utf8')] : []),
      ];
      expectNothingReached(snoop, output.stdout, everything);
      expect(snoop.uid).toBe(65534);
      expect(snoop.procfs[String(weft.child.pid)]?.environ).toEqual({ ok: false, error: 'ENOENT' });
      expect(Object.keys(snoop.ports)).toHaveLength(3);
      expect(step.logs).toContain('running python script');
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
  });
});
