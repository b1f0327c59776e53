// agent_task: sends a goal and its context to an OpenAI-compatible chat-completions endpoint
// (WEFT_AGENT_BASE_URL, WEFT_AGENT_API_KEY, WEFT_AGENT_MODEL) → { answer, model, usage }.
// Rate limits (429), 5xx and network errors are retryable; other 4xx (bad key, unknown model)
// are not.
import { isPlainObject } from '../../json.ts';
import { describeUrl, excerpt, httpUrl, integerIn, isServerError, nonEmptyString, optionalString, readBodyCapped, send, statusError } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

const MAX_TOKENS = 1_000_000;

interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

function endpoint(ctx: StepContext): URL {
  const base = ctx.env.agent.baseUrl;
  if (!base) throw new NonRetriableError('agent_task needs an OpenAI-compatible endpoint: set WEFT_AGENT_BASE_URL on the server (with WEFT_AGENT_API_KEY and WEFT_AGENT_MODEL as needed)');
  const url = httpUrl(base, 'WEFT_AGENT_BASE_URL');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
  return url;
}

function messages(ctx: StepContext): ChatMessage[] {
  const goal = nonEmptyString(ctx.config.goal, 'agent_task.goal');
  const system = optionalString(ctx.config.system, 'agent_task.system');
  const context = ctx.config.context;
  const user = context === undefined || context === null ? goal : `${goal}\n\nContext (JSON):\n${JSON.stringify(context, null, 2)}`;
  return [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: user }];
}

/** The answer out of a chat completion; anything else is a malformed reply. */
function answerOf(completion: unknown): { answer: string; model: unknown; usage: unknown } | string {
  if (!isPlainObject(completion)) return 'the reply is not a JSON object';
  const choice = Array.isArray(completion.choices) ? (completion.choices[0] as unknown) : undefined;
  const message = isPlainObject(choice) ? choice.message : undefined;
  const content = isPlainObject(message) ? message.content : undefined;
  if (typeof content !== 'string') {
    const reason = isPlainObject(choice) && typeof choice.finish_reason === 'string' ? ` (finish_reason ${choice.finish_reason})` : '';
    return `the reply has no choices[0].message.content${reason}`;
  }
  return { answer: content, model: completion.model, usage: completion.usage ?? null };
}

export const agentTaskStep: StepHandler = {
  async execute(ctx: StepContext) {
    const chat = messages(ctx);
    const maxTokens = integerIn(ctx.config.maxTokens, 'agent_task.maxTokens', 1, MAX_TOKENS);
    const url = endpoint(ctx);
    const model = optionalString(ctx.config.model, 'agent_task.model') || ctx.env.agent.model;
    if (!model) throw new NonRetriableError('agent_task needs a model: set config.model on the step, or WEFT_AGENT_MODEL on the server');

    const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json', 'idempotency-key': ctx.idempotencyKey });
    if (ctx.env.agent.apiKey) headers.set('authorization', `Bearer ${ctx.env.agent.apiKey}`);
    const body = JSON.stringify({ model, messages: chat, ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }) });

    const target = `POST ${describeUrl(url)}`;
    ctx.log(`asking ${model}: ${target}`);
    const started = performance.now();
    const response = await send(ctx, url, { method: 'POST', headers, body });
    if (!response.ok) {
      ctx.log(`→ ${response.status}`);
      throw await statusError(response, `Agent endpoint ${target}`, response.status === 429 || isServerError(response.status));
    }
    const text = (await readBodyCapped(response, ctx.env.maxResponseBytes, ctx.signal, url)).toString('utf8');
    let completion: unknown;
    try {
      completion = JSON.parse(text);
    } catch {
      // A 200 with a broken body is usually a proxy or a hiccup: worth another attempt.
      throw new Error(`Agent endpoint ${target} returned invalid JSON: ${excerpt(text)}`);
    }
    const result = answerOf(completion);
    if (typeof result === 'string') throw new Error(`Agent endpoint ${target} returned no answer: ${result}`);
    const tokens = isPlainObject(result.usage) && typeof result.usage.total_tokens === 'number' ? `, ${result.usage.total_tokens} tokens` : '';
    ctx.log(`→ answer of ${result.answer.length} characters in ${Math.round(performance.now() - started)} ms${tokens}`);
    return { answer: result.answer, model: typeof result.model === 'string' ? result.model : model, usage: result.usage };
  },
};
