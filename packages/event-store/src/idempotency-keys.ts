import { createHash } from 'node:crypto';
import { IdempotencyKeyConflictError, InvalidInputError } from '@refract/core';
import canonicalize from 'canonicalize';
import type pg from 'pg';
import type { AppendRequest } from './append-request.js';
import { EVENTS_CHANNEL, encodeExpected, eventColumns } from './group-commit.js';
import { SQL } from './sql.js';

/** How long a command's idempotency key is kept when nothing else is said: 24 hours. */
export const DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS = 86_400;

/** 1 to 200 visible ASCII characters (no space, no control character). */
const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/** At most this many expired keys are deleted by one sweep statement. */
const SWEEP_LIMIT = 1000;
/** A sweep that found fewer than SWEEP_LIMIT keys waits this long before the next. */
const SWEEP_INTERVAL_MS = 60_000;

/** Validates an idempotency key: 1 to 200 visible ASCII characters. */
export function assertIdempotencyKey(value: unknown, field = 'idempotencyKey'): string {
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
    throw new InvalidInputError(field, 'must be 1 to 200 visible ASCII characters');
  }
  return value;
}

/**
 * SHA-256 of the request's canonical JSON (RFC 8785: keys sorted, no
 * whitespace, numbers in their shortest form), so two requests are "the
 * same" exactly when they are equal as JSON values.
 */
export function requestHash(request: unknown, field = 'idempotency.request'): Buffer {
  let text: string | undefined;
  try {
    text = canonicalize(request);
  } catch (error) {
    throw new InvalidInputError(field, `must be a JSON value (${(error as Error).message})`);
  }
  if (text === undefined) throw new InvalidInputError(field, 'must be a JSON value');
  return createHash('sha256').update(text).digest();
}

/** The TTL to use: the default when unset; refused unless a positive number of seconds. */
export function idempotencyKeyTtl(seconds: number | undefined): number {
  const ttl = seconds ?? DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS;
  if (!(Number.isFinite(ttl) && ttl > 0)) {
    throw new InvalidInputError('idempotencyKeyTtlSeconds', 'must be a positive number');
  }
  return ttl;
}

/** A key and the hash of what it stands for. */
export interface IdempotencyClaim {
  key: string;
  hash: Buffer;
}

/** What a live key holds: its first command's result and request hash. */
export interface StoredCommandKey {
  streamId: string;
  version: number;
  /** Position of the command's last event; null when it wrote nothing. */
  position: number | null;
  requestHash: Buffer;
}

export type KeyedAppendOutcome =
  | { status: 'written'; version: number; position: number | null }
  | { status: 'stored'; stored: StoredCommandKey }
  | { status: 'wrong_version'; actual: number };

/**
 * The stored result for `claim`, checked against its hash: the same request
 * gets it back, another request with the key is an IdempotencyKeyConflictError.
 */
export function replayOf(stored: StoredCommandKey, claim: IdempotencyClaim): StoredCommandKey {
  if (!stored.requestHash.equals(claim.hash)) throw new IdempotencyKeyConflictError(claim.key);
  return stored;
}

export interface IdempotencyKeyOptions {
  /** @defaultValue DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS */
  ttlSeconds?: number;
  /** Called once per committed keyed append that wrote events, like group commit's `onCommit`. */
  onCommit?: (appends: number, events: number, durationMs: number) => void;
  /** Called after each background sweep of expired keys: how many went, or why it failed. */
  onSweep?: (outcome: { deleted: number } | { error: unknown }) => void;
}

interface KeyRow {
  status?: KeyedAppendOutcome['status'];
  stream_id: string;
  version: number;
  position: number | null;
  request_hash: Buffer;
}

function storedOf(row: KeyRow): StoredCommandKey {
  return {
    streamId: row.stream_id,
    version: row.version,
    position: row.position,
    requestHash: row.request_hash,
  };
}

/**
 * The `refract.idempotency_keys` table: lookups, keyed appends (their own
 * transaction, outside group commit) and the sweep of expired keys, which
 * runs in the background after a keyed append at most once a minute (at
 * once again while it keeps finding a full batch), never on unkeyed appends.
 */
export class IdempotencyKeys {
  readonly ttlSeconds: number;
  private nextSweepAt = 0;
  private sweeping: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: IdempotencyKeyOptions = {},
  ) {
    this.ttlSeconds = idempotencyKeyTtl(options.ttlSeconds);
  }

  /** The live key's stored result, or undefined when it is absent or expired. */
  async find(key: string): Promise<StoredCommandKey | undefined> {
    const result = await this.pool.query<KeyRow>({
      name: 'refract-find-idempotency-key',
      text: SQL.findIdempotencyKey,
      values: [key],
    });
    const row = result.rows[0];
    return row ? storedOf(row) : undefined;
  }

  /**
   * Claims the key, appends the request (which may hold no events) and
   * records the result, in one transaction. A live key is answered with what
   * it holds and nothing is written; a wrong expected version keeps nothing.
   */
  async append(
    request: AppendRequest,
    partition: number,
    claim: IdempotencyClaim,
  ): Promise<KeyedAppendOutcome> {
    const started = performance.now();
    const { events } = request;
    const result = await this.pool.query<KeyRow>({
      name: 'refract-append-keyed',
      text: SQL.appendKeyed,
      values: [
        claim.key,
        claim.hash,
        this.ttlSeconds,
        request.streamId,
        partition,
        encodeExpected(request.expectedVersion),
        ...eventColumns(events),
        EVENTS_CHANNEL,
      ],
    });
    const row = result.rows[0]!;
    switch (row.status) {
      case 'stored':
        return { status: 'stored', stored: storedOf(row) };
      case 'wrong_version':
        return { status: 'wrong_version', actual: row.version };
      default:
        if (events.length > 0) {
          this.options.onCommit?.(1, events.length, performance.now() - started);
        }
        this.maybeSweep();
        return { status: 'written', version: row.version, position: row.position };
    }
  }

  /** Deletes up to `limit` expired keys, oldest first; returns how many. */
  async deleteExpired(limit = SWEEP_LIMIT): Promise<number> {
    const result = await this.pool.query<{ deleted: number }>(SQL.deleteExpiredKeys, [limit]);
    return result.rows[0]!.deleted;
  }

  /** Stops sweeping and waits for a sweep in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await this.sweeping;
  }

  private maybeSweep(): void {
    if (this.sweeping || this.closed || Date.now() < this.nextSweepAt) return;
    this.sweeping = this.deleteExpired()
      .then(
        (deleted) => {
          // A full batch means more may be waiting: the next keyed append sweeps again.
          this.nextSweepAt = deleted < SWEEP_LIMIT ? Date.now() + SWEEP_INTERVAL_MS : 0;
          this.options.onSweep?.({ deleted });
        },
        (error: unknown) => {
          this.nextSweepAt = Date.now() + SWEEP_INTERVAL_MS;
          this.options.onSweep?.({ error });
        },
      )
      .finally(() => {
        this.sweeping = undefined;
      });
  }
}
