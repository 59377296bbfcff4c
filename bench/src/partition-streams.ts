import type { RedisClient } from '@refract/stream-bus';
import { readPartitionStream } from '@refract/stream-bus';
import type pg from 'pg';
import { readLog, VerificationError } from './event-log.js';

const PAGE = 10_000;

/**
 * The partition of every position of the log, 1..head (index 0 unused): what
 * the partition streams must hold.
 */
export async function logPartitions(db: pg.Pool): Promise<Int16Array> {
  const positions: [number, number][] = [];
  for await (const row of readLog(db)) positions.push([row.position, row.partition]);
  const head = positions.length === 0 ? 0 : positions[positions.length - 1]![0];
  const partitionOf = new Int16Array(head + 1).fill(-1);
  for (const [position, partition] of positions) partitionOf[position] = partition;
  return partitionOf;
}

/**
 * Checks the partition streams under `keyPrefix` against the log: every
 * position exactly once, in its own partition, ascending, each entry's
 * `prev` the partition's previous position and its envelope naming the same
 * position and partition. `partitionOf` comes from logPartitions; a position
 * the log lacks (-1) must not be published.
 */
export async function verifyPartitionStreams(
  redis: RedisClient,
  keyPrefix: string,
  partitions: number,
  partitionOf: Int16Array,
  phase: string,
): Promise<void> {
  const seen = new Uint8Array(partitionOf.length);
  for (let partition = 0; partition < partitions; partition++) {
    let last = 0;
    for (;;) {
      const entries = await readPartitionStream(redis, keyPrefix, partition, last, PAGE);
      for (const { position, prev, event } of entries) {
        const where = `partition ${partition}, position ${position}`;
        if (position <= last) throw new VerificationError(phase, `${where}: not ascending`);
        if (position >= partitionOf.length || partitionOf[position] === -1) {
          throw new VerificationError(phase, `${where}: not in the log`);
        }
        if (partitionOf[position] !== partition) {
          throw new VerificationError(
            phase,
            `${where}: belongs to partition ${partitionOf[position]}`,
          );
        }
        if (seen[position]) throw new VerificationError(phase, `${where}: published twice`);
        if (prev !== last) {
          throw new VerificationError(phase, `${where}: prev is ${prev}, expected ${last}`);
        }
        if (event.position !== position || event.partition !== partition) {
          throw new VerificationError(
            phase,
            `${where}: envelope says ${event.position}/${event.partition}`,
          );
        }
        seen[position] = 1;
        last = position;
      }
      if (entries.length < PAGE) break;
    }
  }
  for (let position = 1; position < partitionOf.length; position++) {
    if (partitionOf[position] !== -1 && !seen[position]) {
      throw new VerificationError(phase, `position ${position} was never published`);
    }
  }
}
