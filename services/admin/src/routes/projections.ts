import { admin } from '@refract/contract';
import { type AnyProjection, InvalidInputError, isCounterProjection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import {
  listParkedEvents,
  readRegisteredProjection,
  retryParkedEvent,
  setProjectionPaused,
  skipParkedEvent,
} from '@refract/projector';
import type { ContractApp } from '@refract/service-kit';
import type pg from 'pg';
import { projectionNotFound } from '../errors.js';
import type { AdminOverview } from '../overview.js';
import { wire } from '../wire.js';

/** Looks a projection up in the registry (its name checked by the route's schema): 404 when unknown. */
export function registeredProjection(pool: pg.Pool) {
  return async (name: string) => {
    const found = await readRegisteredProjection(pool, name);
    if (!found) throw projectionNotFound(name);
    return found;
  };
}

/** Projections: status and lag, pause and resume, parked events. */
export function registerProjectionRoutes(
  app: ContractApp,
  options: { store: EventStore; overview: AdminOverview; projections: readonly AnyProjection[] },
): void {
  const { store, overview } = options;
  const catalog = new Map(options.projections.map((p) => [p.name, p]));

  const registered = registeredProjection(store.pool);

  const routes = admin.adminRoutes;
  app.get(routes.projections.url, { schema: routes.projections.schema }, () =>
    overview.projections(),
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    const route = routes[action];
    app.post(route.url, { schema: route.schema }, async (request) => {
      const { name } = request.params;
      const updated = await setProjectionPaused(store.pool, name, paused);
      if (!updated) throw projectionNotFound(name);
      request.log.info(
        { projection: name, paused },
        paused ? 'projection paused' : 'projection resumed',
      );
      return { name: updated.name, pool: updated.pool, version: updated.liveVersion, paused };
    });
  }

  app.get(routes.parked.url, { schema: routes.parked.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    return wire(await listParkedEvents(store, name, { includeResolved: true }));
  });

  app.post(routes.retryParked.url, { schema: routes.retryParked.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    const { id } = request.params;
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
    return wire(retried);
  });

  app.post(routes.skipParked.url, { schema: routes.skipParked.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    const { id } = request.params;
    const skipped = await skipParkedEvent(store, name, id);
    request.log.info({ projection: name, parkedEventId: id }, 'parked event skipped');
    return wire(skipped);
  });
}
