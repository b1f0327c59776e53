// Workflows addressed by id or by name, where the seeds allow `workflow_id_or_name`
// (PromptLayer's patch): an id (UUID or global ID) is taken as it is; anything else is a name,
// matched case-insensitively. Workflow names are not unique, so a name that matches several
// workflows is refused with their ids rather than one of them being picked.
import type { PrismaClient } from '../db/client.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { idFromPathSegment } from '../ids.ts';

/** How many of the workflows sharing a name the error lists. */
const LISTED = 5;

export async function resolveWorkflowId(
  scope: { prisma: Pick<PrismaClient, '$queryRaw'>; workspaceId: string },
  idOrName: string,
  path: (string | number)[],
): Promise<string> {
  const id = idFromPathSegment(idOrName, 'Workflow');
  if (id) return id;
  const name = idOrName.trim();
  // lower() = lower() rather than ILIKE: a name may contain % or _.
  const matches = await scope.prisma.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM "Workflow"
    WHERE "workspaceId" = ${scope.workspaceId}::uuid AND lower(name) = lower(${name})
    ORDER BY "createdAt" LIMIT ${LISTED + 1}`;
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new NotFoundError('Workflow', idOrName);
  const ids = matches.slice(0, LISTED).map((m) => Buffer.from(`Workflow:${m.id}`).toString('base64'));
  throw ValidationError.single(
    path,
    `the name '${name}' is ambiguous: ${matches.length > LISTED ? `more than ${LISTED}` : matches.length} workflows are called that (case-insensitively): ${ids.join(', ')}${matches.length > LISTED ? ', …' : ''}. Use the workflow's id, or rename one of them`,
  );
}
