import type { z } from 'zod';
import type { DomainEvent } from './decider.js';
import type { JsonObject } from './envelope.js';
import type { Upcaster } from './upcasters.js';

/** Brings a payload of this type from `fromVersion` to `fromVersion + 1`. */
export interface EventUpcaster {
  fromVersion: number;
  upcast(data: JsonObject, metadata: JsonObject): JsonObject;
}

/**
 * One event type of the application: its name, the schema version new events
 * are written with, the schema of that version's payload, and the upcasters
 * that bring payloads of older versions to it.
 */
export interface EventType<Type extends string = string, Data extends JsonObject = JsonObject> {
  readonly type: Type;
  readonly version: number;
  readonly schema: z.ZodType<Data>;
  readonly upcasters: readonly EventUpcaster[];
}

export interface EventTypeOptions<Schema> {
  /** The current payload's schema: appends of this type are checked against it. */
  schema: Schema;
  /** Schema version new events are written with. @defaultValue 1 */
  version?: number;
  /** One per older version still found in the log, from `fromVersion` to the next. @defaultValue [] */
  upcasters?: readonly EventUpcaster[];
}

/** Declares an event type; its payload type is the schema's output. */
export function defineEvent<const Type extends string, Schema extends z.ZodType<JsonObject>>(
  type: Type,
  options: EventTypeOptions<Schema>,
): EventType<Type, z.output<Schema>> {
  return {
    type,
    version: options.version ?? 1,
    schema: options.schema as unknown as z.ZodType<z.output<Schema>>,
    upcasters: options.upcasters ?? [],
  };
}

/** The union of domain events a list of event types describes. */
export type EventsOf<Types extends readonly EventType<string, JsonObject>[]> = {
  [I in keyof Types]: Types[I] extends EventType<infer Type, infer Data>
    ? DomainEvent<Type, Data>
    : never;
}[number];

/** The event type's upcasters as registry steps. */
export function upcastersOf(eventType: EventType): Upcaster[] {
  return eventType.upcasters.map((step) => ({
    type: eventType.type,
    fromVersion: step.fromVersion,
    upcast: step.upcast,
  }));
}
