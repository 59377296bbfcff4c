import { createRedisClient, type RedisClient } from '@refract/stream-bus';
import pg from 'pg';
import { resetLog, settle } from '../event-log.js';
import { offerAtRate } from '../open-loop.js';
import { measured, type PhaseMeasurement } from '../phase.js';
import type { BenchStack } from '../stack.js';
import { type LatencySummary, summarize } from '../stats.js';
import type { BenchEvent } from '../workload.js';
import { readFloorStream } from './floor-stream.js';
import { startScriptChild } from './script-child.js';

export interface FloorOptions {
  ratePerSec: number;
  /** The first this many events are sent before the figure starts counting. */
  warmUp: number;
  /** Extend the path to live lag's (see measureHopFloor). */
  throughWorker?: boolean;
}

export interface HopFloor extends LatencySummary {
  events: number;
  cpu: PhaseMeasurement['cpu'];
}

const CHANNEL = 'refract_bench_floor';
const DONE_CHANNEL = 'refract_bench_floor_done';
/** As EventStore's default: appends in flight on as many connections. */
const APPENDERS = 4;
const DRAIN_MS = 10_000;

const FLOOR_TABLES = `
  CREATE TABLE bench_floor_events (position bigserial PRIMARY KEY, stream_id text NOT NULL, envelope text NOT NULL);
  CREATE TABLE bench_floor_checkpoint (id int PRIMARY KEY, position bigint NOT NULL);
  INSERT INTO bench_floor_checkpoint VALUES (1, 0);
  CREATE TABLE bench_floor_summary (stream_id text PRIMARY KEY, events int NOT NULL);
  CREATE TABLE bench_floor_stats (customer int PRIMARY KEY, events int NOT NULL);`;

/**
 * The latency floor of a path's hops on this machine: the same
 * processes and round trips as the figure, none of Refract's logic. Appends
 * are single-row INSERTs with a NOTIFY carrying the position (autocommit, 4
 * connections); a relay process (hop-floor-relay.ts) reads each notified row
 * by key and XADDs it; a tail in this process XREADs the stream. Latency is
 * from the INSERT's answer to the XREAD that returns the row, as in the
 * figure. What the relay adds to it (commit order, checkpoints, partitions,
 * the envelope) is the difference between the two.
 *
 * `throughWorker` extends the path to live lag's: a worker process
 * (hop-floor-worker.ts) reads the stream and commits one batch transaction
 * per read, shaped like a projector worker's, whose NOTIFY tells a listener
 * here that the positions are visible.
 */
export async function measureHopFloor(
  stack: BenchStack,
  phase: string,
  events: readonly BenchEvent[],
  { ratePerSec, warmUp, throughWorker = false }: FloorOptions,
): Promise<HopFloor> {
  // The figure's log is of no use here, and its writes must not be paid for here.
  await resetLog(stack.db);
  await settle(stack.db);
  const appends = events.map((event) => ({
    warmUp: event.index < warmUp,
    streamId: event.streamId,
    envelope: `{"streamId":${JSON.stringify(event.streamId)},"type":${JSON.stringify(event.type)},"data":${event.dataJson}}`,
  }));
  await stack.db.query(FLOOR_TABLES);
  const dropTables = stack.defer('dropping the floor tables', async () => {
    await stack.db.query(
      'DROP TABLE IF EXISTS bench_floor_events, bench_floor_checkpoint, bench_floor_summary, bench_floor_stats',
    );
  });
  const streamKey = `${stack.keyPrefix('floor')}stream`;
  const children = [await startFloorChild(stack, 'hop-floor-relay.ts', streamKey, CHANNEL)];
  if (throughWorker) {
    children.push(await startFloorChild(stack, 'hop-floor-worker.ts', streamKey, DONE_CHANNEL));
  }
  // With a worker, a position is visible when its transaction's notification arrives.
  const listener = throughWorker
    ? new pg.Client({
        connectionString: stack.databaseUrl,
        application_name: 'refract-bench-floor-listen',
      })
    : undefined;
  const pool = new pg.Pool({
    connectionString: stack.databaseUrl,
    max: APPENDERS,
    application_name: 'refract-bench-floor-appender',
  });
  const closePool = stack.defer('closing the floor appenders', () => pool.end());
  // Without a worker, a position is visible when this tail reads it.
  let tail: RedisClient | undefined;
  const seenAt = new Map<number, number>();
  let tailing = true;
  let tailFailure: unknown;
  let tailLoop: Promise<void> = Promise.resolve();
  try {
    if (listener) {
      await listener.connect();
      listener.on('notification', (message) => {
        const now = performance.now();
        for (const position of message.payload!.split(',')) seenAt.set(Number(position), now);
      });
      await listener.query(`LISTEN ${DONE_CHANNEL}`);
    } else {
      const reader = createRedisClient(stack.redisUrl, {
        name: 'refract-bench-floor-tail',
        failFast: false,
        overrides: { protocol: 2 },
      });
      tail = reader;
      tailLoop = (async () => {
        let lastId = '0-0';
        while (tailing) {
          const entries = await readFloorStream(reader, streamKey, lastId, 10_000);
          const now = performance.now();
          for (const [id, fields] of entries) {
            seenAt.set(Number(fields[1]), now);
            lastId = id;
          }
        }
      })().catch((error: unknown) => {
        tailFailure = error;
      });
    }

    const ackAt = new Map<number, number>();
    const warmUpPositions = new Set<number>();
    const measurement = await measured(phase, async () => {
      const offered = await offerAtRate({
        phase,
        items: appends,
        ratePerSec,
        keyOf: (append) => append.streamId,
        send: async (append) => {
          const result = await pool.query<{ position: string }>({
            name: 'floor-append',
            text: `WITH inserted AS (
                     INSERT INTO bench_floor_events (stream_id, envelope) VALUES ($1, $2) RETURNING position
                   )
                   SELECT position, pg_notify('${CHANNEL}', position::text) FROM inserted`,
            values: [append.streamId, append.envelope],
          });
          return Number(result.rows[0]!.position);
        },
        onAck: (append, position) => {
          ackAt.set(position, performance.now());
          if (append.warmUp) warmUpPositions.add(position);
        },
      });
      return offered.ms;
    });
    const deadline = performance.now() + DRAIN_MS;
    while ([...ackAt.keys()].some((position) => !seenAt.has(position))) {
      if (tailFailure !== undefined) throw tailFailure;
      if (performance.now() > deadline) {
        throw new Error(`the floor did not pass every row on within ${DRAIN_MS / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const samples: number[] = [];
    for (const [position, acked] of ackAt) {
      if (!warmUpPositions.has(position)) samples.push(Math.max(0, seenAt.get(position)! - acked));
    }
    return { ...summarize(samples), events: samples.length, cpu: measurement.cpu };
  } finally {
    tailing = false;
    await tailLoop;
    tail?.disconnect();
    await listener?.end().catch(() => {});
    await closePool();
    for (const stop of children.reverse()) await stop();
    await dropTables();
    await stack.redis.del(streamKey);
  }
}

/** Starts one of the floor's processes (see startScriptChild); returns how to stop it. */
async function startFloorChild(
  stack: BenchStack,
  file: string,
  streamKey: string,
  channel: string,
): Promise<() => Promise<void>> {
  const { stop } = await startScriptChild(stack, file, [
    stack.databaseUrl,
    stack.redisUrl,
    streamKey,
    channel,
  ]);
  return stop;
}
