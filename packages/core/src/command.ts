import type { Decider, DomainEvent } from './decider.js';

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
