/**
 * What one run measures and with how much. Every count and client number is
 * here, printed at the start of a run and written into the results, so that
 * two result files can be compared knowing what each one did.
 */

export type Part = 'append' | 'fanout' | 'projector' | 'rebuild' | 'poison';

/** Every part, in the order a full run measures them. */
export const PARTS: readonly Part[] = ['append', 'fanout', 'projector', 'rebuild', 'poison'];

export type RelayChoice = 'auto' | 'service' | 'in-process';

/** N of the quick run. */
export const QUICK_EVENTS = 200_000;
/** N of the full run. */
export const FULL_EVENTS = 1_000_000;

/**
 * Seconds of traffic at the phase's rate before a latency figure starts
 * counting. The services are spawned for the phase, and their start (JIT,
 * fresh connections, plans) is slower than any steady state: at 2,000/s
 * write-api answered only about 1,500/s for the first 1.25 s and cleared
 * the backlog at 2.75 s. With one second of warm-up, the first second and
 * a half of the counted window was that backlog draining (lag p50 over
 * 20 ms where the rest ran at 10), and it made most of the p99.
 */
export const LATENCY_WARM_UP_SECONDS = 3;

export interface BenchPlan {
  parts: Part[];
  /** `--cores`: one pass of the parts per count, the system under test pinned to that many cores (cores.ts). */
  cores?: number[];
  /** N: the workload's size; generated with this N, so every subset is a prefix of the same workload. */
  n: number;
  append: {
    /** Events of the batch phase (and its multi-row baseline): all N. */
    batchEvents: number;
    /** Most events per request; a request holds events of one stream only. */
    batchMaxEvents: number;
    batchClients: number;
    /** Events of the one-event-per-request phase (and its single-row baseline). */
    singleEvents: number;
    singleClients: number;
    /** Rows per statement of the multi-row INSERT baseline. */
    rawRowsPerStatement: number;
    /** write-api's WRITE_API_DB_POOL_SIZE, and the HTTP floor's pool: as large as write-api's. */
    poolSize: number;
    /** write-api's WRITE_API_BODY_LIMIT_BYTES (its default), and the HTTP floor's. */
    bodyLimitBytes: number;
  };
  fanout: {
    relay: RelayChoice;
    /** Offered append rate of the latency phase: at most 2,000/s, 40% of the raw single-row rate (offered-rate.ts). */
    latencyRatePerSec: number;
    latencySeconds: number;
    /** Events stored before the relay starts from checkpoint 0. */
    backlogEvents: number;
    /** XADDs per pipeline of the raw baseline. */
    xaddPipelineSize: number;
  };
  projector: {
    relay: RelayChoice;
    /** Both read models of the orders workload, run by every worker. */
    projections: string[];
    /** Events per batch transaction: the workers' WORKER_BATCH_SIZE and the raw baseline's page. */
    batchSize: number;
    /** Events stored before the catch-up phases: all N. */
    catchUpEvents: number;
    /** As fanout.latencyRatePerSec: the two phases offer the same rate. */
    liveRatePerSec: number;
    liveSeconds: number;
    liveWorkers: number;
    /** Keep-alive connections the live-lag appends are spread over. */
    liveConnections: number;
  };
  rebuild: {
    /** Appends per second through write-api while the rebuild runs. */
    appendRatePerSec: number;
    /** Appends prepared: the rebuild must swap before they run out. */
    maxAppendSeconds: number;
    /** The rebuild's batch size and partitions replayed at once (its defaults). */
    batchSize: number;
    concurrency: number;
    /** The reader's pause between two queries of customer_stats. */
    readEveryMs: number;
  };
  poison: {
    relay: RelayChoice;
    /** Events stored for each of the two catch-ups (clean, then malformed): all N. */
    events: number;
    /** Share of the ItemAdded events stored with unitPrice as a JSON number. */
    malformedShare: number;
  };
  /** No phase runs longer than this; one that does fails the run instead of reporting a figure. */
  phaseTimeoutMs: number;
}

/**
 * One event per HTTP request is slow by nature (every request is a round
 * trip and a share of a commit), so that phase and its baseline use at most
 * the quick N: the first 200,000 events of the N-event workload. Everything
 * else uses all N events.
 */
const SINGLE_EVENTS_MAX = QUICK_EVENTS;

export function makePlan(options: {
  parts: Part[];
  n: number;
  relay: RelayChoice;
  phaseTimeoutS: number;
  cores?: number[];
}): BenchPlan {
  const { n } = options;
  return {
    parts: options.parts,
    ...(options.cores ? { cores: options.cores } : {}),
    n,
    append: {
      batchEvents: n,
      batchMaxEvents: 100,
      batchClients: 4,
      singleEvents: Math.min(n, SINGLE_EVENTS_MAX),
      singleClients: 32,
      rawRowsPerStatement: 100,
      poolSize: 10,
      bodyLimitBytes: 1024 * 1024,
    },
    fanout: {
      relay: options.relay,
      latencyRatePerSec: 2000,
      latencySeconds: 10,
      backlogEvents: n,
      xaddPipelineSize: 2000,
    },
    projector: {
      relay: options.relay,
      projections: ['order_summary', 'customer_stats'],
      batchSize: 500,
      catchUpEvents: n,
      liveRatePerSec: 2000,
      liveSeconds: 10,
      liveWorkers: 2,
      liveConnections: 64,
    },
    rebuild: {
      appendRatePerSec: 500,
      maxAppendSeconds: Math.min(options.phaseTimeoutS, 300),
      batchSize: 5000,
      concurrency: 4,
      readEveryMs: 3,
    },
    poison: { relay: options.relay, events: n, malformedShare: 0.3 },
    phaseTimeoutMs: options.phaseTimeoutS * 1000,
  };
}

/** The plan as lines for the console. */
export function describePlan(plan: BenchPlan): string[] {
  const lines = [`N = ${fmt(plan.n)} events (seeded orders workload)`];
  if (plan.parts.includes('append')) {
    const a = plan.append;
    lines.push(
      `append.batch100: ${fmt(a.batchEvents)} events, ≤${a.batchMaxEvents} events of one stream per request, ${a.batchClients} clients; baselines: INSERT of ${a.rawRowsPerStatement} rows per statement, 1 connection; the HTTP floor (one multi-row INSERT per request, pool of ${a.poolSize})`,
      `append.single32: ${fmt(a.singleEvents)} events, 1 per request, ${a.singleClients} clients; baselines: single-row INSERT transactions, ${a.singleClients} connections; the HTTP floor (one INSERT … RETURNING per request, pool of ${a.poolSize})`,
    );
  }
  if (plan.parts.includes('fanout')) {
    const f = plan.fanout;
    lines.push(
      `fanout.latency: min(${fmt(f.latencyRatePerSec)}, 40% of the run's raw single-row rate) events/s for ${f.latencySeconds} s after ${LATENCY_WARM_UP_SECONDS} s of warm-up, one event per append, relay: ${f.relay}`,
      `fanout.backlog: ${fmt(f.backlogEvents)} stored events from checkpoint 0; baseline: pipelined XADD, ${fmt(f.xaddPipelineSize)} per partition pipeline`,
    );
  }
  if (plan.parts.includes('projector')) {
    const p = plan.projector;
    lines.push(
      `catchup: ${fmt(p.catchUpEvents)} stored and published events, ${p.projections.join(' + ')}, 1 then 2 projector-worker processes, batches of ${p.batchSize}; baseline: the projections' batched upserts straight from the events table, 1 connection`,
      `liveLag: min(${fmt(p.liveRatePerSec)}, 40% of the run's raw single-row rate) events/s for ${p.liveSeconds} s after ${LATENCY_WARM_UP_SECONDS} s of warm-up, through write-api (relay inside), ${p.liveWorkers} workers; visibility from LISTEN on the checkpoints channel`,
      'memory: peak RSS (VmHWM) of the single worker of the catch-up',
    );
  }
  if (plan.parts.includes('rebuild')) {
    const r = plan.rebuild;
    lines.push(
      `rebuild: customer_stats over ${fmt(plan.n)} stored events while ${fmt(r.appendRatePerSec)} events/s are appended, a reader every ${r.readEveryMs} ms; baseline: customer_stats alone, raw`,
    );
  }
  if (plan.parts.includes('poison')) {
    const p = plan.poison;
    lines.push(
      `poison: catch-up of ${fmt(p.events)} stored events by one worker, clean, then with ${Math.round(p.malformedShare * 100)}% of ItemAdded malformed (unitPrice a JSON number); ratio = malformed rate / clean rate`,
    );
  }
  if (plan.cores) {
    lines.push(
      `cores: one pass per count (${plan.cores.join(', ')}), services, floor servers and the run database's Postgres backends pinned to the first cores (taskset)`,
    );
  }
  lines.push(`each phase is limited to ${plan.phaseTimeoutMs / 1000} s`);
  return lines;
}

export function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
