import type { FastifyInstance } from 'fastify';
import type { AdminOverview } from '../overview.js';

/** The workers of every pool and the relay. */
export function registerClusterRoutes(app: FastifyInstance, overview: AdminOverview): void {
  app.get('/api/workers', () => overview.workers());
  app.get('/api/relay', () => overview.relay());
}
