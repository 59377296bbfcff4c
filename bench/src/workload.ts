import { type ExpectedVersion, partitionOf } from '@refract/core';
import { generateWorkload } from '@refract/example-orders';

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

/**
 * The first `count` events of the N-event workload (the generator is lazy,
 * so a prefix costs only what it holds), with their partitions.
 */
export function loadWorkload(n: number, count: number, partitions: number): BenchEvent[] {
  const partitionByStream = new Map<string, number>();
  const events: BenchEvent[] = [];
  for (const item of generateWorkload({ events: n })) {
    if (item.index >= count) break;
    let partition = partitionByStream.get(item.streamId);
    if (partition === undefined) {
      partition = partitionOf(item.streamId, partitions);
      partitionByStream.set(item.streamId, partition);
    }
    events.push({
      index: item.index,
      streamId: item.streamId,
      version: item.version,
      partition,
      id: item.event.id,
      type: item.event.type,
      dataJson: JSON.stringify(item.event.data),
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
