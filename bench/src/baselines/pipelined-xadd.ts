import {
  createRedisClient,
  entryIdOf,
  type PartitionEntry,
  partitionStreamKey,
} from '@refract/stream-bus';
import type pg from 'pg';
import { Progress } from '../progress.js';
import { PhaseTimeoutError } from '../run-ordered.js';
import { SQL } from '../sql.js';

/** The relay's default window (MAXLEN ~), so the baseline's XADDs are the relay's XADDs. */
const RELAY_WINDOW_SIZE = 100_000;
/** Pipelines in flight on the one connection: Redis never waits for the client to build the next. */
const PIPELINES_IN_FLIGHT = 4;
const PAGE = 50_000;

/**
 * Every event of the log as the relay would publish it from checkpoint 0:
 * the same envelope JSON, and `prev` the partition's previous position.
 * Read before the baseline's clock starts.
 */
export async function readEntries(db: pg.Pool): Promise<PartitionEntry[]> {
  const entries: PartitionEntry[] = [];
  const prevOf = new Map<number, number>();
  let after = 0;
  for (;;) {
    const page = await db.query<{ position: number; partition: number; envelope: string }>(
      SQL.readEnvelopes,
      [after, PAGE],
    );
    for (const row of page.rows) {
      entries.push({
        partition: row.partition,
        position: row.position,
        prev: prevOf.get(row.partition) ?? 0,
        event: row.envelope,
      });
      prevOf.set(row.partition, row.position);
    }
    if (page.rows.length < PAGE) break;
    after = page.rows[page.rows.length - 1]!.position;
  }
  return entries;
}

export interface PipelinedXaddOptions {
  phase: string;
  keyPrefix: string;
  pipelineSize: number;
  timeLimitMs: number;
}

/**
 * The raw ceiling of publication: the entries written with the relay's XADD
 * (same key, MAXLEN ~ window, id = position, fields prev and event), in
 * per-partition pipelines of `pipelineSize`, over one connection. Returns the
 * elapsed milliseconds.
 */
export async function xaddPipelined(
  redisUrl: string,
  entries: readonly PartitionEntry[],
  options: PipelinedXaddOptions,
): Promise<number> {
  const byPartition = new Map<number, PartitionEntry[]>();
  for (const entry of entries) {
    const list = byPartition.get(entry.partition);
    if (list) list.push(entry);
    else byPartition.set(entry.partition, [entry]);
  }
  const batches: { key: string; entries: PartitionEntry[] }[] = [];
  for (const [partition, list] of byPartition) {
    const key = partitionStreamKey(options.keyPrefix, partition);
    for (let from = 0; from < list.length; from += options.pipelineSize) {
      batches.push({ key, entries: list.slice(from, from + options.pipelineSize) });
    }
  }
  const window = String(RELAY_WINDOW_SIZE);
  const redis = createRedisClient(redisUrl, { name: 'refract-bench-xadd', failFast: false });
  let progress: Progress | undefined;
  try {
    await redis.ping();
    progress = new Progress(options.phase, entries.length);
    const started = performance.now();
    const deadline = started + options.timeLimitMs;
    let next = 0;
    const sender = async () => {
      while (next < batches.length) {
        if (performance.now() > deadline) {
          throw new PhaseTimeoutError(options.phase, options.timeLimitMs);
        }
        const batch = batches[next++]!;
        const pipeline = redis.pipeline();
        for (const entry of batch.entries) {
          pipeline.xadd(
            batch.key,
            'MAXLEN',
            '~',
            window,
            entryIdOf(entry.position),
            'prev',
            String(entry.prev),
            'event',
            entry.event,
          );
        }
        const replies = (await pipeline.exec()) ?? [];
        const failed = replies.find(([error]) => error);
        if (failed || replies.length !== batch.entries.length) {
          throw failed?.[0] ?? new Error('pipeline lost replies');
        }
        progress!.add(batch.entries.length);
      }
    };
    await Promise.all(Array.from({ length: PIPELINES_IN_FLIGHT }, sender));
    const elapsed = performance.now() - started;
    progress.finish();
    return elapsed;
  } catch (error) {
    progress?.abort();
    throw error;
  } finally {
    redis.disconnect();
  }
}
