// The fault suite runs its own embedded Postgres through this, so that it can stop and start it.
export { type PostgresHandle, startPostgres } from './postgres.js';
// The test suites' global setup starts a redis-server through this when none answers.
export { type RedisHandle, startRedis } from './redis.js';
export { type DevStackOptions, runDevStack } from './run.js';
