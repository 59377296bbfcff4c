import { DependencyUnavailableError } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { checkPostgres } from './probes.js';

describe('checkPostgres', () => {
  it('passes when SELECT 1 answers in time', async () => {
    const asked: string[] = [];
    const pool = { query: async (text: string) => asked.push(text) };
    await checkPostgres(pool, 100);
    expect(asked).toEqual(['SELECT 1']);
  });

  it('reports Postgres unavailable when the query fails, with the failure as cause', async () => {
    const failure = new Error('connect ECONNREFUSED');
    const error = await checkPostgres({ query: () => Promise.reject(failure) }, 100).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error).toMatchObject({
      code: 'dependency_unavailable',
      details: { dependency: 'postgres' },
    });
    expect((error as Error).cause).toBe(failure);
  });

  it('gives up after the timeout rather than waiting for a blackholed database', async () => {
    const started = Date.now();
    const error = await checkPostgres({ query: () => new Promise(() => {}) }, 50).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(((error as Error).cause as Error).message).toBe('timed out after 50 ms');
  });
});
