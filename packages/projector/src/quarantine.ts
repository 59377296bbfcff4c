import type { RecordedEvent } from '@refract/core';
import type pg from 'pg';
import { SQL } from './sql.js';

/** An event parked by the batch that passes it: a row of `refract.parked_events`, or held in one. */
export interface Parking {
  event: RecordedEvent;
  error: string;
  attempts: number;
  /** The position of the parked event of its stream it waits behind; null when it failed itself. */
  behind: number | null;
}

/** An event held behind its stream's parked event at `head`. */
export const behindParking = (event: RecordedEvent, head: number): Parking => ({
  event,
  error: `quarantined behind the parked event at position ${head}`,
  attempts: 0,
  behind: head,
});

/** The quarantines a batch transaction finds for its events. */
export interface Quarantines {
  /** Stream id → position of its open parked event, for the batch's quarantined streams. */
  heads: Map<string, number>;
  /** The partitions asked about that still have an open parked event. */
  partitions: Set<number>;
}

/**
 * Looks up, in a batch transaction (after its checkpoint compare-and-set),
 * which streams of `events` are quarantined in `partitions`.
 */
export async function lookUpQuarantines(
  client: pg.PoolClient,
  projection: string,
  version: number,
  partitions: readonly number[],
  events: readonly RecordedEvent[],
): Promise<Quarantines> {
  const asked = new Set(partitions);
  const streams = new Map<string, number>();
  for (const e of events) if (asked.has(e.partition)) streams.set(e.streamId, e.partition);
  const { rows } = await client.query<{
    partition: number;
    stream_id: string | null;
    head: string | null;
  }>(SQL.quarantinedStreams, [
    projection,
    version,
    partitions,
    [...streams.keys()],
    [...streams.values()],
  ]);
  const found: Quarantines = { heads: new Map(), partitions: new Set() };
  for (const row of rows) {
    if (row.stream_id === null) found.partitions.add(row.partition);
    else found.heads.set(row.stream_id, Number(row.head));
  }
  return found;
}

/**
 * Records `parkings` in the batch transaction: those that failed get a row;
 * those behind one, only their position in it (the event is in the log), so
 * a flood's held events cost no row each. They leave their partitions'
 * applied counts in the same transaction (the completeness audit counts them
 * as parked instead), whichever path committed the batch.
 */
export async function recordParkings(
  client: pg.PoolClient,
  projection: string,
  version: number,
  parkings: readonly Parking[],
): Promise<void> {
  const failed = parkings.filter((p) => p.behind === null);
  // Held events grouped by the event they wait behind (one stream and
  // partition each): a flood holds most of a batch, and each held event's
  // stream id was most of what the statement sent.
  const groupOf = new Map<number, number>();
  const groups = { streams: [] as string[], partitions: [] as number[], behind: [] as number[] };
  const held = { positions: [] as number[], groups: [] as number[] };
  for (const { event, behind } of parkings) {
    if (behind === null) continue;
    let group = groupOf.get(behind);
    if (group === undefined) {
      groups.streams.push(event.streamId);
      groups.partitions.push(event.partition);
      group = groups.behind.push(behind);
      groupOf.set(behind, group);
    }
    held.positions.push(event.position);
    held.groups.push(group);
  }
  await client.query(SQL.parkEvents, [
    projection,
    version,
    failed.map((p) => p.event.partition),
    failed.map((p) => p.event.position),
    failed.map((p) => p.event.streamId),
    failed.map((p) => p.event.type),
    failed.map((p) => p.error),
    failed.map((p) => p.attempts),
    groups.streams,
    held.positions,
    groups.partitions,
    groups.behind,
    held.groups,
  ]);
  const perPartition = new Map<number, number>();
  for (const p of parkings)
    perPartition.set(p.event.partition, (perPartition.get(p.event.partition) ?? 0) + 1);
  await client.query(SQL.uncountParked, [
    projection,
    version,
    [...perPartition.keys()],
    [...perPartition.values()],
  ]);
}
