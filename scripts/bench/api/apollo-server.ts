// The comparison of bench:api: the same two operations served by Apollo Server + Prisma +
// DataLoader, written the obvious way (one loader per relation, whole rows, the newest version
// and last run picked from everything loaded). No auth, like the floor. Prints "listening <port>".
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { PrismaPg } from '@prisma/adapter-pg';
import DataLoader from 'dataloader';
import pg from 'pg';
import { PrismaClient } from '../../../src/generated/prisma/client.ts';
import { globalId, parseGlobalId } from './queries.ts';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
let statements = 0;
const prisma = new PrismaClient({ adapter: new PrismaPg(pool), log: [{ emit: 'event', level: 'query' }] } as never);
(prisma as unknown as { $on(e: 'query', cb: () => void): void }).$on('query', () => void statements++);
const workspaceId = process.env.WORKSPACE_ID!;

const typeDefs = `#graphql
  scalar DateTime
  type Tag { name: String! color: String }
  type Version { number: Int! }
  type Workflow { id: ID! name: String! status: String! tags: [Tag!]! currentVersion: Version! runsCount: Int! lastRunStatus: String lastRunAt: String }
  type WorkflowEdge { node: Workflow! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! }
  type WorkflowConnection { totalCount: Int! edges: [WorkflowEdge!]! pageInfo: PageInfo! }
  type StepRun { stepId: String! type: String! status: String! attempt: Int! }
  type RunEvent { seq: Int! type: String! stepId: String }
  type RunEventEdge { node: RunEvent! }
  type RunEventConnection { edges: [RunEventEdge!]! }
  type Run { id: ID! status: String! createdAt: String! startedAt: String finishedAt: String workflow: Workflow stepRuns: [StepRun!]! events(last: Int): RunEventConnection! }
  type Query { workflows(first: Int): WorkflowConnection! run(id: ID!): Run }
`;

type Loaders = ReturnType<typeof loaders>;
function loaders() {
  return {
    tags: new DataLoader(async (ids: readonly string[]) => {
      const rows = await prisma.workflowTag.findMany({
        where: { workflowId: { in: [...ids] } },
        include: { tag: true },
      });
      return ids.map((id) =>
        rows
          .filter((r) => r.workflowId === id)
          .map((r) => r.tag)
          .sort((a, b) => a.order - b.order || a.name.localeCompare(b.name)),
      );
    }),
    currentVersion: new DataLoader(async (ids: readonly string[]) => {
      const rows = await prisma.workflowVersion.findMany({
        where: { workflowId: { in: [...ids] } },
        orderBy: { number: 'desc' },
      });
      return ids.map((id) => rows.find((r) => r.workflowId === id)!);
    }),
    runsCount: new DataLoader(async (ids: readonly string[]) => {
      const rows = await prisma.run.groupBy({
        by: ['workflowId'],
        where: { workflowId: { in: [...ids] }, isPreview: false },
        _count: { _all: true },
      });
      return ids.map((id) => rows.find((r) => r.workflowId === id)?._count._all ?? 0);
    }),
    lastRun: new DataLoader(async (ids: readonly string[]) => {
      const rows = await prisma.run.findMany({
        where: { workflowId: { in: [...ids] }, isPreview: false },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
      return ids.map((id) => rows.find((r) => r.workflowId === id) ?? null);
    }),
    workflow: new DataLoader(async (ids: readonly string[]) => {
      const rows = await prisma.workflow.findMany({ where: { id: { in: [...ids] } } });
      return ids.map((id) => rows.find((r) => r.id === id) ?? null);
    }),
  };
}

const iso = (d: Date | null) => d?.toISOString() ?? null;
type Row = { id: string; [key: string]: unknown };

const resolvers = {
  Query: {
    workflows: async (_: unknown, args: { first?: number }) => {
      const first = args.first ?? 20;
      const [rows, totalCount] = await Promise.all([
        prisma.workflow.findMany({
          where: { workspaceId },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: first + 1,
        }),
        prisma.workflow.count({ where: { workspaceId } }),
      ]);
      return {
        totalCount,
        edges: rows.slice(0, first).map((node) => ({ node })),
        pageInfo: { hasNextPage: rows.length > first, hasPreviousPage: false },
      };
    },
    run: (_: unknown, args: { id: string }) =>
      prisma.run.findFirst({ where: { id: parseGlobalId(args.id, 'Run'), workspaceId } }),
  },
  Workflow: {
    id: (w: Row) => globalId('Workflow', w.id),
    tags: (w: Row, _: unknown, ctx: Loaders) => ctx.tags.load(w.id),
    currentVersion: (w: Row, _: unknown, ctx: Loaders) => ctx.currentVersion.load(w.id),
    runsCount: (w: Row, _: unknown, ctx: Loaders) => ctx.runsCount.load(w.id),
    lastRunStatus: async (w: Row, _: unknown, ctx: Loaders) => (await ctx.lastRun.load(w.id))?.status ?? null,
    lastRunAt: async (w: Row, _: unknown, ctx: Loaders) => iso((await ctx.lastRun.load(w.id))?.createdAt ?? null),
  },
  Run: {
    id: (r: Row) => globalId('Run', r.id),
    createdAt: (r: { createdAt: Date }) => iso(r.createdAt),
    startedAt: (r: { startedAt: Date | null }) => iso(r.startedAt),
    finishedAt: (r: { finishedAt: Date | null }) => iso(r.finishedAt),
    workflow: (r: { workflowId: string | null }, _: unknown, ctx: Loaders) =>
      r.workflowId ? ctx.workflow.load(r.workflowId) : null,
    stepRuns: (r: Row) =>
      prisma.stepRun.findMany({
        where: { runId: r.id, iteration: -1 },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      }),
    events: async (r: Row, args: { last?: number }) => {
      const rows = await prisma.runEvent.findMany({
        where: { runId: r.id },
        orderBy: { seq: 'desc' },
        take: args.last ?? 50,
      });
      return { edges: rows.reverse().map((node) => ({ node })) };
    },
  },
};

const server = new ApolloServer<Loaders>({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, {
  listen: { port: 0, host: '127.0.0.1' },
  context: async () => loaders(),
});
// Statement counts come over a side port so they do not go through Apollo.
const { createServer } = await import('node:http');
const side = createServer((_req, res) => res.end(String(statements)));
side.listen(0, '127.0.0.1', () =>
  console.log(`listening ${new URL(url).port} ${(side.address() as { port: number }).port}`),
);
