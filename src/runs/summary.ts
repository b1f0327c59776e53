// runsSummary: counts per status, success rate and duration percentiles, computed by the
// database in one round trip (percentile_cont works on PostgreSQL and PGlite alike).
import type { PrismaClient } from '../db/client.ts';
import { RunStatus } from '../generated/prisma/enums.ts';

interface SummaryRow {
  status: RunStatus;
  count: number;
  p50: number | null;
  p95: number | null;
}

export async function runsSummary(
  scope: { prisma: PrismaClient; workspaceId: string },
  window: { workflowId: string | null; since: Date; until: Date },
) {
  const rows = await scope.prisma.$queryRaw<SummaryRow[]>`
    WITH runs AS (
      SELECT status, EXTRACT(EPOCH FROM ("finishedAt" - "startedAt")) * 1000 AS ms
      FROM "Run"
      WHERE "workspaceId" = ${scope.workspaceId}::uuid AND "isPreview" = false
        AND "createdAt" >= ${window.since} AND "createdAt" < ${window.until}
        AND (${window.workflowId}::uuid IS NULL OR "workflowId" = ${window.workflowId}::uuid)
    )
    SELECT status::text AS status, count(*)::int AS count, NULL::float8 AS p50, NULL::float8 AS p95 FROM runs GROUP BY status
    UNION ALL
    SELECT 'ALL', 0,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::float8,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::float8
    FROM runs WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND ms IS NOT NULL`;
  const counts = new Map(rows.filter((r) => r.status !== ('ALL' as RunStatus)).map((r) => [r.status, r.count]));
  const percentiles = rows.find((r) => r.status === ('ALL' as RunStatus));
  const byStatus = Object.values(RunStatus).map((status) => ({ status, count: counts.get(status) ?? 0 }));
  const finished = (counts.get('COMPLETED') ?? 0) + (counts.get('FAILED') ?? 0) + (counts.get('CANCELLED') ?? 0);
  return {
    total: byStatus.reduce((sum, s) => sum + s.count, 0),
    byStatus,
    successRate: finished ? (counts.get('COMPLETED') ?? 0) / finished : null,
    p50DurationMs: percentiles?.p50 ?? null,
    p95DurationMs: percentiles?.p95 ?? null,
    since: window.since,
    until: window.until,
  };
}
