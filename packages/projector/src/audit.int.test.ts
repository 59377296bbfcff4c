import { defineProjection, type Projection, partitionOf } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import {
  commitSkippedEvent,
  createTestDatabase,
  reservePosition,
  type TestDatabase,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToSlot } from './apply.js';
import { auditProjection } from './audit.js';
import { catchUp } from './catch-up.js';
import { CheckpointMoved } from './commit-with-checkpoints.js';
import { retryAllParked } from './parked.js';
import { registerProjection } from './register.js';

// The completeness audit (docs/architecture.md, "Completeness audit"): every
// event of a handled type at or below a checkpoint was applied or parked,
// counted against the applied count the batch transaction keeps.

const PARTITIONS = 4;
const logger = createLogger({ service: 'audit-test', level: 'silent' });
let db: TestDatabase;
let store: EventStore;
/** Streams whose events the handlers refuse (a poison), until cleared. */
const poisoned = new Set<string>();
/** Handler calls left to fail with a serialization failure, after their writes. */
let transientFailures = 0;

/** One row per event: a second apply of one breaks the key, a missing one shows. */
function tally(name: string, crossPartitionBatches: boolean): Projection {
  return defineProjection({
    name,
    version: 1,
    pool: 'test',
    handles: ['Counted'],
    tables: [name],
    crossPartitionBatches,
    maxAttempts: 5,
    retryBackoffMs: 1,
    setup: (table) =>
      `CREATE TABLE IF NOT EXISTS ${table(name)} (position bigint PRIMARY KEY, stream_id text NOT NULL);`,
    applyBatch: async (events, ctx) => {
      for (const event of events) {
        if (poisoned.has(event.streamId)) throw new Error(`poison in ${event.streamId}`);
      }
      await ctx.sql.query(
        `INSERT INTO ${ctx.table(name)} (position, stream_id) SELECT * FROM unnest($1::bigint[], $2::text[])`,
        [events.map((e) => e.position), events.map((e) => e.streamId)],
      );
      if (transientFailures > 0) {
        transientFailures -= 1;
        throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      }
    },
  });
}

/** Appends `n` handled events and as many of a type no projection handles, over a few streams. */
async function appendSome(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await store.append(`${prefix}-${i % 5}`, [
      { type: 'Counted', data: { i } },
      { type: 'Ignored', data: { i } },
    ]);
  }
}

async function upToHead(projection: Projection): Promise<number> {
  const upTo = await store.headPosition();
  await catchUp({ store, projections: [{ projection, version: 1 }], upTo, log: logger });
  return upTo;
}

const appliedCounts = async (projection: Projection) =>
  (
    await store.pool.query<{ applied: string }>(
      'SELECT applied_events AS applied FROM refract.projection_checkpoints WHERE projection = $1 ORDER BY partition',
      [projection.name],
    )
  ).rows.map((r) => Number(r.applied));

const handledInLog = async () =>
  Number(
    (
      await store.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM refract.events WHERE type = 'Counted'",
      )
    ).rows[0]!.n,
  );

/** An event committed at `position` after the checkpoints passed it; its partition. */
const commitLate = (position: number, streamId: string) =>
  commitSkippedEvent(store.pool, { position, streamId, type: 'Counted', partitions: PARTITIONS });

beforeAll(async () => {
  db = await createTestDatabase('audit');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url, poolSize: 6 });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe.each([
  ['one transaction per batch', false],
  ['shared batch transactions', true],
])('the completeness audit, %s', (_label, shared) => {
  const name = `tally_${shared ? 'shared' : 'alone'}`;
  const projection = tally(name, shared);

  it('finds a clean run complete, counting only handled types, and audits again from there', async () => {
    await registerProjection(store.pool, projection, PARTITIONS, 1);
    await appendSome(`clean-${shared}`, 30);
    const head = await upToHead(projection);
    const first = await auditProjection(store.pool, projection);
    expect(first).toMatchObject({ projection: name, version: 1, complete: true, missing: 0 });
    expect(first!.partitions.every((p) => p.checkpoint === head && p.missing === 0)).toBe(true);
    expect((await appliedCounts(projection)).reduce((a, b) => a + b, 0)).toBe(await handledInLog());

    await appendSome(`more-${shared}`, 10);
    const next = await upToHead(projection);
    const second = await auditProjection(store.pool, projection);
    expect(second).toMatchObject({ complete: true, missing: 0 });
    // Incremental: each partition was counted from where the first audit found it complete.
    expect(second!.partitions.map((p) => p.since)).toEqual(first!.partitions.map(() => head));
    expect(second!.partitions.every((p) => p.checkpoint === next)).toBe(true);
  });

  it('reports an event committed below the checkpoint behind the engine’s back as 1 missing since the last complete audit', async () => {
    await appendSome(`late-${shared}`, 5);
    const head = await upToHead(projection);
    const complete = await auditProjection(store.pool, projection);
    expect(complete).toMatchObject({ complete: true });
    // Drawn after that audit, committed only once the checkpoints have passed it.
    const reserved = await reservePosition(store.pool);
    await appendSome(`after-${shared}`, 5);
    const later = await upToHead(projection);
    expect(later).toBeGreaterThan(reserved);
    const partition = await commitLate(reserved, `late-one-${shared}`);
    const audit = await auditProjection(store.pool, projection);
    expect(audit).toMatchObject({ complete: false, missing: 1, since: head });
    expect(audit!.partitions.filter((p) => p.missing !== 0)).toEqual([
      { partition, checkpoint: later, missing: 1, since: head },
    ]);
    // Still missing at the next audit, still since the same position: it never got applied.
    const again = await auditProjection(store.pool, projection);
    expect(again).toMatchObject({ complete: false, missing: 1, since: head });
    // The read model indeed lacks it.
    const { rowCount } = await store.pool.query(
      `SELECT 1 FROM projections.${name}_v1 WHERE position = $1`,
      [reserved],
    );
    expect(rowCount).toBe(0);
  });

  it('finds an event committed below a position already audited complete only in a full audit, and keeps reporting it after', async () => {
    const reserved = await reservePosition(store.pool);
    await appendSome(`hidden-${shared}`, 5);
    const head = await upToHead(projection);
    expect(head).toBeGreaterThan(reserved);
    // Already found complete past the position before the event commits there
    // (but for the partition of the earlier test's late event).
    await auditProjection(store.pool, projection);
    const earlier = partitionOf(`late-one-${shared}`, PARTITIONS);
    let streamId = `hidden-one-${shared}`;
    while (partitionOf(streamId, PARTITIONS) === earlier) streamId += '+';
    await commitLate(reserved, streamId);
    const incremental = await auditProjection(store.pool, projection);
    // Blind to it: only the earlier one.
    expect(incremental).toMatchObject({ complete: false, missing: 1 });

    const full = await auditProjection(store.pool, projection, { full: true });
    // The earlier late event, and this one: the whole log since counting began (0).
    expect(full).toMatchObject({ complete: false, missing: 2, since: 0 });
    // From then on the incremental audits count from there too.
    expect(await auditProjection(store.pool, projection)).toMatchObject({
      complete: false,
      missing: 2,
      since: 0,
    });
  });
});

describe('the completeness audit and the poison path', () => {
  const projection = tally('tally_poison', false);

  it('counts parked events (and those parked behind them) as accounted for, open or retried', async () => {
    await registerProjection(store.pool, projection, PARTITIONS, 1);
    await appendSome('fine', 10);
    poisoned.add('bad-0');
    await store.append('bad-0', [
      { type: 'Counted', data: { first: true } },
      { type: 'Counted', data: { behind: true } },
    ]);
    await appendSome('fine-after', 10);
    await upToHead(projection);
    const parked = await store.pool.query(
      'SELECT behind FROM refract.parked_events_all WHERE projection = $1 ORDER BY position',
      [projection.name],
    );
    // The positive sign that the poison path ran: one parked, one behind it.
    expect(parked.rows.map((r) => r.behind === null)).toEqual([true, false]);
    expect(await auditProjection(store.pool, projection)).toMatchObject({
      complete: true,
      missing: 0,
    });

    poisoned.clear();
    expect(await retryAllParked(store, projection)).toMatchObject({ applied: 2, failed: [] });
    expect(await auditProjection(store.pool, projection)).toMatchObject({
      complete: true,
      missing: 0,
    });
    expect((await appliedCounts(projection)).reduce((a, b) => a + b, 0)).toBe(
      (await handledInLog()) - 2,
    );
  });

  it('counts a batch once through a transient failure and retry, and nothing for a refused zombie batch', async () => {
    const retried = tally('tally_retried', false);
    await registerProjection(store.pool, retried, PARTITIONS, 1);
    // Every partition's first transaction writes, fails after its writes and is retried.
    transientFailures = PARTITIONS;
    await upToHead(retried);
    expect(transientFailures).toBe(0);
    expect((await appliedCounts(retried)).reduce((a, b) => a + b, 0)).toBe(await handledInLog());

    // A worker that lost its partition applies the same batch again from where it read.
    const events = (await store.readAll({ partitions: [0], limit: 10_000 })).filter(
      (e) => e.type === 'Counted',
    );
    const stale = { projection: retried, version: 1, position: 0, halted: false };
    await expect(
      applyToSlot(store.pool, stale, 0, events, events.at(-1)!.position, logger),
    ).rejects.toBeInstanceOf(CheckpointMoved);
    expect(await auditProjection(store.pool, retried)).toMatchObject({
      complete: true,
      missing: 0,
    });
  });
});
