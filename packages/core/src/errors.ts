/**
 * Every error Refract raises on purpose carries a stable code. Clients and
 * logs match on the code, never on the message. The HTTP layer maps codes to
 * statuses in one place (see `httpStatusOf`).
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_event'
  | 'wrong_expected_version'
  | 'idempotency_conflict'
  | 'stream_not_found'
  | 'rule_violated'
  | 'unknown_command'
  | 'concurrency_retries_exhausted'
  | 'dependency_unavailable'
  | 'parked_event_not_found'
  | 'already_resolved'
  | 'projection_not_found'
  | 'rebuild_running'
  | 'job_not_found'
  | 'rebuild_not_verifying'
  | 'reactor_not_rebuildable';

export class RefractError extends Error {
  readonly code: ErrorCode;
  /** Extra fields for the client, merged into the JSON error body. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Malformed or invalid input; `field` names the offending part (`events.3.type`). */
export class InvalidInputError extends RefractError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super('invalid_request', `${field} ${problem}`, { field });
  }
}

/**
 * An event the application's schema refuses: an undeclared type (unless the
 * application accepts those), an unknown schema version, or a payload that
 * fails its type's schema. `field` names the part (`events.0.data.qty`).
 */
export class InvalidEventError extends RefractError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super('invalid_event', `${field} ${problem}`, { field });
  }
}

export class WrongExpectedVersionError extends RefractError {
  constructor(
    readonly streamId: string,
    readonly expected: number | string,
    /** The stream's current version, or -1 when it does not exist. */
    readonly actual: number,
  ) {
    super(
      'wrong_expected_version',
      `stream ${streamId} is at version ${actual}, expected ${expected}`,
      { streamId, expected, actual },
    );
  }
}

/** An event id that is already stored in the stream arrived with different content. */
export class IdempotencyConflictError extends RefractError {
  constructor(
    readonly streamId: string,
    readonly eventId: string,
  ) {
    super(
      'idempotency_conflict',
      `event ${eventId} is already stored in stream ${streamId} with different content`,
      { streamId, eventId },
    );
  }
}

/**
 * A command's idempotency key that is stored for one request arrived with
 * another (another command type or body): the same code as a reused event
 * id, since both mean "this key already stands for something else".
 */
export class IdempotencyKeyConflictError extends RefractError {
  constructor(readonly idempotencyKey: string) {
    super(
      'idempotency_conflict',
      `idempotency key ${idempotencyKey} was already used for a different request`,
      { idempotencyKey },
    );
  }
}

export class StreamNotFoundError extends RefractError {
  constructor(readonly streamId: string) {
    super('stream_not_found', `stream ${streamId} does not exist`, { streamId });
  }
}

/** A decider refused a command: a business rule, not a technical failure. */
export class RuleViolatedError extends RefractError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('rule_violated', message, details);
  }
}

export class UnknownCommandError extends RefractError {
  constructor(readonly commandType: string) {
    super('unknown_command', `unknown command type ${commandType}`, {
      field: 'commandType',
      commandType,
    });
  }
}

export class ConcurrencyRetriesExhaustedError extends RefractError {
  constructor(
    readonly streamId: string,
    attempts: number,
  ) {
    super(
      'concurrency_retries_exhausted',
      `stream ${streamId} kept changing; gave up after ${attempts} attempts`,
      { streamId, attempts },
    );
  }
}

export class DependencyUnavailableError extends RefractError {
  constructor(dependency: string, cause?: unknown) {
    super('dependency_unavailable', `${dependency} is unavailable`, { dependency });
    if (cause !== undefined) this.cause = cause;
  }
}

/** A rebuild asked of a reactor (HTTP 409): rebuilds never run reactors; a replay re-runs one. */
export class ReactorNotRebuildableError extends RefractError {
  constructor(readonly reactor: string) {
    super(
      'reactor_not_rebuildable',
      `${reactor} is a reactor, and rebuilds never run reactors: \`refract reactor replay ${reactor} --from <position>\` handles its events again, the ledger suppressing effects already done`,
      { field: 'name', reactor },
    );
  }
}

/**
 * What a projection's batch fold throws to name the event it cannot fold
 * (a payload it cannot read, a sequence no stream produces): the message is
 * the cause's. Optional: the projector finds a refused event without it, by
 * trying prefixes of the batch; with it, one try names it.
 */
export class EventRefusedError extends Error {
  readonly position: number;

  constructor(position: number, cause: unknown) {
    // No stack of its own: the cause's says where the fold failed, and a
    // poison flood makes these by the ten thousand (each stack ~6 µs).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(cause instanceof Error ? cause.message : String(cause), { cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'EventRefusedError';
    this.position = position;
  }
}

/**
 * Calls `fold` on each event in order; what it throws becomes an
 * `EventRefusedError` naming the event: the loop of a batch fold that wants
 * its refusals found in one try.
 */
export function foldEach<E extends { position: number }>(
  events: readonly E[],
  fold: (event: E) => void,
): void {
  for (const event of events) {
    try {
      fold(event);
    } catch (error) {
      throw new EventRefusedError(event.position, error);
    }
  }
}

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_event: 422,
  stream_not_found: 404,
  unknown_command: 404,
  wrong_expected_version: 409,
  idempotency_conflict: 409,
  concurrency_retries_exhausted: 409,
  rule_violated: 422,
  parked_event_not_found: 404,
  already_resolved: 409,
  projection_not_found: 404,
  rebuild_running: 409,
  job_not_found: 404,
  rebuild_not_verifying: 409,
  reactor_not_rebuildable: 409,
  dependency_unavailable: 503,
};

/** The HTTP status that answers an error code: the one place this mapping lives. */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code];
}
