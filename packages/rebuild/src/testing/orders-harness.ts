import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyProjection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { expectedReadModels, orderProjections, type WorkloadEvent } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { ProjectorWorker } from '@refract/projector';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import { createTestDatabase, createTestRedisNamespace, eventually } from '@refract/testing';
import { expect } from 'vitest';

/** Test helpers over the example-orders workload, shared by this package's int and e2e tests. */

/**
 * Appends generated events, chained per stream, `concurrency` in flight,
 * until all are in or `stop()` says so. Resolves with the appended ones, in
 * generated order: a per-stream prefix, so their fold is what projections reach.
 */
export async function appendWorkload(
  store: EventStore,
  events: readonly WorkloadEvent[],
  { concurrency = 32, stop = () => false }: { concurrency?: number; stop?: () => boolean } = {},
): Promise<WorkloadEvent[]> {
  const tails = new Map<string, Promise<unknown>>();
  const inFlight = new Set<Promise<unknown>>();
  const done = new Set<WorkloadEvent>();
  for (const item of events) {
    if (stop()) break;
    const next = (tails.get(item.streamId) ?? Promise.resolve()).then(async () => {
      await store.append(item.streamId, [item.event], {
        expectedVersion: item.version === 0 ? 'no_stream' : item.version - 1,
      });
      done.add(item);
    });
    tails.set(item.streamId, next);
    inFlight.add(next);
    void next.finally(() => inFlight.delete(next));
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return events.filter((e) => done.has(e));
}

export type StatsRow = [placed: number, shipped: number, cancelled: number, valueCents: number];

/** A `customer_stats` table (or view) as customer → counts. */
export async function customerStats(
  store: EventStore,
  table: string,
): Promise<Map<string, StatsRow>> {
  const rows = await store.pool.query<{
    customer_id: string;
    orders_placed: number;
    orders_shipped: number;
    orders_cancelled: number;
    lifetime_value_cents: string;
  }>(`SELECT * FROM ${table}`);
  return new Map(
    rows.rows.map((r) => [
      r.customer_id,
      [r.orders_placed, r.orders_shipped, r.orders_cancelled, Number(r.lifetime_value_cents)],
    ]),
  );
}

/** The fold of the events into `customer_stats` rows. */
export function expectedStats(events: readonly WorkloadEvent[]): Map<string, StatsRow> {
  return new Map(
    [...expectedReadModels(events).customers.values()].map((c) => [
      c.customerId,
      [c.ordersPlaced, c.ordersShipped, c.ordersCancelled, c.lifetimeValueCents],
    ]),
  );
}

/** Whether every partition checkpoint of a version has reached the head of the log. */
export async function caughtUp(
  store: EventStore,
  projection: string,
  version: number,
): Promise<boolean> {
  const head = await store.headPosition();
  const behind = await store.pool.query(
    `SELECT 1 FROM refract.projection_checkpoints
     WHERE projection = $1 AND version = $2 AND position < $3 LIMIT 1`,
    [projection, version, head],
  );
  return behind.rowCount === 0;
}

/** Waits (up to a minute) until every partition checkpoint of a version has reached the head. */
export async function untilCaughtUp(
  store: EventStore,
  projection: string,
  version: number,
): Promise<void> {
  await eventually(async () => expect(await caughtUp(store, projection, version)).toBe(true), {
    timeoutMs: 60_000,
  });
}

export async function liveVersionOf(store: EventStore, projection: string): Promise<number> {
  const rows = await store.pool.query<{ live_version: number }>(
    'SELECT live_version FROM refract.projections WHERE name = $1',
    [projection],
  );
  return rows.rows[0]!.live_version;
}

/**
 * Reads the live `customer_stats` view about every millisecond until stopped:
 * counts failures, and every time the total of orders placed went down (a
 * read that stepped backwards) or the customer count fell below `floor` (a
 * half-built table).
 */
export function monotonicReader(store: EventStore, floor: number) {
  const thin: number[] = [];
  const poll = monotonicPoll(async () => {
    const rows = await store.pool.query<{ placed: number; customers: number }>(
      `SELECT coalesce(sum(orders_placed), 0)::int AS placed, count(*)::int AS customers
       FROM projections.customer_stats`,
    );
    const { placed, customers } = rows.rows[0]!;
    if (customers < floor) thin.push(customers);
    return placed;
  });
  return {
    async stop() {
      return { ...(await poll.stop()), thin };
    },
  };
}

/** Calls `read` about every millisecond until stopped: counts failures and every decrease of what it reads. */
export function monotonicPoll(read: () => Promise<number>) {
  let reading = true;
  let reads = 0;
  let last = -1;
  const failures: unknown[] = [];
  const backwards: { from: number; to: number }[] = [];
  const done = (async () => {
    while (reading) {
      try {
        const value = await read();
        if (value < last) backwards.push({ from: last, to: value });
        last = value;
        reads += 1;
      } catch (error) {
        failures.push(error);
      }
      await sleep(1);
    }
  })();
  return {
    async stop() {
      reading = false;
      await done;
      return { reads, failures, backwards };
    },
  };
}

/**
 * What the rebuild tests run against: a fresh database (8 partitions) and
 * Redis namespace, a store, the relay and one live worker of the `orders`
 * pool with short periods, running `extra` projections of the pool too.
 * `close()` tears it all down.
 */
export async function startOrdersStack(
  label: string,
  { extra = [] }: { extra?: readonly AnyProjection[] } = {},
) {
  const db = await createTestDatabase(label);
  const ns = createTestRedisNamespace(label);
  await migrate({ databaseUrl: db.url, partitions: 8 });
  const store = await EventStore.open({ databaseUrl: db.url });
  const relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(ns.url),
    keyPrefix: ns.prefix,
  });
  relay.start();
  const live = new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    pool: 'orders',
    projections: [...orderProjections, ...extra],
    heartbeatMs: 200,
    blockMs: 200,
    logger: createLogger({ service: `${label}-live`, level: 'silent' }),
  });
  await live.start();
  return {
    db,
    ns,
    store,
    async close() {
      await live.close();
      await relay.close();
      await store.close();
      await ns.cleanup();
      await db.drop();
    },
  };
}
