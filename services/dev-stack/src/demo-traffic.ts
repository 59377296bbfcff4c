import { setTimeout as sleep } from 'node:timers/promises';
import {
  generateWorkload,
  type OrderEvent,
  WORKLOAD_EVENTS_PER_ORDER,
  workloadOrderCount,
} from '@refract/example-orders';
import type { Logger } from '@refract/observability';

/** One request of the demo traffic: `POST /commands/{type}` with `body`. */
export interface DemoCommand {
  type: 'PlaceOrder' | 'AddItem' | 'ShipOrder' | 'CancelOrder';
  orderId: string;
  body: Record<string, string | number>;
}

export interface DemoCommandOptions {
  seed: number;
  /** Orders open at once (the workload's concurrency). */
  openOrders: number;
  /** Makes this run's order ids unique, so a restart on kept data places new orders. */
  runId: string;
}

/**
 * Every demo request carries `X-Request-Id: demo-…`, which write-api keeps
 * as the request id of its log line: the stack can tell demo requests apart
 * and leave their lines out (the status line sums them up).
 */
export const DEMO_REQUEST_ID_PREFIX = 'demo-';

/** Orders per generated chunk; the workload closes every order of a chunk within it. */
const CHUNK_ORDERS = 1_000;
const CHUNK_EVENTS = CHUNK_ORDERS * WORKLOAD_EVENTS_PER_ORDER;

/** The command whose accepted result is `event` (the workload describes outcomes, the API takes commands). */
export function commandFor(event: OrderEvent, orderId: string): DemoCommand {
  switch (event.type) {
    case 'OrderPlaced':
      // placedAt left out: the write API stamps the time of the request.
      return { type: 'PlaceOrder', orderId, body: { orderId, customerId: event.data.customerId } };
    case 'ItemAdded': {
      const { sku, qty, unitPrice } = event.data;
      return { type: 'AddItem', orderId, body: { orderId, sku, qty, unitPrice } };
    }
    case 'OrderShipped':
      return {
        type: 'ShipOrder',
        orderId,
        body: { orderId, trackingNumber: event.data.trackingNumber },
      };
    case 'OrderCancelled':
      return { type: 'CancelOrder', orderId, body: { orderId, reason: event.data.reason } };
  }
}

/**
 * An endless, seeded sequence of order lifecycles: the reference workload of
 * WORKLOAD.md (place, add 1..n items, then ship ~80% / cancel ~20%, many
 * orders interleaved) turned into commands, chunk after chunk. Every command
 * is valid for its order's state when the commands of one order are sent in
 * sequence, so the domain refuses none.
 */
export function* demoCommands(options: DemoCommandOptions): Generator<DemoCommand, never> {
  const ordersPerChunk = workloadOrderCount(CHUNK_EVENTS);
  for (let chunk = 0; ; chunk++) {
    const workload = generateWorkload({
      events: CHUNK_EVENTS,
      seed: (options.seed + chunk) | 0,
      concurrency: options.openOrders,
    });
    for (const { event } of workload) {
      const n = chunk * ordersPerChunk + Number(event.data.orderId);
      yield commandFor(event, `demo-${options.runId}-${n}`);
    }
  }
}

export interface DemoTrafficOptions extends DemoCommandOptions {
  /** The write API, e.g. `http://127.0.0.1:4000`. */
  baseUrl: string;
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

export interface DemoTraffic {
  stats(): DemoStats;
  /** Stops sending, lets in-flight commands finish (briefly), logs a last status; idempotent. */
  close(): Promise<void>;
}

/** At most this many error lines per status interval; the status line counts them all. */
const ERROR_LOGS_PER_INTERVAL = 5;
/** How long close() lets in-flight commands finish before it aborts them. */
const DRAIN_MS = 5_000;

/**
 * Sends demo commands at a steady rate. Commands of one order go one after
 * another (each waits for the previous answer); different orders overlap,
 * so the rate holds even when one request is slow.
 */
export function startDemoTraffic(options: DemoTrafficOptions): DemoTraffic {
  const { logger, ratePerSecond, baseUrl } = options;
  const maxInFlight = options.maxInFlight ?? 64;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const stats: DemoStats = { sent: 0, ok: 0, refused: 0, errors: 0 };
  const stopSending = new AbortController();
  const abortRequests = new AbortController();
  const inFlight = new Set<Promise<void>>();
  /** The last command queued per order: the next one of that order waits for it. */
  const tails = new Map<string, Promise<void>>();
  let errorLogs = 0;
  let requests = 0;

  const logError = (message: string, fields: Record<string, unknown>) => {
    if (errorLogs++ < ERROR_LOGS_PER_INTERVAL) logger.warn(fields, message);
  };

  const send = async (command: DemoCommand): Promise<void> => {
    if (stopSending.signal.aborted) return;
    stats.sent++;
    try {
      const response = await fetch(`${baseUrl}/commands/${command.type}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': `${DEMO_REQUEST_ID_PREFIX}${options.runId}-${++requests}`,
        },
        body: JSON.stringify(command.body),
        signal: AbortSignal.any([abortRequests.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      const text = await response.text();
      if (response.ok) {
        stats.ok++;
      } else if (response.status === 422) {
        stats.refused++;
        logger.debug({ command: command.type, orderId: command.orderId, answer: text }, 'refused');
      } else {
        stats.errors++;
        logError('demo command failed', {
          command: command.type,
          orderId: command.orderId,
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
        orderId: command.orderId,
        reason: describeError(error),
      });
    }
  };

  const dispatch = (command: DemoCommand) => {
    const previous = tails.get(command.orderId) ?? Promise.resolve();
    const request = previous.then(() => send(command));
    tails.set(command.orderId, request);
    inFlight.add(request);
    void request.finally(() => {
      inFlight.delete(request);
      if (tails.get(command.orderId) === request) tails.delete(command.orderId);
    });
  };

  const loop = (async () => {
    const intervalMs = 1000 / ratePerSecond;
    let next = performance.now();
    for (const command of demoCommands(options)) {
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
    { ratePerSecond, seed: options.seed, openOrders: options.openOrders, runId: options.runId },
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
