import type { RecordedEvent } from '@refract/core';
import { positionOfEntryId } from './keys.js';

/** What the relay writes for one event: the entry id is the position. */
export interface PartitionEntry {
  partition: number;
  position: number;
  /** Position of the previous event of the same partition (0 for the first): lets readers see holes. */
  prev: number;
  /** The event envelope as JSON (RecordedEvent with createdAt as an ISO string). */
  event: string;
}

export interface ReceivedEntry {
  position: number;
  prev: number;
  event: RecordedEvent;
}

/** Decodes one XRANGE/XREAD entry: `[id, [field, value, ...]]`. */
export function decodeEntry(id: string, fields: string[]): ReceivedEntry {
  let prev = Number.NaN;
  let json: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'prev') prev = Number(fields[i + 1]);
    else if (fields[i] === 'event') json = fields[i + 1];
  }
  if (json === undefined || Number.isNaN(prev)) {
    throw new Error(`stream entry ${id} is not a Refract entry`);
  }
  const raw = JSON.parse(json) as RecordedEvent & { createdAt: string };
  return {
    position: positionOfEntryId(id),
    prev,
    event: { ...raw, createdAt: new Date(raw.createdAt) },
  };
}
