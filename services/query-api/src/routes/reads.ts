import { InvalidInputError, partitionOf } from '@refract/core';
import { ID_MAX_LENGTH, ID_PATTERN, orderStreamId } from '@refract/example-orders';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { CheckpointWatcher, PartitionTarget } from '../checkpoints.js';
import { customerNotFound, orderNotFound, QueryApiError, shuttingDown } from '../errors.js';
import type { QueryApiMetrics } from '../metrics.js';
import {
  partitionTargets,
  readCustomerStats,
  readOrderSummary,
  streamTarget,
} from '../read-models.js';

/** The longest a request may ask to wait for a checkpoint. */
export const MAX_TIMEOUT_MS = 60_000;
export const DEFAULT_TIMEOUT_MS = 5000;

/** A query parameter given at most once, as fastify's parser hands it over. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(name, 'must be given once');
  return value;
}

function integerParam(
  query: Record<string, unknown>,
  name: string,
  max: number,
): number | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value > max) {
    throw new InvalidInputError(
      name,
      max === Number.MAX_SAFE_INTEGER
        ? 'must be a non-negative integer'
        : `must be an integer from 0 to ${max}`,
    );
  }
  return value;
}

interface Consistency {
  minPosition: number | undefined;
  timeoutMs: number;
}

function consistencyParams(query: unknown): Consistency {
  const q = (query ?? {}) as Record<string, unknown>;
  return {
    minPosition: integerParam(q, 'minPosition', Number.MAX_SAFE_INTEGER),
    timeoutMs: integerParam(q, 'timeoutMs', MAX_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS,
  };
}

function idParam(name: string, value: string): string {
  if (value.length === 0 || value.length > ID_MAX_LENGTH || !ID_PATTERN.test(value)) {
    throw new InvalidInputError(
      name,
      `must be 1 to ${ID_MAX_LENGTH} characters of letters, digits and _ . : @ -`,
    );
  }
  return value;
}

export interface ReadRouteOptions {
  pool: pg.Pool;
  watcher: CheckpointWatcher;
  partitions: number;
  metrics: QueryApiMetrics;
}

export function registerReadRoutes(app: FastifyInstance, options: ReadRouteOptions): void {
  const { pool, watcher, partitions, metrics } = options;

  /**
   * A position beyond the log's head has not happened yet: no event of the
   * stream is known to be at or below it. A client's own writes are always
   * at or below the head, so this only waits for positions that are still
   * in flight, or never come (a 504). A cheap index probe every 50 ms.
   */
  async function reachHead(
    projection: string,
    consistency: Consistency & { minPosition: number },
  ): Promise<number> {
    const deadline = Date.now() + consistency.timeoutMs;
    for (;;) {
      const head = await pool.query<{ head: string }>(
        'SELECT coalesce(max(position), 0)::text AS head FROM refract.events',
      );
      if (Number(head.rows[0]?.head ?? 0) >= consistency.minPosition) {
        return Math.max(0, deadline - Date.now());
      }
      if (Date.now() >= deadline) {
        throw new QueryApiError(
          504,
          'not_caught_up',
          `position ${consistency.minPosition} is beyond the log's head after ${consistency.timeoutMs} ms`,
          { projection, minPosition: consistency.minPosition, timeoutMs: consistency.timeoutMs },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, deadline - Date.now())));
    }
  }

  /** Waits for the targets or throws the 504 (timeout) or 503 (closing) answer. */
  async function waitFor(
    projection: string,
    targets: PartitionTarget[],
    consistency: Consistency & { minPosition: number },
    what: string,
    remainingMs: number,
  ): Promise<void> {
    const stopTimer = metrics.waitDuration.startTimer({ projection });
    const outcome = await watcher.waitFor(projection, targets, remainingMs);
    stopTimer();
    metrics.waits.inc({ projection, outcome: outcome.ok ? outcome.woken : outcome.reason });
    if (outcome.ok) return;
    if (outcome.reason === 'closed') throw shuttingDown();
    throw new QueryApiError(
      504,
      'not_caught_up',
      `${projection} has not applied ${what} up to position ${consistency.minPosition} within ${consistency.timeoutMs} ms`,
      {
        projection,
        minPosition: consistency.minPosition,
        timeoutMs: consistency.timeoutMs,
        pending: outcome.pending,
      },
    );
  }

  app.get<{ Params: { orderId: string } }>('/orders/:orderId', async (request) => {
    const orderId = idParam('orderId', request.params.orderId);
    const consistency = consistencyParams(request.query);
    if (consistency.minPosition) {
      const wanted = { ...consistency, minPosition: consistency.minPosition };
      const remainingMs = await reachHead('order_summary', wanted);
      const streamId = orderStreamId(orderId);
      const target = await streamTarget(
        pool,
        streamId,
        partitionOf(streamId, partitions),
        consistency.minPosition,
      );
      await waitFor('order_summary', [target], wanted, `every event of ${streamId}`, remainingMs);
    }
    const order = await readOrderSummary(pool, orderId);
    if (!order) throw orderNotFound(orderId);
    return order;
  });

  app.get<{ Params: { customerId: string } }>('/customers/:customerId/stats', async (request) => {
    const customerId = idParam('customerId', request.params.customerId);
    const consistency = consistencyParams(request.query);
    if (consistency.minPosition) {
      const wanted = { ...consistency, minPosition: consistency.minPosition };
      const remainingMs = await reachHead('customer_stats', wanted);
      // A customer's orders live in streams of every partition, so every
      // partition must have applied its events up to minPosition.
      const targets = await partitionTargets(pool, partitions, consistency.minPosition);
      await waitFor('customer_stats', targets, wanted, 'every event', remainingMs);
    }
    const stats = await readCustomerStats(pool, customerId);
    if (!stats) throw customerNotFound(customerId);
    return stats;
  });
}
