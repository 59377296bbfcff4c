import { type AnyProjection, InvalidInputError, isCounterProjection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import {
  listParkedEvents,
  readRegisteredProjection,
  retryParkedEvent,
  setProjectionPaused,
  skipParkedEvent,
} from '@refract/projector';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { projectionNotFound } from '../errors.js';
import type { AdminOverview } from '../overview.js';
import { parkedId, projectionName } from '../params.js';

/** Looks a projection up in the registry: 400 naming `name` when malformed, 404 when unknown. */
export function registeredProjection(pool: pg.Pool) {
  return async (name: string) => {
    const found = await readRegisteredProjection(pool, projectionName(name));
    if (!found) throw projectionNotFound(name);
    return found;
  };
}

type NameParams = { Params: { name: string } };
type ParkedParams = { Params: { name: string; id: string } };

/** Projections: status and lag, pause and resume, parked events. */
export function registerProjectionRoutes(
  app: FastifyInstance,
  options: { store: EventStore; overview: AdminOverview; projections: readonly AnyProjection[] },
): void {
  const { store, overview } = options;
  const catalog = new Map(options.projections.map((p) => [p.name, p]));

  const registered = registeredProjection(store.pool);

  app.get('/api/projections', () => overview.projections());

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post<NameParams>(`/api/projections/:name/${action}`, async (request) => {
      const name = projectionName(request.params.name);
      const updated = await setProjectionPaused(store.pool, name, paused);
      if (!updated) throw projectionNotFound(name);
      request.log.info(
        { projection: name, paused },
        paused ? 'projection paused' : 'projection resumed',
      );
      return { name: updated.name, pool: updated.pool, version: updated.liveVersion, paused };
    });
  }

  app.get<NameParams>('/api/projections/:name/parked', async (request) => {
    const { name } = await registered(request.params.name);
    return listParkedEvents(store, name, { includeResolved: true });
  });

  app.post<ParkedParams>('/api/projections/:name/parked/:id/retry', async (request) => {
    const { name } = await registered(request.params.name);
    const id = parkedId(request.params.id);
    // Applying needs the handler, which only the code has.
    const projection = catalog.get(name);
    if (!projection) throw projectionNotFound(name);
    if (isCounterProjection(projection)) {
      // Its counters move only with their checkpoint, in one Redis script per batch.
      throw new InvalidInputError(
        'name',
        'is a counter projection: its parked events can be skipped, not retried',
      );
    }
    const retried = await retryParkedEvent(store, projection, id);
    request.log.info({ projection: name, parkedEventId: id }, 'parked event retried');
    return retried;
  });

  app.post<ParkedParams>('/api/projections/:name/parked/:id/skip', async (request) => {
    const { name } = await registered(request.params.name);
    const id = parkedId(request.params.id);
    const skipped = await skipParkedEvent(store, name, id);
    request.log.info({ projection: name, parkedEventId: id }, 'parked event skipped');
    return skipped;
  });
}
