import {
  batchContext,
  isTransientError,
  type Projection,
  type RecordedEvent,
  RefractError,
} from '@refract/core';
import { type EventStore, withTransaction } from '@refract/event-store';
import type pg from 'pg';
import { SQL } from './sql.js';

export interface ParkedEvent {
  id: number;
  projection: string;
  version: number;
  partition: number;
  position: number;
  streamId: string;
  eventType: string;
  error: string;
  attempts: number;
  parkedAt: Date;
  resolution: 'retried' | 'skipped' | null;
  resolvedAt: Date | null;
  /** The position of the parked event of its stream it waits behind; null when it failed itself. */
  behind: number | null;
}

interface ParkedRow {
  id: string;
  projection: string;
  version: number;
  partition: number;
  position: number;
  stream_id: string;
  event_type: string;
  error: string;
  attempts: number;
  parked_at: Date;
  resolution: 'retried' | 'skipped' | null;
  resolved_at: Date | null;
  behind: string | null;
}

const toParked = (row: ParkedRow): ParkedEvent => ({
  id: Number(row.id),
  projection: row.projection,
  version: row.version,
  partition: row.partition,
  position: row.position,
  streamId: row.stream_id,
  eventType: row.event_type,
  error: row.error,
  attempts: row.attempts,
  parkedAt: row.parked_at,
  resolution: row.resolution,
  resolvedAt: row.resolved_at,
  behind: row.behind === null ? null : Number(row.behind),
});

/** The parked events of a projection, open ones first, newest first. */
export async function listParkedEvents(
  store: EventStore,
  projection: string,
  { includeResolved = false }: { includeResolved?: boolean } = {},
): Promise<ParkedEvent[]> {
  const rows = await store.pool.query<ParkedRow>(SQL.listParked, [projection, includeResolved]);
  return rows.rows.map(toParked);
}

/** Open (unresolved) parked events per projection; projections with none are absent. */
export async function countOpenParkedEvents(pool: pg.Pool): Promise<Map<string, number>> {
  const rows = await pool.query<{ projection: string; open: string }>(SQL.countOpenParked);
  return new Map(rows.rows.map((r) => [r.projection, Number(r.open)]));
}

export class ParkedEventNotFoundError extends RefractError {
  constructor(id: number) {
    super('parked_event_not_found', `no parked event ${id}`, { parkedEventId: id });
  }
}

export class ParkedEventResolvedError extends RefractError {
  constructor(id: number, resolution: string) {
    super('already_resolved', `parked event ${id} is already ${resolution}`, {
      parkedEventId: id,
      resolution,
    });
  }
}

/** One quarantined stream of a projection version: its open parked events, in order. */
export interface QuarantinedStream {
  streamId: string;
  version: number;
  partition: number;
  /** The first is the one that failed; the rest wait behind it. */
  events: ParkedEvent[];
}

/**
 * A page of a projection's quarantined streams, by stream id: `next` is the
 * cursor of the following page (null on the last), so any number of parked
 * events can be listed.
 */
export async function listQuarantinedStreams(
  store: EventStore,
  projection: string,
  { after = '', limit = 100 }: { after?: string; limit?: number } = {},
): Promise<{ streams: QuarantinedStream[]; next: string | null }> {
  const rows = await store.pool.query<ParkedRow>(SQL.listOpenStreams, [projection, after, limit]);
  const streams: QuarantinedStream[] = [];
  for (const row of rows.rows.map(toParked)) {
    const last = streams.at(-1);
    if (last && last.streamId === row.streamId && last.version === row.version) {
      last.events.push(row);
    } else {
      streams.push({
        streamId: row.streamId,
        version: row.version,
        partition: row.partition,
        events: [row],
      });
    }
  }
  const ids = new Set(streams.map((s) => s.streamId));
  return { streams, next: ids.size === limit ? streams.at(-1)!.streamId : null };
}

/** Per projection with open parked events: quarantined streams and the top errors by message. */
export interface ParkedSummary {
  streams: number;
  topErrors: { message: string; events: number }[];
}

export async function summarizeParkedEvents(
  pool: pg.Pool,
  messages = 5,
): Promise<Map<string, ParkedSummary>> {
  const rows = await pool.query<{
    projection: string;
    streams: number;
    top_errors: { message: string; events: number }[];
  }>(SQL.parkedSummary, [messages]);
  return new Map(
    rows.rows.map((r) => [r.projection, { streams: r.streams, topErrors: r.top_errors }]),
  );
}

/** What a retry or a skip did to a quarantined stream. */
export interface StreamReplay {
  /** Parked events applied now, in order. */
  applied: number;
  /** Events still parked: the one that failed (now the stream's head) and those behind it. */
  stillParked: number;
  /** The new head's error, when one of the events behind failed in turn. */
  error: string | null;
}

/**
 * Applies a parked event now (after its handler was fixed), and with it
 * every event its stream parked after it, in order: in one transaction
 * holding its partition's checkpoint row, so the partition's batches wait
 * and, once it commits, find the stream released. The event asked for is
 * the stream's first parked one (an id behind it replays the stream from
 * its head). If the head fails again, nothing changes and its error is
 * thrown; if an event behind it fails, it becomes the head and the rest stay
 * parked. Two retries take turns; the second finds the event resolved.
 */
export async function retryParkedEvent(
  store: EventStore,
  projection: Projection,
  id: number,
): Promise<ParkedEvent> {
  return (await resolveParked(store, projection, projection.name, id, 'retry')).event;
}

/**
 * Gives a parked event up. When it heads its stream's quarantine, the
 * events parked behind it are released: applied in order in the same
 * transaction, up to the first that fails, which then heads the quarantine.
 * A counter projection (no `projection` handler here) is only marked.
 */
export async function skipParkedEvent(
  store: EventStore,
  projection: string | Projection,
  id: number,
): Promise<ParkedEvent> {
  const name = typeof projection === 'string' ? projection : projection.name;
  const handler = typeof projection === 'string' ? undefined : projection;
  return (await resolveParked(store, handler, name, id, 'skip')).event;
}

/**
 * Replays every quarantined stream of a projection (a page at a time, one
 * transaction per stream): what a resume does before the projection goes
 * on. A stream whose head fails again stays quarantined and is reported.
 */
export async function retryAllParked(
  store: EventStore,
  projection: Projection,
): Promise<{ streams: number; applied: number; failed: { streamId: string; error: string }[] }> {
  const result = { streams: 0, applied: 0, failed: [] as { streamId: string; error: string }[] };
  let after = '';
  for (;;) {
    const page = await listQuarantinedStreams(store, projection.name, { after, limit: 100 });
    for (const stream of page.streams) {
      result.streams += 1;
      try {
        const { replay } = await resolveParked(
          store,
          projection,
          projection.name,
          stream.events[0]!.id,
          'retry',
        );
        result.applied += replay.applied;
      } catch (error) {
        if (isTransientError(error)) throw error;
        result.failed.push({
          streamId: stream.streamId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (page.next === null) return result;
    after = page.next;
  }
}

/** An open parked row, locked, with the positions held behind it. */
interface OpenRow extends ParkedRow {
  held: string[];
}

/** A parked event by id: a row's, or minus the position of one held in a row. */
async function readParked(
  client: pg.Pool | pg.PoolClient,
  id: number,
  name: string,
): Promise<ParkedRow | undefined> {
  const found = await (id < 0
    ? client.query<ParkedRow>(SQL.readHeldParked, [-id, name])
    : client.query<ParkedRow>(SQL.readParked, [id, name]));
  return found.rows[0];
}

async function resolveParked(
  store: EventStore,
  projection: Projection | undefined,
  name: string,
  id: number,
  action: 'retry' | 'skip',
): Promise<{ event: ParkedEvent; replay: StreamReplay }> {
  const found = await readParked(store.pool, id, name);
  if (!found) throw new ParkedEventNotFoundError(id);
  return withTransaction(store.pool, async (client) => {
    // The partition's batches hold this row in their transactions: they and
    // this replay take turns, and a batch after it sees the stream released.
    await client.query(SQL.lockCheckpoint, [name, found.version, found.partition]);
    const [open] = (
      await client.query<OpenRow>(SQL.lockStreamParked, [
        name,
        found.version,
        found.partition,
        found.stream_id,
      ])
    ).rows;
    const held = (open?.held ?? []).map(Number);
    // 0: the stream's failed event; i > 0: the i-th event held behind it.
    const index = !open
      ? -1
      : id > 0
        ? Number(open.id) === id
          ? 0
          : -1
        : held.indexOf(-id) + 1 || -1;
    if (!open || index < 0) {
      const now = (await readParked(client, id, name))!;
      throw new ParkedEventResolvedError(id, now.resolution ?? 'resolved');
    }
    if (action === 'skip' && index > 0) {
      // Only the head holds the stream back; an event behind it is dropped alone.
      const skipped = await client.query<ParkedRow>(SQL.skipHeldParked, [
        open.id,
        -id,
        found.event_type,
        found.error,
      ]);
      return {
        event: toParked(skipped.rows[0]!),
        replay: { applied: 0, stillParked: held.length, error: null },
      };
    }
    if (action === 'skip') await client.query(SQL.markParkedSkipped, [open.id, name]);
    const positions = action === 'retry' ? [Number(open.position), ...held] : held;
    const replay = projection
      ? await replayStream(client, store, projection, open, positions, action === 'retry')
      : { applied: 0, stillParked: held.length, error: null };
    const event = (await readParked(client, id, name))!;
    return { event: toParked(event), replay };
  });
}

/**
 * Applies the events at `positions` of `open`'s stream (its failed event,
 * on a retry, then those held behind it, ascending), up to the first that
 * fails: all at once under a savepoint, else one by one. `open` is resolved
 * (as retried, unless skipped) keeping in `held` those applied with it; the
 * one that failed gets an open row of its own holding the rest. When
 * `headMustPass`, a failing first event is thrown instead (and the
 * transaction rolls back).
 */
async function replayStream(
  client: pg.PoolClient,
  store: EventStore,
  projection: Projection,
  open: OpenRow,
  positions: readonly number[],
  headMustPass: boolean,
): Promise<StreamReplay> {
  const ctx = batchContext(client, projection, open.version, open.partition);
  const events = await readStreamAt(store, open, positions);
  const tryApply = async (chunk: RecordedEvent[]): Promise<unknown> => {
    await client.query('SAVEPOINT refract_replay');
    try {
      await projection.applyBatch(chunk, ctx);
      await client.query('RELEASE SAVEPOINT refract_replay');
      return undefined;
    } catch (error) {
      if (isTransientError(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT refract_replay');
      return error ?? new Error('handler threw without an error');
    }
  };
  let applied = events.length;
  let failure: unknown;
  if (events.length > 0 && (await tryApply(events)) !== undefined) {
    for (applied = 0; applied < events.length; applied += 1) {
      failure = await tryApply([events[applied]!]);
      if (failure !== undefined) break;
    }
  }
  if (failure !== undefined && headMustPass && applied === 0) throw failure;
  const failed = events[applied];
  const error = failed ? (failure instanceof Error ? failure.message : String(failure)) : null;
  const heldApplied = events
    .slice(0, applied)
    .map((e) => e.position)
    .filter((p) => p !== Number(open.position));
  await client.query(SQL.settleStreamParked, [
    open.id,
    'retried',
    heldApplied,
    failed?.position ?? null,
    error,
    failed?.type ?? null,
    events.slice(applied + 1).map((e) => e.position),
  ]);
  return { applied, stillParked: events.length - applied, error };
}

/** The events of `open`'s stream at `positions` (ascending), read from the log. */
async function readStreamAt(
  store: EventStore,
  open: OpenRow,
  positions: readonly number[],
): Promise<RecordedEvent[]> {
  if (positions.length === 0) return [];
  const first = positions[0]!;
  const [head] = await store.readAll({
    after: first - 1,
    upTo: first,
    partitions: [open.partition],
    limit: 1,
  });
  if (!head) throw new ParkedEventNotFoundError(Number(open.id));
  const wanted = new Set(positions);
  const last = positions.at(-1)!;
  const events: RecordedEvent[] = [];
  for (let version = head.version; ; ) {
    const page = await store.readStreamEvents(open.stream_id, version, READ_PAGE);
    for (const event of page) if (wanted.has(event.position)) events.push(event);
    const end = page.at(-1);
    if (!end || end.position >= last || page.length < READ_PAGE) break;
    version = end.version + 1;
  }
  if (events.length !== positions.length) throw new ParkedEventNotFoundError(Number(open.id));
  return events;
}

/** Events of a stream read at once when a quarantine is replayed. */
const READ_PAGE = 1000;

/** No open parked event in a stream: it is not quarantined. */
export class StreamNotQuarantinedError extends RefractError {
  constructor(projection: string, streamId: string) {
    super('parked_event_not_found', `stream ${streamId} has no parked event in ${projection}`, {
      field: 'streamId',
      streamId,
    });
  }
}

/**
 * Skips the event a stream's quarantine waits on (`skipParkedEvent`), which
 * releases the events behind it. `projection` as for `skipParkedEvent`.
 */
export async function skipParkedStream(
  store: EventStore,
  projection: string | Projection,
  streamId: string,
): Promise<ParkedEvent> {
  const name = typeof projection === 'string' ? projection : projection.name;
  const head = await store.pool.query<{ id: string }>(SQL.streamParkedHead, [name, streamId]);
  if (!head.rows[0]) throw new StreamNotQuarantinedError(name, streamId);
  return skipParkedEvent(store, projection, Number(head.rows[0].id));
}
