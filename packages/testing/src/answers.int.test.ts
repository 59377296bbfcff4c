import { expect, it } from 'vitest';
import { postgresAnswers, redisAnswers } from './answers.js';
import { TEST_DATABASE_URL } from './postgres.js';
import { TEST_REDIS_URL } from './redis.js';
import { freePort } from './redis-server.js';

// What the global setup decides on: a server that answers is used, a port
// where nothing listens makes it start one.

it('says yes for the test Postgres and Redis, no where nothing listens', async () => {
  const nothing = await freePort();
  expect(await postgresAnswers(TEST_DATABASE_URL)).toBe(true);
  expect(await redisAnswers(TEST_REDIS_URL)).toBe(true);
  expect(await postgresAnswers(`postgres://postgres@127.0.0.1:${nothing}/test`)).toBe(false);
  expect(await redisAnswers(`redis://127.0.0.1:${nothing}`)).toBe(false);
});

it('says no for a server that cannot serve the URL (no such database)', async () => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = '/no_such_database_here';
  expect(await postgresAnswers(url.toString())).toBe(false);
});
