import { writeApi } from '@refract/contract';
import {
  type AnyCommandRoute,
  assertStreamId,
  InvalidInputError,
  RefractError,
  UnknownCommandError,
} from '@refract/core';
import { type EventStore, handleCommand } from '@refract/event-store';
import { contextFromCarrier, inSpan, SpanKind, toCarrier } from '@refract/observability';
import type { ContractApp } from '@refract/service-kit';
import type { WriteApiMetrics } from '../metrics.js';
import { isClientError, traceStamp } from '../trace-metadata.js';

export function registerCommandRoutes(
  app: ContractApp,
  store: EventStore,
  catalog: readonly AnyCommandRoute[],
  metrics: WriteApiMetrics,
): void {
  // A Map, not an object: `constructor` or `__proto__` must not find anything.
  const routes = new Map<string, AnyCommandRoute>();
  for (const route of catalog) {
    if (routes.has(route.type)) throw new Error(`command type ${route.type} is routed twice`);
    routes.set(route.type, route);
  }

  const { command: commandRoute } = writeApi.writeApiRoutes;
  app.post(commandRoute.url, { schema: commandRoute.schema }, async (request, reply) => {
    const route = routes.get(request.params.commandType);
    if (!route) throw new UnknownCommandError(request.params.commandType);
    let outcome = 'error';
    const { traceparent, tracestate } = request.headers;
    const parent = contextFromCarrier({ traceparent, tracestate });
    const attributes = { 'refract.command': route.type };
    return inSpan(
      'command',
      { parent, kind: SpanKind.SERVER, attributes, expected: isClientError },
      async (span) => {
        try {
          const key = request.headers['idempotency-key'];
          const command = parse(route, request.body);
          const streamId = route.streamId(command);
          // Checked before loading: a stream id Postgres cannot hold must fail as input, not in SQL.
          assertStreamId(streamId, 'streamId');
          // The body as received stands for the request: what toCommand stamps
          // (a default time, say) differs between retries of one request.
          const result = await handleCommand(store, route.decider, streamId, command, {
            // As an append's: the events continue this span's trace.
            metadata: traceStamp(toCarrier(span.spanContext()), request.id)({}),
            ...(key !== undefined && {
              idempotency: { key, request: { commandType: route.type, body: request.body } },
            }),
          });
          outcome = result.replayed ? 'replayed' : 'ok';
          if (result.replayed) reply.header(writeApi.IDEMPOTENT_REPLAYED_HEADER, 'true');
          return { streamId: result.streamId, version: result.version, position: result.position };
        } catch (error) {
          if (error instanceof RefractError) outcome = error.code;
          throw error;
        } finally {
          metrics.commands.inc({ command: route.type, outcome });
          span.setAttribute('refract.outcome', outcome);
        }
      },
    );
  });

  /**
   * A route's `parse` promises InvalidInputError for bad input. Whatever else
   * it throws is still about the input, so it is answered as a 400 rather
   * than a 500; the log keeps the original for whoever owns the route.
   */
  function parse(route: AnyCommandRoute, body: unknown): unknown {
    try {
      return route.parse(body);
    } catch (error) {
      if (error instanceof RefractError) throw error;
      app.log.warn({ err: error, command: route.type }, 'command parse threw a non-Refract error');
      throw new InvalidInputError('body', `is not a valid ${route.type} command`);
    }
  }
}
