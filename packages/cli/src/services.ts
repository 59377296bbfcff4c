/**
 * The service commands: each runs one of Refract's processes inside this
 * one, through the `run…` function its package exports (the same its
 * `dist/main.js` calls). Signals, exit codes and the graceful stop are the
 * service's own (service-kit's runHttpService; dev-stack's launcher).
 */
import { CliError, ExitCode } from './exit-codes.js';

/** The application module the CLI's `--config` named; unset, the service's own fallback. */
export interface AppOption {
  appPath?: string;
}

/** `--insecure-no-auth` of write-api and query-api; unset, the service reads REFRACT_INSECURE_NO_AUTH. */
export interface InsecureNoAuth {
  insecureNoAuth?: boolean;
}

/** How each service command runs its service. */
export interface ServiceRunners {
  writeApi(options: AppOption & InsecureNoAuth): Promise<void>;
  relay(): Promise<void>;
  worker(options: AppOption & { pool?: string }): Promise<void>;
  queryApi(options: AppOption & InsecureNoAuth): Promise<void>;
  admin(options: AppOption): Promise<void>;
  dev(options: AppOption): Promise<void>;
}

// `argv: []`: the module is the one parsed here (or REFRACT_CONFIG, or the
// default file), never a `--config` read again from this process's argv.
// Each package loads on first use: `refract status` needs none of them.
export const serviceRunners: ServiceRunners = {
  writeApi: async ({ appPath, insecureNoAuth }) =>
    (await import('@refract/write-api')).runWriteApi({ appPath, insecureNoAuth, argv: [] }),
  relay: async () => (await import('@refract/relay-service')).runRelay(),
  worker: async ({ appPath, pool }) =>
    (await import('@refract/projector-worker')).runProjectorWorker({ appPath, pool, argv: [] }),
  queryApi: async ({ appPath, insecureNoAuth }) =>
    (await import('@refract/query-api')).runQueryApi({ appPath, insecureNoAuth, argv: [] }),
  admin: async ({ appPath }) => (await import('@refract/admin')).runAdmin({ appPath, argv: [] }),
  dev: async ({ appPath }) => (await importDevStack()).runDevStack({ appPath, argv: [] }),
};

/**
 * The dev stack is an optional dependency: a production install (the
 * Dockerfile's cli image, `npm i --omit=optional`) leaves it and its
 * embedded Postgres out.
 */
async function importDevStack(): Promise<typeof import('@refract/dev-stack')> {
  try {
    return await import('@refract/dev-stack');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new CliError(
      'dev needs @refract/dev-stack, an optional dependency not installed here (npm i @refract/dev-stack)',
      ExitCode.failed,
    );
  }
}

/** What `<command> --help` says below its options: what runs, and what it reads. */
export const SERVICE_HELP = {
  writeApi:
    'Runs write-api: appends, commands and stream reads over HTTP, with the relay\n' +
    'embedded unless RELAY_MODE=off.\n' +
    'Reads DATABASE_URL, REDIS_URL (while RELAY_MODE=embedded), REDIS_KEY_PREFIX,\n' +
    'WRITE_API_PORT (4000), WRITE_API_HOST (127.0.0.1), WRITE_API_TOKEN,\n' +
    'REFRACT_API_TOKENS, RELAY_MODE, LOG_LEVEL, LOG_PRETTY and REFRACT_CONFIG; every\n' +
    'variable: node_modules/@refract/write-api/README.md. Beyond loopback it needs a\n' +
    'token, or --insecure-no-auth.',
  relay:
    'Runs the relay on its own (for write-api processes with RELAY_MODE=off): it\n' +
    'publishes committed events from Postgres to Redis. It runs no application\n' +
    'module, so --config is accepted (one command line fits every service) and\n' +
    'ignored.\n' +
    'Reads DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, RELAY_PORT, RELAY_HOST,\n' +
    'LOG_LEVEL and LOG_PRETTY; every variable:\n' +
    'node_modules/@refract/relay-service/README.md.',
  worker:
    'Runs one projector worker: it joins the pool (--pool, else POOL) and applies\n' +
    "the pool's projections of the application module.\n" +
    'Reads DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, POOL, PROJECTIONS,\n' +
    'WORKER_PORT (4020), WORKER_HOST, WORKER_BATCH_SIZE, LOG_LEVEL, LOG_PRETTY and\n' +
    'REFRACT_CONFIG; every variable: node_modules/@refract/projector-worker/README.md\n' +
    '(production runs it with NODE_OPTIONS=--max-semi-space-size=4; see Memory there).',
  queryApi:
    'Runs query-api: the projections of the application module over HTTP, with\n' +
    'read-your-writes waits.\n' +
    'Reads DATABASE_URL, QUERY_API_PORT (4001), QUERY_API_HOST (127.0.0.1),\n' +
    'QUERY_API_TOKEN, REFRACT_API_TOKENS, LOG_LEVEL, LOG_PRETTY and REFRACT_CONFIG;\n' +
    'every variable: node_modules/@refract/query-api/README.md. Beyond loopback it\n' +
    'needs a token, or --insecure-no-auth.',
  admin:
    'Runs admin: the admin API, the lag dashboard at / and the rebuild worker.\n' +
    'Reads ADMIN_TOKEN, ADMIN_READ_TOKENS, DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX,\n' +
    'ADMIN_PORT (4002), ADMIN_HOST (127.0.0.1), LOG_LEVEL, LOG_PRETTY and\n' +
    'REFRACT_CONFIG; every variable: node_modules/@refract/admin/README.md.',
  migrate:
    'Applies the event-store migrations to DATABASE_URL directly (a database without\n' +
    'its schema has no admin to ask). It loads no application module, so --config is\n' +
    'accepted (one command line fits every service) and ignored.',
  dev:
    'Runs the whole stack on this machine, for development and demos: Redis (REDIS_URL,\n' +
    'else redis-server from the PATH), Postgres (DATABASE_URL, else an embedded one\n' +
    'kept in .refract/ here), the migrations, write-api, a worker pool per pool of\n' +
    "the module, query-api, admin and the module's demo traffic. Ctrl-C stops it.\n" +
    'Reads DATABASE_URL, REDIS_URL, WRITE_API_PORT, QUERY_API_PORT, ADMIN_PORT,\n' +
    'WORKER_PORT, DEV_STACK_WORKERS, DEMO_RATE_PER_SECOND, REFRACT_DATA_DIR and more;\n' +
    'every variable: node_modules/@refract/dev-stack/README.md.',
} as const;
