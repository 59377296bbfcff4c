import type { z } from 'zod';
import type { Decider, DomainEvent } from './decider.js';
import { parseInput } from './parse-input.js';

/**
 * How a command type reaches its decider: `parse` validates the raw JSON
 * (throwing InvalidInputError that names the field), `streamId` says which
 * stream the command acts on. The write API serves one route per entry.
 */
export interface CommandRoute<
  Command = unknown,
  Event extends DomainEvent = DomainEvent,
  State = unknown,
> {
  type: string;
  parse(input: unknown): Command;
  streamId(command: Command): string;
  decider: Decider<Command, Event, State>;
}

// biome-ignore lint/suspicious/noExplicitAny: a catalog holds routes of unrelated command types; each route is typed where it is defined.
export type AnyCommandRoute = CommandRoute<any, DomainEvent, any>;

/** Erases a route's types so routes of different commands fit one catalog. */
export function commandRoute<Command, Event extends DomainEvent, State>(
  route: CommandRoute<Command, Event, State>,
): AnyCommandRoute {
  return route as unknown as AnyCommandRoute;
}

export interface CommandDefinition<Body, Command, Event extends DomainEvent, State> {
  /** The command's name: `POST /commands/{type}`. */
  type: string;
  /** The request body's schema: a body it refuses gets 400 naming the field. */
  schema: z.ZodType<Body>;
  /** Turns the parsed body into the decider's command (stamping defaults, normalising). */
  toCommand(body: Body): Command;
  /** The stream the command acts on. */
  streamId(command: Command): string;
  decider: Decider<Command, Event, State>;
}

/** A command handler: the body's schema, the target stream and the decider, type-checked together. */
export function defineCommand<Body, Command, Event extends DomainEvent, State>(
  definition: CommandDefinition<Body, Command, Event, State>,
): AnyCommandRoute {
  return commandRoute<Command, Event, State>({
    type: definition.type,
    parse: (input) => definition.toCommand(parseInput(definition.schema, input)),
    streamId: definition.streamId,
    decider: definition.decider,
  });
}
