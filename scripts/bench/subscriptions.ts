// npm run bench:subscriptions — live event delivery over graphql-ws.
//
// Starts Weft as a child process (embedded database in a temp dir, or BENCH_DATABASE_URL),
// connects N graphql-ws subscribers (default 1,000) to one run's `runEvents`, then runs a loop
// that produces a few hundred events. Measures, per delivered message, the latency from the
// event's creation (its timestamp, taken inside the transaction that commits it) to its receipt;
// events/s delivered; the server's RSS before subscribing, once every subscriber is idle (the
// growth per idle subscriber) and at its peak while events flow; and the server's CPU per
// delivered message. Then 100 runs × 10 subscribers, and 10,000 subscribers over 1,000 runs
// (10 subscriptions per connection, BENCH_MANY_ITEMS loop items per run). Beside it, in the same
// run, a bare `ws` server broadcasts the same number of messages of the same size to the same
// number of sockets: the floor. The last line is the one issue #15 names.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket, { WebSocketServer } from 'ws';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 100);
const MANY_ITEMS = Number(process.env.BENCH_MANY_ITEMS ?? 5);
const MANY_RUNS = Number(process.env.BENCH_MANY_RUNS ?? 1000);
const root = path.resolve(import.meta.dirname, '../..');
const ADMIN_KEY = `weft_live_${randomBytes(32).toString('base64url')}`;

/** A graphql-ws failure as text: a CloseEvent's code and reason, GraphQL errors' messages. */
function describe(error: unknown): string {
  const close = error as { code?: number; reason?: string };
  if (typeof close?.code === 'number') return `closed ${close.code} ${close.reason ?? ''}`;
  if (Array.isArray(error)) return error.map((e) => (e as Error).message).join('; ');
  return String(error);
}

function pct(sorted: number[], p: number) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** User + system CPU of a process, in ms (/proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startWeft(): Promise<{ url: string; pid: number; stop: () => void }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-bench-'));
  const env: Record<string, string> = {
    WEFT_ADMIN_API_KEY: ADMIN_KEY,
    WEFT_RATE_LIMIT_PER_MINUTE: '0',
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PORT: '0',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    WEFT_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1000',
    // The bench's own process holds every client socket; on a loaded machine it can answer a ping
    // later than the 12 s default, and the server would drop it (1006) as dead.
    WEFT_WS_KEEPALIVE_MS: '120000',
    WEFT_ENGINE_POLL_MS: '100',
    WEFT_OUTBOUND_ALLOW: 'loopback',
  };
  if (process.env.BENCH_DATABASE_URL) env.DATABASE_URL = process.env.BENCH_DATABASE_URL;
  else env.WEFT_HOME = dir;
  env.LOG_LEVEL = 'info';
  // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Weft did not start')), 60_000);
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/"url":"(http:\/\/[^"]+)"/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  return { url, pid: child.pid!, stop: () => (child.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })) };
}

async function gql(url: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data: any };
}

interface Result {
  messages: number;
  seconds: number;
  latencies: number[];
}

interface ScenarioResult extends Result {
  subscribers: number;
  /** Server RSS (MB) before subscribing, once everyone is subscribed and idle, and at its peak while events flow. */
  rssBefore: number;
  rssIdle: number;
  rss: number;
  /** Server CPU ms while events flowed. */
  cpu: number;
}

/**
 * Subscribes `perRun` subscribers to each run (`perConnection` subscriptions share a graphql-ws
 * connection), releases the runs, waits for every stream to complete.
 */
async function scenario(
  url: string,
  target: string,
  gate: { open: () => void; waiting: () => number },
  runs: number,
  perRun: number,
  items = ITEMS,
  perConnection = 1,
): Promise<ScenarioResult> {
  const wf = await gql(
    url,
    'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ... on CreateWorkflowPayload { workflow { id } } } }',
    {
      input: {
        name: `bench-${runs}x${perRun}`,
        definition: {
          steps: [
            { id: 'gate', type: 'http_request', config: { url: `${target}/gate` } },
            {
              id: 'each',
              type: 'loop',
              dependsOn: ['gate'],
              config: {
                items: `[1..${items}]`,
                concurrency: 4,
                step: { type: 'http_request', config: { url: `${target}/fast` } },
              },
            },
          ],
        },
      },
    },
  );
  const runIds: string[] = [];
  for (let i = 0; i < runs; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, runs - i) }, () =>
        gql(
          url,
          'mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { ... on RunPayload { run { id } } } }',
          {
            input: { workflowId: wf.data.createWorkflow.workflow.id },
          },
        ),
      ),
    );
    runIds.push(...batch.map((started) => started.data.runWorkflow.run.id as string));
  }
  // Subscribe once the runs wait at their gate (the count stops growing: the executor's slots
  // bound how many wait at once), not while the server is still busy starting them.
  for (let last = -1, deadline = Date.now() + 120_000; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 2000));
    if (gate.waiting() === last) break;
    last = gate.waiting();
  }
  const rssBefore = rssMb(serverPid);
  const latencies: number[] = [];
  let messages = 0;
  const clients: Client[] = [];
  const done: Promise<void>[] = [];
  // Connections are opened 20 at a time, each batch acknowledged before the next: a thousand
  // at once on a loaded machine can miss graphql-ws' 3 s initialisation deadline (4408).
  let batch: Promise<void>[] = [];
  for (let c = 0; c < runs * perRun; c++) {
    if (c % perConnection === 0) {
      if (batch.length >= 20) {
        await Promise.all(batch);
        batch = [];
      }
      let settled!: () => void;
      batch.push(new Promise<void>((resolve) => (settled = resolve)));
      clients.push(
        createClient({
          url: url.replace('http', 'ws'),
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          connectionParams: { authorization: `Bearer ${ADMIN_KEY}` },
          on: { connected: () => settled(), closed: () => settled() },
        }),
      );
    }
    const client = clients[clients.length - 1]!;
    done.push(
      new Promise((resolve, reject) => {
        client.subscribe(
          {
            query: 'subscription($id: ID!) { runEvents(runId: $id) { seq createdAt } }',
            variables: { id: runIds[c % runs] },
          },
          {
            next: (value) => {
              messages++;
              latencies.push(Date.now() - Date.parse((value.data as any).runEvents.createdAt));
            },
            error: (error) => reject(new Error(`subscriber ${c}: ${describe(error)}`)),
            complete: () => resolve(),
          },
        );
      }),
    );
    done.at(-1)!.catch(() => undefined); // handled below, through `failed`
  }
  await Promise.all(batch);
  // A subscription failing before the gate opens must stop the bench with its reason, not as an unhandled rejection.
  const failed = Promise.race(done.map((d) => d.then(() => new Promise<never>(() => {}))));
  failed.catch(() => undefined);
  // Let every subscription replay the stored events and go live before the run proceeds.
  await new Promise((r) => setTimeout(r, 3000 + runs * perRun * 3));
  const rssIdle = rssMb(serverPid);
  latencies.length = 0;
  messages = 0;
  const started = performance.now();
  const cpuBefore = cpuMs(serverPid);
  gate.open();
  let rss = rssIdle;
  const sampler = setInterval(() => (rss = Math.max(rss, rssMb(serverPid))), 200);
  await Promise.race([Promise.all(done), failed]).finally(() => clearInterval(sampler));
  const cpu = cpuMs(serverPid) - cpuBefore;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.dispose()));
  const sorted = latencies.sort((a, b) => a - b);
  console.log(
    `  ${messages} messages in ${seconds.toFixed(1)} s, p50 ${pct(sorted, 50)} ms, p99 ${pct(sorted, 99)} ms, RSS ${rssBefore.toFixed(0)} → ${rssIdle.toFixed(0)} idle → ${rss.toFixed(0)} peak MB, CPU ${cpu} ms`,
  );
  return {
    subscribers: runs * perRun,
    messages,
    seconds,
    latencies: latencies.sort((a, b) => a - b),
    rssBefore,
    rssIdle,
    rss,
    cpu,
  };
}

/** The floor: a bare ws server broadcasting `messages / sockets` messages of `bytes` to every socket. */
async function bareBroadcast(sockets: number, perSocket: number, bytes: number): Promise<Result> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const latencies: number[] = [];
  let messages = 0;
  const clients = await Promise.all(
    Array.from(
      { length: sockets },
      () =>
        new Promise<WebSocket>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}`);
          ws.on('message', (data) => {
            messages++;
            latencies.push(Date.now() - Number(JSON.parse(String(data)).t));
          });
          ws.on('open', () => resolve(ws));
        }),
    ),
  );
  const padding = 'x'.repeat(Math.max(0, bytes - 40));
  const started = performance.now();
  for (let i = 0; i < perSocket; i++) {
    const payload = JSON.stringify({ t: Date.now(), i, padding });
    for (const socket of wss.clients) socket.send(payload);
    await new Promise((r) => setImmediate(r));
  }
  const deadline = Date.now() + 120_000;
  while (messages < sockets * perSocket && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  for (const c of clients) c.terminate();
  wss.close();
  http.close();
  return { messages, seconds, latencies: latencies.sort((a, b) => a - b) };
}

let serverPid = 0;

async function main() {
  const waiting: (() => void)[] = [];
  let open = false;
  const target = createServer((req, res) => {
    const reply = () => (res.writeHead(200, { 'content-type': 'application/json' }), res.end('{"ok":true}'));
    if (req.url === '/gate' && !open) waiting.push(reply);
    else reply();
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  const gate = {
    waiting: () => waiting.length,
    open: () => {
      open = true;
      for (const reply of waiting.splice(0)) reply();
    },
  };
  const weft = await startWeft();
  serverPid = weft.pid;
  try {
    if (process.env.BENCH_ONLY_MANY === '1') {
      // The 10,000-subscriber scenario alone (it is the slowest to set up).
      console.log(`scenario 3: ${MANY_RUNS} runs × 10 subscribers, 10 per connection (${MANY_ITEMS} loop items)…`);
      await scenario(weft.url, targetUrl, gate, MANY_RUNS, 10, MANY_ITEMS, 10);
      return;
    }
    console.log(`scenario 1: ${SUBSCRIBERS} subscribers to one run (${ITEMS} loop items)…`);
    const one = await scenario(weft.url, targetUrl, gate, 1, SUBSCRIBERS);
    open = false;
    // BENCH_ONLY_ONE=1: scenario 1 and the floor only (e.g. under a profiler).
    const only = process.env.BENCH_ONLY_ONE === '1';
    if (!only) console.log('scenario 2: 100 runs × 10 subscribers…');
    const many = only ? null : await scenario(weft.url, targetUrl, gate, 100, 10);
    open = false;
    if (!only)
      console.log(`scenario 3: ${MANY_RUNS} runs × 10 subscribers, 10 per connection (${MANY_ITEMS} loop items)…`);
    const wide = only ? null : await scenario(weft.url, targetUrl, gate, MANY_RUNS, 10, MANY_ITEMS, 10);
    console.log('floor: bare ws broadcast…');
    const floor = await bareBroadcast(SUBSCRIBERS, Math.round(one.messages / SUBSCRIBERS), 120);

    const rows = [
      [
        'scenario',
        'messages',
        'seconds',
        'msg/s',
        'p50 ms',
        'p99 ms',
        'RSS before MB',
        'RSS idle MB',
        'KB/idle sub',
        'RSS peak MB',
        'CPU µs/msg',
      ],
      ...(
        [
          [`1 run × ${SUBSCRIBERS}`, one],
          ['100 runs × 10', many],
          [`${MANY_RUNS} runs × 10`, wide],
          [`bare ws broadcast ×${SUBSCRIBERS}`, floor],
        ] as [string, Result | null][]
      )
        .filter((row): row is [string, Result] => row[1] !== null)
        .map(([name, r]) => {
          const s = 'rss' in r ? (r as ScenarioResult) : null;
          return [
            name,
            String(r.messages),
            r.seconds.toFixed(2),
            (r.messages / r.seconds).toFixed(0),
            String(pct(r.latencies, 50)),
            String(pct(r.latencies, 99)),
            s ? s.rssBefore.toFixed(0) : '-',
            s ? s.rssIdle.toFixed(0) : '-',
            s ? (((s.rssIdle - s.rssBefore) * 1024) / s.subscribers).toFixed(0) : '-',
            s ? s.rss.toFixed(0) : '-',
            s ? ((s.cpu * 1000) / Math.max(1, s.messages)).toFixed(1) : '-',
          ];
        }),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    console.log(`\n${rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n')}\n`);
    const p99 = pct(one.latencies, 99);
    const ratio = p99 / Math.max(1, pct(floor.latencies, 99));
    console.log(
      `subscriptions: p99 ${p99} ms, ${ratio.toFixed(1)}x floor, rss ${one.rss.toFixed(0)} MB at ${SUBSCRIBERS}`,
    );
  } finally {
    weft.stop();
    target.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
