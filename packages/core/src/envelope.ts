/** JSON that can be stored in a jsonb column. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Whether a parsed JSON value is an object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An event as a writer hands it in, before it has a place in the log. */
export interface NewEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  /** Client-given id (a UUID); the store generates one when absent. Unique within a stream. */
  id?: string;
  type: Type;
  data: Data;
  metadata?: JsonObject;
  /** Version of this event type's payload shape; upcasters bring old shapes forward on read. */
  schemaVersion?: number;
}

/** An event as it stands in the log. */
export interface RecordedEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  id: string;
  streamId: string;
  type: Type;
  data: Data;
  metadata: JsonObject;
  schemaVersion: number;
  /** Position within its stream, counting from 0. */
  version: number;
  /** Global position in the log, counting from 1, unique, increasing in commit-safe order. */
  position: number;
  /** The partition its stream hashes to (see partitionOf). */
  partition: number;
  createdAt: Date;
}

/**
 * What an append call expects of the stream: an exact version (the version of
 * its last event), or one of three modes.
 */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

/** The result of an append, as the write API returns it. */
export interface AppendResult {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  firstPosition: number;
  lastPosition: number;
  /** True when every event id was already stored: the original result is returned, nothing is written. */
  duplicate: boolean;
}
