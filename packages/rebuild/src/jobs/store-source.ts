import type { UpcasterRegistry } from '@refract/core';
import { EventStore } from '@refract/event-store';

/**
 * Either a connection string (the queue or worker opens and closes its own
 * store, reading through `upcasters`, `app.upcasters`) or a store to share.
 */
export type StoreSource =
  | { databaseUrl: string; upcasters?: UpcasterRegistry; store?: undefined }
  | { store: EventStore };

export async function openStore(
  source: StoreSource,
  applicationName: string,
): Promise<{ store: EventStore; owned: boolean }> {
  if (source.store) return { store: source.store, owned: false };
  const store = await EventStore.open({
    databaseUrl: source.databaseUrl,
    poolSize: 10,
    applicationName,
    upcasters: source.upcasters,
  });
  return { store, owned: true };
}
