// The state machine's tables are enforced: a move they do not allow is refused by the one module
// that writes statuses (src/engine/transitions.ts), and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cancelRunAndSteps,
  finishRun,
  IllegalTransitionError,
  moveStep,
  requeueRun,
  RUN_TRANSITIONS,
  STEP_TRANSITIONS,
} from '../src/engine/transitions.ts';
import { loadRunState } from '../src/engine/run-state.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50' });
  await t.app.start(0, '127.0.0.1');
});

afterAll(async () => {
  await t?.close();
});

describe('state transitions', () => {
  it('finished runs and steps move only when a run is resumed', () => {
    expect(RUN_TRANSITIONS.COMPLETED).toEqual([]);
    for (const status of ['FAILED', 'CANCELLED'] as const) expect(RUN_TRANSITIONS[status]).toEqual(['QUEUED']);
    for (const status of ['COMPLETED', 'FAILED', 'SKIPPED', 'CANCELLED'] as const)
      expect(STEP_TRANSITIONS[status]).toEqual(['PENDING']);
  });

  it('refuses moves the tables do not allow and writes nothing', async () => {
    const wf = await createWorkflow(t, {
      steps: [{ id: 'w', type: 'wait', config: { resume: true } }],
    });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run, ['PAUSED'])).status).toBe('PAUSED');
    const runId = rawId(run);

    // A waiting step cannot be skipped.
    await expect(
      t.db.prisma.$transaction(async (tx) => {
        const state = (await loadRunState(tx, runId, null))!;
        const row = state.rows.get('w')!;
        expect(row.status).toBe('WAITING');
        await moveStep(tx, state, row, 'SKIPPED', {});
      }),
    ).rejects.toBeInstanceOf(IllegalTransitionError);

    await t.db.prisma.$transaction((tx) =>
      cancelRunAndSteps(tx, { id: runId, workspaceId: t.workspaceId }, 'test', new Date()),
    );
    const cancelled = await t.db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(cancelled.status).toBe('CANCELLED');

    // Finished: it cannot finish again or be cancelled again; the rows stay as they are.
    await expect(
      t.db.prisma.$transaction((tx) => finishRun(tx, runId, 'COMPLETED', {}, new Date())),
    ).rejects.toBeInstanceOf(IllegalTransitionError);
    await expect(
      t.db.prisma.$transaction((tx) =>
        cancelRunAndSteps(tx, { id: runId, workspaceId: t.workspaceId }, 'again', new Date()),
      ),
    ).rejects.toBeInstanceOf(IllegalTransitionError);
    const after = await t.db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(after).toMatchObject({ status: 'CANCELLED', error: { message: 'test' } });
    expect(await t.db.prisma.stepRun.findMany({ where: { runId }, select: { status: true } })).toEqual([
      { status: 'CANCELLED' },
    ]);

    // Resuming is allowed: back to QUEUED, its step PENDING.
    await t.db.prisma.$transaction((tx) =>
      requeueRun(tx, { id: runId, workspaceId: t.workspaceId }, ['w'], { resumed: true }),
    );
    expect((await t.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status).not.toBe('CANCELLED');
    expect((await t.db.prisma.stepRun.findFirstOrThrow({ where: { runId } })).status).not.toBe('CANCELLED');
  });
});
