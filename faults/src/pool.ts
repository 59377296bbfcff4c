import type { createPool } from '@refract/event-store';

/** The harness's Postgres pool, typed through event-store (which owns the driver). */
export type Pool = ReturnType<typeof createPool>;
