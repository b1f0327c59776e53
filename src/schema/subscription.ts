// Subscriptions: live run progress over graphql-ws (WebSocket) and GraphQL over SSE.
import { Repeater } from '@repeaterjs/repeater';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Run } from '../generated/prisma/client.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { eventCursor, resolveEventCursor } from '../events/cursor.ts';
import { runFeed, type FeedFilter, type FeedMessage } from '../events/feed.ts';
import { heardAt, now, readRunAfter } from '../events/run-reads.ts';
import type { EventFilterInput } from '../events/filter.ts';
import { TERMINAL_EVENTS } from '../engine/statuses.ts';
import { runEventStream, runEventStreamWithMarker, type CaughtUp, type StreamOptions } from '../events/stream.ts';
import type { Context } from '../context.ts';
import { builder } from './builder.ts';
import { RunStatusEnum } from './enums.ts';
import { inWorkspace, parseGlobalId } from '../ids.ts';
import { RunEventRef, RunEventTypeEnum, RunRef } from './run.ts';

async function findRun(ctx: Context, globalId: string) {
  const id = parseGlobalId(globalId, 'Run');
  const run = await ctx.prisma.run.findFirst({ where: inWorkspace(id, ctx) });
  if (!run) throw new NotFoundError('Run', globalId);
  return run;
}

const RunEventFilter = builder.inputType('RunEventFilter', {
  description:
    "Which events of a run to deliver; all given filters must match. The stream still ends after the run's terminal event, delivered or not.",
  fields: (t) => ({
    types: t.field({ type: [RunEventTypeEnum], description: 'Only these event types.' }),
    stepIds: t.stringList({ description: 'Only events of these steps (run-level events are left out).' }),
    iterations: t.boolean({
      description: "false: leave out the events of loop iterations (the loop step's own events stay). Default true.",
    }),
    includeData: t.boolean({
      description:
        'false: leave out bulky details — output, input, log lines, check results — from `payload` and `data`. Default true.',
    }),
  }),
});

const CaughtUpRef = builder.objectRef<CaughtUp>('RunEventsCaughtUp').implement({
  description:
    'Marks the end of the replay: every stored event after your cursor has been delivered; what follows is live.',
  fields: (t) => ({
    cursor: t.string({
      description: 'The last event read (delivered or filtered out): resume from it with `after`.',
      resolve: (m) => eventCursor(m.seq),
    }),
    seq: t.exposeInt('seq', { description: 'The same as a seq (0 when the run has no event after your cursor yet).' }),
    runStatus: t.field({
      type: RunStatusEnum,
      description: "The run's status at that point.",
      resolve: (m) => m.status,
    }),
  }),
});

const RunEventStreamItem = builder.unionType('RunEventStreamItem', {
  description: 'An event of the run, or the marker that the replay has caught up.',
  types: [RunEventRef, CaughtUpRef],
  resolveType: (item) => ('kind' in item && item.kind === 'CAUGHT_UP' ? 'RunEventsCaughtUp' : 'RunEvent'),
});

const RunFeedFilter = builder.inputType('RunFeedFilter', {
  description: 'Which runs a feed reports; all given filters must match.',
  fields: (t) => ({
    status: t.field({
      type: [RunStatusEnum],
      description: 'Only transitions to (and snapshot runs in) these statuses.',
    }),
    workflowIds: t.idList({ description: 'Only runs of these workflows (global IDs).' }),
    includePreviews: t.boolean({ description: 'Include preview runs (default true).' }),
  }),
});

const RunFeedMessageKind = builder.enumType('RunFeedMessageKind', {
  description: 'What a runFeed message reports.',
  values: {
    SNAPSHOT: { description: 'A run as it is now (the initial snapshot).' },
    SNAPSHOT_END: { description: 'The snapshot is complete; what follows is live.' },
    TRANSITION: { description: 'A run reached `status`.' },
    DELETED: { description: 'A run was deleted (`run` is null).' },
  } as const,
});

const RunFeedMessageRef = builder.objectRef<FeedMessage>('RunFeedMessage').implement({
  description: 'One message of runFeed.',
  fields: (t) => ({
    kind: t.field({ type: RunFeedMessageKind, description: 'What it reports.', resolve: (m) => m.kind }),
    runId: t.id({
      nullable: true,
      description: 'Global ID of the run (null for SNAPSHOT_END).',
      resolve: (m) => (m.runId ? encodeGlobalID('Run', m.runId) : null),
    }),
    status: t.field({
      type: RunStatusEnum,
      nullable: true,
      description:
        "The status the transition reached (TRANSITION), the run's status (SNAPSHOT) or the status it had (DELETED).",
      resolve: (m) => m.status,
    }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: 'The run, its status being `status` (null for DELETED and SNAPSHOT_END).',
      resolve: (m) => m.run,
    }),
    seq: t.int({
      nullable: true,
      description: "The seq of the run event behind a TRANSITION (the run's last seq for SNAPSHOT).",
      resolve: (m) => m.seq,
    }),
    at: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (m) => m.at }),
  }),
});

type FeedArgs = {
  filter?: {
    status?: Run['status'][] | null;
    workflowIds?: (string | number)[] | null;
    includePreviews?: boolean | null;
  } | null;
  snapshot?: number | null;
};

function feedOptions(ctx: Context, args: FeedArgs, workflowId?: string) {
  const snapshot = args.snapshot ?? 0;
  if (snapshot < 0 || snapshot > 200) throw ValidationError.single(['snapshot'], 'must be between 0 and 200');
  const workflowIds = args.filter?.workflowIds?.map((id) => parseGlobalId(String(id), 'Workflow'));
  const filter: FeedFilter = {
    statuses: args.filter?.status,
    includePreviews: args.filter?.includePreviews,
    workflowIds: workflowId ? [workflowId] : workflowIds,
  };
  return { prisma: ctx.prisma, bus: ctx.bus, workspaceId: ctx.workspaceId, filter, snapshot };
}

/** The runs of a feed (snapshot and transitions) as Run objects, for runsFeed and workflowRunsUpdated. */
function feedRuns(ctx: Context, args: FeedArgs, workflowId?: string): Repeater<Run> {
  return new Repeater<Run>(async (push, stop) => {
    const messages = runFeed(feedOptions(ctx, args, workflowId));
    void stop.then(() => messages.return());
    for await (const message of messages) if (message.run) await push(message.run);
    stop();
  });
}

/**
 * The run now, then (coalesced) whenever it changes: at most one push per `intervalMs`, and
 * always its final state last. Events are read as they come; a push reads the run once for all
 * the events since the previous one.
 */
function coalescedRun(ctx: Context, run: Run): Repeater<Run> {
  const intervalMs = ctx.live.runUpdatedIntervalMs;
  return new Repeater<Run>(async (push, stop) => {
    await push(run);
    if (TERMINAL_EVENTS.has(`RUN_${run.status}`)) return stop();
    // A run deleted meanwhile (deleteRun, or its workflow deleted) ends the subscription.
    // The read is shared with the other subscribers of this run reading at the same moment
    // (src/events/run-reads.ts); it starts after the latest event we heard, so it includes it.
    let lastHeard = now();
    const pushCurrent = async () => {
      const current = await readRunAfter(ctx.prisma, run.id, lastHeard);
      if (current) await push(current);
      else stop();
    };
    const events = runEventStream({ prisma: ctx.prisma, bus: ctx.bus, runId: run.id, after: run.lastEventSeq });
    void stop.then(() => events.return());
    let lastPushAt = Date.now();
    let timer: NodeJS.Timeout | null = null;
    let pushing: Promise<unknown> = Promise.resolve();
    const flush = () => {
      timer = null;
      // Chained: the final push below waits for this one, so it is always the last.
      // A failed read ends this subscription with the error; it must never be an unhandled rejection.
      pushing = pushing
        .then(async () => {
          lastPushAt = Date.now();
          await pushCurrent();
        })
        .catch((error: unknown) => stop(error));
    };
    try {
      for await (const event of events) {
        lastHeard = heardAt(event);
        if (TERMINAL_EVENTS.has(event.type)) break;
        timer ??= setTimeout(flush, Math.max(0, lastPushAt + intervalMs - Date.now()));
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    await pushing;
    await pushCurrent();
    stop();
  });
}

builder.subscriptionType({
  description: 'Live updates. Available over graphql-ws (WebSocket) and Server-Sent Events on /graphql.',
  authScopes: { read: true },
});

type FieldBuilder = Parameters<Parameters<typeof builder.subscriptionFields>[0]>[0];

const runIdArg = (t: FieldBuilder) => t.arg.id({ required: true, description: 'Global ID of the run.' });

/** The arguments of runEvents and runEventStream. */
const eventStreamArgs = (t: FieldBuilder) => ({
  runId: runIdArg(t),
  after: t.arg.string({
    description:
      'Deliver only events after this event cursor: a seq ("42", RunEvent.seq or RunEvent.cursor); a Run.events edge cursor is accepted too.',
  }),
  filter: t.arg({ type: RunEventFilter, description: 'Deliver only some events (default: all).' }),
});

async function openEventStream<T>(
  ctx: Context,
  args: { runId: string | number; after?: string | null; filter?: unknown },
  open: (opts: StreamOptions) => T,
): Promise<T> {
  const run = await findRun(ctx, String(args.runId));
  const after = await resolveEventCursor(ctx.prisma, run.id, args.after, ['after']);
  return open({
    prisma: ctx.prisma,
    bus: ctx.bus,
    runId: run.id,
    after,
    filter: args.filter as EventFilterInput | null,
  });
}

builder.subscriptionFields((t) => ({
  runEvents: t.field({
    type: RunEventRef,
    description:
      "Every event of a run, in order: first the stored ones after `after` (all of them without it), then live ones, with no gap and no duplicate even while events are being produced. Completes after the run's terminal event (RUN_COMPLETED, RUN_FAILED or RUN_CANCELLED). To resume after a disconnect, pass the cursor of the last event received as `after`. runEventStream is the same with a marker where the replay ends.",
    args: eventStreamArgs(t),
    subscribe: (_root, args, ctx) => openEventStream(ctx, args, runEventStream),
    resolve: (event) => event as never,
  }),
  runEventStream: t.field({
    type: RunEventStreamItem,
    description:
      'runEvents with a marker: the stored events after `after`, then one RunEventsCaughtUp (the replay is over), then live events until the terminal event. A run that finished before or during the replay completes without a marker (its terminal event is the last item).',
    args: eventStreamArgs(t),
    subscribe: (_root, args, ctx) => openEventStream(ctx, args, runEventStreamWithMarker),
    resolve: (item) => item as never,
  }),
  runUpdated: t.field({
    type: RunRef,
    description:
      'The run (with __typename and id, so normalized caches update) now and whenever it changes — coalesced: at most one push per WEFT_RUN_UPDATED_INTERVAL_MS (default 250 ms), always ending with its final state; completes when it finishes.',
    args: { runId: runIdArg(t) },
    subscribe: async (_root, args, ctx) => coalescedRun(ctx, await findRun(ctx, String(args.runId))),
    resolve: (run) => run,
  }),
  workflowRunsUpdated: t.field({
    type: RunRef,
    description:
      'Runs of one workflow, once per transition (queued, started, paused, resumed, finished) with the status it reached. runFeed also reports deletions.',
    args: {
      workflowId: t.arg.id({ required: true, description: 'Global ID of the workflow.' }),
      filter: t.arg({ type: RunFeedFilter, description: 'Only some runs (its workflowIds is ignored here).' }),
      snapshot: t.arg.int({
        description: 'First send up to this many of the newest matching runs as they are now (0–200, default 0).',
      }),
    },
    subscribe: async (_root, args, ctx) => {
      const workflowId = parseGlobalId(String(args.workflowId), 'Workflow');
      const workflow = await ctx.prisma.workflow.findFirst({ where: inWorkspace(workflowId, ctx) });
      if (!workflow) throw new NotFoundError('Workflow', String(args.workflowId));
      return feedRuns(ctx, args as FeedArgs, workflowId);
    },
    resolve: (run) => run,
  }),
  runsFeed: t.field({
    type: RunRef,
    description:
      'Every run of your workspace (previews included unless filtered), once per transition (queued, started, paused, resumed, finished) with the status it reached — for dashboards. runFeed also reports deletions and the end of the snapshot.',
    args: {
      filter: t.arg({ type: RunFeedFilter, description: 'Only some runs.' }),
      snapshot: t.arg.int({
        description: 'First send up to this many of the newest matching runs as they are now (0–200, default 0).',
      }),
    },
    subscribe: (_root, args, ctx) => feedRuns(ctx, args as FeedArgs),
    resolve: (run) => run,
  }),
  runFeed: t.field({
    type: RunFeedMessageRef,
    description:
      'The runs of your workspace as messages: an optional snapshot (SNAPSHOT… then SNAPSHOT_END), then each TRANSITION once with the status it reached, and DELETED when a run is deleted.',
    args: {
      filter: t.arg({ type: RunFeedFilter, description: 'Only some runs.' }),
      snapshot: t.arg.int({
        description: 'First send up to this many of the newest matching runs (0–200, default 0), then SNAPSHOT_END.',
      }),
    },
    subscribe: (_root, args, ctx) => runFeed(feedOptions(ctx, args as FeedArgs)),
    resolve: (message) => message,
  }),
}));
