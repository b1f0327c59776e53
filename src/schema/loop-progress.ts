// StepRun.loopProgress: how far a loop step is (iterations total, done, failed, running), so a
// monitor can draw a progress bar without loading every iteration or following their events.
// Counted from the iteration rows (created all at once when the loop starts), batched across
// the steps of a request.
import { builder } from './builder.ts';

interface LoopProgress {
  total: number;
  done: number;
  failed: number;
  running: number;
}

const RUNNING = new Set(['RUNNING', 'RETRYING']);

const LoopProgressRef = builder.objectRef<LoopProgress>('LoopProgress').implement({
  description: 'Progress of a loop step over its items.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Iterations (items); 0 until the loop has evaluated its items.' }),
    done: t.exposeInt('done', { description: 'Iterations COMPLETED.' }),
    failed: t.exposeInt('failed', { description: 'Iterations FAILED.' }),
    running: t.exposeInt('running', { description: 'Iterations RUNNING or RETRYING.' }),
    pending: t.int({
      description: 'Iterations not started yet (or cancelled/skipped): total − done − failed − running.',
      resolve: (p) => p.total - p.done - p.failed - p.running,
    }),
  }),
});

builder.prismaObjectField('StepRun', 'loopProgress', (t) =>
  t.loadable({
    type: LoopProgressRef,
    nullable: true,
    description:
      'For a loop step: how many iterations there are and how many are done, failed and running (null for other steps and for iterations).',
    load: async (keys: string[], ctx) => {
      const pairs = keys.map((k) => k.split('|') as [string, string]);
      const rows = await ctx.prisma.stepRun.groupBy({
        by: ['runId', 'stepId', 'status'],
        where: { iteration: { gte: 0 }, OR: pairs.map(([runId, stepId]) => ({ runId, stepId })) },
        _count: { _all: true },
      });
      const byKey = new Map<string, LoopProgress>(keys.map((k) => [k, { total: 0, done: 0, failed: 0, running: 0 }]));
      for (const row of rows) {
        const progress = byKey.get(`${row.runId}|${row.stepId}`)!;
        const n = row._count._all;
        progress.total += n;
        if (row.status === 'COMPLETED') progress.done += n;
        else if (row.status === 'FAILED') progress.failed += n;
        else if (RUNNING.has(row.status)) progress.running += n;
      }
      return keys.map((k) => byKey.get(k)!);
    },
    resolve: (step) => (step.type === 'loop' && step.iteration < 0 ? `${step.runId}|${step.stepId}` : null),
  }),
);
