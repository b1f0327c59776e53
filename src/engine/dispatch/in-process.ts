// In-process dispatch (the embedded database, one process): a claimed step runs as a task in
// this process, wake-ups are local timers backed by the engine's poller. Claims are limited by
// this process's free capacity; a run whose ready steps found no capacity is remembered and
// served first when a slot frees.
import type { Logger } from '../../logger.ts';
import type { AdvanceResult } from '../run-state.ts';
import type { DispatchHost, Dispatcher, ScheduleTicker } from './types.ts';

export interface InProcessOptions {
  workerConcurrency: number;
  /** Wake-ups further away than 10 polls are left to the poller (no long-lived timers). */
  pollIntervalMs: number;
  log: Logger;
  now: () => Date;
}

export class InProcessDispatcher implements Dispatcher {
  readonly kind = 'in-process';
  private host: DispatchHost | null = null;
  private scheduler: ScheduleTicker | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly starved = new Set<string>();

  constructor(private readonly opts: InProcessOptions) {}

  capacity(inFlight: number): number {
    return this.host && !this.host.isStopped() ? this.opts.workerConcurrency - inFlight : 0;
  }

  /** Every claim is executed here, at once. */
  localSlots(inFlight: number): number {
    return this.capacity(inFlight);
  }

  async persist(): Promise<void> {}

  afterCommit(runId: string, result: AdvanceResult): void {
    const host = this.host;
    if (!host) return;
    if (result.starved) this.starved.add(runId);
    for (const claim of result.claims) void host.execute(claim).finally(() => this.serveStarved());
    for (const timer of result.timers) this.wakeAt(timer.runId, timer.stepRunId, timer.at);
  }

  /** One process owns the embedded database: it reclaims everything when it starts. */
  async leasesOfDeadWorkers(): Promise<{ id: string; runId: string; attempt: number }[]> {
    return [];
  }

  /** Claims are leased at once in-process: an expired lease covers every loss. */
  async orphanedClaims(): Promise<{ id: string; runId: string }[]> {
    return [];
  }

  async requestStart(): Promise<void> {
    await this.host?.maintain();
  }

  driveSchedules(scheduler: ScheduleTicker): void {
    this.scheduler = scheduler;
  }

  async start(host: DispatchHost): Promise<void> {
    this.host = host;
    this.scheduler?.start();
  }

  async stop(drain: () => Promise<void>): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await drain();
  }

  /** A slot freed up: give it to a run that had ready steps waiting for capacity. */
  private serveStarved(): void {
    const host = this.host;
    if (!host || host.isStopped()) return;
    const runId = this.starved.values().next().value;
    if (runId === undefined) return;
    this.starved.delete(runId);
    host
      .advance(runId, { kind: 'none' })
      .catch((error) => this.opts.log.error({ err: error, runId }, 'advancing a starved run failed'));
  }

  private wakeAt(runId: string, stepRunId: string, at: Date): void {
    const delay = at.getTime() - this.opts.now().getTime();
    if (delay > 10 * this.opts.pollIntervalMs) return; // the poller will get it
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        const host = this.host;
        if (host && !host.isStopped())
          host
            .advance(runId, { kind: 'wake', stepRunIds: [stepRunId] })
            .catch((error) => this.opts.log.error({ err: error, runId }, 'wake-up failed'));
      },
      Math.max(0, delay),
    );
    this.timers.add(timer);
  }
}
