/**
 * Given/when/then for deciders: pure, no database, no driver. This module is
 * the `@refract/testing/decider` entry point and imports nothing but
 * node:assert and node:util, so a user's domain test loads neither pg nor
 * ioredis (the package's main entry does).
 *
 * It types deciders structurally rather than importing `Decider` from
 * `@refract/core`, so it works with any object of that shape and the
 * package keeps no run-time tie to core.
 */
import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';

/** What the kit needs of a decider; every `defineDecider` result fits. */
export interface SpecDecider<Command, Event, State> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
}

/** Any error class, e.g. `RuleViolatedError`. */
// biome-ignore lint/suspicious/noExplicitAny: a constructor of any arity
export type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * What `thenThrows` expects: an error code (`'rule_violated'`, matched on
 * the error's `code`), an error class, or several of these at once plus the
 * message (a substring or a RegExp) and `details` (deep-equal).
 */
export type ErrorExpectation =
  | string
  | ErrorClass
  | {
      code?: string;
      type?: ErrorClass;
      message?: string | RegExp;
      details?: Record<string, unknown>;
    };

export interface DeciderSpec<Command, Event, State> {
  /** The history, in order, the command is decided on. */
  given(events: readonly Event[]): Given<Command, Event, State>;
  /** A command on a new stream: `given([])`. */
  when(command: Command): When<Event, State>;
}

export interface Given<Command, Event, State> {
  when(command: Command): When<Event, State>;
}

export interface When<Event, State> {
  /**
   * Asserts that deciding produced exactly `expected`, in order (`[]` for
   * nothing), compared as stored: as JSON. Returns the produced events.
   */
  thenEvents(expected: readonly Event[]): Event[];
  /** Asserts that deciding threw as `expected` says; returns the error. */
  thenThrows(expected: ErrorExpectation): Error;
  /**
   * Asserts the state the given events and the produced ones fold into
   * (after `decide` did not throw). Returns that state.
   */
  thenState(expected: State): State;
}

/**
 * `deciderSpec(orderDecider).given([placed]).when(ship).thenEvents([shipped])`:
 * folds the given events with `evolve` from `initialState()`, calls
 * `decide`, and throws an `AssertionError` that says what was expected and
 * what came out when they differ.
 */
export function deciderSpec<Command, Event, State>(
  decider: SpecDecider<Command, Event, State>,
): DeciderSpec<Command, Event, State> {
  const given = (events: readonly Event[]): Given<Command, Event, State> => ({
    when: (command) => whenCommand(decider, events, command),
  });
  return { given, when: (command) => given([]).when(command) };
}

type Outcome<Event> = { ok: true; events: Event[] } | { ok: false; error: unknown };

function whenCommand<Command, Event, State>(
  decider: SpecDecider<Command, Event, State>,
  history: readonly Event[],
  command: Command,
): When<Event, State> {
  const label = `${describeType(command)} on ${describeHistory(history)}`;
  // Decided on first use, so each assertion sees the same single call.
  let outcome: Outcome<Event> | undefined;
  const decided = (): Outcome<Event> => {
    if (outcome) return outcome;
    const state = fold(decider, decider.initialState(), history, 'given');
    try {
      outcome = { ok: true, events: decider.decide(command, state) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    return outcome;
  };
  const producedEvents = (expectation: string, expected: unknown): Event[] => {
    const result = decided();
    if (result.ok) return result.events;
    fail(
      `${label}: expected ${expectation}, but decide threw ${describeError(result.error)}`,
      result.error,
      expected,
    );
  };

  return {
    thenEvents(expected) {
      const events = producedEvents(`events ${json(expected)}`, expected);
      assertJsonEqual(`${label}: the events decided`, events, expected);
      return events;
    },
    thenThrows(expected) {
      const result = decided();
      if (result.ok) {
        fail(
          `${label}: expected decide to throw ${describeExpectation(expected)}, but it returned ${json(result.events)}`,
          result.events,
          expected,
        );
      }
      const problem = errorMismatch(result.error, expected);
      if (problem) {
        fail(
          `${label}: expected decide to throw ${describeExpectation(expected)}, but it threw ${describeError(result.error)}: ${problem}`,
          result.error,
          expected,
        );
      }
      return result.error as Error;
    },
    thenState(expected) {
      const events = producedEvents(`the state ${json(expected)}`, expected);
      const state = fold(decider, decider.initialState(), [...history, ...events], 'folded');
      assertJsonEqual(`${label}: the state after`, state, expected);
      return state;
    },
  };
}

function fold<Command, Event, State>(
  decider: SpecDecider<Command, Event, State>,
  initial: State,
  events: readonly Event[],
  which: string,
): State {
  let state = initial;
  for (const [index, event] of events.entries()) {
    try {
      state = decider.evolve(state, event);
    } catch (error) {
      // A broken history is the test's fault, not an expectation's: say which event.
      throw new Error(
        `evolve threw on ${which} event ${index} (${describeType(event)}): ${describeError(error)}`,
        { cause: error },
      );
    }
  }
  return state;
}

function assertJsonEqual(what: string, actual: unknown, expected: unknown): void {
  const stored = asJson(actual);
  const wanted = asJson(expected);
  if (isDeepStrictEqual(stored, wanted)) return;
  const where = firstDifference(stored, wanted, '');
  fail(
    `${what} differ${where ? ` at ${where.path || '(root)'}: expected ${json(where.expected)}, got ${json(where.actual)}` : ''}\n` +
      `expected: ${json(wanted, 2)}\n` +
      `actual:   ${json(stored, 2)}`,
    stored,
    wanted,
  );
}

/** Events and snapshots are stored as JSON, so `undefined` fields and key order do not count. */
function asJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Stands for the element past the end of the shorter array. */
const NOTHING = Symbol('nothing');

type Difference = { path: string; actual: unknown; expected: unknown };

function firstDifference(actual: unknown, expected: unknown, path: string): Difference | null {
  if (isDeepStrictEqual(actual, expected)) return null;
  const bothArrays = Array.isArray(actual) && Array.isArray(expected);
  const bothObjects =
    isRecord(actual) && isRecord(expected) && !Array.isArray(actual) && !Array.isArray(expected);
  if (bothArrays) {
    const length = Math.max(actual.length, expected.length);
    for (let i = 0; i < length; i++) {
      const found = firstDifference(
        i < actual.length ? actual[i] : NOTHING,
        i < expected.length ? expected[i] : NOTHING,
        `${path}[${i}]`,
      );
      if (found) return found;
    }
  } else if (bothObjects) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      const found = firstDifference(actual[key], expected[key], `${path}.${key}`);
      if (found) return found;
    }
  }
  return { path, actual, expected };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function errorMismatch(error: unknown, expected: ErrorExpectation): string | null {
  const matcher = typeof expected === 'object' ? expected : toMatcher(expected);
  const actual = error as { code?: unknown; message?: unknown; details?: unknown };
  if (matcher.type && !(error instanceof matcher.type)) {
    return `it is not a ${matcher.type.name}`;
  }
  if (matcher.code !== undefined && actual?.code !== matcher.code) {
    return `its code is ${json(actual?.code)}, not ${json(matcher.code)}`;
  }
  const message = String(actual?.message);
  if (typeof matcher.message === 'string' && !message.includes(matcher.message)) {
    return `its message does not contain ${json(matcher.message)}`;
  }
  if (matcher.message instanceof RegExp && !matcher.message.test(message)) {
    return `its message does not match ${matcher.message}`;
  }
  if (matcher.details !== undefined && !isDeepStrictEqual(actual?.details, matcher.details)) {
    return `its details are ${json(actual?.details)}, not ${json(matcher.details)}`;
  }
  return null;
}

function toMatcher(expected: string | ErrorClass): Exclude<ErrorExpectation, string | ErrorClass> {
  return typeof expected === 'string' ? { code: expected } : { type: expected };
}

function describeExpectation(expected: ErrorExpectation): string {
  const matcher = typeof expected === 'object' ? expected : toMatcher(expected);
  const parts = [
    matcher.type?.name,
    matcher.code !== undefined && `code ${json(matcher.code)}`,
    matcher.message !== undefined &&
      `message ${matcher.message instanceof RegExp ? matcher.message : json(matcher.message)}`,
    matcher.details !== undefined && `details ${json(matcher.details)}`,
  ].filter(Boolean);
  return parts.length > 0 ? `an error with ${parts.join(', ')}` : 'an error';
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return json(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${code !== undefined ? ` (${String(code)})` : ''}: ${error.message}`;
}

function describeType(value: unknown): string {
  const type = (value as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : json(value);
}

function describeHistory(history: readonly unknown[]): string {
  if (history.length === 0) return 'no events';
  return `[${history.map(describeType).join(', ')}]`;
}

function json(value: unknown, indent?: number): string {
  if (value === NOTHING) return 'nothing';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return value.name || 'a function';
  return JSON.stringify(value, null, indent) ?? String(value);
}

function fail(message: string, actual: unknown, expected: unknown): never {
  // AssertionError with actual/expected: vitest and jest also print their own diff.
  throw new AssertionError({ message, actual, expected, operator: 'deciderSpec' });
}
