import type { QueryApiDefinition, SqlExecutor } from '@refract/core';
import type { ZodTypeProvider } from '@refract/service-kit';
import type { FastifyInstance, FastifyPluginAsync, RawServerDefault } from 'fastify';
import type { ReadYourWrites } from './checkpoint-watcher.js';

/** What the host hands a query API: its plugin's options. */
export interface QueryApiContext {
  /** Reads of the read models (the host's Postgres pool): `db.query(text, values)`. */
  db: SqlExecutor;
  /** Waits for a projection to apply a position; routes can instead mark `config.readYourWrites`. */
  readYourWrites: ReadYourWrites;
}

/**
 * A normal (async) fastify plugin whose options are the QueryApiContext. Its
 * routes' types come from their zod schemas (the host validates with zod and
 * documents them in its `/openapi.json`).
 */
export type QueryApiPlugin = FastifyPluginAsync<QueryApiContext, RawServerDefault, ZodTypeProvider>;

/** A QueryApiDefinition whose `register` is typed for fastify. */
export interface FastifyQueryApi extends QueryApiDefinition {
  /** Registers the plugin on `server` (in a scope of its own) with `context` as its options. */
  register(server: FastifyInstance, context: QueryApiContext): Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * The application's own read API, for `defineApp({ queryApi })`: the
 * query-api service registers `plugin` beside the read-your-writes plugin,
 * so its routes can mark `config: { readYourWrites: { projection, streamId } }`.
 */
export function defineQueryApi(name: string, plugin: QueryApiPlugin): FastifyQueryApi {
  if (!NAME.test(name)) {
    throw new Error(`query API name ${JSON.stringify(name)} must match ${NAME}`);
  }
  if (typeof plugin !== 'function') {
    throw new Error(`query API ${name}: the plugin must be a function (server, context) => …`);
  }
  return {
    kind: 'query-api',
    name,
    async register(server, context) {
      await server.register(plugin, context);
    },
  };
}
