// Subscriptions: live run progress over graphql-ws (WebSocket) and GraphQL over SSE.
import { Repeater } from '@repeaterjs/repeater';
import type { Run } from '../generated/prisma/client.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { runChanges, runEventStream, TERMINAL_EVENTS } from '../events/stream.ts';
import type { Context } from '../context.ts';
import { builder } from './builder.ts';
import { parseGlobalId } from '../ids.ts';
import { RunEventRef, RunRef } from './run.ts';

async function findRun(ctx: Context, globalId: string) {
  const id = parseGlobalId(globalId, 'Run');
  const run = await ctx.prisma.run.findFirst({ where: { id, workspaceId: ctx.workspaceId } });
  if (!run) throw new NotFoundError('Run', globalId);
  return run;
}

function parseCursor(after: string | null | undefined): number {
  if (after == null) return 0;
  if (!/^\d{1,10}$/.test(after)) throw ValidationError.single(['after'], 'must be the seq of an event, e.g. "42" (as returned in RunEvent.seq)');
  return Number(after);
}

/** Runs matching `keep`, reloaded from the database on each of their run-level events. */
function runsStream(ctx: Context, keep: (run: Run) => boolean): Repeater<Run> {
  return new Repeater<Run>(async (push, stop) => {
    const changes = runChanges(ctx.bus, (event) => event.workspaceId === ctx.workspaceId);
    void stop.then(() => changes.return());
    for await (const event of changes) {
      const run = await ctx.prisma.run.findUnique({ where: { id: event.runId } });
      if (run && keep(run)) await push(run);
    }
    stop();
  });
}

builder.subscriptionType({ description: 'Live updates. Available over graphql-ws (WebSocket) and Server-Sent Events on /graphql.', authScopes: { read: true } });

builder.subscriptionFields((t) => ({
  runEvents: t.field({
    type: RunEventRef,
    description:
      'Every event of a run, in order: first the stored ones after `after` (all of them without it), then live ones, with no gap and no duplicate even while events are being produced. Completes after the run\'s terminal event (RUN_COMPLETED, RUN_FAILED or RUN_CANCELLED). To resume after a disconnect, pass the `seq` of the last event received as `after`.',
    args: {
      runId: t.arg.id({ required: true, description: 'Global ID of the run.' }),
      after: t.arg.string({ description: 'Deliver only events with a greater seq (the cursor).' }),
    },
    subscribe: async (_root, args, ctx) => {
      const after = parseCursor(args.after);
      const run = await findRun(ctx, String(args.runId));
      return runEventStream({ prisma: ctx.prisma, bus: ctx.bus, runId: run.id, after });
    },
    resolve: (event) => event as never,
  }),
  runUpdated: t.field({
    type: RunRef,
    description: 'The run (with __typename and id, so normalized caches update) now and whenever it changes; completes when it finishes.',
    args: { runId: t.arg.id({ required: true, description: 'Global ID of the run.' }) },
    subscribe: async (_root, args, ctx) => {
      const run = await findRun(ctx, String(args.runId));
      return new Repeater<Run>(async (push, stop) => {
        await push(run);
        if (TERMINAL_EVENTS.has(`RUN_${run.status}`)) return stop();
        const events = runEventStream({ prisma: ctx.prisma, bus: ctx.bus, runId: run.id, after: run.lastEventSeq });
        void stop.then(() => events.return());
        for await (const event of events) {
          await push(await ctx.prisma.run.findUniqueOrThrow({ where: { id: run.id } }));
          if (TERMINAL_EVENTS.has(event.type)) break;
        }
        stop();
      });
    },
    resolve: (run) => run,
  }),
  workflowRunsUpdated: t.field({
    type: RunRef,
    description: 'Runs of one workflow, each time one is queued, starts, pauses, resumes or finishes.',
    args: { workflowId: t.arg.id({ required: true, description: 'Global ID of the workflow.' }) },
    subscribe: async (_root, args, ctx) => {
      const workflowId = parseGlobalId(String(args.workflowId), 'Workflow');
      const workflow = await ctx.prisma.workflow.findFirst({ where: { id: workflowId, workspaceId: ctx.workspaceId } });
      if (!workflow) throw new NotFoundError('Workflow', String(args.workflowId));
      return runsStream(ctx, (run) => run.workflowId === workflowId);
    },
    resolve: (run) => run,
  }),
  runsFeed: t.field({
    type: RunRef,
    description: 'Every run of your workspace (previews included), each time one is queued, starts, pauses, resumes or finishes — for dashboards.',
    subscribe: (_root, _args, ctx) => runsStream(ctx, () => true),
    resolve: (run) => run,
  }),
}));
