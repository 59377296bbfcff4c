export { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './postgres.js';
export { createTestRedisNamespace, TEST_REDIS_URL, type TestRedisNamespace } from './redis.js';
