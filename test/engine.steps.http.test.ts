// http_request and webhook handlers on their own: handler.execute(ctx) against real loopback
// servers, through the server's real outbound fetch (allowed to reach loopback here).
import { createHmac } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createOutboundFetch } from '../src/engine/outbound.ts';
import { httpRequestStep } from '../src/engine/steps/http-request.ts';
import { STEP_REGISTRY, stepHandlers, WORKER_STEP_TYPES } from '../src/engine/steps/registry.ts';
import { LOOP_BODY_TYPES, STEP_TYPES } from '../src/workflows/step-types.ts';
import { NonRetriableError, type StepContext } from '../src/engine/steps/types.ts';
import { webhookStep } from '../src/engine/steps/webhook.ts';
import { signWebhookPayload, verifyWebhookSignature } from '../src/webhooks/signing.ts';
import { json, startLoopbackServer, type LoopbackServer, type RecordedRequest } from './helpers/http-server.ts';
import { stepContext, stepEnvFrom } from './helpers/step-env.ts';

const loopbackFetch = createOutboundFetch(['loopback']);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function server(
  handler: (req: RecordedRequest, res: ServerResponse) => void | Promise<void>,
): Promise<LoopbackServer> {
  const s = await startLoopbackServer(handler);
  cleanups.push(() => s.close());
  return s;
}

/** A raw node:http server, for tests that need to see the request's socket close. */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const s = createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()))));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, server: s };
}

async function closedPortUrl(): Promise<string> {
  const s = await startLoopbackServer(() => undefined);
  await s.close();
  return s.url;
}

const ctx = (config: Record<string, unknown>, overrides: Partial<StepContext> = {}) =>
  stepContext(config, { ...stepEnvFrom(), fetch: loopbackFetch }, overrides);

async function failure(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(result instanceof Error)) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

/** Resolves when `emitter` emits `event`, failing after `ms`. */
function within<T>(ms: number, register: (done: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms);
    register((value) => (clearTimeout(timer), resolve(value)));
  });
}

describe('step handler registry', () => {
  it('maps the four outside-work step types to their handlers', () => {
    expect(Object.keys(stepHandlers).sort()).toEqual(['agent_task', 'http_request', 'script', 'webhook']);
    expect(stepHandlers.http_request).toBe(httpRequestStep);
    expect(stepHandlers.webhook).toBe(webhookStep);
  });

  it('has one entry per step type; workers execute the outside-work types and loops', () => {
    expect(Object.keys(STEP_REGISTRY).sort()).toEqual([...STEP_TYPES].sort());
    expect([...WORKER_STEP_TYPES].sort()).toEqual([...LOOP_BODY_TYPES, 'loop'].sort());
    for (const type of LOOP_BODY_TYPES) expect(STEP_REGISTRY[type].handler).toBe(stepHandlers[type]);
  });
});

describe('http_request', () => {
  it('GETs with query parameters appended to the URL, configured headers, and a parsed JSON response', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'X-Custom-Header': 'Yes' });
      res.end(JSON.stringify({ items: [1, 2] }));
    });
    const c = ctx({
      url: `${s.url}/items?fixed=1`,
      query: { q: 'a b&c=d', n: 5, flag: true },
      headers: { 'X-Trace': 'abc', Accept: 'application/json' },
    });
    const out = (await httpRequestStep.execute(c)) as {
      status: number;
      headers: Record<string, string>;
      body: unknown;
    };

    expect(out.status).toBe(200);
    expect(out.body).toEqual({ items: [1, 2] });
    expect(out.headers['x-custom-header']).toBe('Yes');
    expect(Object.keys(out.headers).every((name) => name === name.toLowerCase())).toBe(true);
    const req = s.requests[0]!;
    expect(req.method).toBe('GET');
    const sent = new URL(req.path, s.url);
    expect(sent.pathname).toBe('/items');
    expect([...sent.searchParams]).toEqual([
      ['fixed', '1'],
      ['q', 'a b&c=d'],
      ['n', '5'],
      ['flag', 'true'],
    ]);
    expect(req.headers['x-trace']).toBe('abc');
    expect(req.headers['idempotency-key']).toBeUndefined(); // GET is idempotent by definition
    expect(req.body).toBe('');
  });

  it('JSON-encodes a non-string body and sends the Idempotency-Key on other methods', async () => {
    const s = await server((_req, res) => json(res, 201, { ok: true }));
    const out = (await httpRequestStep.execute(
      ctx({ method: 'post', url: s.url, body: { hello: 'wörld', n: [1, null] }, expectedStatus: 201 }),
    )) as { status: number };
    expect(out.status).toBe(201);
    const req = s.requests[0]!;
    expect(req.method).toBe('POST');
    expect(JSON.parse(req.body)).toEqual({ hello: 'wörld', n: [1, null] });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('run-1:step-1');
  });

  it('sends a string body as is, and keeps a configured Content-Type and Idempotency-Key', async () => {
    const s = await server((_req, res) => json(res, 200, {}));
    await httpRequestStep.execute(ctx({ method: 'PUT', url: s.url, body: 'a,b\n1,2' }));
    await httpRequestStep.execute(
      ctx({
        method: 'PATCH',
        url: s.url,
        body: '<x/>',
        headers: { 'Content-Type': 'application/xml', 'Idempotency-Key': 'mine' },
      }),
    );
    expect(s.requests[0]).toMatchObject({ method: 'PUT', body: 'a,b\n1,2' });
    expect(s.requests[0]!.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(s.requests[1]).toMatchObject({ method: 'PATCH', body: '<x/>' });
    expect(s.requests[1]!.headers['content-type']).toBe('application/xml');
    expect(s.requests[1]!.headers['idempotency-key']).toBe('mine');
  });

  it('returns text, JSON or null depending on Content-Type and responseType', async () => {
    const s = await server((req, res) => {
      const [type, body] = (
        {
          '/text': ['text/plain; charset=utf-8', 'plain words'],
          '/problem': ['application/problem+json', '{"title":"x"}'],
          '/json-as-text': ['text/plain', '{"a":1}'],
          '/broken-json': ['application/json', '{"a":'],
          '/empty-json': ['application/json', ''],
          '/latin1': ['text/plain; charset=iso-8859-1', Buffer.from([0x63, 0x61, 0x66, 0xe9])],
        } as Record<string, [string, string | Buffer]>
      )[req.path]!;
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    });
    const body = async (
      path: string,
      config: Record<string, unknown> = {},
      c = ctx({ url: `${s.url}${path}`, ...config }),
    ) => ((await httpRequestStep.execute(c)) as { body: unknown }).body;

    expect(await body('/text')).toBe('plain words');
    expect(await body('/problem')).toEqual({ title: 'x' });
    expect(await body('/json-as-text')).toBe('{"a":1}');
    expect(await body('/json-as-text', { responseType: 'json' })).toEqual({ a: 1 });
    expect(await body('/problem', { responseType: 'text' })).toBe('{"title":"x"}');
    expect(await body('/empty-json')).toBeNull();
    expect(await body('/latin1')).toBe('café');
    const lenient = ctx({ url: `${s.url}/broken-json` });
    expect(await body('', {}, lenient)).toBe('{"a":');
    expect(lenient.lines.join('\n')).toMatch(/not valid JSON; returning it as text/);
    const strict = await failure(httpRequestStep.execute(ctx({ url: `${s.url}/broken-json`, responseType: 'json' })));
    expect(strict).toBeInstanceOf(NonRetriableError);
    expect(strict.message).toMatch(/is not valid JSON/);
  });

  it('returns no body for HEAD', async () => {
    const s = await server(
      (_req, res) =>
        void (res.writeHead(200, { 'content-type': 'application/json', 'content-length': '7' }), res.end()),
    );
    expect(await httpRequestStep.execute(ctx({ method: 'HEAD', url: s.url }))).toMatchObject({
      status: 200,
      body: null,
      headers: { 'content-length': '7' },
    });
    expect(s.requests[0]!.method).toBe('HEAD');
  });

  it('follows redirects to the final response', async () => {
    const s = await server((req, res) =>
      req.path === '/old'
        ? void (res.writeHead(302, { location: '/new' }), res.end())
        : json(res, 200, { at: req.path }),
    );
    expect(await httpRequestStep.execute(ctx({ url: `${s.url}/old` }))).toMatchObject({
      status: 200,
      body: { at: '/new' },
    });
  });

  it('accepts only the expected statuses, failing at once on others with the status and a body excerpt', async () => {
    const s = await server((req, res) => json(res, Number(req.path.slice(1)), { detail: `answer ${req.path}` }));
    expect(await httpRequestStep.execute(ctx({ url: `${s.url}/404`, expectedStatus: 404 }))).toMatchObject({
      status: 404,
      body: { detail: 'answer /404' },
    });
    expect(await httpRequestStep.execute(ctx({ url: `${s.url}/503`, expectedStatus: [200, 503] }))).toMatchObject({
      status: 503,
    });
    const unexpected = await failure(httpRequestStep.execute(ctx({ url: `${s.url}/200`, expectedStatus: 201 })));
    expect(unexpected).toBeInstanceOf(NonRetriableError);
    expect(unexpected.message).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/200 answered HTTP 200: \{"detail":"answer \/200"\}/,
    );
  });

  it('treats 5xx and network errors as retryable, and 4xx as final', async () => {
    const s = await server((req, res) => json(res, Number(req.path.slice(1)), { error: `boom ${req.path}` }));
    for (const status of [500, 502, 503]) {
      const error = await failure(httpRequestStep.execute(ctx({ url: `${s.url}/${status}` })));
      expect(error).not.toBeInstanceOf(NonRetriableError);
      expect(error.message).toContain(`answered HTTP ${status}: {"error":"boom /${status}"}`);
    }
    for (const status of [400, 404, 409, 429]) {
      const error = await failure(httpRequestStep.execute(ctx({ url: `${s.url}/${status}` })));
      expect(error).toBeInstanceOf(NonRetriableError);
      expect(error.message).toContain(`answered HTTP ${status}`);
    }
    const refused = await failure(httpRequestStep.execute(ctx({ url: `${await closedPortUrl()}/x` })));
    expect(refused).not.toBeInstanceOf(NonRetriableError);
    expect(refused.message).toMatch(/Request to http:\/\/127\.0\.0\.1:\d+\/x failed: ECONNREFUSED/);
  });

  it('keeps the outbound address policy final: a refused address is not retried', async () => {
    const s = await server((_req, res) => json(res, 200, {}));
    const error = await failure(
      httpRequestStep.execute(ctx({ url: s.url }, { env: { ...ctx({}).env, fetch: createOutboundFetch([]) } })),
    );
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(/WEFT_OUTBOUND_ALLOW/);
    expect(s.requests).toHaveLength(0);
  });

  it('caps the response size while streaming, declared or not, with the smaller of the step and server limits', async () => {
    let closedEarly = false;
    const { url } = await rawServer((req, res) => {
      if (req.url === '/declared')
        return void (res.writeHead(200, { 'content-length': '5000' }), res.end('x'.repeat(5000)));
      if (req.url === '/small')
        return void (res.writeHead(200, { 'content-type': 'text/plain' }), res.end('y'.repeat(900)));
      // Chunked, no Content-Length: 200 × 1 KiB, slowly; the reader must stop long before the end.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', () => (closedEarly = !res.writableFinished));
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write('z'.repeat(1024));
        if (++sent === 200) clearInterval(timer), res.end();
      }, 5);
    });
    const declared = await failure(httpRequestStep.execute(ctx({ url: `${url}/declared`, maxResponseBytes: 1000 })));
    expect(declared).toBeInstanceOf(NonRetriableError);
    expect(declared.message).toMatch(/is 5000 bytes, over the limit of 1000 bytes/);

    const started = Date.now();
    const streamed = await failure(httpRequestStep.execute(ctx({ url: `${url}/stream`, maxResponseBytes: 4096 })));
    expect(streamed).toBeInstanceOf(NonRetriableError);
    expect(streamed.message).toMatch(/over the limit of 4096 bytes/);
    expect(Date.now() - started).toBeLessThan(500); // all 200 chunks would take ≥ 1 s
    await expect.poll(() => closedEarly, { timeout: 1000 }).toBe(true);

    // The server-wide limit wins over a larger step limit; a body under both passes.
    const serverCap = { ...ctx({}).env, maxResponseBytes: 800 };
    const capped = await failure(
      httpRequestStep.execute(ctx({ url: `${url}/small`, maxResponseBytes: 1_000_000 }, { env: serverCap })),
    );
    expect(capped.message).toMatch(/over the limit of 800 bytes/);
    expect(
      ((await httpRequestStep.execute(ctx({ url: `${url}/small`, maxResponseBytes: 900 }))) as { body: string }).body,
    ).toHaveLength(900);
  });

  it('stops a slow request promptly when the signal aborts, closing the connection', async () => {
    let serverSawClose: () => void = () => undefined;
    const closed = within<void>(1500, (done) => (serverSawClose = () => done()));
    const { url } = await rawServer((req) => req.on('close', () => serverSawClose())); // never answers
    const controller = new AbortController();
    const reason = new Error('Run was cancelled');
    const started = Date.now();
    setTimeout(() => controller.abort(reason), 100);
    const error = await failure(httpRequestStep.execute(ctx({ url }, { signal: controller.signal })));
    expect(error).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1500);
    await closed;
  });

  it('stops promptly when aborted in the middle of the body', async () => {
    const { url } = await rawServer(
      (_req, res) => void (res.writeHead(200, { 'content-type': 'text/plain' }), res.write('partial')),
    ); // never ends
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('Step timed out after 0.1 s')), 100);
    const error = await failure(httpRequestStep.execute(ctx({ url }, { signal: controller.signal })));
    expect(error.message).toBe('Step timed out after 0.1 s');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('never logs header values or the query string', async () => {
    const s = await server((_req, res) => json(res, 200, {}));
    const c = ctx({
      url: `${s.url}/path?token=sekrit-1`,
      query: { api_key: 'sekrit-2' },
      headers: { Authorization: 'Bearer sekrit-3' },
    });
    await httpRequestStep.execute(c);
    expect(s.requests[0]!.headers.authorization).toBe('Bearer sekrit-3');
    const log = c.lines.join('\n');
    expect(c.lines).toEqual([`GET ${s.url}/path`, '→ 200 (2 bytes)']);
    expect(log).not.toMatch(/sekrit/);
  });

  it.each([
    [{ url: 'http://127.0.0.1:1/', method: 'FETCH' }, /http_request\.method must be one of GET, POST/],
    [{}, /http_request\.url must be a non-empty string/],
    [{ url: 'not a url' }, /http_request\.url is not an absolute URL/],
    [{ url: 'ftp://127.0.0.1/x' }, /http_request\.url must use http or https, not ftp/],
    [{ url: 'http://user:pw@127.0.0.1:1/' }, /must not contain credentials/],
    [{ url: 'http://127.0.0.1:1/', body: { a: 1 } }, /body cannot be sent with GET/],
    [
      { url: 'http://127.0.0.1:1/', query: { a: { b: 1 } } },
      /http_request\.query\.a must be a string, number or boolean, got an object/,
    ],
    [{ url: 'http://127.0.0.1:1/', query: 'a=1' }, /http_request\.query must be an object/],
    [
      { url: 'http://127.0.0.1:1/', headers: { 'X-A': 'line\nbreak' } },
      /http_request\.headers\.X-A is not a valid HTTP header/,
    ],
    [{ url: 'http://127.0.0.1:1/', expectedStatus: 42 }, /expectedStatus must be a status code \(100–599\)/],
    [{ url: 'http://127.0.0.1:1/', expectedStatus: [] }, /expectedStatus must be/],
    [{ url: 'http://127.0.0.1:1/', responseType: 'xml' }, /responseType must be one of auto, json, text/],
    [
      { url: 'http://127.0.0.1:1/', maxResponseBytes: 20 * 1024 * 1024 },
      /maxResponseBytes must be an integer from 1 to 10485760/,
    ],
  ])('refuses a bad config without sending anything: %j', async (config, message) => {
    const error = await failure(httpRequestStep.execute(ctx(config)));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(message);
  });
});

describe('webhook', () => {
  it('POSTs the JSON payload signed with HMAC-SHA256 over "<timestamp>.<body>"', async () => {
    const s = await server((_req, res) => json(res, 202, { received: true }));
    const before = Math.floor(Date.now() / 1000);
    const c = ctx({
      url: `${s.url}/hook`,
      payload: { event: 'done', items: [1, 2] },
      secret: 'shh',
      headers: { 'X-Weft-Signature': 'forged', 'X-Extra': '1' },
    });
    expect(await webhookStep.execute(c)).toEqual({ status: 202 });

    const req = s.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hook');
    expect(req.body).toBe('{"event":"done","items":[1,2]}');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('run-1:step-1');
    expect(req.headers['x-extra']).toBe('1');
    const timestamp = String(req.headers['x-weft-timestamp']);
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(timestamp)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    // The documented scheme, recomputed here independently of the handler.
    const expected = `sha256=${createHmac('sha256', 'shh').update(`${timestamp}.${req.body}`).digest('hex')}`;
    expect(req.headers['x-weft-signature']).toBe(expected);
    expect(signWebhookPayload('shh', Number(timestamp), req.body)).toEqual({
      'x-weft-timestamp': timestamp,
      'x-weft-signature': expected,
    });

    expect(verifyWebhookSignature('shh', timestamp, req.body, expected)).toBe(true);
    expect(verifyWebhookSignature('other', timestamp, req.body, expected)).toBe(false);
    expect(verifyWebhookSignature('shh', timestamp, '{"event":"forged"}', expected)).toBe(false);
    expect(verifyWebhookSignature('shh', String(Number(timestamp) + 1), req.body, expected)).toBe(false);
    expect(verifyWebhookSignature('shh', timestamp, req.body, expected, 300, Number(timestamp) + 301)).toBe(false); // replayed too late
    expect(verifyWebhookSignature('shh', '', req.body, expected)).toBe(false);
    expect(c.lines.join('\n')).not.toContain('shh');
  });

  it('sends unsigned when there is no secret, with {} as the default payload', async () => {
    const s = await server((_req, res) => void (res.writeHead(204), res.end()));
    expect(await webhookStep.execute(ctx({ url: s.url }))).toEqual({ status: 204 });
    expect(s.requests[0]!.body).toBe('{}');
    expect(s.requests[0]!.headers['x-weft-signature']).toBeUndefined();
    expect(s.requests[0]!.headers['x-weft-timestamp']).toBeUndefined();
  });

  it('refuses a secret that is present but empty rather than sending unsigned', async () => {
    const s = await server((_req, res) => json(res, 200, {}));
    for (const secret of ['', null]) {
      const error = await failure(webhookStep.execute(ctx({ url: s.url, secret })));
      expect(error).toBeInstanceOf(NonRetriableError);
      expect(error.message).toMatch(/webhook\.secret must be a non-empty string/);
    }
    expect(s.requests).toHaveLength(0);
  });

  it('retries 5xx and network errors, fails at once on 4xx and does not follow redirects', async () => {
    const s = await server((req, res) =>
      req.path === '/302'
        ? void (res.writeHead(302, { location: '/elsewhere' }), res.end())
        : json(res, Number(req.path.slice(1)), { why: 'because' }),
    );
    const serverError = await failure(webhookStep.execute(ctx({ url: `${s.url}/503` })));
    expect(serverError).not.toBeInstanceOf(NonRetriableError);
    expect(serverError.message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/503 answered HTTP 503: \{"why":"because"\}/);
    expect(await failure(webhookStep.execute(ctx({ url: `${s.url}/410` })))).toBeInstanceOf(NonRetriableError);
    const redirect = await failure(webhookStep.execute(ctx({ url: `${s.url}/302`, secret: 'k' })));
    expect(redirect).toBeInstanceOf(NonRetriableError);
    expect(redirect.message).toMatch(/webhooks do not follow redirects\) answered HTTP 302/);
    expect(s.hits('/elsewhere')).toBe(0);
    expect(await failure(webhookStep.execute(ctx({ url: await closedPortUrl() })))).not.toBeInstanceOf(
      NonRetriableError,
    );
    await expect(webhookStep.execute(ctx({ url: 'mailto:x@example.com' }))).rejects.toThrow(
      /webhook\.url must use http or https/,
    );
  });

  it('stops promptly when aborted', async () => {
    const { url } = await rawServer(() => undefined);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('Run was cancelled')), 100);
    await expect(webhookStep.execute(ctx({ url, payload: { a: 1 } }, { signal: controller.signal }))).rejects.toThrow(
      'Run was cancelled',
    );
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
