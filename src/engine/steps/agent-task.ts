// agent_task: sends a goal and its context to an OpenAI-compatible chat-completions endpoint
// (WEFT_AGENT_BASE_URL, WEFT_AGENT_API_KEY, WEFT_AGENT_MODEL); the answer is the output.
import { excerpt, isRetryableStatus, networkError, readBodyCapped } from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

interface ChatCompletion {
  model?: string;
  choices?: { message?: { content?: string | null } }[];
  usage?: unknown;
}

export const agentTaskStep: StepHandler = {
  async execute(ctx: StepContext) {
    const { config, env } = ctx;
    if (typeof config.goal !== 'string' || !config.goal.trim()) throw new NonRetriableError('agent_task.goal must be a non-empty string');
    if (!env.agent.baseUrl) throw new NonRetriableError('agent_task needs an OpenAI-compatible endpoint: set WEFT_AGENT_BASE_URL (and WEFT_AGENT_API_KEY, WEFT_AGENT_MODEL) on the server');
    const model = typeof config.model === 'string' ? config.model : env.agent.model;
    if (!model) throw new NonRetriableError('agent_task needs a model: set config.model or WEFT_AGENT_MODEL on the server');
    const messages = [
      ...(typeof config.system === 'string' ? [{ role: 'system', content: config.system }] : []),
      { role: 'user', content: config.context === undefined ? config.goal : `${config.goal}\n\nContext (JSON):\n${JSON.stringify(config.context, null, 2)}` },
    ];
    const url = `${env.agent.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey };
    if (env.agent.apiKey) headers.authorization = `Bearer ${env.agent.apiKey}`;
    ctx.log(`asking ${model}`);
    let response: Response;
    try {
      response = await ctx.env.fetch(url, { method: 'POST', headers, body: JSON.stringify({ model, messages, ...(typeof config.maxTokens === 'number' ? { max_tokens: config.maxTokens } : {}) }), signal: ctx.signal });
    } catch (error) {
      throw networkError(error, ctx.signal, url);
    }
    const text = (await readBodyCapped(response, ctx.env.maxResponseBytes)).toString('utf8');
    if (!response.ok) {
      const message = `Agent endpoint answered ${response.status}: ${excerpt(text)}`;
      throw isRetryableStatus(response.status) ? new Error(message) : new NonRetriableError(message);
    }
    let completion: ChatCompletion;
    try {
      completion = JSON.parse(text) as ChatCompletion;
    } catch {
      throw new Error(`Agent endpoint returned invalid JSON: ${excerpt(text)}`);
    }
    const answer = completion.choices?.[0]?.message?.content;
    if (typeof answer !== 'string') throw new Error(`Agent endpoint returned no answer: ${excerpt(text)}`);
    return { answer, model: completion.model ?? model, usage: completion.usage ?? null };
  },
};
