import { admin } from '@refract/contract';
import type { ContractApp } from '@refract/service-kit';
import type { AdminOverview } from '../overview.js';

/** The workers of every pool and the relay. */
export function registerClusterRoutes(app: ContractApp, overview: AdminOverview): void {
  const { workers, relay } = admin.adminRoutes;
  app.get(workers.url, { schema: workers.schema }, () => overview.workers());
  app.get(relay.url, { schema: relay.schema }, () => overview.relay());
}
