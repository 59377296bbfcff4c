import {
  isTransientEffectError,
  type JsonValue,
  type Projection,
  type Reactor,
  type ReactorContext,
  type RecordedEvent,
  type SqlExecutor,
  TransientEffectError,
} from '@refract/core';
import { withTransaction } from '@refract/event-store';
import type pg from 'pg';
import { PROJECTIONS_CHANNEL, SQL } from './sql.js';

/** Reactors have no versions: nothing rebuilds them. */
export const REACTOR_VERSION = 1;

/**
 * Effects this process ran whose done mark may not have committed (its
 * batch rolled back: a poison event later in it, a moved checkpoint). The
 * call happened, so a retry of the batch marks it done without calling
 * again; only a crash loses this and lets the call run a second time.
 * Bounded: a committed mark is read from the ledger first anyway.
 */
const MAX_REMEMBERED = 10_000;

/** A reactor as a projection, and a way to drop what it remembers of its calls. */
export interface ReactorProjection extends Projection {
  readonly reactor: true;
  /**
   * Forgets the calls made whose marks may not have committed: a replay
   * asks for what the ledger lacks, even keys this process called.
   */
  forgetCalls(): void;
}

/**
 * A reactor as a worker pool runs it: a table projection without tables
 * whose batch calls the reactor's handlers with `ctx.effect`. Everything a
 * projection's batch has, it has: the checkpoint's compare-and-set, the
 * retries of transient failures, the isolation and parking of poison events
 * in stream order, the breaker. The ledger's reads and done marks go through
 * the batch's transaction (a probe of the poison isolation, which refuses
 * every statement, thus never reaches a call); the attempt goes through
 * `ledger`, a pool of its own, so it commits at once and cannot wait for a
 * connection the batches hold.
 */
export function reactorProjection(reactor: Reactor, ledger: pg.Pool): ReactorProjection {
  const remembered = new Map<string, JsonValue | null>();
  const effectContext = (
    sql: SqlExecutor,
    event: RecordedEvent,
    partition: number,
  ): ReactorContext => ({
    reactor: reactor.name,
    partition,
    effect: async <T>(key: string, fn: () => Promise<T> | T): Promise<T | undefined> => {
      const stored = await sql.query<{ done: boolean; result: JsonValue | null }>(SQL.readEffect, [
        reactor.name,
        key,
      ]);
      if (stored.rows[0]?.done) {
        remembered.delete(key);
        return (stored.rows[0].result ?? undefined) as T | undefined;
      }
      let result: JsonValue | null;
      if (remembered.has(key)) {
        result = remembered.get(key) ?? null;
      } else {
        const attempt = await ledger.query<{ done: boolean; result: JsonValue | null }>(
          SQL.attemptEffect,
          [reactor.name, key, event.position],
        );
        if (attempt.rows[0]?.done) return (attempt.rows[0].result ?? undefined) as T | undefined;
        result = ((await runEffect(key, fn)) ?? null) as JsonValue | null;
        remembered.set(key, result);
        if (remembered.size > MAX_REMEMBERED) {
          remembered.delete(remembered.keys().next().value as string);
        }
      }
      await sql.query(SQL.markEffectDone, [
        reactor.name,
        key,
        event.position,
        JSON.stringify(result),
      ]);
      return (result ?? undefined) as T | undefined;
    },
  });
  return {
    name: reactor.name,
    version: REACTOR_VERSION,
    pool: reactor.pool,
    handles: reactor.handles,
    tables: [],
    setup: () => '',
    applyBatch: async (events, ctx) => {
      for (const event of events) {
        await reactor.handle(event, effectContext(ctx.sql, event, ctx.partition));
      }
    },
    onError: reactor.onError,
    maxAttempts: reactor.maxAttempts,
    retryBackoffMs: reactor.retryBackoffMs,
    tripAfterParked: reactor.tripAfterParked,
    crossPartitionBatches: false,
    reactor: true,
    forgetCalls: () => remembered.clear(),
  };
}

/** Whether a projection is a reactor as the projector runs it (rebuilds refuse those). */
export function isReactorProjection(projection: object): projection is ReactorProjection {
  return (projection as Partial<ReactorProjection>).reactor === true;
}

/** Runs an effect's call; a failure the effect rule calls transient is retried, never parked. */
async function runEffect<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TransientEffectError || !isTransientEffectError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new TransientEffectError(`effect ${key} failed, retried: ${message}`, { cause: error });
  }
}

/**
 * Makes a reactor known to the database: its registry row and one
 * checkpoint per partition at that partition's head, so a reactor added to
 * a running system calls out only for new events. Idempotent: a registered
 * reactor keeps its checkpoints.
 */
export async function registerReactor(
  pool: pg.Pool,
  reactor: Reactor,
  partitions: number,
): Promise<void> {
  if (!reactor.pool) {
    throw new Error(`reactor ${reactor.name} has no pool: register the one defineApp returns`);
  }
  await withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `refract.projection:${reactor.name}`,
    ]);
    await client.query(SQL.upsertProjection, [reactor.name, reactor.pool, REACTOR_VERSION]);
    await client.query(SQL.seedReactorCheckpoints, [reactor.name, REACTOR_VERSION, partitions]);
  });
}

/**
 * Moves a registered reactor's checkpoints back so that its events from
 * position `from` on are handled again (`refract reactor replay`); the
 * ledger still suppresses the effects already done. Returns the partitions
 * moved (none when every checkpoint was already before `from`).
 */
export async function replayReactor(
  pool: pg.Pool,
  name: string,
  from: number,
): Promise<{ partitions: number[] }> {
  const { rows } = await pool.query<{ partition: number }>(SQL.replayReactor, [
    name,
    from,
    PROJECTIONS_CHANNEL,
  ]);
  return { partitions: rows.map((r) => r.partition).sort((a, b) => a - b) };
}

/** One reactor's effects as its ledger counts them. */
export interface EffectSummary {
  reactor: string;
  /** Effects done. */
  delivered: number;
  /** Done at the first attempt: delivered exactly once. */
  exactlyOnce: number;
  /** Done after more than one attempt (a crash or a retry during the call): maybe delivered twice. */
  atLeastOnce: number;
  /** Attempted, not done: in flight, failing, or parked. */
  pending: number;
}

/** The ledger's counts for each of `reactors` (zeros for one without effects yet). */
export async function summarizeEffects(
  pool: pg.Pool,
  reactors: readonly string[],
): Promise<EffectSummary[]> {
  if (reactors.length === 0) return [];
  const { rows } = await pool.query<{
    reactor: string;
    delivered: number;
    exactly_once: number;
    at_least_once: number;
    pending: number;
  }>(SQL.effectSummary, [reactors]);
  const counted = new Map(rows.map((r) => [r.reactor, r]));
  return reactors.map((reactor) => {
    const r = counted.get(reactor);
    return {
      reactor,
      delivered: r?.delivered ?? 0,
      exactlyOnce: r?.exactly_once ?? 0,
      atLeastOnce: r?.at_least_once ?? 0,
      pending: r?.pending ?? 0,
    };
  });
}
