// The agent_task handler on its own, against a local server speaking the OpenAI
// chat-completions protocol on 127.0.0.1.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createOutboundFetch } from '../src/engine/outbound.ts';
import { agentTaskStep } from '../src/engine/steps/agent-task.ts';
import { NonRetriableError, type StepEnvironment } from '../src/engine/steps/types.ts';
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

/** Answers like an OpenAI-compatible endpoint: echoes the model and sums up what it was asked. */
function completions(req: RecordedRequest, res: ServerResponse) {
  if (req.method !== 'POST' || !req.path.endsWith('/chat/completions'))
    return json(res, 404, { error: { message: 'not found' } });
  const body = JSON.parse(req.body) as { model: string; messages: { role: string; content: string }[] };
  const question = body.messages.at(-1)!.content.split('\n')[0];
  json(res, 200, {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: `${body.model}-2024`,
    choices: [{ index: 0, message: { role: 'assistant', content: `Answer to: ${question}` }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  });
}

function agentEnv(agent: Partial<StepEnvironment['agent']>): StepEnvironment {
  return { ...stepEnvFrom(), agent: { baseUrl: null, apiKey: null, model: null, ...agent }, fetch: loopbackFetch };
}

const ctx = stepContext;

async function failure(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(result instanceof Error)) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

describe('agent_task', () => {
  it('sends the goal, context, system prompt and limits to /chat/completions and returns the answer', async () => {
    const s = await server(completions);
    const c = ctx(
      {
        goal: 'Summarize the orders',
        context: { orders: [{ id: 1, total: 9.5 }] },
        system: 'Be brief',
        maxTokens: 200,
      },
      agentEnv({ baseUrl: `${s.url}/v1/`, apiKey: 'sk-test-key', model: 'tiny' }),
    );
    const out = await agentTaskStep.execute(c);

    expect(out).toEqual({
      answer: 'Answer to: Summarize the orders',
      model: 'tiny-2024',
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
    expect(s.requests).toHaveLength(1);
    const req = s.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer sk-test-key');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({
      model: 'tiny',
      messages: [
        { role: 'system', content: 'Be brief' },
        {
          role: 'user',
          content:
            'Summarize the orders\n\nContext (JSON):\n{\n  "orders": [\n    {\n      "id": 1,\n      "total": 9.5\n    }\n  ]\n}',
        },
      ],
      max_tokens: 200,
    });
    const log = c.lines.join('\n');
    expect(log).toContain(`asking tiny: POST ${s.url}/v1/chat/completions`);
    expect(log).toMatch(/answer of 31 characters in \d+ ms, 15 tokens/);
    expect(log).not.toContain('sk-test-key');
  });

  it('lets the step choose the model, and sends only what is set (no key, no system, no context, no max_tokens)', async () => {
    const s = await server(completions);
    const out = await agentTaskStep.execute(
      ctx({ goal: 'Say hi', model: 'big' }, agentEnv({ baseUrl: s.url, model: 'tiny' })),
    );
    expect(out).toMatchObject({ answer: 'Answer to: Say hi', model: 'big-2024' });
    const req = s.requests[0]!;
    expect(req.path).toBe('/chat/completions');
    expect(req.headers.authorization).toBeUndefined();
    expect(JSON.parse(req.body)).toEqual({ model: 'big', messages: [{ role: 'user', content: 'Say hi' }] });
  });

  it('explains missing or invalid server configuration by naming the variables, without sending anything', async () => {
    const s = await server(completions);
    const noUrl = await failure(agentTaskStep.execute(ctx({ goal: 'x' }, agentEnv({ model: 'm' }))));
    expect(noUrl).toBeInstanceOf(NonRetriableError);
    expect(noUrl.message).toMatch(/set WEFT_AGENT_BASE_URL on the server/);
    const noModel = await failure(agentTaskStep.execute(ctx({ goal: 'x' }, agentEnv({ baseUrl: s.url }))));
    expect(noModel).toBeInstanceOf(NonRetriableError);
    expect(noModel.message).toMatch(/set config\.model on the step, or WEFT_AGENT_MODEL on the server/);
    const badUrl = await failure(
      agentTaskStep.execute(ctx({ goal: 'x' }, agentEnv({ baseUrl: 'ftp://127.0.0.1/', model: 'm' }))),
    );
    expect(badUrl).toBeInstanceOf(NonRetriableError);
    expect(badUrl.message).toMatch(/WEFT_AGENT_BASE_URL must use http or https/);
    expect(s.requests).toHaveLength(0);
  });

  it.each([
    [{}, /agent_task\.goal must be a non-empty string/],
    [{ goal: '  ' }, /agent_task\.goal must be a non-empty string/],
    [{ goal: 'x', maxTokens: 0 }, /agent_task\.maxTokens must be an integer from 1/],
    [{ goal: 'x', maxTokens: 1.5 }, /agent_task\.maxTokens must be an integer/],
    [{ goal: 'x', model: 7 }, /agent_task\.model must be a string/],
    [{ goal: 'x', system: { role: 'x' } }, /agent_task\.system must be a string/],
  ])('refuses a bad config: %j', async (config, message) => {
    const error = await failure(
      agentTaskStep.execute(ctx(config, agentEnv({ baseUrl: 'http://127.0.0.1:1', model: 'm' }))),
    );
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(message);
  });

  it('retries rate limits, server errors and network errors, but not other 4xx', async () => {
    const s = await server((req, res) =>
      json(res, Number(req.path.split('/')[1]), { error: { message: `status ${req.path.split('/')[1]}` } }),
    );
    const attempt = async (status: number) =>
      failure(
        agentTaskStep.execute(ctx({ goal: 'x' }, agentEnv({ baseUrl: `${s.url}/${status}`, apiKey: 'k', model: 'm' }))),
      );
    for (const status of [429, 500, 503]) {
      const error = await attempt(status);
      expect(error).not.toBeInstanceOf(NonRetriableError);
      expect(error.message).toMatch(
        new RegExp(`answered HTTP ${status}: \\{"error":\\{"message":"status ${status}"\\}\\}`),
      );
    }
    for (const status of [400, 401, 404]) {
      const error = await attempt(status);
      expect(error).toBeInstanceOf(NonRetriableError);
      expect(error.message).toContain(`answered HTTP ${status}`);
    }
    const closed = await startLoopbackServer(() => undefined);
    await closed.close();
    const network = await failure(
      agentTaskStep.execute(ctx({ goal: 'x' }, agentEnv({ baseUrl: closed.url, model: 'm' }))),
    );
    expect(network).not.toBeInstanceOf(NonRetriableError);
    expect(network.message).toMatch(/ECONNREFUSED/);
  });

  it('treats a malformed 200 reply as a retryable failure', async () => {
    const s = await server((req, res) => {
      if (req.path.startsWith('/garbage'))
        return void (res.writeHead(200, { 'content-type': 'application/json' }), res.end('<html>proxy error</html>'));
      json(res, 200, { choices: [{ message: { content: null }, finish_reason: 'content_filter' }] });
    });
    const garbage = await failure(
      agentTaskStep.execute(ctx({ goal: 'x' }, agentEnv({ baseUrl: `${s.url}/garbage`, model: 'm' }))),
    );
    expect(garbage).not.toBeInstanceOf(NonRetriableError);
    expect(garbage.message).toMatch(/returned invalid JSON: <html>proxy error<\/html>/);
    const empty = await failure(
      agentTaskStep.execute(ctx({ goal: 'x' }, agentEnv({ baseUrl: `${s.url}/empty`, model: 'm' }))),
    );
    expect(empty).not.toBeInstanceOf(NonRetriableError);
    expect(empty.message).toMatch(
      /returned no answer: the reply has no choices\[0\]\.message\.content \(finish_reason content_filter\)/,
    );
  });

  it('stops promptly when aborted while the model is thinking', async () => {
    let requestClosed = false;
    const raw = createServer((req) => req.on('close', () => (requestClosed = true))); // never answers
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => (raw.closeAllConnections(), raw.close(() => resolve()))));
    const controller = new AbortController();
    const reason = new Error('Run was cancelled');
    const started = Date.now();
    setTimeout(() => controller.abort(reason), 100);
    const baseUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    const error = await failure(
      agentTaskStep.execute(
        ctx({ goal: 'think hard' }, agentEnv({ baseUrl, model: 'm' }), { signal: controller.signal }),
      ),
    );
    expect(error).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1500);
    await expect.poll(() => requestClosed, { timeout: 1000 }).toBe(true);
  });
});
