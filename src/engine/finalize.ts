// Finishing a run: its status from the step states, its output (the definition's `output`
// template, or the final steps' outputs), the output schema check, and post-run checks.
import type { Prisma, StepRun } from '../generated/prisma/client.ts';
import type { WorkflowDefinition } from '../workflows/definition.ts';
import type { NewEvent } from '../events/log.ts';
import { renderTemplates } from './expressions.ts';
import { finalSteps } from './graph.ts';
import type { Redactor } from './redact.ts';
import { finalRunStatus } from './statuses.ts';
import { finishRun } from './transitions.ts';
import { ajv, compileJsonSchema } from '../runs/json-schema.ts';
import { coerceError } from '../errors.ts';
import { evaluateChecks } from '../checks/evaluate.ts';

type Tx = Prisma.TransactionClient;

export interface FinishedRun {
  runId: string;
  workspaceId: string;
  workflowId: string | null;
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  output: unknown;
  error: unknown;
  /** check_prompt results recorded PENDING, for the model to judge after the commit. */
  pendingChecks?: boolean;
}

function outputOf(definition: WorkflowDefinition, rows: StepRun[]): unknown {
  const byId = new Map(rows.map((r) => [r.stepId, r]));
  return Object.fromEntries(finalSteps(definition.steps).map((s) => [s.id, byId.get(s.id)?.output ?? null]));
}

export async function finalizeRun(
  tx: Tx,
  run: { id: string; workspaceId: string; workflowId: string | null; definition: WorkflowDefinition; input: unknown },
  rows: StepRun[],
  redact: Redactor,
  events: NewEvent[],
  now: Date,
): Promise<FinishedRun> {
  const topLevel = rows.filter((r) => r.iteration === -1);
  let status = finalRunStatus(topLevel.map((r) => r.status));
  const steps = Object.fromEntries(topLevel.map((r) => [r.stepId, { output: r.output ?? null, status: r.status }]));
  const context = { input: run.input ?? {}, steps, run: { id: run.id, workflowId: run.workflowId, status } };
  let output: unknown = null;
  let error: unknown = null;

  if (status === 'COMPLETED') {
    try {
      output =
        run.definition.output !== undefined
          ? await renderTemplates(run.definition.output, context)
          : outputOf(run.definition, topLevel);
      if (run.definition.outputSchema) {
        const validate = compileJsonSchema(run.definition.outputSchema);
        if (!validate(output)) {
          status = 'FAILED';
          error = {
            message: `Run output does not match the output schema: ${ajv.errorsText(validate.errors)}`,
            name: 'OutputSchemaError',
          };
        }
      }
    } catch (failure) {
      status = 'FAILED';
      error = { message: `Could not compute the run output: ${coerceError(failure).message}`, name: 'OutputError' };
    }
  } else {
    const failed = topLevel.filter((r) => r.status === 'FAILED').map((r) => r.stepId);
    error = {
      message: failed.length
        ? `Step${failed.length > 1 ? 's' : ''} ${failed.map((id) => `'${id}'`).join(', ')} failed`
        : 'Run was cancelled',
      failedSteps: failed,
    };
  }

  const workflow = run.workflowId
    ? await tx.workflow.findUnique({ where: { id: run.workflowId }, select: { postRunChecks: true } })
    : null;
  const checks = await evaluateChecks(tx, run, workflow?.postRunChecks, {
    ...context,
    output,
    run: { ...context.run, status },
  });
  output = redact(output);
  error = redact(error);
  await finishRun(
    tx,
    run.id,
    status,
    {
      output: output as Prisma.InputJsonValue,
      error: (error ?? undefined) as Prisma.InputJsonValue | undefined,
      checks: checks.length ? (checks as unknown as Prisma.InputJsonValue) : undefined,
    },
    now,
  );
  if (checks.length) events.push({ type: 'RUN_CHECKS', data: { checks } });
  events.push({
    type: status === 'COMPLETED' ? 'RUN_COMPLETED' : status === 'FAILED' ? 'RUN_FAILED' : 'RUN_CANCELLED',
    data: { status, output, error },
  });
  return {
    runId: run.id,
    workspaceId: run.workspaceId,
    workflowId: run.workflowId,
    status,
    output,
    error,
    pendingChecks: checks.some((check) => check.status === 'PENDING'),
  };
}
