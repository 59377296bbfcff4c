/**
 * The worker side of the live-lag floor, as its own process (a projector
 * worker is one): XREAD the floor stream and, for each reply, one
 * transaction shaped like a worker's shared batch: BEGIN, a checkpoint
 * UPDATE, an upsert per stream (order_summary's shape), an upsert per
 * "customer" in a fixed order (customer_stats'), a NOTIFY naming the
 * positions, COMMIT. No leases, no partitions, no envelope decoding.
 *
 * argv: databaseUrl redisUrl streamKey channel. Prints `ready` once reading.
 */
import { createRedisClient } from '@refract/stream-bus';
import pg from 'pg';
import { floorProcessArgs, readFloorStream } from './floor-stream.js';

const { databaseUrl, redisUrl, streamKey, channel } = floorProcessArgs('hop-floor-worker');
/** A NOTIFY payload holds at most 8,000 bytes: this many positions fit. */
const MAX_BATCH = 500;
const CUSTOMERS = 1000;

const client = new pg.Client({
  connectionString: databaseUrl,
  application_name: 'refract-bench-floor-worker',
});
await client.connect();
const redis = createRedisClient(redisUrl, {
  name: 'refract-bench-floor-worker',
  failFast: false,
  overrides: { protocol: 2 },
});
let running = true;
process.on('SIGTERM', () => {
  running = false;
});

let lastId = '$';
console.log('ready');
while (running) {
  const entries = await readFloorStream(redis, streamKey, lastId, MAX_BATCH);
  if (entries.length === 0) continue;
  lastId = entries[entries.length - 1]![0];
  const rows = entries.map(([, fields]) => ({
    position: Number(fields[1]),
    streamId: fields[3]!,
  }));
  const streams = [...new Set(rows.map((row) => row.streamId))];
  const customers = [...new Set(streams.map((id) => customerOf(id)))].sort((a, b) => a - b);
  await client.query('BEGIN');
  await client.query({
    name: 'floor-checkpoint',
    text: 'UPDATE bench_floor_checkpoint SET position = $1 WHERE id = 1',
    values: [Math.max(...rows.map((row) => row.position))],
  });
  await client.query({
    name: 'floor-summary',
    text: `INSERT INTO bench_floor_summary (stream_id, events) SELECT unnest($1::text[]), 1
           ON CONFLICT (stream_id) DO UPDATE SET events = bench_floor_summary.events + 1`,
    values: [streams],
  });
  await client.query({
    name: 'floor-stats',
    text: `INSERT INTO bench_floor_stats (customer, events) SELECT unnest($1::int[]), 1
           ON CONFLICT (customer) DO UPDATE SET events = bench_floor_stats.events + 1`,
    values: [customers],
  });
  await client.query({
    name: 'floor-notify',
    text: 'SELECT pg_notify($1, $2)',
    values: [channel, rows.map((row) => row.position).join(',')],
  });
  await client.query('COMMIT');
}
redis.disconnect();
await client.end();

function customerOf(streamId: string): number {
  let hash = 0;
  for (let i = 0; i < streamId.length; i += 1) hash = (hash * 31 + streamId.charCodeAt(i)) | 0;
  return Math.abs(hash) % CUSTOMERS;
}
