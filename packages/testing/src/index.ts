export { postgresAnswers, redisAnswers } from './answers.js';
export { collectLines } from './collect-lines.js';
export { eventually } from './eventually.js';
export { type LateDatabase, lateDatabase } from './late-database.js';
export { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './postgres.js';
export { createTestRedisNamespace, TEST_REDIS_URL, type TestRedisNamespace } from './redis.js';
export { type RedisCluster, type RedisClusterOptions, startRedisCluster } from './redis-cluster.js';
export { freePort, type RedisServer, startRedisServer } from './redis-server.js';
export { repeatedKeys } from './repeated-keys.js';
export {
  ORDERS_APP_CONFIG,
  REPO_ROOT,
  type ServiceProcess,
  type ServiceProcessOptions,
  serviceMain,
  startServiceProcess,
} from './service-process.js';
export { commitSkippedEvent, reservePosition } from './skipped-event.js';
export { stablePort } from './stable-port.js';
export { type SinkDelivery, startWebhookSink, type WebhookSink } from './webhook-sink.js';
