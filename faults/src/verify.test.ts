import { describe, expect, it } from 'vitest';
import { type StoredEvent, splitLog } from './verify.js';

let position = 0;
function event(
  streamId: string,
  type: StoredEvent['type'],
  unitPrice: unknown = '1.50',
): StoredEvent {
  position += 1;
  const data =
    type === 'ItemAdded'
      ? { orderId: streamId, sku: 's', qty: 1, unitPrice }
      : { orderId: streamId };
  return {
    position,
    event_id: `e${position}`,
    stream_id: streamId,
    version: position,
    type,
    data: data as StoredEvent['data'],
  };
}

describe('splitLog', () => {
  it('keeps each stream up to its first poison event and puts every later event of it behind that one', () => {
    position = 0;
    const log = [
      event('a', 'OrderPlaced'),
      event('b', 'OrderPlaced'),
      event('a', 'ItemAdded'),
      event('a', 'ItemAdded', 1.5), // 4: head of a
      event('b', 'ItemAdded'),
      event('a', 'ItemAdded'), // 6: behind 4
      event('a', 'ItemAdded', 2), // 7: poison too, but behind 4
      event('b', 'OrderShipped'),
    ];
    const split = splitLog(log);
    expect(split.good.map((e) => e.position)).toEqual([1, 2, 3, 5, 8]);
    expect(split.heads.map((e) => e.position)).toEqual([4]);
    expect(split.behind.map(({ event: e, head }) => [e.position, head])).toEqual([
      [6, 4],
      [7, 4],
    ]);
  });

  it('parks nothing in a log without poison events', () => {
    position = 0;
    const split = splitLog([event('a', 'OrderPlaced'), event('a', 'ItemAdded', '0.05')]);
    expect(split.heads).toEqual([]);
    expect(split.behind).toEqual([]);
    expect(split.good).toHaveLength(2);
  });
});
