import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyCommandRoute, DemoCommand, DemoTraffic } from '@refract/core';
import type { Logger } from '@refract/observability';

/**
 * Every demo request carries `X-Request-Id: demo-…`, which write-api keeps
 * as the request id of its log line: the stack can tell demo requests apart
 * and leave their lines out (the status line sums them up).
 */
export const DEMO_REQUEST_ID_PREFIX = 'demo-';

/**
 * The stream a command lands on, by the application's own routes, so that
 * the commands of one stream can be sent one after another. Undefined for a
 * command no route parses: it goes out unordered, to be answered 4xx.
 */
export function streamOfCommand(
  commands: readonly AnyCommandRoute[],
): (command: DemoCommand) => string | undefined {
  const routes = new Map(commands.map((route) => [route.type, route]));
  return (command) => {
    const route = routes.get(command.type);
    if (!route) return undefined;
    try {
      return route.streamId(route.parse(command.body));
    } catch {
      return undefined;
    }
  };
}

/** The commands of every demo, taking turns; a demo that ends drops out. */
export function* demoCommands(
  demos: readonly DemoTraffic[],
  options: { seed: number; runId: string },
): Generator<DemoCommand, void> {
  let running = demos.map((demo) => demo.commands(options));
  while (running.length > 0) {
    const next: Iterator<DemoCommand>[] = [];
    for (const iterator of running) {
      const result = iterator.next();
      if (result.done) continue;
      next.push(iterator);
      yield result.value;
    }
    running = next;
  }
}

export interface DemoTrafficOptions {
  /** Sent as `Authorization: Bearer …` when write-api was given a token (WRITE_API_TOKEN). */
  token?: string;
  /** The write API, e.g. `http://127.0.0.1:4000`. */
  baseUrl: string;
  /** The application's demos (`app.demos`). */
  demos: readonly DemoTraffic[];
  /** Which stream a command lands on (`streamOfCommand(app.commands)`): one stream's commands go in order. */
  streamOf: (command: DemoCommand) => string | undefined;
  seed: number;
  /** Makes this run's ids unique, so a restart on kept data starts new aggregates. */
  runId: string;
  ratePerSecond: number;
  /** A status line is logged this often. */
  statusIntervalMs: number;
  logger: Logger;
  /** Commands awaiting an answer at most; beyond, sending pauses. @defaultValue 64 */
  maxInFlight?: number;
  /** One request's limit. @defaultValue 10000 */
  requestTimeoutMs?: number;
}

export interface DemoStats {
  /** Requests sent (answered or not). */
  sent: number;
  /** Answered 2xx. */
  ok: number;
  /** Answered 422: the domain refused the command. */
  refused: number;
  /** Any other answer, or no answer (connection error, timeout). */
  errors: number;
}

export interface DemoRun {
  stats(): DemoStats;
  /** Stops sending, lets in-flight commands finish (briefly), logs a last status; idempotent. */
  close(): Promise<void>;
}

/** At most this many error lines per status interval; the status line counts them all. */
const ERROR_LOGS_PER_INTERVAL = 5;
/** How long close() lets in-flight commands finish before it aborts them. */
const DRAIN_MS = 5_000;

/**
 * Sends the demos' commands at a steady rate, `POST /commands/{type}`.
 * Commands of one stream go one after another (each waits for the previous
 * answer); different streams overlap, so the rate holds even when one
 * request is slow.
 */
export function startDemoTraffic(options: DemoTrafficOptions): DemoRun {
  const { logger, ratePerSecond, baseUrl } = options;
  const maxInFlight = options.maxInFlight ?? 64;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const stats: DemoStats = { sent: 0, ok: 0, refused: 0, errors: 0 };
  const stopSending = new AbortController();
  const abortRequests = new AbortController();
  const inFlight = new Set<Promise<void>>();
  /** The last command queued per stream: the next one of that stream waits for it. */
  const tails = new Map<string, Promise<void>>();
  let errorLogs = 0;
  let requests = 0;

  const logError = (message: string, fields: Record<string, unknown>) => {
    if (errorLogs++ < ERROR_LOGS_PER_INTERVAL) logger.warn(fields, message);
  };

  const send = async (command: DemoCommand, stream: string | undefined): Promise<void> => {
    if (stopSending.signal.aborted) return;
    stats.sent++;
    try {
      const response = await fetch(`${baseUrl}/commands/${command.type}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': `${DEMO_REQUEST_ID_PREFIX}${options.runId}-${++requests}`,
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        },
        body: JSON.stringify(command.body),
        signal: AbortSignal.any([abortRequests.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      const text = await response.text();
      if (response.ok) {
        stats.ok++;
      } else if (response.status === 422) {
        stats.refused++;
        logger.debug({ command: command.type, stream, answer: text }, 'refused');
      } else {
        stats.errors++;
        logError('demo command failed', {
          command: command.type,
          stream,
          status: response.status,
          answer: text.slice(0, 500),
        });
      }
    } catch (error) {
      // Aborted by close(): the answer is unknown, and not an error of the stack.
      if (abortRequests.signal.aborted) return;
      stats.errors++;
      logError('demo command got no answer', {
        command: command.type,
        stream,
        reason: describeError(error),
      });
    }
  };

  const dispatch = (command: DemoCommand) => {
    const stream = options.streamOf(command);
    const previous = (stream !== undefined && tails.get(stream)) || Promise.resolve();
    const request = previous.then(() => send(command, stream));
    if (stream !== undefined) tails.set(stream, request);
    inFlight.add(request);
    void request.finally(() => {
      inFlight.delete(request);
      if (stream !== undefined && tails.get(stream) === request) tails.delete(stream);
    });
  };

  const loop = (async () => {
    const intervalMs = 1000 / ratePerSecond;
    let next = performance.now();
    for (const command of demoCommands(options.demos, options)) {
      next += intervalMs;
      const wait = next - performance.now();
      try {
        if (wait > 0) await sleep(wait, undefined, { signal: stopSending.signal });
        while (inFlight.size >= maxInFlight) {
          await Promise.race([...inFlight, sleep(1000, undefined, { signal: stopSending.signal })]);
        }
      } catch {
        return; // stopSending aborted a sleep
      }
      if (stopSending.signal.aborted) return;
      // More than a second behind (slow answers): drop the backlog rather than burst.
      if (performance.now() - next > 1000) next = performance.now();
      dispatch(command);
    }
  })();

  let last = { at: performance.now(), sent: 0 };
  const status = () => {
    const now = performance.now();
    const perSecond = ((stats.sent - last.sent) * 1000) / Math.max(1, now - last.at);
    last = { at: now, sent: stats.sent };
    errorLogs = 0;
    logger.info(
      { ...stats, inFlight: inFlight.size, perSecond: Math.round(perSecond * 10) / 10 },
      `demo traffic: ${stats.sent} sent, ${stats.ok} ok, ${stats.refused} refused, ${stats.errors} errors (${perSecond.toFixed(1)}/s)`,
    );
  };
  const timer = setInterval(status, options.statusIntervalMs);
  timer.unref();
  logger.info(
    {
      ratePerSecond,
      seed: options.seed,
      runId: options.runId,
      demos: options.demos.map((demo) => demo.name),
    },
    `demo traffic: ${ratePerSecond} commands/s to ${baseUrl}`,
  );

  let closing: Promise<void> | undefined;
  return {
    stats: () => ({ ...stats }),
    close: () => {
      closing ??= (async () => {
        stopSending.abort();
        await loop;
        const drain = sleep(DRAIN_MS, undefined, { ref: false }).then(() => abortRequests.abort());
        await Promise.race([Promise.allSettled([...inFlight]), drain]);
        abortRequests.abort();
        await Promise.allSettled([...inFlight]);
        clearInterval(timer);
        status();
      })();
      return closing;
    },
  };
}

/** `fetch failed: connect ECONNREFUSED 127.0.0.1:4000`: fetch hides the useful part in `cause`. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}
