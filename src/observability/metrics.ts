// Prometheus metrics of one process (prom-client). Each app creates its own Registry, so test
// apps in one process never share counters, and nothing registers in prom-client's global
// registry. The rest of Weft calls the small named hooks below; only this file knows
// prom-client. Label values are bounded: outcome codes, statuses and step types come from
// closed sets, operation names and workflow ids are capped (see `capped`).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsOptions {
  /** Label run and step metrics with the workflow id (opt-in, WEFT_METRICS_WORKFLOW_LABEL). */
  workflowLabel: boolean;
  /** At most this many distinct workflow ids / operation names; the rest are counted as "other". */
  labelCap: number;
  /** Values read when Prometheus scrapes (database counts, pool usage); failures are logged, not thrown. */
  probes?: MetricProbes;
}

export interface MetricProbes {
  queuedRuns?: () => Promise<number>;
  pendingJobs?: () => Promise<number>;
  pool?: () => { inUse: number; idle: number; waiting: number } | null;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const FAST_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A label that keeps at most `max` distinct values; later ones become "other". */
function capped(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}

/** An operation name as GraphQL spells one (and no longer than a label should be). */
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;

export type StepAttemptOutcome = 'completed' | 'failed' | 'retry';

export class Metrics {
  readonly registry = new Registry();
  private readonly operation: (name: string) => string;
  private readonly refusedOperation: (name: string) => string;
  private readonly workflow: (id: string | null | undefined) => string;
  private readonly loopDelay: ReturnType<typeof monitorEventLoopDelay>;

  private readonly graphqlRequests = new Counter({
    name: 'weft_graphql_requests_total',
    help: 'GraphQL operations by operation name (capped), type (query, mutation, subscription; none: refused before execution) and outcome code (OK or the first error code)',
    labelNames: ['operation', 'type', 'outcome'],
    registers: [this.registry],
  });
  private readonly graphqlDuration = new Histogram({
    name: 'weft_graphql_request_duration_seconds',
    help: 'GraphQL operation latency (parse to result; subscriptions: until the first result)',
    labelNames: ['type'],
    buckets: FAST_SECONDS,
    registers: [this.registry],
  });
  private readonly wsConnections = new Gauge({
    name: 'weft_websocket_connections',
    help: 'Open graphql-ws connections',
    registers: [this.registry],
  });
  private readonly subscriptionsActive = new Gauge({
    name: 'weft_subscriptions_active',
    help: 'Active GraphQL subscriptions (WebSocket and SSE)',
    registers: [this.registry],
  });
  private readonly eventsDelivered = new Counter({
    name: 'weft_subscription_events_delivered_total',
    help: 'Subscription results pushed to clients',
    registers: [this.registry],
  });
  private readonly subscriptionExecutions = new Counter({
    name: 'weft_subscription_executions_total',
    help: 'Subscription events executed (shared="false") or served from the execution of an identical operation in the same scope (shared="true")',
    labelNames: ['shared'],
    registers: [this.registry],
  });
  private readonly slowConsumerCloses = new Counter({
    name: 'weft_websocket_slow_consumer_closes_total',
    help: 'WebSocket connections closed for not reading fast enough (4413)',
    registers: [this.registry],
  });

  private readonly runsStarted = new Counter({
    name: 'weft_runs_started_total',
    help: 'Runs started (QUEUED to RUNNING) by this process',
    labelNames: ['workflow'],
    registers: [this.registry],
  });
  private readonly runsFinished = new Counter({
    name: 'weft_runs_finished_total',
    help: 'Runs finished by final status',
    labelNames: ['status', 'workflow'],
    registers: [this.registry],
  });
  private readonly runDuration = new Histogram({
    name: 'weft_run_duration_seconds',
    help: 'Run duration from start to finish, by final status',
    labelNames: ['status'],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: 'weft_run_queue_wait_seconds',
    help: 'Time a run spent QUEUED before it started',
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly steps = new Counter({
    name: 'weft_step_attempts_total',
    help: 'Step attempts executed by this process, by type and outcome (completed, failed, retry)',
    labelNames: ['type', 'outcome', 'workflow'],
    registers: [this.registry],
  });
  private readonly stepDuration = new Histogram({
    name: 'weft_step_duration_seconds',
    help: 'Step attempt duration (handler start to result), by type and outcome',
    labelNames: ['type', 'outcome'],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'weft_step_retries_total',
    help: 'Step attempts that failed and will be retried',
    labelNames: ['type'],
    registers: [this.registry],
  });
  private readonly dispatchLatency = new Histogram({
    name: 'weft_step_dispatch_latency_seconds',
    help: 'Time from a step being claimed (ready) to its handler starting',
    buckets: FAST_SECONDS,
    registers: [this.registry],
  });
  private readonly leasesReclaimed = new Counter({
    name: 'weft_leases_reclaimed_total',
    help: 'Step leases reclaimed (worker died, lease expired, restart)',
    registers: [this.registry],
  });

  private readonly schedulesFired = new Counter({
    name: 'weft_schedule_fires_total',
    help: 'Schedule fire times that started a run in this process',
    registers: [this.registry],
  });
  private readonly schedulesSkipped = new Counter({
    name: 'weft_schedule_skips_total',
    help: 'Schedule fire times skipped, by reason (missed: catch-up policy; overlap: the previous run is active)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly schedulesLate = new Counter({
    name: 'weft_schedule_late_fires_total',
    help: 'Schedule fire times handled later than the late threshold',
    registers: [this.registry],
  });
  private readonly scheduleLateness = new Histogram({
    name: 'weft_schedule_lateness_seconds',
    help: 'Delay between a fire time and its handling',
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly webhooks = new Counter({
    name: 'weft_inbound_webhooks_total',
    help: 'Inbound webhook requests by outcome (accepted, refused)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor(options: MetricsOptions) {
    this.operation = capped(options.labelCap);
    this.refusedOperation = capped(options.labelCap);
    const workflow = capped(options.labelCap);
    this.workflow = (id) => (options.workflowLabel ? workflow(id ?? 'preview') : '');
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.loopDelay.enable();
    const probes = options.probes ?? {};
    const registers = [this.registry];
    new Gauge({
      name: 'weft_runs_queued',
      help: 'Runs waiting in the queue (read from the database at scrape time)',
      registers,
      collect: async function () {
        if (probes.queuedRuns) this.set(await probes.queuedRuns().catch(() => NaN));
      },
    });
    new Gauge({
      name: 'weft_jobs_pending',
      help: 'graphile-worker jobs not yet finished (PostgreSQL only; read at scrape time)',
      registers,
      collect: async function () {
        if (probes.pendingJobs) this.set(await probes.pendingJobs().catch(() => NaN));
      },
    });
    new Gauge({
      name: 'weft_db_pool_connections',
      help: 'Database pool connections by state (in_use, idle, waiting = queries waiting for a connection); PostgreSQL only',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = probes.pool?.();
        if (!pool) return;
        this.set({ state: 'in_use' }, pool.inUse);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
    const delay = this.loopDelay;
    new Gauge({
      name: 'weft_event_loop_lag_seconds',
      help: 'Event-loop delay since the last scrape (p99 and max)',
      labelNames: ['quantile'],
      registers,
      collect() {
        this.set({ quantile: '0.99' }, delay.percentile(99) / 1e9);
        this.set({ quantile: '1' }, delay.max / 1e9);
        delay.reset();
      },
    });
    new Gauge({
      name: 'weft_process_memory_bytes',
      help: 'Process memory (rss, heap_used, heap_total, external)',
      labelNames: ['kind'],
      registers,
      collect() {
        const m = process.memoryUsage();
        this.set({ kind: 'rss' }, m.rss);
        this.set({ kind: 'heap_used' }, m.heapUsed);
        this.set({ kind: 'heap_total' }, m.heapTotal);
        this.set({ kind: 'external' }, m.external);
      },
    });
  }

  /** `seconds` null: refused before execution (no latency recorded). */
  graphqlOperation(name: string | null | undefined, type: string, outcome: string, seconds: number | null): void {
    // Requests refused before execution name themselves as they like (no credentials needed):
    // they get a cap of their own, so they cannot push executed operations' names to "other".
    const label = type === 'none' ? this.refusedOperation : this.operation;
    this.graphqlRequests.inc({ operation: label(name && GRAPHQL_NAME.test(name) ? name : 'anonymous'), type, outcome });
    if (seconds !== null) this.graphqlDuration.observe({ type }, seconds);
  }
  webSocketOpened(): void {
    this.wsConnections.inc();
  }
  webSocketClosed(): void {
    this.wsConnections.dec();
  }
  slowConsumerClosed(): void {
    this.slowConsumerCloses.inc();
  }
  subscriptionStarted(): void {
    this.subscriptionsActive.inc();
  }
  subscriptionEnded(): void {
    this.subscriptionsActive.dec();
  }
  eventDelivered(): void {
    this.eventsDelivered.inc();
  }
  subscriptionEventExecuted(shared: boolean): void {
    this.subscriptionExecutions.inc({ shared: String(shared) });
  }

  runStarted(workflowId: string | null, queuedSeconds: number): void {
    this.runsStarted.inc({ workflow: this.workflow(workflowId) });
    this.queueWait.observe(queuedSeconds);
  }
  runFinished(status: string, workflowId: string | null, seconds: number | null): void {
    this.runsFinished.inc({ status, workflow: this.workflow(workflowId) });
    if (seconds !== null) this.runDuration.observe({ status }, seconds);
  }
  stepDispatched(seconds: number): void {
    this.dispatchLatency.observe(seconds);
  }
  stepFinished(type: string, outcome: StepAttemptOutcome, seconds: number, workflowId?: string | null): void {
    this.steps.inc({ type, outcome, workflow: this.workflow(workflowId) });
    this.stepDuration.observe({ type, outcome }, seconds);
    if (outcome === 'retry') this.retries.inc({ type });
  }
  leaseReclaimed(count: number): void {
    this.leasesReclaimed.inc(count);
  }

  scheduleFired(latenessSeconds: number, late: boolean): void {
    this.schedulesFired.inc();
    this.scheduleLateness.observe(Math.max(0, latenessSeconds));
    if (late) this.schedulesLate.inc();
  }
  scheduleSkipped(count: number, reason: 'missed' | 'overlap'): void {
    this.schedulesSkipped.inc({ reason }, count);
  }
  inboundWebhook(accepted: boolean): void {
    this.webhooks.inc({ outcome: accepted ? 'accepted' : 'refused' });
  }

  /** The Prometheus text exposition. */
  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  close(): void {
    this.loopDelay.disable();
  }
}
