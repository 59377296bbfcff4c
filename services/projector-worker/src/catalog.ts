import type { Projection } from '@refract/core';
import { orderProjections } from '@refract/example-orders';

/** Every projection this build of the worker knows. Applications add theirs here. */
export const CATALOG: readonly Projection[] = [...orderProjections];

/** The projections a process runs: those of its pool, narrowed to `names` when given. */
export function selectProjections(pool: string, names: string[] | null): Projection[] {
  const ofPool = CATALOG.filter((p) => p.pool === pool);
  if (names === null) {
    if (ofPool.length === 0) throw new Error(`no projection belongs to pool ${pool}`);
    return ofPool;
  }
  return names.map((name) => {
    const projection = CATALOG.find((p) => p.name === name);
    if (!projection) throw new Error(`PROJECTIONS: unknown projection ${name}`);
    if (projection.pool !== pool) {
      throw new Error(`PROJECTIONS: ${name} belongs to pool ${projection.pool}, not ${pool}`);
    }
    return projection;
  });
}
