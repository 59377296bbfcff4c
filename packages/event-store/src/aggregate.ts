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
import {
  assertIdempotencyKey,
  type IdempotencyClaim,
  replayOf,
  requestHash,
  type StoredCommandKey,
} from './idempotency-keys.js';
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
  /** The events this call wrote: none when it was a replay. */
  events: DomainEvent[];
  /**
   * True when an earlier run with the same idempotency key had succeeded:
   * the result is that run's, and this call wrote nothing.
   */
  replayed: boolean;
}

/** What makes a command run at most once: see `HandleCommandOptions.idempotency`. */
export interface CommandIdempotency {
  /** 1 to 200 visible ASCII characters, chosen by the client, one per intended effect. */
  key: string;
  /**
   * What the key stands for (the write API passes the command type and the
   * body as received). A later call with the key and an equal request (equal
   * as JSON: key order and number spelling aside) gets the stored result; a
   * different one is an IdempotencyKeyConflictError.
   */
  request: unknown;
}

export interface HandleCommandOptions {
  /** Attempts when another writer changes the stream between load and append. @defaultValue 10 */
  maxAttempts?: number;
  /**
   * Runs the command at most once per key: its events and the key are stored
   * in one transaction (not group-committed), and a command that fails stores
   * no key. Keys live for the store's `idempotencyKeyTtlSeconds`.
   */
  idempotency?: CommandIdempotency;
  /** Stored as the metadata of each event the command appends (the write API's trace context). */
  metadata?: JsonObject;
}

/**
 * Runs a command: load state, decide, append with the loaded version as the
 * expected version. A conflict means another writer got there first, so the
 * command is decided again on the new state (it may now be refused).
 * Business-rule refusals (RuleViolatedError from `decide`) pass through.
 *
 * With an idempotency key, a key already stored answers with its first
 * result before anything is loaded, and each attempt's append claims the key
 * in its own transaction: a duplicate running at the same time waits for the
 * first to commit and then gets its result. A refusal is answered only once
 * the key is known to be unused: a duplicate that loaded the first run's
 * events gets that run's result.
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
  const claim = options.idempotency && claimOf(options.idempotency);
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (claim) {
      const stored = await store.findIdempotencyKey(claim.key);
      if (stored) return replayed(stored, claim);
    }
    const loaded = await loadState(store, erased, streamId);
    let events: DomainEvent[];
    try {
      events = decider.decide(command, loaded.state);
    } catch (error) {
      // The state may hold this key's own first run, committed after the check
      // above: a duplicate gets that run's result, not a refusal by its events.
      if (claim) {
        const stored = await store.findIdempotencyKey(claim.key);
        if (stored) return replayed(stored, claim);
      }
      throw error;
    }
    const expectedVersion = loaded.version === -1 ? 'no_stream' : loaded.version;
    const { metadata } = options;
    const newEvents = events.map((event) => ({
      type: event.type,
      data: event.data as JsonObject,
      ...(metadata && { metadata }),
    }));
    let written: { version: number; position: number | null } | undefined;
    if (claim) {
      const outcome = await store.appendKeyed(streamId, newEvents, { expectedVersion }, claim);
      if (outcome.status === 'stored') return replayed(outcome.stored, claim);
      if (outcome.status === 'written') {
        written = { version: outcome.version, position: outcome.position };
      }
    } else {
      if (events.length === 0) {
        return { streamId, version: loaded.version, position: null, events, replayed: false };
      }
      try {
        const result = await store.append(streamId, newEvents, { expectedVersion });
        written = { version: result.lastVersion, position: result.lastPosition };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    if (written) {
      if (events.length > 0) {
        let state = loaded.state;
        for (const event of events) state = decider.evolve(state, event);
        const snapshotBase = loaded.snapshotVersion ?? -1;
        await maybeSnapshot(store, erased, streamId, snapshotBase, written.version, state);
      }
      return { streamId, ...written, events, replayed: false };
    }
    // Spread the retries of writers that collided, so they do not collide again.
    await sleep(Math.random() * 5 * attempt);
  }
  throw new ConcurrencyRetriesExhaustedError(streamId, maxAttempts);
}

function claimOf(idempotency: CommandIdempotency): IdempotencyClaim {
  return {
    key: assertIdempotencyKey(idempotency.key, 'idempotency.key'),
    hash: requestHash(idempotency.request, 'idempotency.request'),
  };
}

/** The stored result as this call's answer, once the request is known to be the same. */
function replayed(stored: StoredCommandKey, claim: IdempotencyClaim): CommandResult {
  const { streamId, version, position } = replayOf(stored, claim);
  return { streamId, version, position, events: [], replayed: true };
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
