import { randomUUID } from 'node:crypto';
import {
  assertStreamId,
  EVENT_TYPE_MAX_LENGTH,
  EVENT_TYPE_PATTERN,
  type ExpectedVersion,
  InvalidInputError,
  isJsonObject,
  type JsonObject,
  type NewEvent,
} from '@refract/core';
import { assertStorableJson } from './storable-json.js';

/** The largest schema version the events table can store (a Postgres integer). */
export const MAX_SCHEMA_VERSION = 2_147_483_647;

/** At most this many events in one append request. */
export const MAX_EVENTS_PER_APPEND = 1000;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event ready for the log: id assigned, payload serialised once. */
export interface PreparedEvent {
  id: string;
  /** True when the client chose the id: only then can a request be a retry of an earlier one. */
  clientId: boolean;
  type: string;
  schemaVersion: number;
  data: string;
  metadata: string;
}

export interface AppendRequest {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: PreparedEvent[];
}

/** Validates `expectedVersion` as it arrives from JSON. */
export function parseExpectedVersion(value: unknown, field = 'expectedVersion'): ExpectedVersion {
  if (value === undefined) return 'any';
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidInputError(field, 'must be a non-negative integer');
    }
    return value;
  }
  throw new InvalidInputError(
    field,
    'must be a non-negative integer or one of "any", "no_stream", "stream_exists"',
  );
}

/**
 * Validates an append as it arrives from a client (unknown JSON) and prepares
 * it for the log. Throws InvalidInputError naming the first offending field,
 * e.g. `events.3.type`. This is the single validator of appends: the HTTP
 * layer and library callers both go through it.
 */
export function parseAppendRequest(
  streamId: unknown,
  body: { expectedVersion?: unknown; events?: unknown },
  schemaVersionOf: (type: string) => number = () => 1,
  /**
   * Maps each event's metadata, once checked, to what is stored: the write
   * API adds its trace context and correlation ids here.
   */
  stamp?: (metadata: JsonObject) => JsonObject,
): AppendRequest {
  assertStreamId(streamId, 'streamId');
  const expectedVersion = parseExpectedVersion(body.expectedVersion);
  const { events } = body;
  if (!Array.isArray(events)) throw new InvalidInputError('events', 'must be an array');
  if (events.length === 0) throw new InvalidInputError('events', 'must contain at least one event');
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidInputError('events', `must contain at most ${MAX_EVENTS_PER_APPEND} events`);
  }
  const seen = new Set<string>();
  // Events without metadata of their own all store the same (stamped) text:
  // made once per request, not once per event.
  let bareMetadata: string | undefined;
  const bareMetadataText = (): string => {
    if (bareMetadata === undefined) bareMetadata = JSON.stringify(stamp ? stamp({}) : {});
    return bareMetadata;
  };
  const prepared = events.map((raw: unknown, index): PreparedEvent => {
    const at = `events.${index}`;
    if (!isJsonObject(raw)) throw new InvalidInputError(at, 'must be an object');
    const event = raw as Partial<Record<keyof NewEvent, unknown>>;
    const { id, type, data, metadata, schemaVersion } = event;
    if (typeof type !== 'string' || type.length === 0) {
      throw new InvalidInputError(`${at}.type`, 'must be a non-empty string');
    }
    if (type.length > EVENT_TYPE_MAX_LENGTH || !EVENT_TYPE_PATTERN.test(type)) {
      throw new InvalidInputError(
        `${at}.type`,
        `must start with a letter and contain only letters, digits and _ . : - (at most ${EVENT_TYPE_MAX_LENGTH})`,
      );
    }
    if (!isJsonObject(data)) throw new InvalidInputError(`${at}.data`, 'must be an object');
    if (metadata !== undefined && !isJsonObject(metadata)) {
      throw new InvalidInputError(`${at}.metadata`, 'must be an object');
    }
    assertStorableJson(data, `${at}.data`);
    if (metadata !== undefined) assertStorableJson(metadata, `${at}.metadata`);
    // The column is a Postgres integer: a larger value would fail the whole
    // group-commit transaction, and with it every other client's append.
    if (
      schemaVersion !== undefined &&
      (typeof schemaVersion !== 'number' ||
        !Number.isInteger(schemaVersion) ||
        schemaVersion < 1 ||
        schemaVersion > MAX_SCHEMA_VERSION)
    ) {
      throw new InvalidInputError(
        `${at}.schemaVersion`,
        `must be an integer from 1 to ${MAX_SCHEMA_VERSION}`,
      );
    }
    let eventId: string;
    if (id === undefined) {
      eventId = randomUUID();
    } else if (typeof id === 'string' && UUID_PATTERN.test(id)) {
      eventId = id.toLowerCase();
    } else {
      throw new InvalidInputError(`${at}.id`, 'must be a UUID');
    }
    if (seen.has(eventId)) throw new InvalidInputError(`${at}.id`, 'is used twice in this request');
    seen.add(eventId);
    return {
      id: eventId,
      clientId: id !== undefined,
      type,
      schemaVersion: (schemaVersion as number | undefined) ?? schemaVersionOf(type),
      data: JSON.stringify(data),
      metadata:
        metadata === undefined
          ? bareMetadataText()
          : JSON.stringify(stamp ? stamp(metadata) : metadata),
    };
  });
  return { streamId, expectedVersion, events: prepared };
}
