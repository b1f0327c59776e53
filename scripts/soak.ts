// npm run soak — steady mixed load on one Weft process for SOAK_SECONDS (default 300), watching
// its memory. Weft runs as a child process (embedded database in a temp dir, or
// SOAK_DATABASE_URL) with the V8 inspector on loopback, so the heap is measured inside the server
// after a forced GC, not estimated from outside.
//
// The load, every second: SOAK_RUNS_PER_SECOND runs of five shapes (an HTTP chain, a loop, a
// skipped branch, a failing step with a retry, a short wait); a runEvents subscription for most of
// them, some closed half-way; a few long-lived feeds (runsFeed, workflowRunsUpdated) open the
// whole time; dashboard and run-page reads. Every 5 s it samples the server's RSS, its heap after
// GC and /healthz latency. At the end every run must have finished, and every subscription must
// have seen seqs 1, 2, 3… without a gap, ending on the terminal event unless closed early.
// Memory slopes are least-squares fits over the samples after the first fifth (warm-up).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const RUNS_PER_SECOND = Number(process.env.SOAK_RUNS_PER_SECOND ?? 4);
const FEEDS = Number(process.env.SOAK_FEEDS ?? 5);
const SAMPLE_EVERY_MS = 5000;
const root = path.resolve(import.meta.dirname, '..');
const ADMIN_KEY = `weft_live_${randomBytes(32).toString('base64url')}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

interface Server {
  url: string;
  child: ChildProcess;
  inspector: string;
  stop(): void;
}

async function startWeft(): Promise<Server> {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-soak-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PORT: '0',
    LOG_LEVEL: 'warn',
    WEFT_ADMIN_API_KEY: ADMIN_KEY,
    WEFT_RATE_LIMIT_PER_MINUTE: '0',
    WEFT_OUTBOUND_ALLOW: 'loopback',
    WEFT_MAX_CONCURRENT_RUNS: '50',
    WEFT_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1000',
  };
  if (process.env.SOAK_DATABASE_URL) env.DATABASE_URL = process.env.SOAK_DATABASE_URL;
  else env.WEFT_HOME = dir;
  // LOG_LEVEL warn hides the "listening" line; ask for it at info, then filter the noise.
  env.LOG_LEVEL = 'info';
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => {
    out += chunk;
    if (out.length > 100_000) out = out.slice(-10_000);
  });
  child.stderr!.on('data', (chunk) => {
    err += chunk;
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(err)?.[1];
    if (url && inspector)
      return {
        url,
        child,
        inspector,
        stop: () => (child.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })),
      };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Weft did not start:\n${out}\n${err}`);
    await sleep(100);
  }
}

/** The server's heap after a full GC, through the inspector protocol (MB). */
async function heapAfterGc(inspector: string): Promise<number> {
  const socket = new WebSocket(inspector);
  await new Promise<void>((resolve, reject) => (socket.once('open', () => resolve()), socket.once('error', reject)));
  let id = 0;
  const call = (method: string) =>
    new Promise<any>((resolve) => {
      const mine = ++id;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data));
        if (message.id !== mine) return;
        socket.off('message', onMessage);
        resolve(message.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method }));
    });
  await call('HeapProfiler.collectGarbage');
  const usage = await call('Runtime.getHeapUsage');
  socket.close();
  return usage.usedSize / 1024 / 1024;
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

async function gql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { data?: any; errors?: any[] };
  if (res.status >= 500 || body.errors?.some((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR'))
    throw new Error(`server error ${res.status}: ${JSON.stringify(body.errors)}`);
  return body;
}

function shapes(target: string) {
  const http = (id: string, pathName: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'http_request',
    config: { url: `${target}${pathName}` },
    ...extra,
  });
  return {
    chain: {
      steps: [http('a', '/ok'), http('b', '/ok', { dependsOn: ['a'] }), http('c', '/ok', { dependsOn: ['b'] })],
    },
    loop: {
      steps: [
        {
          id: 'each',
          type: 'loop',
          config: {
            items: '[1..20]',
            concurrency: 4,
            step: { type: 'http_request', config: { url: `${target}/ok?i={{ item }}` } },
          },
        },
      ],
    },
    branch: {
      steps: [
        { id: 'flag', type: 'condition', config: { expression: 'false' } },
        http('never', '/ok', { dependsOn: ['flag'], when: 'steps.flag.output.result' }),
        http('always', '/ok', { dependsOn: ['flag'] }),
      ],
    },
    failing: { steps: [http('broken', '/unavailable', { retry: { attempts: 2, backoffSeconds: 0.1 } })] },
    wait: {
      steps: [{ id: 'pause', type: 'wait', config: { seconds: 1 } }, http('after', '/ok', { dependsOn: ['pause'] })],
    },
  };
}

interface Watch {
  runId: string;
  seqs: number[];
  ended: 'terminal' | 'closed' | 'error' | null;
  error?: string;
}

async function main() {
  const target = createServer((req, res) => {
    res.writeHead(req.url?.startsWith('/unavailable') ? 503 : 200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  const weft = await startWeft();
  const base = weft.url.replace('/graphql', '');
  console.log(
    `soak: ${SECONDS} s, ${RUNS_PER_SECOND} runs/s, ${FEEDS} long-lived feeds, Weft pid ${weft.child.pid} (${process.env.SOAK_DATABASE_URL ? 'PostgreSQL' : 'embedded database'})`,
  );

  const workflows: Record<string, string> = {};
  for (const [name, definition] of Object.entries(shapes(targetUrl))) {
    const res = await gql(
      weft.url,
      'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { ... on CreateWorkflowPayload { workflow { id } } } }',
      { i: { name: `soak-${name}`, definition } },
    );
    workflows[name] = res.data.createWorkflow.workflow.id;
  }

  const pool: Client[] = Array.from({ length: 8 }, () =>
    createClient({
      url: weft.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { authorization: `Bearer ${ADMIN_KEY}` },
    }),
  );
  let feedMessages = 0;
  const feeds = Array.from({ length: FEEDS }, (_, i) =>
    pool[i % pool.length]!.subscribe(
      {
        query:
          i % 2
            ? 'subscription { runsFeed { id status } }'
            : 'subscription($w: ID!) { workflowRunsUpdated(workflowId: $w) { id status } }',
        variables: { w: workflows.chain },
      },
      { next: () => void feedMessages++, error: (e) => console.error('feed error', e), complete: () => undefined },
    ),
  );

  const runs: string[] = [];
  const watches: Watch[] = [];
  const healthz: number[] = [];
  const samples: { t: number; rss: number; heap: number }[] = [];
  let reads = 0;
  let failures = 0;
  const started = Date.now();
  const names = Object.keys(workflows);

  const watch = (runId: string, closeEarly: boolean) => {
    const w: Watch = { runId, seqs: [], ended: null };
    watches.push(w);
    const client = pool[watches.length % pool.length]!;
    const stop = client.subscribe(
      { query: 'subscription($id: ID!) { runEvents(runId: $id) { seq type } }', variables: { id: runId } },
      {
        next: ({ data }) => {
          const event = (data as any).runEvents;
          w.seqs.push(event.seq);
          if (closeEarly && w.seqs.length === 3) {
            w.ended = 'closed';
            stop();
          }
        },
        error: (e) => {
          w.ended = 'error';
          w.error = JSON.stringify(e).slice(0, 300);
        },
        complete: () => {
          w.ended ??= 'terminal';
        },
      },
    );
  };

  const healthProbe = setInterval(async () => {
    const t0 = performance.now();
    const res = await fetch(`${base}/healthz`).catch(() => null);
    if (res?.status === 200) healthz.push(performance.now() - t0);
    else failures++;
  }, 200);
  const sampler = setInterval(async () => {
    samples.push({
      t: (Date.now() - started) / 60_000,
      rss: rssMb(weft.child.pid!),
      heap: await heapAfterGc(weft.inspector),
    });
    const last = samples.at(-1)!;
    console.log(
      `  ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  runs ${runs.length}  subscriptions ${watches.length}  feed messages ${feedMessages}  rss ${last.rss.toFixed(0)} MB  heap ${last.heap.toFixed(1)} MB`,
    );
  }, SAMPLE_EVERY_MS);

  let tick = 0;
  while (Date.now() - started < SECONDS * 1000) {
    const second = Date.now();
    for (let i = 0; i < RUNS_PER_SECOND; i++) {
      const name = names[(tick * RUNS_PER_SECOND + i) % names.length]!;
      try {
        const res = await gql(
          weft.url,
          'mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { ... on RunPayload { run { id } } } }',
          { i: { workflowId: workflows[name] } },
        );
        const runId = res.data.runWorkflow.run.id as string;
        runs.push(runId);
        if (Math.random() < 0.8) watch(runId, Math.random() < 0.2);
      } catch (error) {
        failures++;
        console.error(String(error));
      }
    }
    try {
      await gql(
        weft.url,
        '{ workflows(first: 50) { totalCount edges { node { id name status runsCount lastRunStatus } } } }',
      );
      if (runs.length)
        await gql(
          weft.url,
          'query($id: ID!) { run(id: $id) { status stepRuns { stepId status durationMs } events(first: 50) { edges { node { seq type } } } } }',
          { id: runs[Math.floor(Math.random() * runs.length)] },
        );
      reads += 2;
    } catch (error) {
      failures++;
      console.error(String(error));
    }
    tick++;
    await sleep(Math.max(0, 1000 - (Date.now() - second)));
  }

  // Let the last runs finish (bounded), then check everything.
  const drainDeadline = Date.now() + 120_000;
  let unfinished: string[] = runs;
  while (unfinished.length && Date.now() < drainDeadline) {
    const res = await gql(weft.url, 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Run { id status } } }', {
      ids: unfinished.slice(0, 200),
    });
    const open = new Set(
      (res.data.nodes as { id: string; status: string }[])
        .filter((r) => !['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status))
        .map((r) => r.id),
    );
    unfinished = [...open, ...unfinished.slice(200)];
    if (unfinished.length) await sleep(500);
  }
  const watchDeadline = Date.now() + 30_000;
  while (watches.some((w) => w.ended === null) && Date.now() < watchDeadline) await sleep(200);
  clearInterval(healthProbe);
  clearInterval(sampler);
  for (const stop of feeds) stop();
  await Promise.all(pool.map((c) => c.dispose()));

  const gaps = watches.filter((w) => w.seqs.some((seq, i) => seq !== i + 1));
  const unended = watches.filter((w) => w.ended === null || w.ended === 'error');
  const steady = samples.slice(Math.floor(samples.length / 5));
  const heapSlope = slope(steady.map((s) => [s.t, s.heap]));
  const rssSlope = slope(steady.map((s) => [s.t, s.rss]));
  const sorted = healthz.sort((a, b) => a - b);

  const rows = [
    ['runs started', String(runs.length)],
    ['runs not finished', String(unfinished.length)],
    ['subscriptions (closed early)', `${watches.length} (${watches.filter((w) => w.ended === 'closed').length})`],
    ['subscriptions with a gap', String(gaps.length)],
    ['subscriptions not ended / errored', String(unended.length)],
    ['feed messages', String(feedMessages)],
    ['reads', String(reads)],
    ['request failures', String(failures)],
    ['heap after GC first → last (MB)', `${samples[0]?.heap.toFixed(1)} → ${samples.at(-1)?.heap.toFixed(1)}`],
    ['RSS first → last (MB)', `${samples[0]?.rss.toFixed(0)} → ${samples.at(-1)?.rss.toFixed(0)}`],
    ['heap slope (MB/min)', heapSlope.toFixed(3)],
    ['RSS slope (MB/min)', rssSlope.toFixed(3)],
    ['/healthz p50 / p99 (ms)', `${pct(sorted, 50).toFixed(1)} / ${pct(sorted, 99).toFixed(1)}`],
  ];
  console.log(`\n${rows.map(([k, v]) => `${k!.padEnd(36)} ${v}`).join('\n')}`);
  for (const w of [...gaps, ...unended].slice(0, 5))
    console.log(`  problem: run ${w.runId} seqs ${w.seqs.slice(0, 20).join(',')} ended ${w.ended} ${w.error ?? ''}`);
  weft.stop();
  target.close();
  console.log(
    `soak: ${runs.length} runs, heap slope ${heapSlope.toFixed(3)} MB/min, rss slope ${rssSlope.toFixed(3)} MB/min, healthz p99 ${pct(sorted, 99).toFixed(1)} ms`,
  );
  if (unfinished.length || gaps.length || unended.length || failures) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
