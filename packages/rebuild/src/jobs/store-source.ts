import { EventStore } from '@refract/event-store';

/** Either a connection string (the queue or worker opens and closes its own store) or a store to share. */
export type StoreSource = { databaseUrl: string; store?: undefined } | { store: EventStore };

export async function openStore(
  source: StoreSource,
  applicationName: string,
): Promise<{ store: EventStore; owned: boolean }> {
  if (source.store) return { store: source.store, owned: false };
  const store = await EventStore.open({
    databaseUrl: source.databaseUrl,
    poolSize: 10,
    applicationName,
  });
  return { store, owned: true };
}
