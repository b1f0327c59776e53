// agent_task: sends a goal and its context to an OpenAI-compatible chat-completions endpoint
// (WEFT_AGENT_BASE_URL, WEFT_AGENT_API_KEY, WEFT_AGENT_MODEL) → { answer, model, usage }.
// Rate limits (429), 5xx and network errors are retryable; other 4xx (bad key, unknown model)
// are not.
//
// With `agentId` the step uses a named agent (src/agents/service.ts), resolved now, when the
// step runs: its model, then its fallback models in order whenever the one before fails with a
// provider error — a 429, a 5xx, a network error, a 404 (that model is unknown there), a
// malformed reply or one that breaks the agent's output schema. Errors that any model would
// get (a bad key, a bad request) end the attempt at once. The output records the agent and
// which model answered, and why the models before it were passed over.
import { compileJsonSchema } from '../../runs/json-schema.ts';
import { isPlainObject } from '../../json.ts';
import {
  describeUrl,
  excerpt,
  httpUrl,
  integerIn,
  isServerError,
  nonEmptyString,
  optionalString,
  readBodyCapped,
  send,
  statusError,
} from './limits.ts';
import { NonRetriableError, type StepContext, type StepHandler } from './types.ts';

const MAX_TOKENS = 1_000_000;

interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

function endpoint(ctx: StepContext): URL {
  const base = ctx.env.agent.baseUrl;
  if (!base)
    throw new NonRetriableError(
      'agent_task needs an OpenAI-compatible endpoint: set WEFT_AGENT_BASE_URL on the server (with WEFT_AGENT_API_KEY and WEFT_AGENT_MODEL as needed)',
    );
  const url = httpUrl(base, 'WEFT_AGENT_BASE_URL');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
  return url;
}

function messages(ctx: StepContext, system: string | undefined): ChatMessage[] {
  const goal = nonEmptyString(ctx.config.goal, 'agent_task.goal');
  const context = ctx.config.context;
  const user =
    context === undefined || context === null
      ? goal
      : `${goal}\n\nContext (JSON):\n${JSON.stringify(context, null, 2)}`;
  return [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: user }];
}

/** The answer out of a chat completion; anything else is a malformed reply. */
function answerOf(completion: unknown): { answer: string; model: unknown; usage: unknown } | string {
  if (!isPlainObject(completion)) return 'the reply is not a JSON object';
  const choice = Array.isArray(completion.choices) ? (completion.choices[0] as unknown) : undefined;
  const message = isPlainObject(choice) ? choice.message : undefined;
  const content = isPlainObject(message) ? message.content : undefined;
  if (typeof content !== 'string') {
    const reason =
      isPlainObject(choice) && typeof choice.finish_reason === 'string'
        ? ` (finish_reason ${choice.finish_reason})`
        : '';
    return `the reply has no choices[0].message.content${reason}`;
  }
  return { answer: content, model: completion.model, usage: completion.usage ?? null };
}

/** What one step asks: the models in order, and the settings sent with each. */
interface Plan {
  models: string[];
  system: string | undefined;
  maxTokens: number | undefined;
  temperature: number | null;
  outputSchema: Record<string, unknown> | null;
  agent: { id: string; name: string } | null;
}

async function planOf(ctx: StepContext): Promise<Plan> {
  const maxTokens = integerIn(ctx.config.maxTokens, 'agent_task.maxTokens', 1, MAX_TOKENS);
  const stepModel = optionalString(ctx.config.model, 'agent_task.model');
  const system = optionalString(ctx.config.system, 'agent_task.system');
  const reference = optionalString(ctx.config.agentId, 'agent_task.agentId');
  if (reference) {
    if (!ctx.agents) throw new NonRetriableError('agent_task.agentId: named agents are not available to this step');
    const agent = await ctx.agents.resolve(reference);
    if (!agent)
      throw new NonRetriableError(
        `agent_task.agentId: no agent '${reference}' in this workspace (deleted or renamed since the workflow was saved?)`,
      );
    return {
      // The step's own model, when it names one, is asked instead of the agent's first model.
      models: [...new Set([stepModel || agent.model, ...agent.fallbackModels])],
      system: system ?? agent.systemPrompt ?? undefined,
      maxTokens: maxTokens ?? agent.maxTokens ?? undefined,
      temperature: agent.temperature,
      outputSchema: isPlainObject(agent.outputSchema) ? agent.outputSchema : null,
      agent: { id: agent.id, name: agent.name },
    };
  }
  const model = stepModel || ctx.env.agent.model;
  if (!model)
    throw new NonRetriableError(
      'agent_task needs a model: set config.model on the step, or WEFT_AGENT_MODEL on the server',
    );
  return { models: [model], system, maxTokens, temperature: null, outputSchema: null, agent: null };
}

/** A failure of one model that the next model might not have. */
function worthFallingBack(error: unknown): boolean {
  return !(error instanceof NonRetriableError) || (error as { status?: number }).status === 404;
}

interface Answer {
  answer: string;
  data?: unknown;
  model: string;
  usage: unknown;
}

async function ask(ctx: StepContext, url: URL, model: string, plan: Plan, chat: ChatMessage[]): Promise<Answer> {
  const headers = new Headers({
    'content-type': 'application/json',
    accept: 'application/json',
    'idempotency-key': ctx.idempotencyKey,
  });
  if (ctx.env.agent.apiKey) headers.set('authorization', `Bearer ${ctx.env.agent.apiKey}`);
  const body = JSON.stringify({
    model,
    messages: chat,
    ...(plan.maxTokens === undefined ? {} : { max_tokens: plan.maxTokens }),
    ...(plan.temperature === null ? {} : { temperature: plan.temperature }),
    ...(plan.outputSchema
      ? { response_format: { type: 'json_schema', json_schema: { name: 'output', schema: plan.outputSchema } } }
      : {}),
  });

  const target = `POST ${describeUrl(url)}`;
  ctx.log(`asking ${model}: ${target}`);
  const started = performance.now();
  const response = await send(ctx, url, { method: 'POST', headers, body });
  if (!response.ok) {
    ctx.log(`→ ${response.status}`);
    throw Object.assign(
      await statusError(
        response,
        `Agent endpoint ${target}`,
        response.status === 429 || isServerError(response.status),
      ),
      { status: response.status },
    );
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
  const tokens =
    isPlainObject(result.usage) && typeof result.usage.total_tokens === 'number'
      ? `, ${result.usage.total_tokens} tokens`
      : '';
  ctx.log(`→ answer of ${result.answer.length} characters in ${Math.round(performance.now() - started)} ms${tokens}`);
  const answered = typeof result.model === 'string' ? result.model : model;
  if (!plan.outputSchema) return { answer: result.answer, model: answered, usage: result.usage };
  return {
    answer: result.answer,
    data: structuredAnswer(result.answer, plan.outputSchema, model),
    model: answered,
    usage: result.usage,
  };
}

/** The answer parsed and checked against the agent's output schema (a miss is the model's failure). */
function structuredAnswer(answer: string, schema: Record<string, unknown>, model: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(answer);
  } catch {
    throw new Error(`${model} answered text that is not JSON, but the agent has an output schema: ${excerpt(answer)}`);
  }
  const validate = compileJsonSchema(schema);
  if (!validate(data))
    throw new Error(
      `${model} answered JSON that does not match the agent's output schema: ${validate.errors?.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`,
    );
  return data;
}

export const agentTaskStep: StepHandler = {
  async execute(ctx: StepContext) {
    nonEmptyString(ctx.config.goal, 'agent_task.goal');
    const plan = await planOf(ctx);
    const chat = messages(ctx, plan.system);
    const url = endpoint(ctx);
    const passedOver: { model: string; error: string }[] = [];
    for (const [i, model] of plan.models.entries()) {
      try {
        const answer = await ask(ctx, url, model, plan, chat);
        if (!plan.agent) return answer;
        if (passedOver.length)
          ctx.log(`answered by fallback model ${model} (after ${passedOver.map((p) => p.model).join(', ')})`);
        return { ...answer, agent: plan.agent, fallbacks: passedOver };
      } catch (error) {
        const next = plan.models[i + 1];
        if (next === undefined || ctx.signal.aborted || !worthFallingBack(error)) throw error;
        passedOver.push({ model, error: (error as Error).message });
        ctx.log(`${model} failed: ${(error as Error).message}; falling back to ${next}`);
      }
    }
    throw new Error('unreachable: an agent has at least one model');
  },
};
