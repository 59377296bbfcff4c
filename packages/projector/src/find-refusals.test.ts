import {
  defineProjection,
  EventRefusedError,
  type ProjectionContext,
  type RecordedEvent,
} from '@refract/core';
import { describe, expect, it } from 'vitest';
import { findRefusals } from './apply-rows.js';

// How a batch's refused events are found in memory, before anything is sent
// to the database: with a fold that names the event it refuses, and with one
// that throws a plain error (the prefix search). Both must find the same.

const event = (position: number, streamId: string, bad = false): RecordedEvent => ({
  id: `e${position}`,
  streamId,
  type: 'Noted',
  data: { bad },
  metadata: {},
  schemaVersion: 1,
  version: 0,
  position,
  partition: 0,
  createdAt: new Date(0),
});

// 40 events over 10 streams; positions 7, 21 and 30 cannot be folded.
const events = Array.from({ length: 40 }, (_, i) =>
  event(i + 1, `s${i % 10}`, [7, 21, 30].includes(i + 1)),
);

type Refuse = (e: RecordedEvent, cause: Error) => unknown;

/** A projection whose fold throws `refuse(...)` on a bad event, then writes; counts its calls. */
function folding(refuse: Refuse) {
  const calls = { count: 0 };
  const projection = defineProjection({
    name: 'notes',
    version: 1,
    handles: ['Noted'],
    tables: [],
    setup: () => '',
    async applyBatch(batch, ctx) {
      calls.count += 1;
      for (const e of batch) {
        if (e.data.bad === true) throw refuse(e, new Error(`cannot fold ${e.position}`));
      }
      await ctx.sql.query('SELECT 1');
    },
  });
  return { projection, calls };
}

// Never reached: every probe replaces `sql` with one that sends nothing.
const ctx = {
  sql: { query: () => Promise.reject(new Error('sent')) },
} as never as ProjectionContext;

const summary = (found: Awaited<ReturnType<typeof findRefusals>>) => ({
  good: found.good.map((e) => e.position),
  parked: found.parked.map((p) => [p.event.position, p.behind, p.error]),
});

// 7 is on stream s6, 21 on s0, 30 on s9: their streams' later events are held behind them.
const failed = [7, 21, 30];
const held = [17, 27, 37, 31, 40];
const good = events.map((e) => e.position).filter((p) => !failed.includes(p) && !held.includes(p));

describe('findRefusals', () => {
  it('finds each refused event with one call when the fold names it, and parks its stream’s later events behind it', async () => {
    const named = folding((e, cause) => new EventRefusedError(e.position, cause));
    const found = summary(await findRefusals(named.projection, ctx, events, new Map()));
    expect(found.good).toEqual(good);
    expect(found.parked.filter(([, behind]) => behind === null)).toEqual(
      failed.map((p) => [p, null, `cannot fold ${p}`]),
    );
    expect(
      found.parked
        .filter(([, behind]) => behind !== null)
        .map(([p, behind]) => [p, behind])
        .sort(([a], [b]) => Number(a) - Number(b)),
    ).toEqual([
      [17, 7],
      [27, 7],
      [31, 21],
      [37, 7],
      [40, 30],
    ]);
    // Per refusal, a call that names it and the in-memory retry; then one on what is left.
    expect(named.calls.count).toBe(2 * failed.length + 1);
  });

  it('finds the same by searching prefixes when the fold throws a plain error, or names an event outside the list', async () => {
    const named = folding((e, cause) => new EventRefusedError(e.position, cause));
    const plain = folding((_e, cause) => cause);
    const elsewhere = folding((_e, cause) => new EventRefusedError(-1, cause));
    const want = summary(await findRefusals(named.projection, ctx, events, new Map()));
    expect(summary(await findRefusals(plain.projection, ctx, events, new Map()))).toEqual(want);
    expect(summary(await findRefusals(elsewhere.projection, ctx, events, new Map()))).toEqual(want);
    expect(plain.calls.count).toBeGreaterThan(named.calls.count);
  });

  it('over many windows, refuses exactly the bad events and holds exactly their streams’ later ones, whether the fold names them or not', async () => {
    const many = Array.from({ length: 1_000 }, (_, i) =>
      event(i + 1, `s${i % 97}`, (i * 7) % 59 === 3),
    );
    // The rule, event by event: a stream with a refused event holds its later ones.
    const heads = new Map<string, number>();
    const want = { good: [] as number[], failed: [] as number[], held: [] as number[][] };
    for (const e of many) {
      const head = heads.get(e.streamId);
      if (head !== undefined) want.held.push([e.position, head]);
      else if (e.data.bad === true) {
        want.failed.push(e.position);
        heads.set(e.streamId, e.position);
      } else want.good.push(e.position);
    }
    expect(want.failed.length).toBeGreaterThan(10);
    expect(want.good.length).toBeGreaterThan(200);
    for (const refuse of [
      (e: RecordedEvent, cause: Error) => new EventRefusedError(e.position, cause),
      (_e: RecordedEvent, cause: Error) => cause,
    ]) {
      const { projection } = folding(refuse);
      const found = summary(await findRefusals(projection, ctx, many, new Map()));
      expect(found.good).toEqual(want.good);
      expect(found.parked.filter(([, behind]) => behind === null).map(([p]) => p)).toEqual(
        want.failed,
      );
      expect(
        found.parked
          .filter(([, behind]) => behind !== null)
          .map(([p, behind]) => [p, behind])
          .sort(([a], [b]) => Number(a) - Number(b)),
      ).toEqual(want.held);
    }
  });
});
