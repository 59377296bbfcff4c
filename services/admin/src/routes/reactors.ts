import { admin } from '@refract/contract';
import { InvalidInputError, type Reactor, RefractError } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import { registerReactor, replayReactor, summarizeEffects } from '@refract/projector';
import type { ContractApp } from '@refract/service-kit';

function reactorNotFound(name: string): RefractError {
  return new RefractError('projection_not_found', `no reactor ${name}`, { field: 'name', name });
}

/**
 * Reactors: their effects as the ledger counts them, and a replay (moving
 * their checkpoints back; the ledger suppresses effects already done). Only
 * the application's reactors: a projection is rebuilt, not replayed.
 */
export function registerReactorRoutes(
  app: ContractApp,
  options: { store: EventStore; reactors: readonly Reactor[] },
): void {
  const { store } = options;
  const catalog = new Map(options.reactors.map((r) => [r.name, r]));
  const routes = admin.adminRoutes;

  app.get(routes.reactors.url, { schema: routes.reactors.schema }, async () => {
    const summaries = await summarizeEffects(store.pool, [...catalog.keys()]);
    return summaries.map(({ reactor: name, ...counts }) => ({
      name,
      pool: catalog.get(name)?.pool ?? '',
      ...counts,
    }));
  });

  app.post(routes.replayReactor.url, { schema: routes.replayReactor.schema }, async (request) => {
    const { name } = request.params;
    const reactor = catalog.get(name);
    if (!reactor) throw reactorNotFound(name);
    const { from } = request.body;
    const head = await store.headPosition();
    if (from > head) {
      throw new InvalidInputError('from', `is past the head of the log (position ${head})`);
    }
    // Never run by a worker yet, it has no checkpoints to move back: registered
    // here first (at the head, as a worker would), the replay moves them.
    await registerReactor(store.pool, reactor, store.partitions);
    const { partitions } = await replayReactor(store.pool, name, from);
    request.log.info({ reactor: name, from, partitions: partitions.length }, 'reactor replayed');
    return { name, from, partitions };
  });
}
