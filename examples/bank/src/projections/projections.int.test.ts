import {
  batchContext,
  type CounterProjection,
  isCounterProjection,
  type Projection,
  partitionOf,
  type Recorded,
  type RecordedEvent,
} from '@refract/core';
import { EventStore, migrate, withTransaction } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import {
  applyToSlot,
  CheckpointMoved,
  registerCounterProjection,
  registerProjection,
  type Slot,
} from '@refract/projector';
import {
  counterCheckpoint,
  createRedisClient,
  type RedisClient,
  readCounters,
} from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bankApp } from '../app.js';
import { generateBankWorkload } from '../bank-workload.js';
import { accountStreamId, type BankEvent, streamAccountOf } from '../event-types.js';
import { type ExpectedAccount, expectedBankReadModels } from '../expected-bank-read-models.js';
import { seededRng } from '../seeded-rng.js';

// As the application declares them: with their pool filled in.
const accountBalancesProjection = bankApp.projection('account_balances') as Projection;
const bankActivityProjection = bankApp.projection('bank_activity') as CounterProjection;

const PARTITIONS = 8;
const EVENTS = 4_000;
const log = createLogger({ service: 'example-bank-test', level: 'silent' });

let db: TestDatabase;
let store: EventStore;
let pool: pg.Pool;
let namespace: TestRedisNamespace;
let redis: RedisClient;
/** Each test's counters live under a key prefix of their own. */
let keyPrefix: string;
let tests = 0;
/** The workload as the store recorded it, in position order. */
let logged: RecordedEvent[];

beforeAll(async () => {
  db = await createTestDatabase('example_bank_projections');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  // Enough connections for every partition of both workers at once.
  store = await EventStore.open({ databaseUrl: db.url, poolSize: PARTITIONS * 2 + 2 });
  pool = store.pool;
  namespace = createTestRedisNamespace('example-bank');
  redis = createRedisClient(namespace.url, { failFast: false });
  // Appended 200 at a time, streams side by side and each stream in order:
  // the log interleaves them, as concurrent writers would.
  const workload = [...generateBankWorkload({ events: EVENTS, seed: 9 })];
  for (let i = 0; i < workload.length; i += 200) {
    const byStream = new Map<string, typeof workload>();
    for (const item of workload.slice(i, i + 200)) {
      byStream.set(item.streamId, [...(byStream.get(item.streamId) ?? []), item]);
    }
    await Promise.all(
      [...byStream].map(async ([streamId, items]) => {
        for (const { version, event } of items) {
          await store.append(streamId, [event], {
            expectedVersion: version === 0 ? 'no_stream' : version - 1,
          });
        }
      }),
    );
  }
  logged = await store.readAll({ limit: EVENTS });
  expect(logged).toHaveLength(EVENTS);
});

afterAll(async () => {
  redis?.disconnect();
  await namespace?.cleanup();
  await store?.close();
  await db?.drop();
});

beforeEach(async () => {
  // Each test starts from empty read models and checkpoints at 0.
  await pool.query('DROP SCHEMA IF EXISTS projections CASCADE; CREATE SCHEMA projections');
  await pool.query('TRUNCATE refract.projections, refract.projection_checkpoints');
  await registerProjection(pool, accountBalancesProjection, PARTITIONS);
  await registerCounterProjection(pool, bankActivityProjection);
  keyPrefix = `${namespace.prefix}${++tests}:`;
});

const asBank = (events: readonly RecordedEvent[]) => events as unknown as Recorded<BankEvent>[];

interface BalanceRow {
  account_id: string;
  owner: string | null;
  status: ExpectedAccount['status'];
  opened_at: Date | null;
  balance_cents: number;
  position: number | null;
}

async function balances(): Promise<Map<string, ExpectedAccount>> {
  const result = await pool.query<BalanceRow>('SELECT * FROM projections.account_balances');
  return new Map(
    result.rows.map((row) => [
      row.account_id,
      {
        accountId: row.account_id,
        owner: row.owner,
        status: row.status,
        openedAt: row.opened_at?.toISOString() ?? null,
        balanceCents: row.balance_cents,
        position: row.position,
      },
    ]),
  );
}

/** Both read models compared with the in-memory fold of `events`: every row, every cent, every counter. */
async function expectReadModelsOf(events: readonly RecordedEvent[]): Promise<void> {
  const expected = expectedBankReadModels(asBank(events));
  const actual = await balances();
  expect(actual.size).toBe(expected.accounts.size);
  expect(actual).toEqual(expected.accounts);
  expect(await readCounters(redis, keyPrefix, 'bank_activity', 1, PARTITIONS)).toEqual(
    expected.activity,
  );
}

/** One worker's view of one projection on one partition, as a runner keeps it. */
function slotOf<P extends Projection | CounterProjection>(projection: P, position = 0): Slot<P> {
  return { projection, version: 1, position, halted: false };
}

async function storedCheckpoint(
  projection: Projection | CounterProjection,
  partition: number,
): Promise<number> {
  if (isCounterProjection(projection)) {
    return counterCheckpoint(redis, keyPrefix, projection.name, 1, partition);
  }
  const result = await pool.query<{ position: number }>(
    `SELECT position FROM refract.projection_checkpoints
     WHERE projection = $1 AND version = 1 AND partition = $2`,
    [projection.name, partition],
  );
  return result.rows[0]!.position;
}

interface Deliveries {
  /** Batches a worker whose checkpoint had moved tried again: each refused whole. */
  zombies: number;
  /** Batches delivered again to the worker that had applied them: each a no-op. */
  repeats: number;
}

/**
 * Applies one partition's events through the projector's batch path
 * (`applyToSlot`: checkpoint compare-and-set and the batch in one
 * transaction, or one Lua script for the counters), in batches of random
 * sizes. Now and then the batch is delivered again: to a zombie, a worker
 * that still believes the checkpoint is where it was (refused with
 * CheckpointMoved), or to the same worker (nothing left to apply); and now
 * and then the partition moves to a new worker that starts from the stored
 * checkpoint.
 */
async function runPartition(
  projection: Projection | CounterProjection,
  partition: number,
  events: readonly RecordedEvent[],
  seed: number,
  deliveries: Deliveries,
): Promise<void> {
  const rng = seededRng(seed);
  const counters = { redis, keyPrefix };
  let slot = slotOf(projection, await storedCheckpoint(projection, partition));
  const pending = events.filter((e) => e.position > slot.position);
  for (let taken = 0; taken < pending.length; ) {
    const batch = pending.slice(taken, taken + rng.int(1, 40));
    taken += batch.length;
    const through = batch.at(-1)!.position;
    const before = { ...slot };
    await applyToSlot(pool, slot, partition, batch, through, log, counters);
    expect(slot.position).toBe(through);
    const roll = rng.next();
    if (roll < 0.2) {
      await expect(
        applyToSlot(pool, before, partition, batch, through, log, counters),
      ).rejects.toBeInstanceOf(CheckpointMoved);
      deliveries.zombies += 1;
    } else if (roll < 0.35) {
      const again = await applyToSlot(pool, slot, partition, batch, through, log, counters);
      expect(again.applied).toBe(0);
      deliveries.repeats += 1;
    } else if (roll < 0.45) {
      slot = slotOf(projection, await storedCheckpoint(projection, partition));
      expect(slot.position).toBe(through);
    }
  }
}

/**
 * Two workers, each owning half of the partitions, each running all of its
 * partitions and both projections at once, as a pool of two would.
 */
async function runTwoWorkers(events: readonly RecordedEvent[], seed: number): Promise<Deliveries> {
  const deliveries: Deliveries = { zombies: 0, repeats: 0 };
  const work: Promise<void>[] = [];
  for (const worker of [0, 1]) {
    for (let partition = worker; partition < PARTITIONS; partition += 2) {
      const ofPartition = events.filter((e) => e.partition === partition);
      for (const projection of [accountBalancesProjection, bankActivityProjection]) {
        work.push(
          runPartition(projection, partition, ofPartition, seed * 100 + partition, deliveries),
        );
      }
    }
  }
  await Promise.all(work);
  return deliveries;
}

const at = '2024-01-01T00:00:00.000Z';
let nextPosition = 1_000_000;

/** A hand-made event, recorded in its account's stream and partition. */
function recorded(event: BankEvent): Recorded<BankEvent> {
  const streamId = accountStreamId(streamAccountOf(event));
  const position = ++nextPosition;
  return {
    ...event,
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    streamId,
    metadata: {},
    schemaVersion: 1,
    version: 0,
    position,
    partition: partitionOf(streamId, PARTITIONS),
    createdAt: new Date(0),
  } as Recorded<BankEvent>;
}

const opened = (accountId: string) =>
  recorded({
    type: 'AccountOpened',
    data: { accountId, owner: `owner of ${accountId}`, openedAt: at },
  });
const deposited = (accountId: string, amountCents: number) =>
  recorded({ type: 'MoneyDeposited', data: { accountId, amountCents } });
const sent = (from: string, to: string, amountCents: number) =>
  recorded({
    type: 'TransferSent',
    data: { transferId: `${from}>${to}`, fromAccountId: from, toAccountId: to, amountCents },
  });

/**
 * One shared transaction as a worker's group commit runs it for
 * `crossPartitionBatches` projections: one handler call with the events of
 * several partitions in position order (checkpoints left aside here).
 */
async function applyShared(events: RecordedEvent[]): Promise<void> {
  await withTransaction(pool, async (client) => {
    const lowest = Math.min(...events.map((e) => e.partition));
    const ctx = batchContext(client, accountBalancesProjection, 1, lowest);
    await accountBalancesProjection.applyBatch(events, ctx);
  });
}

describe('account_balances and bank_activity', () => {
  it('declare their pool, version and the five bank events', () => {
    for (const projection of [accountBalancesProjection, bankActivityProjection]) {
      expect(projection).toMatchObject({ name: projection.name, version: 1 });
      expect([...projection.handles].sort()).toEqual([
        'AccountClosed',
        'AccountOpened',
        'MoneyDeposited',
        'MoneyWithdrawn',
        'TransferSent',
      ]);
    }
    expect(accountBalancesProjection.tables).toEqual(['account_balances']);
    expect(accountBalancesProjection.crossPartitionBatches).toBe(true);
  });

  it('match the fold after a seeded workload applied by two workers at once, with re-deliveries', async () => {
    // Transfers cross partitions: the workload must hold some whose credit
    // lands in a partition other than the debit's.
    const crossing = asBank(logged).filter(
      (e) =>
        e.type === 'TransferSent' &&
        partitionOf(accountStreamId(e.data.toAccountId), PARTITIONS) !== e.partition,
    );
    expect(crossing.length).toBeGreaterThan(200);

    const half = EVENTS / 2;
    const first = await runTwoWorkers(logged.slice(0, half), 1);
    await expectReadModelsOf(logged.slice(0, half));
    const second = await runTwoWorkers(logged, 2);
    await expectReadModelsOf(logged);

    expect(first.zombies + second.zombies).toBeGreaterThan(20);
    expect(first.repeats + second.repeats).toBeGreaterThan(20);
    const statuses = new Set([...(await balances()).values()].map((a) => a.status));
    expect(statuses).toEqual(new Set(['open', 'closed']));
  });

  it('give the same rows with one event per batch and with a whole partition per batch', async () => {
    const events = logged.slice(0, 1_000);
    for (const size of [1, 100_000]) {
      await pool.query('TRUNCATE projections.account_balances_v1');
      await pool.query(
        `UPDATE refract.projection_checkpoints SET position = 0 WHERE projection = 'account_balances'`,
      );
      const work = Array.from({ length: PARTITIONS }, async (_, partition) => {
        const slot = slotOf(accountBalancesProjection);
        const ofPartition = events.filter((e) => e.partition === partition);
        for (let i = 0; i < ofPartition.length; i += size) {
          const batch = ofPartition.slice(i, i + size);
          await applyToSlot(pool, slot, partition, batch, batch.at(-1)!.position, log);
        }
      });
      await Promise.all(work);
      expect(await balances()).toEqual(expectedBankReadModels(asBank(events)).accounts);
    }
  });

  it('credit an account whose opening is not applied yet, in either order of partitions', async () => {
    const a = 'early-a';
    // Find a receiver in another partition than the sender.
    let z = 'early-z';
    for (
      let i = 0;
      partitionOf(accountStreamId(z), PARTITIONS) === partitionOf(accountStreamId(a), PARTITIONS);
      i++
    ) {
      z = `early-z${i}`;
    }
    const senderSide = [opened(a), deposited(a, 1_000), sent(a, z, 300)];
    const receiverSide = [opened(z), deposited(z, 5)];
    const expected = expectedBankReadModels([...senderSide, ...receiverSide]).accounts;

    await applyShared(senderSide);
    const credited = await balances();
    expect(credited.get(z)).toEqual({
      accountId: z,
      owner: null,
      status: 'unopened',
      openedAt: null,
      balanceCents: 300,
      position: null,
    });
    await applyShared(receiverSide);
    expect(await balances()).toEqual(expected);

    // The other way round: the receiver's partition first, then the credit.
    await pool.query('TRUNCATE projections.account_balances_v1');
    await applyShared(receiverSide);
    await applyShared(senderSide);
    expect(await balances()).toEqual(expected);
    expect((await balances()).get(z)).toMatchObject({ status: 'open', balanceCents: 305 });
  });

  it('never deadlock when shared batches credit the same accounts in opposite orders', async () => {
    /** The items sorted by a seeded random key each. */
    const inRandomOrder = (items: readonly string[], seed: number) => {
      const rng = seededRng(seed);
      const keyed = items.map((item) => ({ item, key: rng.next() }));
      return keyed.sort((x, y) => x.key - y.key).map(({ item }) => item);
    };
    const receivers = Array.from({ length: 100 }, (_, i) => `r-${String(i).padStart(3, '0')}`);
    const setup = receivers.map((r) => opened(r));
    const senders = Array.from({ length: 6 }, (_, s) => `s-${s}`);
    for (const s of senders) setup.push(opened(s), deposited(s, 1_000_000));
    await applyShared(setup);
    const all: RecordedEvent[] = [...setup];
    for (let round = 0; round < 10; round++) {
      // Each sender's batch credits every receiver: ascending, descending or
      // shuffled. All run at once, each in its own transaction.
      const batches = senders.map((s, i) => {
        const order =
          i % 3 === 0
            ? receivers
            : i % 3 === 1
              ? [...receivers].reverse()
              : inRandomOrder(receivers, round);
        return order.map((r) => sent(s, r, 1));
      });
      await Promise.all(batches.map((batch) => applyShared(batch)));
      all.push(...batches.flat());
    }
    all.sort((x, y) => x.position - y.position);
    expect(await balances()).toEqual(expectedBankReadModels(asBank(all)).accounts);
    expect((await balances()).get('r-000')?.balanceCents).toBe(senders.length * 10);
  });

  it('refuse events no account stream produces, writing nothing of the batch', async () => {
    await applyShared([opened('ok'), deposited('ok', 10), opened('bystander')]);
    const closed = recorded({ type: 'AccountClosed', data: { accountId: 'ok' } });
    const cases: [RecordedEvent[], RegExp][] = [
      [[deposited('never', 1)], /never opened, opened twice or closed\): never/],
      [[opened('ok')], /never opened, opened twice or closed\): ok/],
      [[deposited('fresh', 1), opened('fresh')], /events before it was opened/],
      [[opened('twice'), opened('twice')], /opened twice/],
      [[closed, deposited('ok', 1)], /after it was closed/],
    ];
    for (const [batch, refusal] of cases) {
      // The bystander's deposit shares the batch, and is rolled back with it.
      await expect(applyShared([deposited('bystander', 1), ...batch])).rejects.toThrow(refusal);
    }
    expect((await balances()).get('bystander')).toMatchObject({ balanceCents: 0 });
    expect((await balances()).get('ok')).toMatchObject({ status: 'open', balanceCents: 10 });
    await applyShared([closed]);
    await expect(applyShared([deposited('ok', 1)])).rejects.toThrow(/or closed\): ok/);
    // A transfer to a closed account still credits it: its sender's stream cannot know.
    await applyShared([opened('payer'), deposited('payer', 5), sent('payer', 'ok', 5)]);
    expect((await balances()).get('ok')).toMatchObject({ status: 'closed', balanceCents: 15 });
  });
});
