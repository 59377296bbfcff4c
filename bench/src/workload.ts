import { type ExpectedVersion, partitionOf } from '@refract/core';
import { generateWorkload, orderStreamId } from '@refract/example-orders';

/** One event of the reference workload, with what every phase needs precomputed. */
export interface BenchEvent {
  /** 0-based place in the workload. */
  index: number;
  streamId: string;
  /** Its version once appended: its place in its stream. */
  version: number;
  partition: number;
  /** The workload's deterministic event id. */
  id: string;
  type: string;
  /** The payload as the event store serialises it (JSON.stringify). */
  dataJson: string;
}

export interface WorkloadVariant {
  /** Another seed gives other event ids (and other orders). */
  seed: number;
  /** Put before every order id (`t7`, stream `order-t7`), so its orders are not those of the main workload. */
  orderPrefix: string;
}

/**
 * The first `count` events of the N-event workload (the generator is lazy,
 * so a prefix costs only what it holds), with their partitions. A variant is
 * a second, disjoint set of orders of the same customers: the appends that
 * run on top of an already stored workload.
 */
export function loadWorkload(
  n: number,
  count: number,
  partitions: number,
  variant?: WorkloadVariant,
): BenchEvent[] {
  const partitionByStream = new Map<string, number>();
  const events: BenchEvent[] = [];
  const options = variant ? { events: n, seed: variant.seed } : { events: n };
  for (const item of generateWorkload(options)) {
    if (item.index >= count) break;
    const data = variant
      ? { ...item.event.data, orderId: `${variant.orderPrefix}${item.event.data.orderId}` }
      : item.event.data;
    const streamId = variant ? orderStreamId(data.orderId) : item.streamId;
    let partition = partitionByStream.get(streamId);
    if (partition === undefined) {
      partition = partitionOf(streamId, partitions);
      partitionByStream.set(streamId, partition);
    }
    events.push({
      index: item.index,
      streamId,
      version: item.version,
      partition,
      id: item.event.id,
      type: item.event.type,
      dataJson: JSON.stringify(data),
    });
  }
  return events;
}

/** Consecutive events of one stream, appended together. */
export interface StreamChunk {
  streamId: string;
  events: BenchEvent[];
}

/**
 * Groups events by stream into chunks of at most `max`, ordered by their
 * first event's place in the workload, so requests go out as the streams
 * open. A stream's events keep their order within and across its chunks.
 */
export function chunkByStream(events: readonly BenchEvent[], max: number): StreamChunk[] {
  const chunks: StreamChunk[] = [];
  const open = new Map<string, StreamChunk>();
  for (const event of events) {
    let chunk = open.get(event.streamId);
    if (!chunk) {
      chunk = { streamId: event.streamId, events: [] };
      chunks.push(chunk);
      open.set(event.streamId, chunk);
    }
    chunk.events.push(event);
    if (chunk.events.length === max) open.delete(event.streamId);
  }
  return chunks;
}

/** The expected version that an append of `version` onwards must see: appends go in stream order. */
export function expectedVersionBefore(version: number): ExpectedVersion {
  return version === 0 ? 'no_stream' : version - 1;
}
