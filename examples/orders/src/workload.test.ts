import { foldEvents } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { type OrderEvent, orderStreamId } from './events.js';
import { parseMoney } from './money.js';
import { type OrderCommand, orderDecider } from './order-decider.js';
import {
  generateWorkload,
  WORKLOAD_CUSTOMERS,
  type WorkloadEvent,
  workloadOrderCount,
} from './workload.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function byStream(events: Iterable<WorkloadEvent>): Map<string, WorkloadEvent[]> {
  const streams = new Map<string, WorkloadEvent[]>();
  for (const event of events) {
    const stream = streams.get(event.streamId) ?? [];
    stream.push(event);
    streams.set(event.streamId, stream);
  }
  return streams;
}

/** The command that produces `event` when decided on its stream's history. */
function commandFor(event: OrderEvent): OrderCommand {
  switch (event.type) {
    case 'OrderPlaced':
      return { type: 'PlaceOrder', ...event.data };
    case 'ItemAdded':
      return { type: 'AddItem', ...event.data };
    case 'OrderShipped':
      return { type: 'ShipOrder', ...event.data };
    case 'OrderCancelled':
      return { type: 'CancelOrder', ...event.data };
  }
}

// Computed once: several tests look at the same medium-sized run.
const N = 200_000;
const medium = [...generateWorkload({ events: N })];
const mediumStreams = byStream(medium);

// These walk the 200,000- and 1,000,000-event workloads: CPU work that
// a busy CI machine (the fault suite runs beside them) can stretch past
// vitest's 5 s default. Not a speed check: that is `pnpm bench`.
describe('generateWorkload', { timeout: 120_000 }, () => {
  it.each([0, 2, 3, 19, 20, 21, 39, 999, 10_000, 12_345])('yields exactly %i events', (n) => {
    let count = 0;
    const streams = new Set<string>();
    for (const event of generateWorkload({ events: n, seed: 7 })) {
      expect(event.index).toBe(count);
      count++;
      streams.add(event.streamId);
    }
    expect(count).toBe(n);
    expect(streams.size).toBe(workloadOrderCount(n));
  });

  it('spreads N events over N / 20 orders, 20 events each on average', () => {
    expect(mediumStreams.size).toBe(N / 20);
    const lengths = [...mediumStreams.values()].map((stream) => stream.length);
    expect(Math.min(...lengths)).toBeGreaterThanOrEqual(2);
    // Lengths vary rather than all being 20.
    expect(Math.min(...lengths)).toBeLessThan(12);
    expect(Math.max(...lengths)).toBeGreaterThan(28);
  });

  it('refuses impossible sizes and bad options', () => {
    expect(() => generateWorkload({ events: 1 })).toThrow(RangeError);
    expect(() => generateWorkload({ events: -5 })).toThrow(RangeError);
    expect(() => generateWorkload({ events: 2.5 })).toThrow(RangeError);
    expect(() => generateWorkload({ events: 10, seed: 0.5 })).toThrow(RangeError);
    expect(() => generateWorkload({ events: 10, concurrency: 0 })).toThrow(RangeError);
  });

  it('names streams order-<i> with i = 1..N/20 and orderId <i>', () => {
    const expected = Array.from({ length: N / 20 }, (_, i) => `order-${i + 1}`).sort();
    expect([...mediumStreams.keys()].sort()).toEqual(expected);
    // Collected, then asserted once: an expect per event is slow at this size.
    const misplaced = medium.filter((e) => e.streamId !== orderStreamId(e.event.data.orderId));
    expect(misplaced).toEqual([]);
  });

  it('makes every stream OrderPlaced, ItemAdded..., then exactly one terminal event', () => {
    for (const stream of mediumStreams.values()) {
      const types = stream.map((e) => e.event.type);
      expect(types[0]).toBe('OrderPlaced');
      expect(['OrderShipped', 'OrderCancelled']).toContain(types.at(-1));
      expect(types.slice(1, -1).every((type) => type === 'ItemAdded')).toBe(true);
      // The decider refuses to ship an empty order, so the workload never does.
      if (types.at(-1) === 'OrderShipped') expect(types.length).toBeGreaterThanOrEqual(3);
      // Versions count from 0 in generation order, so appends line up with them.
      expect(stream.map((e) => e.version)).toEqual(stream.map((_, i) => i));
    }
  });

  it('keeps payloads within the workload ranges', () => {
    const customers = new Set<string>();
    const outOfRange: WorkloadEvent[] = [];
    for (const generated of medium) {
      const { event } = generated;
      let ok = true;
      if (event.type === 'OrderPlaced') {
        const j = Number(/^customer-(\d+)$/.exec(event.data.customerId)?.[1]);
        ok = j >= 1 && j <= WORKLOAD_CUSTOMERS;
        ok &&= new Date(event.data.placedAt).toISOString() === event.data.placedAt;
        customers.add(event.data.customerId);
      } else if (event.type === 'ItemAdded') {
        const { qty, unitPrice } = event.data;
        ok = Number.isInteger(qty) && qty >= 1 && qty <= 5 && /^\d+\.\d\d$/.test(unitPrice);
        const cents = ok ? parseMoney(unitPrice) : 0;
        ok &&= cents >= 100 && cents <= 50_000;
      }
      if (!ok) outOfRange.push(generated);
    }
    expect(outOfRange).toEqual([]);
    expect(customers.size).toBe(WORKLOAD_CUSTOMERS);
  });

  it('ships about 80% of orders and cancels about 20%', () => {
    let shipped = 0;
    let cancelled = 0;
    for (const { event } of medium) {
      if (event.type === 'OrderShipped') shipped++;
      if (event.type === 'OrderCancelled') cancelled++;
    }
    expect(shipped + cancelled).toBe(N / 20);
    // 10,000 orders: one standard deviation of the ratio is 0.004.
    expect(shipped / (N / 20)).toBeGreaterThan(0.78);
    expect(shipped / (N / 20)).toBeLessThan(0.82);
  });

  it('interleaves streams: about 1,000 orders are open at once', () => {
    const open = new Set<string>();
    let maxOpen = 0;
    let switches = 0;
    for (let i = 0; i < medium.length; i++) {
      const { streamId, event } = medium[i]!;
      if (event.type === 'OrderPlaced') open.add(streamId);
      if (event.type === 'OrderShipped' || event.type === 'OrderCancelled') open.delete(streamId);
      maxOpen = Math.max(maxOpen, open.size);
      if (i > 0 && medium[i - 1]!.streamId !== streamId) switches++;
    }
    expect(maxOpen).toBeGreaterThan(900);
    expect(maxOpen).toBeLessThanOrEqual(1_000);
    // Consecutive events almost never belong to the same stream.
    expect(switches / (medium.length - 1)).toBeGreaterThan(0.99);
  });

  it('honours a smaller concurrency window', () => {
    const events = [...generateWorkload({ events: 2_000, concurrency: 1 })];
    // One order at a time: streams follow each other whole.
    const order = events.map((e) => e.streamId).filter((s, i, all) => s !== all[i - 1]);
    expect(order).toEqual([...new Set(order)]);
  });

  it('gives every event a unique, UUID v4-shaped id', () => {
    const ids = new Set(medium.map((e) => e.event.id));
    expect(ids.size).toBe(N);
    expect([...ids].filter((id) => !UUID_V4.test(id))).toEqual([]);
  });

  it('is deterministic per seed', () => {
    const first = [...generateWorkload({ events: 5_000, seed: 123 })];
    expect([...generateWorkload({ events: 5_000, seed: 123 })]).toEqual(first);
    const other = [...generateWorkload({ events: 5_000, seed: 124 })];
    expect(other).not.toEqual(first);
    const otherIds = new Set(other.map((e) => e.event.id));
    expect(first.filter((e) => otherIds.has(e.event.id))).toHaveLength(0);
    // The default seed is fixed too.
    const again = generateWorkload({ events: N });
    const head = Array.from({ length: 100 }, () => again.next().value);
    expect(head).toEqual(medium.slice(0, 100));
  });

  it('produces only what the order decider would decide', () => {
    for (const stream of [...mediumStreams.values()].slice(0, 500)) {
      const history: OrderEvent[] = [];
      for (const { event } of stream) {
        const { id: _id, ...domainEvent } = event;
        const state = foldEvents(orderDecider, history);
        expect(orderDecider.decide(commandFor(domainEvent), state)).toEqual([domainEvent]);
        history.push(domainEvent);
      }
    }
  });

  it('streams the full run of 1,000,000 events', () => {
    let count = 0;
    let maxOrder = 0;
    for (const { event } of generateWorkload({ events: 1_000_000 })) {
      count++;
      if (event.type === 'OrderPlaced') maxOrder = Math.max(maxOrder, Number(event.data.orderId));
    }
    expect(count).toBe(1_000_000);
    expect(maxOrder).toBe(50_000);
  });
});
