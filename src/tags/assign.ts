// Tags given by name on createWorkflow/updateWorkflow/patchWorkflow: missing tags are created,
// and the workflow's tag set becomes exactly the given names.
import type { Problem } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';

export const TAG_NAME_MAX = 100;

export function validateTagNames(names: string[] | null | undefined, path: (string | number)[]): Problem[] {
  return (names ?? []).flatMap((name, i) =>
    name.trim().length === 0 || name.trim().length > TAG_NAME_MAX
      ? [{ path: [...path, i], message: `must be 1–${TAG_NAME_MAX} characters` }]
      : [],
  );
}

export async function setWorkflowTags(
  tx: Prisma.TransactionClient,
  workspaceId: string,
  workflowId: string,
  names: string[],
): Promise<void> {
  const unique = [...new Set(names.map((n) => n.trim()))];
  await tx.tag.createMany({ data: unique.map((name) => ({ workspaceId, name })), skipDuplicates: true });
  const tags = await tx.tag.findMany({ where: { workspaceId, name: { in: unique } }, select: { id: true } });
  await tx.workflowTag.deleteMany({ where: { workflowId, tagId: { notIn: tags.map((t) => t.id) } } });
  await tx.workflowTag.createMany({
    data: tags.map((t) => ({ workflowId, tagId: t.id, workspaceId })),
    skipDuplicates: true,
  });
}
