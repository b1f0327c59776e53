// A fingerprint of what is stored: a hash of every row of every table (or, given a workspace,
// of every table with a workspaceId column plus the workspace row). Equal before and after
// means nothing was written. API keys are hashed without lastUsedAt, which reads update.
import type { PrismaClient } from '../../src/db/client.ts';

export async function databaseFingerprint(prisma: PrismaClient, workspaceId?: string): Promise<Record<string, string>> {
  const tables = await prisma.$queryRawUnsafe<{ table_name: string }[]>(
    `SELECT t.table_name FROM information_schema.tables t
     WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND t.table_name NOT IN ('_prisma_migrations', 'ApiKey')
       AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'workspaceId'))
     ORDER BY 1`,
    workspaceId ?? null,
  );
  const result: Record<string, string> = {};
  for (const { table_name } of tables) {
    const where = workspaceId ? `WHERE "workspaceId" = $1::uuid` : '';
    const [row] = await prisma.$queryRawUnsafe<{ h: string | null; n: bigint }[]>(
      `SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) AS h, count(*) AS n FROM "${table_name}" r ${where}`,
      ...(workspaceId ? [workspaceId] : []),
    );
    result[table_name] = `${row!.n}:${row!.h ?? 'empty'}`;
  }
  const keys = await prisma.apiKey.findMany({
    where: workspaceId ? { workspaceId } : {},
    select: { id: true, name: true, revokedAt: true, scopes: true, expiresAt: true },
    orderBy: { id: 'asc' },
  });
  result.ApiKey = JSON.stringify(keys);
  if (workspaceId) result.Workspace = JSON.stringify(await prisma.workspace.findUnique({ where: { id: workspaceId } }));
  return result;
}
