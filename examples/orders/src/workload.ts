import { deterministicUuid } from './deterministic-uuid.js';
import { type OrderEvent, orderStreamId } from './events.js';
import { formatMoney } from './money.js';
import { type SeededRandom, seededRandom } from './seeded-random.js';

/*
 * The reference workload every benchmark and fault run appends. Naming
 * scheme (1-based, so ids read like real ones):
 *   - orders:    orderId `"<i>"`, i = 1..ceil(N / 20), stream `order-<i>`
 *   - customers: customerId `customer-<j>`, j = 1..1000, drawn per order
 *   - event ids: deterministicUuid(seed, index), index = 0-based position in
 *     the generated sequence
 *   - placedAt:  2024-01-01T00:00:00Z plus one second per event index
 */

export const WORKLOAD_DEFAULT_SEED = 20_240_101;
export const WORKLOAD_CUSTOMERS = 1_000;
export const WORKLOAD_EVENTS_PER_ORDER = 20;
export const WORKLOAD_DEFAULT_CONCURRENCY = 1_000;
export const WORKLOAD_SHIP_RATIO = 0.8;
const START_MS = Date.UTC(2024, 0, 1);
const CANCEL_REASONS = [
  'customer request',
  'payment declined',
  'out of stock',
  'duplicate order',
  'address not deliverable',
] as const;

export interface WorkloadOptions {
  /** Total number of events N; 0 or at least 2 (an order has at least OrderPlaced and its end). */
  events: number;
  /** Any integer; only its low 32 bits count. @defaultValue WORKLOAD_DEFAULT_SEED */
  seed?: number;
  /** How many orders are open at once, at most. @defaultValue 1000 */
  concurrency?: number;
}

export type IdentifiedOrderEvent = OrderEvent & { id: string };

export interface WorkloadEvent {
  /** 0-based position in the generated sequence. */
  index: number;
  streamId: string;
  /** 0-based position within its stream: the stream's version once appended. */
  version: number;
  /** Ready to append: a NewEvent with a deterministic id. */
  event: IdentifiedOrderEvent;
}

interface OpenOrder {
  orderId: string;
  streamId: string;
  length: number;
  emitted: number;
  shipped: boolean;
}

/** The number of orders a workload of `events` events spreads over. */
export function workloadOrderCount(events: number): number {
  return Math.ceil(events / WORKLOAD_EVENTS_PER_ORDER);
}

/**
 * Stream lengths, each at least 2, summing to `events` exactly. The events
 * beyond each order's first and last are dealt one by one to random orders,
 * so lengths vary around 20 (roughly Poisson) while the total is exact.
 */
function streamLengths(events: number, orderCount: number, rng: SeededRandom): Uint32Array {
  const lengths = new Uint32Array(orderCount).fill(2);
  for (let extra = events - 2 * orderCount; extra > 0; extra--) {
    const order = rng.int(0, orderCount - 1);
    lengths[order] = lengths[order]! + 1;
  }
  return lengths;
}

function nextEvent(order: OpenOrder, index: number, rng: SeededRandom): OrderEvent {
  const { orderId } = order;
  if (order.emitted === 0) {
    const customerId = `customer-${rng.int(1, WORKLOAD_CUSTOMERS)}`;
    const placedAt = new Date(START_MS + index * 1000).toISOString();
    return { type: 'OrderPlaced', data: { orderId, customerId, placedAt } };
  }
  if (order.emitted === order.length - 1) {
    if (order.shipped) {
      const trackingNumber = `TRK${String(rng.int(0, 999_999_999)).padStart(9, '0')}`;
      return { type: 'OrderShipped', data: { orderId, trackingNumber } };
    }
    const reason = CANCEL_REASONS[rng.int(0, CANCEL_REASONS.length - 1)]!;
    return { type: 'OrderCancelled', data: { orderId, reason } };
  }
  return {
    type: 'ItemAdded',
    data: {
      orderId,
      sku: `sku-${rng.int(1, 5_000)}`,
      qty: rng.int(1, 5),
      unitPrice: formatMoney(rng.int(100, 50_000)),
    },
  };
}

/**
 * Generates the reference workload lazily: exactly `events` events, streams
 * interleaved through a window of `concurrency` open orders from which each
 * next event's order is drawn at random. Same options ⇒ same sequence. Holds
 * only the stream lengths (4 bytes per order) and the open window in memory.
 * Options are checked at the call (RangeError), not at the first `next()`.
 */
export function generateWorkload(options: WorkloadOptions): Generator<WorkloadEvent, void> {
  const {
    events: total,
    seed = WORKLOAD_DEFAULT_SEED,
    concurrency = WORKLOAD_DEFAULT_CONCURRENCY,
  } = options;
  if (!Number.isSafeInteger(total) || total < 0 || total === 1) {
    throw new RangeError(`events must be 0 or an integer of at least 2, got ${total}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  return workloadEvents(total, seed, concurrency);
}

function* workloadEvents(
  total: number,
  seed: number,
  concurrency: number,
): Generator<WorkloadEvent, void> {
  if (total === 0) return;
  const rng = seededRandom(seed);
  const orderCount = workloadOrderCount(total);
  const lengths = streamLengths(total, orderCount, rng);
  const capacity = Math.min(concurrency, orderCount);
  const window: OpenOrder[] = [];
  let nextOrder = 0;

  for (let index = 0; index < total; index++) {
    while (window.length < capacity && nextOrder < orderCount) {
      const length = lengths[nextOrder]!;
      const orderId = String(nextOrder + 1);
      window.push({
        orderId,
        streamId: orderStreamId(orderId),
        length,
        emitted: 0,
        // A shipped order needs an item (the decider refuses to ship an empty one).
        shipped: length >= 3 && rng.next() < WORKLOAD_SHIP_RATIO,
      });
      nextOrder++;
    }
    const slot = rng.int(0, window.length - 1);
    const order = window[slot]!;
    const event = nextEvent(order, index, rng);
    const version = order.emitted++;
    if (order.emitted === order.length) {
      // Swap-remove: the window's order does not matter, only its membership.
      window[slot] = window[window.length - 1]!;
      window.pop();
    }
    yield {
      index,
      streamId: order.streamId,
      version,
      event: { id: deterministicUuid(seed, index), ...event },
    };
  }
}
