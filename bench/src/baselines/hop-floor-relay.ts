/**
 * The relay side of the hop-floor baseline, as its own process (the relay
 * service is one): LISTEN, and for every batch of notifications read those
 * rows by key and XADD them, pipelined. No commit-order rule, no
 * checkpoint, no gaps: the hops of a relay and nothing else.
 *
 * Entries: position, stream, event.
 *
 * argv: databaseUrl redisUrl streamKey channel. Prints `ready` once listening.
 */
import { createRedisClient } from '@refract/stream-bus';
import pg from 'pg';
import { floorProcessArgs } from './floor-stream.js';

const { databaseUrl, redisUrl, streamKey, channel } = floorProcessArgs('hop-floor-relay');
const client = new pg.Client({
  connectionString: databaseUrl,
  application_name: 'refract-bench-floor-relay',
});
await client.connect();
const redis = createRedisClient(redisUrl, { name: 'refract-bench-floor-relay' });

let heard: number[] = [];
let publishing = false;
async function publish(): Promise<void> {
  if (publishing) return;
  publishing = true;
  try {
    while (heard.length > 0) {
      const positions = heard;
      heard = [];
      const rows = await client.query<{ position: string; stream_id: string; envelope: string }>({
        name: 'floor-read',
        text: 'SELECT position, stream_id, envelope FROM bench_floor_events WHERE position = ANY ($1) ORDER BY position',
        values: [positions],
      });
      const pipeline = redis.pipeline();
      for (const row of rows.rows)
        pipeline.xadd(
          streamKey,
          '*',
          'position',
          row.position,
          'stream',
          row.stream_id,
          'event',
          row.envelope,
        );
      await pipeline.exec();
    }
  } finally {
    publishing = false;
  }
}

client.on('notification', (message) => {
  heard.push(Number(message.payload));
  publish().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
await client.query(`LISTEN ${channel}`);
process.on('SIGTERM', () => {
  redis.disconnect();
  void client.end().finally(() => process.exit(0));
});
console.log('ready');
