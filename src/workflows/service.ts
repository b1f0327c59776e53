// Business rules for workflows and their versions. Resolvers call these; so will webhooks,
// the scheduler and tests. Each mutation is one transaction.
import type { Actor } from '../context.ts';
import type { PrismaClient } from '../db/client.ts';
import { NotFoundError, ValidationError, type Problem } from '../errors.ts';
import type { TriggerType, WorkflowStatus } from '../generated/prisma/client.ts';
import { validateDefinition } from './definition.ts';

export interface Scope {
  prisma: PrismaClient;
  workspaceId: string;
  actor: Actor;
}

export interface CreateWorkflowInput {
  name: string;
  description?: string | null;
  definition?: unknown;
  status?: WorkflowStatus | null;
  triggerType?: TriggerType | null;
}

export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 5000;

export function checkName(name: unknown, path: (string | number)[]): Problem[] {
  if (typeof name !== 'string' || name.trim().length === 0) return [{ path, message: 'must not be empty' }];
  if (name.trim().length > NAME_MAX) return [{ path, message: `must be at most ${NAME_MAX} characters (got ${name.trim().length})` }];
  return [];
}

export function checkDescription(description: unknown, path: (string | number)[]): Problem[] {
  if (description == null) return [];
  if (typeof description !== 'string') return [{ path, message: 'must be a string' }];
  if (description.length > DESCRIPTION_MAX) return [{ path, message: `must be at most ${DESCRIPTION_MAX} characters (got ${description.length})` }];
  return [];
}

export async function createWorkflow(scope: Scope, input: CreateWorkflowInput) {
  const problems = [
    ...checkName(input.name, ['input', 'name']),
    ...checkDescription(input.description, ['input', 'description']),
    ...validateDefinition(input.definition).map((p) => ({ ...p, path: ['input', 'definition', ...p.path] })),
  ];
  if (problems.length) throw new ValidationError(problems);

  return scope.prisma.$transaction(async (tx) => {
    const workflow = await tx.workflow.create({
      data: {
        workspaceId: scope.workspaceId,
        name: input.name.trim(),
        description: input.description ?? null,
        status: input.status ?? 'DRAFT',
        triggerType: input.triggerType ?? 'MANUAL',
        latestVersion: 1,
        createdById: scope.actor.kind === 'user' ? scope.actor.id : null,
      },
    });
    await tx.workflowVersion.create({
      data: {
        workspaceId: scope.workspaceId,
        workflowId: workflow.id,
        number: 1,
        definition: input.definition as object,
        changeSummary: 'Initial version',
      },
    });
    return workflow;
  });
}

export async function getWorkflow(scope: Scope, id: string) {
  const workflow = await scope.prisma.workflow.findFirst({ where: { id, workspaceId: scope.workspaceId } });
  if (!workflow) throw new NotFoundError('Workflow', id);
  return workflow;
}
