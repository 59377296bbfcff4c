import { setTimeout } from 'node:timers/promises';
import {
  backoffDelayMs,
  batchContext,
  EventRefusedError,
  isConnectionError,
  isTransientError,
  type Projection,
  type ProjectionContext,
  type RecordedEvent,
} from '@refract/core';
import type { Logger } from '@refract/observability';
import type pg from 'pg';
import type { ApplyOutcome, Slot } from './apply.js';
import {
  CheckpointMoved,
  checkpointMove,
  commitWithCheckpoints,
} from './commit-with-checkpoints.js';
import { behindParking, lookUpQuarantines, type Parking, recordParkings } from './quarantine.js';
import { SQL } from './sql.js';
import { tripIfOverThreshold } from './trip.js';

/** A deterministic failure of `event` in a projection that halts rather than parks. */
class HaltAt extends Error {
  constructor(
    readonly event: RecordedEvent,
    readonly failure: unknown,
  ) {
    super(`poison event at ${event.position}`);
  }
}

/** SQLSTATE of a statement sent into an aborted transaction: the failure came before, not from it. */
const IN_FAILED_TRANSACTION = '25P02';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Applies `events` (one partition, ascending, all after the slot's
 * checkpoint) to a table projection and moves the checkpoint to `through`.
 *
 * First the whole batch in one transaction. A transient failure (deadlock,
 * serialization, lock timeout, lost connection: `isTransientError`) is
 * retried with backoff and, past `maxAttempts`, thrown to the caller, never
 * parked. A deterministic one (the handler throws on an event, whatever
 * the timing) isolates the poison in a single further transaction, by
 * bisection under savepoints (`isolatePoison`): an event failing
 * twice in a row is parked (or halts the partition), and every other event
 * of the batch commits with the checkpoint. A poison flood thus costs a few
 * handler calls per bad event, not a backoff.
 *
 * Quarantine: from a parked event on, the later events of its stream are
 * parked behind it (recorded, not applied) until it is retried or skipped,
 * so a stream's events reach the read model in order or not at all.
 */
export async function applyRows(
  pool: pg.Pool,
  slot: Slot<Projection>,
  partition: number,
  events: readonly RecordedEvent[],
  through: number,
  log: Logger,
): Promise<ApplyOutcome> {
  const pending = events.filter((event) => event.position > slot.position);
  if (through <= slot.position) return { applied: 0, parked: 0, halted: false };
  const { projection } = slot;
  // A partition that parked before is likely to again: its batches skip the
  // whole-batch try, whose failure would cost a transaction and a warning.
  let isolate = slot.quarantined === true;
  for (let failures = 0; ; ) {
    try {
      const outcome = await commitRows(pool, slot, partition, pending, through, isolate);
      if (outcome.parked > 0) {
        log.warn(
          {
            partition,
            position: pending[0]?.position,
            parked: outcome.parked,
            applied: outcome.applied,
          },
          'poison events parked; their streams are quarantined',
        );
        // The batch has committed: a failed check is tried again at the next parking batch.
        await tripIfOverThreshold(pool, projection, slot.version, log).catch((error: unknown) =>
          log.warn({ err: error }, 'breaker check failed; checked again at the next parking'),
        );
      }
      return outcome;
    } catch (error) {
      if (error instanceof CheckpointMoved || isConnectionError(error)) throw error;
      if (error instanceof HaltAt) {
        return halt(pool, slot, partition, pending, error, log);
      }
      if (!isTransientError(error) && !isolate) {
        log.warn(
          { partition, err: error, events: pending.length },
          'batch failed; isolating its poison',
        );
        isolate = true;
        continue;
      }
      failures += 1;
      if (failures >= projection.maxAttempts) throw error;
      await setTimeout(
        backoffDelayMs(failures, { baseMs: projection.retryBackoffMs, jitter: 0.5 }),
      );
    }
  }
}

/**
 * One transaction: the checkpoint's compare-and-set, the quarantined
 * streams' lookup (only for a partition known to have some), the handled
 * events applied (whole, or isolated event by event), the parked ones
 * recorded.
 */
async function commitRows(
  pool: pg.Pool,
  slot: Slot<Projection>,
  partition: number,
  events: readonly RecordedEvent[],
  through: number,
  isolate: boolean,
): Promise<ApplyOutcome> {
  const { projection, version } = slot;
  const handled = events.filter((event) => projection.handles.includes(event.type));
  const outcome = await commitWithCheckpoints(
    pool,
    // Counted as applied with the move; what the batch parks instead is
    // taken back below, in the same transaction.
    [checkpointMove(slot, partition, through, handled.length)],
    async (client) => {
      // Sent after the compare-and-set, which holds the checkpoint row: a
      // retry or skip of this partition's streams has committed or waits.
      const found = slot.quarantined
        ? await lookUpQuarantines(client, projection.name, version, [partition], handled)
        : undefined;
      const quarantined = found?.heads ?? new Map<string, number>();
      const stillQuarantined = (found?.partitions.size ?? 0) > 0;
      const parkings: Parking[] = [];
      const free: RecordedEvent[] = [];
      for (const event of handled) {
        const head = quarantined.get(event.streamId);
        if (head === undefined) free.push(event);
        else parkings.push(behindParking(event, head));
      }
      const ctx = batchContext(client, projection, version, partition);
      let applied = free.length;
      if (!isolate) {
        if (free.length > 0) await projection.applyBatch(free, ctx);
      } else {
        applied = await isolatePoison(client, projection, ctx, free, quarantined, parkings);
      }
      if (parkings.length > 0) await recordParkings(client, projection.name, version, parkings);
      return { applied, parked: parkings.length, stillQuarantined };
    },
  );
  slot.position = through;
  // Only this partition's runner parks its events, so once its quarantines
  // were all resolved (retried or skipped) none comes back unseen: its
  // batches skip the lookup and share transactions again.
  slot.quarantined = outcome.parked > 0 || (slot.quarantined === true && outcome.stillQuarantined);
  return { applied: outcome.applied, parked: outcome.parked, halted: false };
}

/**
 * Applies `events` in order, bisecting: a segment that passes is applied
 * whole (one handler call), one that fails is split in two, its halves
 * applied in order, down to the event that fails alone; that event is
 * tried once more, then parked (its stream quarantined: its later events
 * join `parkings` behind it) or, for a halting projection, the transaction
 * ends with HaltAt. Each try runs under a savepoint taken only when the
 * handler sends its first statement: a handler that refuses an event
 * before writing anything (a payload it cannot read) costs no round trip
 * per try, so a batch with k bad events costs about k·log(n/k) handler
 * calls with writes, not a transaction per event. A transient failure ends
 * the transaction: the caller retries the batch whole after a backoff.
 */
async function isolatePoison(
  client: pg.PoolClient,
  projection: Projection,
  ctx: ReturnType<typeof batchContext>,
  events: readonly RecordedEvent[],
  quarantined: Map<string, number>,
  parkings: Parking[],
): Promise<number> {
  let applied = 0;
  let saved = false;
  const lazy: ProjectionContext = {
    ...ctx,
    sql: {
      query: (text, values) => {
        if (!saved) {
          saved = true;
          // Queued before the handler's statement on the same connection.
          void client.query('SAVEPOINT refract_isolate').catch(() => {});
        }
        return ctx.sql.query(text, values);
      },
    },
  };
  /** Applies `chunk` (under a savepoint if it writes); what it threw (rolled back), or undefined. */
  const attempt = async (chunk: RecordedEvent[]): Promise<{ failure: unknown } | undefined> => {
    saved = false;
    try {
      await projection.applyBatch(chunk, lazy);
      if (saved) await client.query('RELEASE SAVEPOINT refract_isolate');
      return undefined;
    } catch (failure) {
      const code = (failure as { code?: unknown } | null)?.code;
      if (isTransientError(failure) || code === IN_FAILED_TRANSACTION) throw failure;
      if (saved) {
        await client.query(
          'ROLLBACK TO SAVEPOINT refract_isolate; RELEASE SAVEPOINT refract_isolate',
        );
      }
      return { failure };
    }
  };
  /** `segment` less the events of streams quarantined by an earlier event: they wait behind it. */
  const readyOf = (segment: readonly RecordedEvent[]): RecordedEvent[] => {
    const ready: RecordedEvent[] = [];
    for (const event of segment) {
      const head = quarantined.get(event.streamId);
      if (head === undefined || head > event.position) ready.push(event);
      else parkings.push(behindParking(event, head));
    }
    return ready;
  };
  const run = async (segment: readonly RecordedEvent[]): Promise<void> => {
    const ready = readyOf(segment);
    if (ready.length === 0) return;
    if (!(await attempt(ready))) {
      applied += ready.length;
      return;
    }
    if (ready.length > 1) {
      const middle = ready.length >> 1;
      await run(ready.slice(0, middle));
      await run(ready.slice(middle));
      return;
    }
    const [event] = ready as [RecordedEvent];
    // One immediate retry: a deterministic error fails it the same way.
    const failed = await attempt(ready);
    if (!failed) {
      applied += 1;
      return;
    }
    if (projection.onError === 'halt') throw new HaltAt(event, failed.failure);
    parkings.push({ event, error: messageOf(failed.failure), attempts: 2, behind: null });
    quarantined.set(event.streamId, event.position);
  };
  // Bisection applies about log(n/k) passing segments per bad event, each a
  // round trip; probes locate the handler's refusals in memory first, so
  // that the good events land in one statement, or else each run of them
  // between two bad ones does.
  if (projection.onError === 'park') {
    const found = await applyAroundRefusals(projection, ctx, events, quarantined, attempt);
    if (found) {
      parkings.push(...found.parked);
      for (const [streamId, head] of found.heads) quarantined.set(streamId, head);
      return found.good.length;
    }
  }
  for (let rest = readyOf(events); rest.length > 0; ) {
    const { index: bad } = await firstRefused(projection, ctx, rest);
    // Applied for real: what the probe let through may still fail in the
    // database, and is then bisected; an event is parked only when it
    // fails alone, after the events before it were applied.
    if (bad > 0) await run(rest.slice(0, bad));
    if (bad === rest.length) break;
    await run(rest.slice(bad, bad + 1));
    rest = readyOf(rest.slice(bad + 1));
  }
  return applied;
}

/** What a probe's `sql.query` rejects with: the handler got as far as the database. */
const REACHED_WRITE = new Error('probe: not sent to the database');

/**
 * Index of the first event of `events` the handler refuses before sending
 * any statement (a payload it cannot read), found by handler calls on
 * prefixes that never reach the database (their first statement throws);
 * `events.length` when the whole list gets that far. The first call takes
 * the whole list: a list with no refusal costs that one call, and a fold
 * that names the event it refuses (`EventRefusedError`) is answered by it.
 * Else the prefix lengths gallop (1, 2, 4, …) then halve, so finding a
 * refusal after g good events costs about 2·log2(g) calls on at most 2g
 * events: a batch with k bad events among n costs about n·log2(n/k) event
 * folds, not k·n. Refusals being in order (an event refused in a prefix is
 * refused in the longer ones) is what a fold over the events in order gives.
 */
async function firstRefused(
  projection: Projection,
  ctx: ProjectionContext,
  events: readonly RecordedEvent[],
  before: readonly RecordedEvent[] = [],
): Promise<{ index: number; failure?: unknown }> {
  let reached = false;
  const probe: ProjectionContext = {
    ...ctx,
    sql: {
      query: () => {
        reached = true;
        return Promise.reject(REACHED_WRITE);
      },
    },
  };
  let failure: unknown;
  const refuses = async (length: number): Promise<boolean> => {
    reached = false;
    try {
      await projection.applyBatch([...before, ...events.slice(0, length)], probe);
      return false;
    } catch (error) {
      // Whatever a handler makes of the probe's rejection, it got that far.
      if (reached) return false;
      failure = error;
      return true;
    }
  };
  if (events.length === 0) return { index: 0 };
  if (!(await refuses(events.length))) return { index: events.length };
  const named = namedIndex(failure, events);
  if (named !== undefined) return { index: named, failure };
  // Invariant: the first `passes` events pass, the first `fails` are refused.
  let passes = 0;
  let fails = events.length;
  for (let length = 1; length < fails; length *= 2) {
    if (await refuses(length)) fails = length;
    else passes = length;
  }
  while (fails - passes > 1) {
    const middle = (passes + fails) >> 1;
    if (await refuses(middle)) fails = middle;
    else passes = middle;
  }
  // The failure of the shortest refused prefix: that of its last event.
  await refuses(fails);
  return { index: fails - 1, failure };
}

/** The index in `events` of the event a refusal names (`EventRefusedError`), if it names one of them. */
function namedIndex(failure: unknown, events: readonly RecordedEvent[]): number | undefined {
  if (!(failure instanceof EventRefusedError)) return undefined;
  const index = events.findIndex((event) => event.position === failure.position);
  return index === -1 ? undefined : index;
}

/** Events a probe of `findRefusals` takes after a refusal; doubled while none is found. */
const FIRST_WINDOW = 64;

/**
 * Finds every event the handler refuses in memory, each in the context of
 * the good events between it and the previous refusal, and the events
 * parked behind them (their streams' later events, and those of streams
 * already in `quarantined`). Sends nothing to the database: the caller
 * applies `good` in one handler call, which fails (and sends the caller to
 * isolation event by event) if the handler refuses an event in that larger
 * context after all. The events are taken in windows, 64 after a refusal
 * and doubling while none is found, so a batch of n with k refusals costs
 * about n + 64·k events handled, not k·n.
 */
export async function findRefusals(
  projection: Projection,
  ctx: ProjectionContext,
  events: readonly RecordedEvent[],
  quarantined: ReadonlyMap<string, number>,
): Promise<{ good: RecordedEvent[]; parked: Parking[]; heads: Map<string, number> }> {
  const heads = new Map(quarantined);
  const parked: Parking[] = [];
  const good: RecordedEvent[] = [];
  // The good events since the previous refusal: the context the next one is
  // looked for in (a batching the bisection could give it too), not all of
  // them. The call applying `good` together checks the whole context.
  let since: RecordedEvent[] = [];
  // Events taken from `events` and not yet decided; one held behind a
  // parked event stays held, so each is taken once.
  let pending: RecordedEvent[] = [];
  let next = 0;
  const take = (count: number) => {
    for (; next < events.length && pending.length < count; next += 1) {
      const event = events[next]!;
      const head = heads.get(event.streamId);
      if (head === undefined || head > event.position) pending.push(event);
      else parked.push(behindParking(event, head));
    }
  };
  for (let window = FIRST_WINDOW; ; ) {
    take(window);
    if (pending.length === 0) break;
    const { index, failure } = await firstRefused(projection, ctx, pending, since);
    for (let i = 0; i < index; i += 1) since.push(pending[i]!);
    if (index === pending.length) {
      pending = [];
      window *= 2;
      continue;
    }
    window = FIRST_WINDOW;
    const event = pending[index]!;
    const rest = pending.slice(index + 1);
    // The immediate retry, in memory: a deterministic refusal repeats.
    const again = await firstRefused(projection, ctx, [event], since);
    if (again.index === 1) {
      since.push(event);
      pending = rest;
      continue;
    }
    parked.push({ event, error: messageOf(failure), attempts: 2, behind: null });
    heads.set(event.streamId, event.position);
    pending = [];
    for (const e of rest) {
      if (e.streamId === event.streamId) parked.push(behindParking(e, event.position));
      else pending.push(e);
    }
    for (const e of since) good.push(e);
    since = [];
  }
  for (const e of since) good.push(e);
  return { good, parked, heads };
}

/**
 * `findRefusals`, then all the good events in one handler call under a
 * savepoint. What it found is kept only if that call succeeds: else (the
 * database refused something) it rolls back and returns undefined, and the
 * caller isolates event by event.
 */
async function applyAroundRefusals(
  projection: Projection,
  ctx: ProjectionContext,
  events: readonly RecordedEvent[],
  quarantined: Map<string, number>,
  attempt: (chunk: RecordedEvent[]) => Promise<{ failure: unknown } | undefined>,
): Promise<{ good: RecordedEvent[]; parked: Parking[]; heads: Map<string, number> } | undefined> {
  const found = await findRefusals(projection, ctx, events, quarantined);
  if (found.good.length > 0 && (await attempt(found.good))) return undefined;
  return found;
}

/**
 * `onError: 'halt'`: the events before the poison commit, then the
 * partition's checkpoint stops before it until an operator acts.
 */
async function halt(
  pool: pg.Pool,
  slot: Slot<Projection>,
  partition: number,
  pending: readonly RecordedEvent[],
  { event, failure }: HaltAt,
  log: Logger,
): Promise<ApplyOutcome> {
  const before = pending.filter((e) => e.position < event.position);
  const { applied } = await commitRows(pool, slot, partition, before, event.position - 1, true);
  const halted = await pool.query(SQL.haltPartition, [
    slot.projection.name,
    slot.version,
    partition,
    slot.position,
    event.position,
  ]);
  if (halted.rowCount === 0) {
    throw new CheckpointMoved([checkpointMove(slot, partition, event.position)]);
  }
  slot.halted = true;
  log.error(
    { partition, position: event.position, err: failure },
    'poison event: partition halted',
  );
  return { applied, parked: 0, halted: true };
}
