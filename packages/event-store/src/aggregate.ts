import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertStreamId,
  ConcurrencyRetriesExhaustedError,
  type Decider,
  type DomainEvent,
  type JsonObject,
  WrongExpectedVersionError,
} from '@refract/core';
import type { EventStore } from './event-store.js';
import { SQL } from './sql.js';

export interface LoadedState<State> {
  state: State;
  /** Version of the last event folded in; -1 for a stream with no events. */
  version: number;
  /** Stream version the snapshot held, or null when loading started from scratch. */
  snapshotVersion: number | null;
  /** How many events were read from the log (after the snapshot). */
  eventsRead: number;
}

const PAGE = 1000;

/**
 * Loads a stream's state through a decider: the latest snapshot, then only
 * the events after it. Writes a new snapshot once `decider.snapshotEvery`
 * events were folded on top of the last one.
 */
export async function loadState<State>(
  store: EventStore,
  decider: Decider<unknown, DomainEvent, State>,
  streamId: string,
): Promise<LoadedState<State>> {
  assertStreamId(streamId);
  const snapshot = await store.pool.query<{ stream_version: number; state: State }>(
    SQL.loadSnapshot,
    [streamId, decider.name, decider.snapshotVersion],
  );
  const base = snapshot.rows[0];
  let state = base ? base.state : decider.initialState();
  let version = base ? base.stream_version : -1;
  let eventsRead = 0;
  for (;;) {
    const page = await store.readStreamEvents(streamId, version + 1, PAGE);
    for (const event of page) {
      state = decider.evolve(state, { type: event.type, data: event.data });
      version = event.version;
    }
    eventsRead += page.length;
    if (page.length < PAGE) break;
  }
  const loaded = { state, version, snapshotVersion: base ? base.stream_version : null, eventsRead };
  await maybeSnapshot(store, decider, streamId, loaded.snapshotVersion, version, state);
  return loaded;
}

export interface CommandResult {
  streamId: string;
  /** The stream's version after the command. */
  version: number;
  /** Position of the last event written, or null when the command wrote nothing. */
  position: number | null;
  events: DomainEvent[];
}

export interface HandleCommandOptions {
  /** Attempts when another writer changes the stream between load and append. @defaultValue 10 */
  maxAttempts?: number;
}

/**
 * Runs a command: load state, decide, append with the loaded version as the
 * expected version. A conflict means another writer got there first, so the
 * command is decided again on the new state (it may now be refused).
 * Business-rule refusals (RuleViolatedError from `decide`) pass through.
 */
export async function handleCommand<Command, State>(
  store: EventStore,
  decider: Decider<Command, DomainEvent, State>,
  streamId: string,
  command: Command,
  options: HandleCommandOptions = {},
): Promise<CommandResult> {
  const maxAttempts = options.maxAttempts ?? 10;
  const erased = decider as unknown as Decider<unknown, DomainEvent, State>;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const loaded = await loadState(store, erased, streamId);
    const events = decider.decide(command, loaded.state);
    if (events.length === 0) {
      return { streamId, version: loaded.version, position: null, events };
    }
    try {
      const result = await store.append(
        streamId,
        events.map((event) => ({ type: event.type, data: event.data as JsonObject })),
        { expectedVersion: loaded.version === -1 ? 'no_stream' : loaded.version },
      );
      let state = loaded.state;
      for (const event of events) state = decider.evolve(state, event);
      const snapshotBase = loaded.snapshotVersion ?? -1;
      await maybeSnapshot(store, erased, streamId, snapshotBase, result.lastVersion, state);
      return { streamId, version: result.lastVersion, position: result.lastPosition, events };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      // Spread the retries of writers that collided, so they do not collide again.
      await sleep(Math.random() * 5 * attempt);
    }
  }
  throw new ConcurrencyRetriesExhaustedError(streamId, maxAttempts);
}

async function maybeSnapshot<State>(
  store: EventStore,
  decider: Decider<unknown, DomainEvent, State>,
  streamId: string,
  snapshotVersion: number | null,
  version: number,
  state: State,
): Promise<void> {
  if (version < 0 || version - (snapshotVersion ?? -1) < decider.snapshotEvery) return;
  // A snapshot is only a cache: failing to write one must not fail the caller.
  await store.pool
    .query(SQL.saveSnapshot, [
      streamId,
      decider.name,
      decider.snapshotVersion,
      version,
      JSON.stringify(state),
    ])
    .catch(() => {});
}
