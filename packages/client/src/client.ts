import { readYourWrites, writeApi } from '@refract/contract';
import { type BackoffOptions, backoffDelayMs } from '@refract/core';
import { errorBodyOf, RefractHttpError, RefractNetworkError } from './errors.js';

export interface RefractClientOptions {
  /** write-api's base URL, e.g. `http://localhost:4000`. */
  writeUrl: string;
  /** query-api's base URL, for `read`. */
  queryUrl?: string;
  /**
   * Sent as `Authorization: Bearer <token>` to write-api (and to query-api
   * unless `queryToken` is given): a token with the `write` scope, or
   * `read+write` to read through the same client.
   */
  token?: string;
  /** The bearer token for query-api's reads, when it is not `token`. */
  queryToken?: string;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** Retries of a request that got no answer or a 503. @defaultValue 3 */
  retries?: number;
  /** Delays between those retries. @defaultValue base 100 ms, at most 5 s */
  backoff?: BackoffOptions;
  /** A request without an answer by then is aborted (and retried). @defaultValue 30000 */
  timeoutMs?: number;
  /** The fetch to use. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** An event to append: the contract's envelope; `id` is made when absent, so a retry is recognised. */
export type NewEvent = writeApi.NewEvent;
export type ExpectedVersion = writeApi.ExpectedVersion;

export interface AppendOptions {
  /** `any` (the default), `no_stream`, `stream_exists`, or the stream's last version. */
  expectedVersion?: ExpectedVersion;
}

/** An append's answer; `duplicate` when it was a retry of a stored append and wrote nothing. */
export type Appended = writeApi.AppendResult & { duplicate: boolean; eventIds: string[] };

export interface CommandOptions {
  /** The command's idempotency key; one is made when absent, and every retry sends the same. */
  idempotencyKey?: string;
}

/** A command's answer; `replayed` when the server answered from an earlier request with the key. */
export type CommandDone = writeApi.CommandResult & { replayed: boolean; idempotencyKey: string };

export interface ReadStreamOptions {
  /** The first version returned. @defaultValue 0 */
  fromVersion?: number;
  /** Events per page, 1 to 1000. @defaultValue 1000 */
  limit?: number;
  /** Only events appended at or before this time. */
  asOf?: Date | string;
}

/** A page of a stream, with the `fromVersion` of the next one (null at the stream's end). */
export type StreamPage = writeApi.ReadStreamResult & { nextFromVersion: number | null };

export interface ReadOptions {
  /**
   * Wait until the read reflects this write: a position, or an append's or
   * command's answer (its last position). Nothing to wait for when absent.
   */
  after?: number | { lastPosition: number } | { position: number | null };
  /** How long the server may wait; 504 `not_caught_up` after. @defaultValue the server's (5000) */
  timeoutMs?: number;
}

const RETRIED_STATUS = 503;

/** `/streams/:streamId` with its parameters put in, each encoded. */
function pathOf(pattern: string, params: Record<string, string>): string {
  return pattern.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}

function positionOf(after: ReadOptions['after']): number | undefined {
  if (after === undefined || typeof after === 'number') return after;
  if ('lastPosition' in after) return after.lastPosition;
  return after.position ?? undefined;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * A typed client of write-api (and query-api's reads). Its requests and
 * answers are the contract's types (`@refract/contract`), the ones the
 * server's routes are checked against, so a route that changes under it
 * fails the type check. Every failure answer is a `RefractHttpError` with
 * the server's `error` code.
 *
 * Retries are safe by construction: every appended event carries an id
 * (made here when the caller gives none), so a retried append that was
 * stored is answered 200 and stores nothing; every command carries an
 * `Idempotency-Key` (made here when the caller gives none), so a retried
 * command takes effect once. Requests that got no answer, or a 503, are
 * retried with backoff, with the same ids and key.
 */
export class RefractClient {
  private readonly fetch: typeof fetch;
  private readonly retries: number;
  private readonly backoff: BackoffOptions;
  private readonly timeoutMs: number;

  constructor(private readonly options: RefractClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.retries = options.retries ?? 3;
    this.backoff = options.backoff ?? { baseMs: 100, maxMs: 5000 };
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Appends `events` to `streamId`, all or none. */
  async append(
    streamId: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<Appended> {
    const withIds = events.map((event) => ({ ...event, id: event.id ?? crypto.randomUUID() }));
    const body: writeApi.AppendBody = { events: withIds };
    if (options.expectedVersion !== undefined) body.expectedVersion = options.expectedVersion;
    const { url } = writeApi.writeApiRoutes.append;
    const answer = await this.send(this.options.writeUrl, 'POST', pathOf(url, { streamId }), {
      body,
    });
    return {
      ...(answer.body as writeApi.AppendResult),
      duplicate: answer.status === 200,
      eventIds: withIds.map((event) => event.id),
    };
  }

  /** Runs command `type` (one of the application's) with `body`, at most once per key. */
  async command(
    type: string,
    body: Record<string, unknown>,
    options: CommandOptions = {},
  ): Promise<CommandDone> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    const { url } = writeApi.writeApiRoutes.command;
    const answer = await this.send(
      this.options.writeUrl,
      'POST',
      pathOf(url, { commandType: type }),
      { body, headers: { [writeApi.IDEMPOTENCY_KEY_HEADER]: idempotencyKey } },
    );
    return {
      ...(answer.body as writeApi.CommandResult),
      replayed: answer.headers.get(writeApi.IDEMPOTENT_REPLAYED_HEADER) === 'true',
      idempotencyKey,
    };
  }

  /** One page of `streamId`'s events, in version order; 404 `stream_not_found` when it has none. */
  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StreamPage> {
    const query: writeApi.ReadStreamQuery = {};
    if (options.fromVersion !== undefined) query.fromVersion = String(options.fromVersion);
    if (options.limit !== undefined) query.limit = String(options.limit);
    if (options.asOf !== undefined) {
      query.asOf = options.asOf instanceof Date ? options.asOf.toISOString() : options.asOf;
    }
    const { url } = writeApi.writeApiRoutes.readStream;
    const search = new URLSearchParams(query as Record<string, string>).toString();
    const path = pathOf(url, { streamId }) + (search ? `?${search}` : '');
    const page = (await this.send(this.options.writeUrl, 'GET', path))
      .body as writeApi.ReadStreamResult;
    const last = page.events.at(-1);
    const next = last === undefined ? null : last.version + 1;
    return { ...page, nextFromVersion: next !== null && next <= page.version ? next : null };
  }

  /** Every event of `streamId` from `fromVersion` on, page by page. */
  async *readAll(
    streamId: string,
    options: ReadStreamOptions = {},
  ): AsyncGenerator<writeApi.RecordedEvent> {
    let fromVersion: number | null = options.fromVersion ?? 0;
    while (fromVersion !== null) {
      const page = await this.readStream(streamId, { ...options, fromVersion });
      yield* page.events;
      fromVersion = page.nextFromVersion;
    }
  }

  /**
   * GETs `path` of the query API (`/orders/o-1`), waiting until its
   * projection reflects `after` (read-your-writes). The answer is the
   * application's: its type is the caller's `T`. At the timeout the server
   * answers 504 `not_caught_up`, thrown as a RefractHttpError.
   */
  async read<T = unknown>(path: string, options: ReadOptions = {}): Promise<T> {
    const { queryUrl } = this.options;
    if (queryUrl === undefined) throw new Error('RefractClient: read needs queryUrl');
    const headers: Record<string, string> = {};
    const position = positionOf(options.after);
    if (position !== undefined) headers[readYourWrites.MIN_POSITION_HEADER] = String(position);
    if (options.timeoutMs !== undefined) {
      headers[readYourWrites.TIMEOUT_HEADER] = String(options.timeoutMs);
    }
    // The wait is the server's: the request may take that long before its answer.
    const timeoutMs = this.timeoutMs + (options.timeoutMs ?? 5000);
    const token = this.options.queryToken;
    return (await this.send(queryUrl, 'GET', path, { headers, timeoutMs, token })).body as T;
  }

  private async send(
    base: string,
    method: string,
    path: string,
    request: {
      body?: unknown;
      headers?: Record<string, string>;
      timeoutMs?: number;
      /** Instead of `options.token` (query-api's `queryToken`). */
      token?: string;
    } = {},
  ): Promise<Answer> {
    const url = new URL(path, base);
    const token = request.token ?? this.options.token;
    const headers: Record<string, string> = {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...this.options.headers,
      ...request.headers,
    };
    let payload: string | undefined;
    if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(request.body);
    }
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await this.fetch(url, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(request.timeoutMs ?? this.timeoutMs),
        });
      } catch (error) {
        if (attempt < this.retries) {
          await this.pause(attempt);
          continue;
        }
        throw new RefractNetworkError(`${method} ${url.pathname}: no answer`, { cause: error });
      }
      const text = await response.text();
      if (response.status === RETRIED_STATUS && attempt < this.retries) {
        await this.pause(attempt);
        continue;
      }
      if (!response.ok) {
        throw new RefractHttpError(response.status, errorBodyOf(response.status, text));
      }
      return { status: response.status, headers: response.headers, body: JSON.parse(text) };
    }
  }

  private pause(attempt: number): Promise<void> {
    const ms = backoffDelayMs(attempt + 1, this.backoff);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
