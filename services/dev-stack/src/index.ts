// The fault suite runs its own embedded Postgres through this, so that it can stop and start it.
export { type PostgresHandle, startPostgres } from './postgres.js';
export { type DevStackOptions, runDevStack } from './run.js';
