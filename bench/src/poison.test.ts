import { describe, expect, it } from 'vitest';
import { expectedParking, malform } from './poison.js';
import type { BenchEvent } from './workload.js';

const event = (index: number, streamId: string, type: string, unitPrice = '1.50'): BenchEvent => ({
  index,
  streamId,
  version: 0,
  partition: 0,
  id: `e${index}`,
  type,
  dataJson: JSON.stringify(type === 'ItemAdded' ? { unitPrice } : {}),
});

describe('the poison workload', () => {
  it('malforms the given share of ItemAdded, spread evenly, and nothing else', () => {
    const events = Array.from({ length: 100 }, (_, i) =>
      event(i, `order-${i % 7}`, i % 2 === 0 ? 'ItemAdded' : 'OrderShipped'),
    );
    const bad = malform(events, 0.3);
    const changed = bad.filter((e, i) => e.dataJson !== events[i]!.dataJson);
    expect(changed).toHaveLength(15);
    expect(changed.every((e) => e.type === 'ItemAdded')).toBe(true);
    expect(JSON.parse(changed[0]!.dataJson)).toEqual({ unitPrice: 1.5 });
  });

  it('expects each malformed event parked, and the rest of its stream behind it', () => {
    const events = [
      event(0, 'order-a', 'OrderPlaced'),
      event(1, 'order-a', 'ItemAdded'),
      event(2, 'order-b', 'ItemAdded'),
      event(3, 'order-a', 'ItemAdded'),
      event(4, 'order-b', 'OrderShipped'),
      event(5, 'order-a', 'OrderShipped'),
    ];
    const bad = [...events];
    bad[1] = { ...events[1]!, dataJson: JSON.stringify({ unitPrice: 1.5 }) };
    expect(expectedParking(bad, (e) => e.index + 1)).toEqual({
      failed: new Set([2]),
      behind: new Set([4, 6]),
    });
  });
});
