// Per-request batching loaders for what a workflow list shows, each one statement per page
// whose cost does not grow with history.
//
// The most recent run of each workflow: a LATERAL subquery per workflow walks the Run (workflowId, createdAt DESC, id) index
// and stops at the first non-preview row, instead of loading every run and keeping one in
// JavaScript (what a Prisma nested `take: 1` over several parents does).
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { Context } from '../context.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';

export interface LastRun {
  status: RunStatus;
  createdAt: Date;
}

type LastRunRow = LastRun & { workflowId: string };

/** One loader per request (context), shared by lastRunStatus and lastRunAt so a page costs one statement for both. */
export const lastRunLoader = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, LastRun | null>(async (workflowIds) => {
      const rows = await ctx.prisma.$queryRaw<LastRunRow[]>`
        SELECT w.id AS "workflowId", r.status, r."createdAt"
        FROM unnest(${workflowIds as string[]}::uuid[]) AS w(id)
        CROSS JOIN LATERAL (
          SELECT "status"::text AS status, "createdAt" FROM "Run"
          WHERE "workflowId" = w.id AND "workspaceId" = ${ctx.workspaceId}::uuid AND NOT "isPreview"
          ORDER BY "createdAt" DESC, id DESC
          LIMIT 1
        ) r`;
      const byWorkflow = new Map(rows.map((row) => [row.workflowId, { status: row.status, createdAt: row.createdAt }]));
      return workflowIds.map((id) => byWorkflow.get(id) ?? null);
    }),
);

/** The current version's definition of each workflow, by its unique (workflowId, latestVersion): one row each, whatever the history. */
export const currentDefinitionLoader = createContextCache(
  (ctx: Context) =>
    new DataLoader<{ id: string; latestVersion: number }, unknown, string>(
      async (workflows) => {
        const rows = await ctx.prisma.workflowVersion.findMany({
          where: {
            workspaceId: ctx.workspaceId,
            OR: workflows.map((w) => ({ workflowId: w.id, number: w.latestVersion })),
          },
          select: { workflowId: true, number: true, definition: true },
        });
        const byKey = new Map(rows.map((row) => [`${row.workflowId}:${row.number}`, row.definition]));
        return workflows.map((w) => byKey.get(`${w.id}:${w.latestVersion}`) ?? null);
      },
      { cacheKeyFn: (w) => `${w.id}:${w.latestVersion}` },
    ),
);

/** A page of a workflow's versions, newest first, between two version numbers (exclusive). */
export interface VersionPageKey {
  workflowId: string;
  latestVersion: number;
  /** Only versions numbered below this one (the `after` cursor). */
  below: number | null;
  /** Only versions numbered above this one (the `before` cursor). */
  above: number | null;
  limit: number;
  /** `last`: the page is taken from the oldest end (and returned oldest first). */
  inverted: boolean;
  /** The Prisma select/include the requested Version fields need (pothos queryFromInfo). */
  query: { select?: Record<string, unknown>; include?: Record<string, unknown> };
}

/**
 * Versions are numbered 1..latestVersion without gaps (they are never deleted), so a page is a
 * range of numbers known before reading: every workflow's page comes from one statement over
 * the (workflowId, number) unique index, reading exactly the rows shown.
 */
function pageRange(key: VersionPageKey): [number, number] | null {
  const lo = (key.above ?? 0) + 1;
  const hi = Math.min(key.latestVersion, (key.below ?? Number.POSITIVE_INFINITY) - 1);
  if (hi < lo || key.limit <= 0) return null;
  return key.inverted ? [lo, Math.min(hi, lo + key.limit - 1)] : [Math.max(lo, hi - key.limit + 1), hi];
}

type VersionRow = { workflowId: string; number: number };

export const versionPageLoader = createContextCache(
  (ctx: Context) =>
    new DataLoader<VersionPageKey, VersionRow[], string>(
      async (keys) => {
        // One statement per distinct selection (normally one per response).
        const bySelection = new Map<string, VersionPageKey[]>();
        for (const key of keys) {
          const selection = JSON.stringify(key.query);
          bySelection.set(selection, [...(bySelection.get(selection) ?? []), key]);
        }
        const rows: VersionRow[] = [];
        for (const group of bySelection.values()) {
          const ranges = group
            .map((key) => [key, pageRange(key)] as const)
            .filter((entry): entry is readonly [VersionPageKey, [number, number]] => entry[1] !== null);
          if (!ranges.length) continue;
          const { query } = group[0]!;
          const shape = query.select
            ? { select: { ...query.select, workflowId: true, number: true } }
            : { include: query.include };
          const found = (await ctx.prisma.workflowVersion.findMany({
            ...shape,
            where: {
              workspaceId: ctx.workspaceId,
              OR: ranges.map(([key, [from, to]]) => ({ workflowId: key.workflowId, number: { gte: from, lte: to } })),
            },
            orderBy: { number: 'desc' },
          } as never)) as VersionRow[];
          rows.push(...found);
        }
        return keys.map((key) => {
          const range = pageRange(key);
          const page = range
            ? rows.filter(
                (row) => row.workflowId === key.workflowId && row.number >= range[0] && row.number <= range[1],
              )
            : [];
          return key.inverted ? page.reverse() : page;
        });
      },
      {
        cacheKeyFn: (key) =>
          JSON.stringify([key.workflowId, key.latestVersion, key.below, key.above, key.limit, key.inverted, key.query]),
      },
    ),
);

/** The current version of a workflow, with the columns and relations its requested fields need. */
export interface CurrentVersionKey {
  workflowId: string;
  latestVersion: number;
  query: VersionPageKey['query'];
}

/**
 * Each workflow's current version by its unique (workflowId, latestVersion), one statement per
 * page. A findUnique per workflow is batched by Prisma into one statement too, but each call still
 * goes through Prisma's whole request pipeline: 50 of them cost more CPU than the statement.
 */
export const currentVersionLoader = createContextCache(
  (ctx: Context) =>
    new DataLoader<CurrentVersionKey, VersionRow | null, string>(
      async (keys) => {
        const bySelection = new Map<string, CurrentVersionKey[]>();
        for (const key of keys) {
          const selection = JSON.stringify(key.query);
          bySelection.set(selection, [...(bySelection.get(selection) ?? []), key]);
        }
        const found = new Map<string, VersionRow>();
        for (const group of bySelection.values()) {
          const { query } = group[0]!;
          const shape = query.select
            ? { select: { ...query.select, workflowId: true, number: true } }
            : { include: query.include };
          const rows = (await ctx.prisma.workflowVersion.findMany({
            ...shape,
            where: {
              workspaceId: ctx.workspaceId,
              OR: group.map((key) => ({ workflowId: key.workflowId, number: key.latestVersion })),
            },
          } as never)) as VersionRow[];
          for (const row of rows) found.set(`${JSON.stringify(query)}:${row.workflowId}:${row.number}`, row);
        }
        return keys.map(
          (key) => found.get(`${JSON.stringify(key.query)}:${key.workflowId}:${key.latestVersion}`) ?? null,
        );
      },
      { cacheKeyFn: (key) => JSON.stringify([key.workflowId, key.latestVersion, key.query]) },
    ),
);
