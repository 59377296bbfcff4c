import { isTransientError } from './connection-error.js';
import type { DomainEvent } from './decider.js';
import type { JsonValue, RecordedEvent } from './envelope.js';
import type { Recorded } from './projection.js';

/** What a reactor's handler is given beside its event. */
export interface ReactorContext {
  /**
   * Runs `fn` (a call to the outside world) unless the effect ledger holds
   * `key` as done for this reactor: then `fn` does not run and the result
   * stored when it did (or undefined) is returned. The done mark commits with
   * the reactor's checkpoint; a crash between `fn` and that commit leaves
   * the key attempted but not done, and `fn` runs once more on restart.
   * Keys are the reactor's own: one per effect that must happen once (e.g.
   * `shipping-notice:<orderId>`). The result is stored as JSON (undefined as null).
   */
  effect<T>(key: string, fn: () => Promise<T> | T): Promise<T | undefined>;
  reactor: string;
  partition: number;
}

/**
 * A consumer whose handlers call the outside world (webhooks, mail, search
 * indexes) through `ctx.effect`. It runs in a worker pool like a projection
 * (partitions, leases, ordering, parking, pause, breaker) but owns no
 * tables, starts at the head of the log when first registered, and is never
 * run by a rebuild.
 */
export interface Reactor {
  kind: 'reactor';
  name: string;
  pool?: string;
  handles: readonly string[];
  handle(event: RecordedEvent, ctx: ReactorContext): Promise<void>;
  /** @see Projection.onError */
  onError: 'park' | 'halt';
  /** Attempts of a batch failing on transient errors before the runner backs off. */
  maxAttempts: number;
  retryBackoffMs: number;
  tripAfterParked?: number;
}

/** One handler per event type, each given its own typed payload. */
export type ReactorHandlers<E extends DomainEvent> = {
  [Type in E['type']]?: (
    event: Recorded<Extract<E, { type: Type }>>,
    ctx: ReactorContext,
  ) => Promise<void> | void;
};

export interface ReactorDefinition<E extends DomainEvent = DomainEvent> {
  name: string;
  pool?: string;
  handlers: ReactorHandlers<E>;
  /** @defaultValue 'park' */
  onError?: 'park' | 'halt';
  /** @defaultValue 5 */
  maxAttempts?: number;
  /** @defaultValue 200 */
  retryBackoffMs?: number;
  tripAfterParked?: number;
}

const NAME = /^[a-z][a-z0-9_]{0,40}$/;

export function defineReactor<E extends DomainEvent = DomainEvent>(
  definition: ReactorDefinition<E>,
): Reactor {
  if (!NAME.test(definition.name)) {
    throw new Error(`reactor names must match ${NAME}: ${definition.name}`);
  }
  const handlers = definition.handlers as Record<
    string,
    ((event: RecordedEvent, ctx: ReactorContext) => Promise<void> | void) | undefined
  >;
  return {
    kind: 'reactor',
    name: definition.name,
    pool: definition.pool,
    handles: Object.keys(handlers),
    handle: async (event, ctx) => {
      await handlers[event.type]?.(event, ctx);
    },
    onError: definition.onError ?? 'park',
    maxAttempts: definition.maxAttempts ?? 5,
    retryBackoffMs: definition.retryBackoffMs ?? 200,
    tripAfterParked: definition.tripAfterParked,
  };
}

export function isReactor(value: unknown): value is Reactor {
  return typeof value === 'object' && value !== null && (value as Reactor).kind === 'reactor';
}

/**
 * An effect failure worth retrying with backoff rather than parking: the
 * call may succeed later. Thrown by `postJson` and by `ctx.effect` for any
 * failure `isTransientEffectError` accepts.
 */
export class TransientEffectError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientEffectError';
  }
}

/** Node's network failures: the peer may answer later. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The rule for effects: transient when `isTransientError` says so (a lost
 * database, a deadlock), when it is a TransientEffectError, a network
 * failure (its `code`, or its `cause`'s as fetch reports it), a timeout or
 * abort, or an HTTP answer of 429 or 5xx (`status` or `statusCode`).
 * Anything else (a 4xx, a handler's own throw) is deterministic: the same
 * event fails the same way, so it is parked.
 */
export function isTransientEffectError(error: unknown): boolean {
  if (error instanceof TransientEffectError || isTransientError(error)) return true;
  for (let e: unknown = error, depth = 0; e && depth < 3; depth += 1) {
    const { code, name, status, statusCode, cause } = e as {
      code?: unknown;
      name?: unknown;
      status?: unknown;
      statusCode?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    const http = typeof status === 'number' ? status : statusCode;
    if (typeof http === 'number' && (http === 429 || http >= 500)) return true;
    e = cause;
  }
  return false;
}

/** An HTTP answer an effect did not want; transient for 429 and 5xx. */
export class EffectHttpError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`POST ${url} answered ${status}`);
    this.name = 'EffectHttpError';
  }
}

/**
 * POSTs `body` as JSON to `url` and returns the answer's status; a non-2xx
 * answer throws EffectHttpError (transient for 429 and 5xx), no answer
 * within `timeoutMs` a TimeoutError (transient).
 */
export async function postJson(
  url: string,
  body: JsonValue,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  await response.body?.cancel();
  if (!response.ok) throw new EffectHttpError(response.status, url);
  return response.status;
}
