import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRedisClient } from '@refract/stream-bus';
import pg from 'pg';
import { REPO_ROOT } from '../child.js';
import { offerAtRate } from '../open-loop.js';
import { measured, type PhaseMeasurement } from '../phase.js';
import type { BenchStack } from '../stack.js';
import { type LatencySummary, summarize } from '../stats.js';

/** One append of the floor: the stream it belongs to (its appends go in order) and its envelope. */
export interface FloorAppend {
  streamId: string;
  envelope: string;
  /** Sent before the figure starts counting. */
  warmUp: boolean;
}

export interface HopFloor extends LatencySummary {
  events: number;
  cpu: PhaseMeasurement['cpu'];
}

const CHANNEL = 'refract_bench_floor';
/** As EventStore's default: appends in flight on as many connections. */
const APPENDERS = 4;
const DRAIN_MS = 10_000;
const READY_TIMEOUT_MS = 30_000;

type XreadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * The latency floor of the fan-out's hops on this machine: the same
 * processes and round trips as the figure, none of Refract's logic. Appends
 * are single-row INSERTs with a NOTIFY carrying the position (autocommit, 4
 * connections); a relay process (hop-floor-relay.ts) reads each notified row
 * by key and XADDs it; a tail in this process XREADs the stream. Latency is
 * from the INSERT's answer to the XREAD that returns the row, as in the
 * figure. What the relay adds to it (commit order, checkpoints, partitions,
 * the envelope) is the difference between the two.
 */
export async function measureHopFloor(
  stack: BenchStack,
  phase: string,
  appends: readonly FloorAppend[],
  ratePerSec: number,
): Promise<HopFloor> {
  await stack.db.query(
    `CREATE TABLE bench_floor_events (position bigserial PRIMARY KEY, stream_id text NOT NULL, envelope text NOT NULL)`,
  );
  const dropTable = stack.defer('dropping the floor table', async () => {
    await stack.db.query('DROP TABLE IF EXISTS bench_floor_events');
  });
  const streamKey = `${stack.keyPrefix('floor')}stream`;
  const relay = spawn(
    process.execPath,
    [
      '--conditions=@refract/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./hop-floor-relay.ts', import.meta.url)),
      stack.databaseUrl,
      stack.redisUrl,
      streamKey,
      CHANNEL,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stopRelay = stack.defer('stopping the floor relay', async () => {
    if (relay.exitCode !== null || relay.signalCode !== null) return;
    const exited = new Promise((resolve) => relay.once('exit', resolve));
    relay.kill('SIGTERM');
    await exited;
  });
  const pool = new pg.Pool({
    connectionString: stack.databaseUrl,
    max: APPENDERS,
    application_name: 'refract-bench-floor-appender',
  });
  const closePool = stack.defer('closing the floor appenders', () => pool.end());
  const tail = createRedisClient(stack.redisUrl, {
    name: 'refract-bench-floor-tail',
    failFast: false,
    overrides: { protocol: 2 },
  });
  const seenAt = new Map<number, number>();
  let tailing = true;
  let tailFailure: unknown;
  let tailLoop: Promise<void> = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the floor relay did not start')),
        READY_TIMEOUT_MS,
      );
      relay.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      relay.once('exit', (code) => reject(new Error(`the floor relay exited with ${code}`)));
    });
    tailLoop = (async () => {
      let lastId = '0-0';
      while (tailing) {
        const reply = (await tail.call(
          'XREAD',
          'COUNT',
          '10000',
          'BLOCK',
          '100',
          'STREAMS',
          streamKey,
          lastId,
        )) as XreadReply;
        const now = performance.now();
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          seenAt.set(Number(fields[1]), now);
          lastId = id;
        }
      }
    })().catch((error: unknown) => {
      tailFailure = error;
    });

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
        throw new Error(`the floor relay did not publish every row within ${DRAIN_MS / 1000} s`);
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
    tail.disconnect();
    await closePool();
    await stopRelay();
    await dropTable();
    await stack.redis.del(streamKey);
  }
}
