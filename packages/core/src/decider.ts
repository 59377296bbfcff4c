import type { JsonObject } from './envelope.js';

/** An event as a decider sees it: its type and payload. */
export interface DomainEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  type: Type;
  data: Data;
}

/**
 * The functional core of a write model: `decide` turns a command and the
 * current state into new events (or throws RuleViolatedError), `evolve` folds
 * an event into the state. Both are pure, so they are tested without a database.
 */
export interface Decider<Command, Event extends DomainEvent, State> {
  /** Names the decider; snapshots are stored per (stream, name). */
  name: string;
  /** Bump when State's shape changes: snapshots of another version are ignored. */
  snapshotVersion: number;
  /** Write a snapshot once this many events were folded after the last one. */
  snapshotEvery: number;
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
}

export interface DeciderDefinition<Command, Event extends DomainEvent, State> {
  name: string;
  /** @defaultValue 1 */
  snapshotVersion?: number;
  /** @defaultValue 100 */
  snapshotEvery?: number;
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
}

export function defineDecider<Command, Event extends DomainEvent, State>(
  definition: DeciderDefinition<Command, Event, State>,
): Decider<Command, Event, State> {
  const snapshotEvery = definition.snapshotEvery ?? 100;
  if (!Number.isInteger(snapshotEvery) || snapshotEvery < 1) {
    throw new RangeError(`snapshotEvery must be a positive integer, got ${snapshotEvery}`);
  }
  return {
    ...definition,
    snapshotVersion: definition.snapshotVersion ?? 1,
    snapshotEvery,
  };
}

/** Folds events into a state from scratch; handy in tests and for in-memory checks. */
export function foldEvents<Event extends DomainEvent, State>(
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
  events: Iterable<Event>,
): State {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
