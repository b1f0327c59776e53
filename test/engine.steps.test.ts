// The step handlers on their own, with real loopback servers and real child processes.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { agentTaskStep } from '../src/engine/steps/agent-task.ts';
import { checkShellScript } from '../src/engine/steps/command-allowlist.ts';
import { httpRequestStep } from '../src/engine/steps/http-request.ts';
import { scriptStep } from '../src/engine/steps/script.ts';
import { NonRetriableError, type StepContext } from '../src/engine/steps/types.ts';
import { createOutboundFetch } from '../src/engine/outbound.ts';
import { verifyWebhookSignature, webhookStep } from '../src/engine/steps/webhook.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';

// The tests' servers listen on loopback, which production refuses unless allowed.
const loopbackFetch = createOutboundFetch(['loopback']);
const servers: LoopbackServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

async function server(handler: Parameters<typeof startLoopbackServer>[0]) {
  const s = await startLoopbackServer(handler);
  servers.push(s);
  return s;
}

function ctx(config: Record<string, unknown>, overrides: Partial<StepContext> = {}): StepContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    runId: 'run-1',
    stepId: 'step-1',
    attempt: 1,
    config,
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
    env: { scriptsEnabled: true, agent: { baseUrl: null, apiKey: null, model: null }, fetch: loopbackFetch, maxResponseBytes: 10 * 1024 * 1024 },
    workflow: { commandAllowlist: [] },
    idempotencyKey: 'run-1:step-1',
    lines,
    ...overrides,
  };
}

describe('http_request', () => {
  it('sends method, query, headers and a JSON body with an Idempotency-Key, and parses JSON', async () => {
    const s = await server((req, res) => json(res, 201, { seen: req }));
    const out = (await httpRequestStep.execute(ctx({ method: 'post', url: `${s.url}/x?a=1`, query: { b: 2 }, headers: { 'x-test': 'yes' }, body: { hello: 'world' }, expectedStatus: 201 }))) as any;
    expect(out.status).toBe(201);
    expect(out.body.seen).toMatchObject({ method: 'POST', path: '/x?a=1&b=2', body: '{"hello":"world"}' });
    expect(out.body.seen.headers).toMatchObject({ 'x-test': 'yes', 'content-type': 'application/json', 'idempotency-key': 'run-1:step-1' });
  });

  it('returns text for non-JSON responses', async () => {
    const s = await server((_req, res) => void (res.writeHead(200, { 'content-type': 'text/plain' }), res.end('plain')));
    expect(((await httpRequestStep.execute(ctx({ url: s.url }))) as any).body).toBe('plain');
  });

  it('classifies failures: 5xx and network errors are retryable, 4xx and oversized bodies are not', async () => {
    const s = await server((req, res) => (req.path === '/big' ? json(res, 200, { data: 'x'.repeat(5000) }) : json(res, Number(req.path.slice(1)), {})));
    await expect(httpRequestStep.execute(ctx({ url: `${s.url}/503` }))).rejects.not.toBeInstanceOf(NonRetriableError);
    await expect(httpRequestStep.execute(ctx({ url: `${s.url}/404` }))).rejects.toBeInstanceOf(NonRetriableError);
    await expect(httpRequestStep.execute(ctx({ url: `${s.url}/big`, maxResponseBytes: 1000 }))).rejects.toThrow(/limit of 1000 bytes/);
    const closed = await startLoopbackServer(() => undefined);
    const url = closed.url;
    await closed.close();
    const error = await httpRequestStep.execute(ctx({ url })).catch((e: Error) => e) as Error;
    expect(error).not.toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('stops promptly when aborted', async () => {
    const s = await server(() => new Promise(() => undefined));
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('cancelled')), 100);
    await expect(httpRequestStep.execute(ctx({ url: s.url }, { signal: controller.signal }))).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('webhook', () => {
  it('POSTs a signed JSON payload the receiver can verify', async () => {
    const s = await server((_req, res) => json(res, 200, {}));
    expect(await webhookStep.execute(ctx({ url: s.url, payload: { a: 1 }, secret: 'shh' }))).toEqual({ status: 200 });
    const req = s.requests[0]!;
    expect(req.body).toBe('{"a":1}');
    expect(verifyWebhookSignature('shh', String(req.headers['x-weft-timestamp']), req.body, String(req.headers['x-weft-signature']))).toBe(true);
    expect(verifyWebhookSignature('wrong', String(req.headers['x-weft-timestamp']), req.body, String(req.headers['x-weft-signature']))).toBe(false);
    expect(verifyWebhookSignature('shh', String(req.headers['x-weft-timestamp']), '{"a":2}', String(req.headers['x-weft-signature']))).toBe(false);
  });
});

describe('script', () => {
  it('is disabled unless the server enables it, and says how', async () => {
    const error = await scriptStep.execute(ctx({ language: 'shell', source: 'echo hi' }, { env: { ...ctx({}).env, scriptsEnabled: false } })).catch((e: Error) => e) as Error;
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(/WEFT_SCRIPTS_ENABLED=true/);
  });

  it('runs shell and python with a scrubbed environment in a temp dir that is removed', async () => {
    process.env.WEFT_TEST_SECRET = 'leak';
    try {
      const out = (await scriptStep.execute(ctx({ language: 'shell', source: 'echo "{\\"home\\":\\"$HOME\\",\\"secret\\":\\"$WEFT_TEST_SECRET\\",\\"mine\\":\\"$MINE\\"}"', env: { MINE: 'ok' } }))) as any;
      expect(out.exitCode).toBe(0);
      expect(out.json.secret).toBe('');
      expect(out.json.mine).toBe('ok');
      expect(out.json.home).toMatch(/weft-script-/);
      expect(existsSync(out.json.home)).toBe(false);
    } finally {
      delete process.env.WEFT_TEST_SECRET;
    }
    const py = (await scriptStep.execute(ctx({ language: 'python', source: 'import json, sys\nprint(json.dumps({"sum": 1 + 2, "args": sys.argv[1:]}))', args: ['x'] }))) as any;
    expect(py.json).toEqual({ sum: 3, args: ['x'] });
  });

  it('fails on a non-zero exit and caps output', async () => {
    await expect(scriptStep.execute(ctx({ language: 'shell', source: 'echo oops >&2; exit 3' }))).rejects.toThrow(/exited with 3: oops/);
    const out = (await scriptStep.execute(ctx({ language: 'shell', source: 'head -c 5000 /dev/zero | tr "\\0" a', maxOutputBytes: 100 }))) as any;
    expect(out.stdout).toBe(`${'a'.repeat(100)}\n[truncated]`);
  });

  it('kills the whole process group within a second when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('cancelled')), 200);
    await expect(scriptStep.execute(ctx({ language: 'shell', source: 'sleep 30 & sleep 30; wait' }, { signal: controller.signal }))).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('enforces the workflow command allowlist', async () => {
    const allow = ['echo *', 'date', 'python3'];
    expect(checkShellScript('echo hello\ndate', allow)).toEqual({ allowed: true });
    expect(checkShellScript('echo hello && date', allow)).toEqual({ allowed: true });
    expect(checkShellScript('rm -rf /', allow).allowed).toBe(false);
    expect(checkShellScript('echo a b', allow).allowed).toBe(false); // * is exactly one argument
    expect(checkShellScript('echo $(cat /etc/passwd)', allow).allowed).toBe(false);
    expect(checkShellScript('echo `id`', allow).allowed).toBe(false);
    expect(checkShellScript('echo hi > /tmp/x', allow).allowed).toBe(false);
    expect(checkShellScript('$CMD', allow).allowed).toBe(false);
    expect(checkShellScript('echo *', allow).allowed).toBe(false); // a glob can expand to many arguments
    expect(checkShellScript('echo $NAME', allow)).toEqual({ allowed: true });
    expect(checkShellScript('anything goes', []).allowed).toBe(true);
    const error = await scriptStep.execute(ctx({ language: 'shell', source: 'curl http://example.com' }, { workflow: { commandAllowlist: allow } })).catch((e: Error) => e) as Error;
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(/'curl http:\/\/example.com' matches no allowed command template/);
    const py = (await scriptStep.execute(ctx({ language: 'python', source: 'print(1)' }, { workflow: { commandAllowlist: ['echo *'] } })).catch((e: Error) => e)) as Error;
    expect(py.message).toMatch(/python3/);
  });
});

describe('agent_task', () => {
  it('asks an OpenAI-compatible endpoint and returns the answer', async () => {
    const s = await server((req, res) => {
      const body = JSON.parse(req.body);
      json(res, 200, { model: body.model, choices: [{ message: { role: 'assistant', content: `Summary of: ${body.messages.at(-1).content.split('\n')[0]}` } }], usage: { total_tokens: 12 } });
    });
    const env = { ...ctx({}).env, agent: { baseUrl: `${s.url}/v1`, apiKey: 'sk-test', model: 'tiny' } };
    const out = await agentTaskStep.execute(ctx({ goal: 'Summarize the data', context: { rows: 3 }, system: 'Be brief' }, { env }));
    expect(out).toEqual({ answer: 'Summary of: Summarize the data', model: 'tiny', usage: { total_tokens: 12 } });
    const req = s.requests[0]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(JSON.parse(req.body).messages).toEqual([
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: 'Summarize the data\n\nContext (JSON):\n{\n  "rows": 3\n}' },
    ]);
  });

  it('explains missing configuration, and retries only server-side failures', async () => {
    await expect(agentTaskStep.execute(ctx({ goal: 'x' }))).rejects.toThrow(/WEFT_AGENT_BASE_URL/);
    const s = await server((req, res) => json(res, req.headers.authorization ? 429 : 401, { error: 'no' }));
    const env = (apiKey: string | null) => ({ ...ctx({}).env, agent: { baseUrl: s.url, apiKey, model: 'm' } });
    await expect(agentTaskStep.execute(ctx({ goal: 'x' }, { env: env(null) }))).rejects.toBeInstanceOf(NonRetriableError);
    await expect(agentTaskStep.execute(ctx({ goal: 'x' }, { env: env('k') }))).rejects.not.toBeInstanceOf(NonRetriableError);
  });
});
