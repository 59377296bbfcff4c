import { admin } from '@refract/contract';
import {
  type AnyProjection,
  InvalidInputError,
  isCounterProjection,
  type Projection,
} from '@refract/core';
import type { EventStore } from '@refract/event-store';
import {
  listParkedEvents,
  listQuarantinedStreams,
  readRegisteredProjection,
  resumeProjection,
  retryAllParked,
  retryParkedEvent,
  setProjectionPaused,
  skipParkedEvent,
  skipParkedStream,
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

  /** A table projection's handler releases what a skip unblocks; a counter's skip only marks. */
  const handlerOf = (name: string): Projection | string => {
    const projection = catalog.get(name);
    return projection && !isCounterProjection(projection) ? projection : name;
  };

  /** Applying needs the handler, which only the code has. */
  const tableProjection = (name: string): Projection => {
    const projection = catalog.get(name);
    if (!projection) throw projectionNotFound(name);
    if (isCounterProjection(projection)) {
      // Its counters move only with their checkpoint, in one Redis script per batch.
      throw new InvalidInputError(
        'name',
        'is a counter projection: its parked events can be skipped, not retried',
      );
    }
    return projection;
  };

  const routes = admin.adminRoutes;
  app.get(routes.projections.url, { schema: routes.projections.schema }, () =>
    overview.projections(),
  );

  app.post(routes.pause.url, { schema: routes.pause.schema }, async (request) => {
    const { name } = request.params;
    const updated = await setProjectionPaused(store.pool, name, true);
    if (!updated) throw projectionNotFound(name);
    request.log.info({ projection: name }, 'projection paused');
    return { name: updated.name, pool: updated.pool, version: updated.liveVersion, paused: true };
  });

  // Resuming a tripped (or paused) projection first replays its quarantined
  // streams in order, with the handler the code has now.
  app.post(routes.resume.url, { schema: routes.resume.schema }, async (request) => {
    const { name } = request.params;
    const projection = catalog.get(name);
    const resumed = projection
      ? await resumeProjection(store, projection)
      : await setProjectionPaused(store.pool, name, false).then(
          (registered) => registered && { registered, retried: null },
        );
    if (!resumed) throw projectionNotFound(name);
    const { registered, retried } = resumed;
    request.log.info(
      {
        projection: name,
        retriedStreams: retried?.streams ?? 0,
        stillQuarantined: retried?.failed.length ?? 0,
      },
      'projection resumed',
    );
    return {
      name: registered.name,
      pool: registered.pool,
      version: registered.liveVersion,
      paused: false,
      retried,
    };
  });

  app.get(routes.parked.url, { schema: routes.parked.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    return wire(await listParkedEvents(store, name, { includeResolved: true }));
  });

  app.get(routes.parkedStreams.url, { schema: routes.parkedStreams.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    return wire(await listQuarantinedStreams(store, name, request.query));
  });

  app.post(routes.retryAllParked.url, { schema: routes.retryAllParked.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    const result = await retryAllParked(store, tableProjection(name));
    request.log.info(
      { projection: name, streams: result.streams, stillQuarantined: result.failed.length },
      'parked events retried',
    );
    return result;
  });

  app.post(
    routes.skipParkedStream.url,
    { schema: routes.skipParkedStream.schema },
    async (request) => {
      const { name } = await registered(request.params.name);
      const { streamId } = request.body;
      // With the handler, the events behind the skipped one are released (applied).
      const skipped = await skipParkedStream(store, handlerOf(name), streamId);
      request.log.info(
        { projection: name, streamId, parkedEventId: skipped.id },
        'stream head skipped',
      );
      return wire(skipped);
    },
  );

  app.post(routes.retryParked.url, { schema: routes.retryParked.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    const { id } = request.params;
    const retried = await retryParkedEvent(store, tableProjection(name), id);
    request.log.info({ projection: name, parkedEventId: id }, 'parked event retried');
    return wire(retried);
  });

  app.post(routes.skipParked.url, { schema: routes.skipParked.schema }, async (request) => {
    const { name } = await registered(request.params.name);
    const { id } = request.params;
    const skipped = await skipParkedEvent(store, handlerOf(name), id);
    request.log.info({ projection: name, parkedEventId: id }, 'parked event skipped');
    return wire(skipped);
  });
}
