import type { Projection } from '@refract/core';
import { EventStore } from '@refract/event-store';
import { ordersApp } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { rebuildProjection } from '@refract/rebuild';
import type pg from 'pg';
import { coveredEvents, untilCaughtUp, untilLogApplied } from './checkpoints.js';
import { settle, VerificationError, verifyLog } from './event-log.js';
import { offerAtRate } from './open-loop.js';
import { measured } from './phase.js';
import type { BenchPlan } from './plan.js';
import { say } from './progress.js';
import { measureRawProjector } from './projector-catchup.js';
import { spawnWorkers } from './projector-workers.js';
import { verifyReadModels } from './read-models.js';
import type { ThroughputFigure } from './report-types.js';
import { PhaseTimeoutError } from './run-ordered.js';
import { adminServiceExists, startAdmin, startWriteApi } from './services.js';
import type { BenchStack } from './stack.js';
import { perSecond, ratio } from './stats.js';
import { storeLog } from './stored-log.js';
import { type BenchEvent, loadWorkload } from './workload.js';
import { type PreparedAppend, prepareAppend, WriteApiClient } from './write-api-client.js';

/** customer_stats as the orders application runs it, its pool filled in. */
const customerStatsProjection = ordersApp.projection('customer_stats') as Projection;

const PHASE = 'rebuild';
/** How often the swap (customer_stats live at v2) and the job are looked for. */
const SWAP_POLL_MS = 5;
/** The appends during the rebuild: other orders (`t<i>`) of the same customers, another seed. */
const APPENDS = { seed: 7, orderPrefix: 't' };
const PROGRESS_MS = 2000;

/**
 * Rebuild (issue 5): N events stored and published, one worker keeping both
 * projections live, then a rebuild of customer_stats while appends go on at
 * a steady rate through write-api (its relay inside) and a reader queries
 * customer_stats every few ms. Timed from the call to the swap. Baseline:
 * customer_stats alone applied raw over the same N events (applyRaw).
 */
export async function runRebuild(stack: BenchStack, plan: BenchPlan): Promise<ThroughputFigure> {
  const settings = plan.rebuild;
  const log = await storeLog(stack, plan, PHASE, plan.n);
  const baseline = await measureRawProjector(stack, plan, `${PHASE}.baseline`, log, [
    customerStatsProjection,
  ]);

  const keyPrefix = stack.keyPrefix('rebuild');
  const writeApi = await startWriteApi(stack, { relayKeyPrefix: keyPrefix });
  const names = plan.projector.projections;
  const workers = await spawnWorkers(stack, 1, {
    keyPrefix,
    projections: names,
    batchSize: plan.projector.batchSize,
  });
  const appends = loadWorkload(
    settings.appendRatePerSec * settings.maxAppendSeconds,
    settings.appendRatePerSec * settings.maxAppendSeconds,
    stack.partitions,
    APPENDS,
  );
  const client = new WriteApiClient(writeApi.origin, 16);
  const store = await EventStore.open({
    databaseUrl: stack.databaseUrl,
    poolSize: settings.concurrency + 2,
    applicationName: 'refract-bench-rebuild',
  });
  const reader = new Reader(stack.db, settings.readEveryMs);
  const admin = adminServiceExists() ? await startAdmin(stack, keyPrefix) : undefined;
  try {
    say(`[${PHASE}] v1 catching up with one worker (not timed)`);
    await untilCaughtUp({
      db: stack.db,
      phase: `${PHASE}.v1`,
      projections: names,
      heads: log.heads,
      positionsByPartition: log.positionsByPartition,
      timeLimitMs: plan.phaseTimeoutMs,
      failure: workers.failure,
    });
    await settle(stack.db);

    const acked: BenchEvent[] = [];
    const stopAppends = new AbortController();
    let offering: Promise<{ ms: number; sent: number }> | undefined;
    let rebuilt = 0;
    let swapMs = 0;
    const run = await measured(PHASE, async (begin) => {
      reader.start();
      offering = offerAtRate<{ event: BenchEvent; request: PreparedAppend }>({
        phase: `${PHASE}.appends`,
        items: appends.map((event) => ({
          event,
          request: prepareAppend({ streamId: event.streamId, events: [event] }),
        })),
        ratePerSec: settings.appendRatePerSec,
        keyOf: (item) => item.event.streamId,
        send: (item) => client.append(item.request),
        onAck: (item) => acked.push(item.event),
        signal: stopAppends.signal,
        // The appends are the rebuild's background, not its figure: a slow
        // machine lowers their rate (reported as achieved) rather than
        // failing the rebuild or piling up a queue that outlives it.
        maxInFlight: 500,
        whenBehind: 'wait',
      });
      // An append failure must not wait for the rebuild to notice.
      offering.catch(() => stopAppends.abort());
      // Appends have started: the rebuild is asked for under load.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      begin();
      const ticker = progressTicker(stack.db, log.positionsByPartition, log.head);
      try {
        const result = admin
          ? await rebuildThroughAdmin(stack.db, admin, plan.phaseTimeoutMs)
          : await rebuildInProcess(store, settings);
        rebuilt = result.events;
        swapMs = result.swapPauseMs;
        return result.ms;
      } finally {
        clearInterval(ticker);
      }
    });
    // Appends and reads go on a moment past the swap: the workers' switch to v2 is under load too.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    stopAppends.abort();
    const offered = await offering!;
    await reader.stop();

    await untilLogApplied({
      db: stack.db,
      partitions: stack.partitions,
      phase: `${PHASE}.drain`,
      projections: names,
      timeLimitMs: 60_000,
      failure: workers.failure,
    });
    await workers.stop();
    await writeApi.stop();
    await admin?.stop();
    const live = await stack.db.query<{ live_version: number }>(
      "SELECT live_version FROM refract.projections WHERE name = 'customer_stats'",
    );
    if (live.rows[0]?.live_version !== 2) {
      throw new VerificationError(
        PHASE,
        `customer_stats is at v${live.rows[0]?.live_version}, not v2`,
      );
    }
    const all = [...log.events, ...acked];
    await verifyLog(stack.db, PHASE, all, { streamOrder: true });
    await verifyReadModels(stack.db, PHASE, all);
    say(
      `[${PHASE}] verified: v2 of customer_stats and order_summary equal the fold of the ${all.length.toLocaleString('en-US')} events (${acked.length} appended meanwhile)`,
    );
    const eventsPerSec = perSecond(rebuilt, run.ms);
    await stack.dropKeys(keyPrefix);
    return {
      eventsPerSec,
      baseline: baseline.eventsPerSec,
      ratio: ratio(eventsPerSec, baseline.eventsPerSec),
      swapPauseMs: Math.round(swapMs * 100) / 100,
      failedReads: reader.failed,
      ...(reader.firstError && { firstReadError: reader.firstError }),
      backwardReads: reader.backward,
      via: admin
        ? 'POST /api/projections/customer_stats/rebuild of services/admin (its BullMQ rebuild worker inside)'
        : 'rebuildProjection() of @refract/rebuild in the bench process (no services/admin)',
      events: rebuilt,
      seconds: Math.round(run.ms) / 1000,
      baselineSeconds: Math.round(baseline.seconds * 1000) / 1000,
      appendsDuring: offered.sent,
      appendRatePerSec: settings.appendRatePerSec,
      appendsAchievedPerSec: perSecond(offered.sent, offered.ms),
      reads: reader.reads,
      readEveryMs: settings.readEveryMs,
      slowestReadMs: Math.round(reader.slowestMs * 100) / 100,
      cpu: run.cpu,
      baselineCpu: baseline.cpu,
    };
  } finally {
    await reader.stop();
    await client.close().catch(() => {});
    await store.close().catch(() => {});
    await workers.stop();
    await writeApi.stop();
    await admin?.stop();
  }
}

interface RebuildTiming {
  /** From the request to the swap (customer_stats live at v2). */
  ms: number;
  /** Events the rebuild applied to v2. */
  events: number;
  swapPauseMs: number;
}

/**
 * The admin request, as an operator makes it; the clock runs from sending
 * it until customer_stats is live at v2 (read every few ms), and the job's
 * record gives the events it applied and the swap pause.
 */
async function rebuildThroughAdmin(
  db: pg.Pool,
  admin: { origin: string; token: string },
  timeLimitMs: number,
): Promise<RebuildTiming> {
  const headers = { authorization: `Bearer ${admin.token}` };
  const started = performance.now();
  const response = await fetch(`${admin.origin}/api/projections/customer_stats/rebuild`, {
    method: 'POST',
    headers,
  });
  const body = (await response.json()) as { jobId?: string };
  if (response.status !== 202 || !body.jobId) {
    throw new Error(`the rebuild request answered ${response.status} ${JSON.stringify(body)}`);
  }
  let swapped: number | undefined;
  for (;;) {
    if (performance.now() - started > timeLimitMs) throw new PhaseTimeoutError(PHASE, timeLimitMs);
    if (swapped === undefined) {
      const live = await db.query<{ live_version: number }>(
        "SELECT live_version FROM refract.projections WHERE name = 'customer_stats'",
      );
      if (live.rows[0]?.live_version === 2) swapped = performance.now();
    }
    if (swapped !== undefined) {
      const job = (await (
        await fetch(`${admin.origin}/api/jobs/${body.jobId}`, { headers })
      ).json()) as { state: string; processed: number; swapPauseMs?: number; error?: string };
      if (job.state === 'failed' || job.state === 'cancelled') {
        throw new Error(`the rebuild job ${job.state}: ${job.error ?? ''}`);
      }
      if (job.state === 'completed') {
        return { ms: swapped - started, events: job.processed, swapPauseMs: job.swapPauseMs ?? 0 };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, SWAP_POLL_MS));
  }
}

/** Without the admin service: the engine called here, the same clock. */
async function rebuildInProcess(
  store: EventStore,
  settings: BenchPlan['rebuild'],
): Promise<RebuildTiming> {
  const started = performance.now();
  const result = await rebuildProjection({
    store,
    projection: customerStatsProjection,
    batchSize: settings.batchSize,
    concurrency: settings.concurrency,
    logger: createLogger({ service: 'bench-rebuild', level: 'warn', destination: process.stderr }),
  });
  const ms = performance.now() - started;
  const counted = await store.pool.query<{ events: number }>(
    'SELECT count(*)::int AS events FROM refract.events WHERE position <= $1',
    [result.swappedAt],
  );
  return { ms, events: counted.rows[0]!.events, swapPauseMs: result.swapMs };
}

/** Logs the share of the stored log that v2's checkpoints cover, every few seconds. */
function progressTicker(
  db: pg.Pool,
  byPartition: readonly (readonly number[])[],
  total: number,
): NodeJS.Timeout {
  const started = performance.now();
  const timer = setInterval(() => {
    void db
      .query<{ partition: number; position: number }>(
        "SELECT partition, position FROM refract.projection_checkpoints WHERE projection = 'customer_stats' AND version = 2",
      )
      .then((rows) => {
        const at = new Map(rows.rows.map((r) => [r.partition, r.position]));
        const covered = coveredEvents(byPartition, (p) => at.get(p) ?? 0);
        say(
          `[${PHASE}] ${((performance.now() - started) / 1000).toFixed(1)} s: v2 covers ${covered.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} stored events`,
        );
      })
      .catch(() => {});
  }, PROGRESS_MS);
  timer.unref();
  return timer;
}

/**
 * Queries customer_stats (the view readers use) every few ms. A read fails
 * when the query errors. A read that sees fewer customers or fewer placed
 * orders than the read before (both only grow while orders are appended)
 * went back in time: counted apart, as `backwardReads`; the new version is
 * swapped in at the position its replay reached, which can be a little
 * behind what the workers had already applied to the old one.
 */
class Reader {
  reads = 0;
  failed = 0;
  backward = 0;
  firstError: string | undefined;
  slowestMs = 0;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly db: pg.Pool,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    let customers = 0;
    let placed = 0;
    while (!this.stopping) {
      const started = performance.now();
      try {
        const result = await this.db.query<{ customers: number; placed: number }>(
          'SELECT count(*)::int AS customers, coalesce(sum(orders_placed), 0)::int AS placed FROM projections.customer_stats',
        );
        const row = result.rows[0]!;
        if (row.customers < customers || row.placed < placed) this.backward += 1;
        customers = row.customers;
        placed = row.placed;
      } catch (error) {
        this.failed += 1;
        this.firstError ??= (error as Error).message;
      }
      this.reads += 1;
      this.slowestMs = Math.max(this.slowestMs, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, this.everyMs));
    }
  }
}
