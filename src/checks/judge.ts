// check_prompt checks: after a run has finished and its PENDING results are committed, each is
// put to the model through the agent endpoint (the agent_task handler: the same endpoint, key,
// named agents and fallbacks), asking for exactly {"verdict":"pass"|"fail","reason":"…"}. The
// reply is parsed strictly: anything else is a FAILED check whose reason says what was wrong,
// never a crash. The results replace the PENDING ones and a RUN_CHECKS event records them.
import type { PrismaClient } from '../db/client.ts';
import { redactInput } from '../engine/redact.ts';
import { agentTaskStep } from '../engine/steps/agent-task.ts';
import type { StepContext, StepEnvironment } from '../engine/steps/types.ts';
import { coerceError } from '../errors.ts';
import { appendEvents, type EventBus } from '../events/log.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { isPlainObject } from '../json.ts';
import { storedChecks, type StoredCheck } from './definition.ts';
import type { CheckResult } from './evaluate.ts';

const JUDGE_TIMEOUT_MS = 120_000;
const SYSTEM = [
  'You judge whether a finished workflow run satisfies a check.',
  'Reply with only a JSON object, no other text: {"verdict": "pass" or "fail", "reason": "<one or two sentences>"}.',
].join(' ');

/** The verdict out of a model's answer, or why the answer is not one. */
export function parseVerdict(answer: string): { verdict: 'pass' | 'fail'; reason: string } | { malformed: string } {
  let value: unknown;
  try {
    value = JSON.parse(answer.trim());
  } catch {
    return { malformed: `the model's reply is not JSON: ${JSON.stringify(answer.slice(0, 200))}` };
  }
  if (!isPlainObject(value)) return { malformed: "the model's reply is not a JSON object" };
  const extra = Object.keys(value).filter((key) => key !== 'verdict' && key !== 'reason');
  if (extra.length) return { malformed: `the model's reply has unexpected fields: ${extra.join(', ')}` };
  if (value.verdict !== 'pass' && value.verdict !== 'fail')
    return { malformed: `the model's verdict is ${JSON.stringify(value.verdict) ?? 'missing'}, not "pass" or "fail"` };
  if (typeof value.reason !== 'string' || !value.reason.trim()) return { malformed: 'the model gave no reason' };
  return { verdict: value.verdict, reason: value.reason };
}

export interface JudgeDeps {
  prisma: PrismaClient;
  bus: EventBus;
  env: StepEnvironment;
  agents: NonNullable<StepContext['agents']>;
}

async function judge(
  deps: JudgeDeps,
  check: StoredCheck,
  runId: string,
  subject: unknown,
): Promise<Partial<CheckResult>> {
  const named = check.model ? await deps.agents.resolve(check.model) : null;
  const config: Record<string, unknown> = {
    goal: `Check "${check.name}": ${check.checkPrompt}`,
    context: subject,
    system: SYSTEM,
    ...(named ? { agentId: check.model } : check.model ? { model: check.model } : {}),
  };
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`the model did not answer within ${JUDGE_TIMEOUT_MS / 1000} s`)),
    JUDGE_TIMEOUT_MS,
  );
  try {
    const ctx: StepContext = {
      runId,
      stepId: `check:${check.id}`,
      attempt: 1,
      config,
      signal: controller.signal,
      log: () => undefined,
      env: deps.env,
      workflow: { commandAllowlist: [] },
      idempotencyKey: `${runId}:check:${check.id}`,
      agents: deps.agents,
    };
    const answer = (await agentTaskStep.execute(ctx)) as { answer: string; model: string };
    const parsed = parseVerdict(answer.answer);
    if ('malformed' in parsed)
      return { status: 'FAILED', passed: false, reason: parsed.malformed, model: answer.model };
    return {
      status: parsed.verdict === 'pass' ? 'PASSED' : 'FAILED',
      passed: parsed.verdict === 'pass',
      verdict: parsed.verdict,
      reason: parsed.reason,
      model: answer.model,
    };
  } catch (error) {
    return { status: 'FAILED', passed: false, reason: `the model could not judge: ${coerceError(error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Judges a finished run's PENDING check_prompt results; a no-op when it has none. */
export async function judgePendingChecks(deps: JudgeDeps, runId: string): Promise<void> {
  const run = await deps.prisma.run.findUnique({
    where: { id: runId },
    select: {
      id: true,
      workspaceId: true,
      workflowId: true,
      status: true,
      input: true,
      output: true,
      error: true,
      checks: true,
      definition: true,
    },
  });
  const results = Array.isArray(run?.checks) ? (run.checks as unknown as CheckResult[]) : [];
  if (!run || !results.some((r) => r.status === 'PENDING')) return;
  const workflow = run.workflowId
    ? await deps.prisma.workflow.findUnique({ where: { id: run.workflowId }, select: { postRunChecks: true } })
    : null;
  const checks = new Map(storedChecks(workflow?.postRunChecks).map((c) => [c.id, c]));
  const attachments = await deps.prisma.upload.findMany({
    where: { runId, kind: 'ATTACHMENT' },
    select: { filename: true, size: true, contentType: true, stepId: true },
    orderBy: { createdAt: 'asc' },
  });
  // Sensitive inputs stay out of what the model is shown, as out of every other record.
  const subject = {
    status: run.status,
    input: redactInput((run.definition as { inputSchema?: unknown }).inputSchema, run.input),
    output: run.output,
    error: run.error,
    attachments: attachments.map((a) => ({ ...a, size: Number(a.size) })),
  };
  const judged: CheckResult[] = [];
  for (const result of results) {
    if (result.status !== 'PENDING') {
      judged.push(result);
      continue;
    }
    const check = checks.get(result.id);
    judged.push({
      ...result,
      ...(check
        ? await judge(deps, check, runId, subject)
        : { status: 'FAILED', passed: false, reason: 'the check was removed before it could be judged' }),
    });
  }
  const events = await deps.prisma.$transaction(async (tx) => {
    await tx.run.update({ where: { id: runId }, data: { checks: judged as unknown as Prisma.InputJsonValue } });
    return appendEvents(tx, run, [{ type: 'RUN_CHECKS', data: { checks: judged } }]);
  });
  deps.bus.publish(events);
}

/**
 * Runs whose check_prompt results are still PENDING well after they finished: the process that
 * finished them stopped before the model answered. Judged again at start; runs finished within
 * the judging timeout are left to whoever may still be judging them.
 */
export async function judgeLeftoverChecks(
  deps: Omit<JudgeDeps, 'agents'> & { agentsFor: (workspaceId: string) => JudgeDeps['agents'] },
  now: Date = new Date(),
): Promise<number> {
  const runs = await deps.prisma.run.findMany({
    where: {
      finishedAt: { lt: new Date(now.getTime() - JUDGE_TIMEOUT_MS * 2) },
      checks: { array_contains: [{ status: 'PENDING' }] },
    },
    select: { id: true, workspaceId: true },
    take: 100,
  });
  for (const run of runs) await judgePendingChecks({ ...deps, agents: deps.agentsFor(run.workspaceId) }, run.id);
  return runs.length;
}
