import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { defineQueryApi, type QueryApiContext } from './define-query-api.js';

// Stand-ins the plugin only passes along: nothing here reads a database or waits.
const context = {
  db: { query: async () => ({ rows: [], rowCount: 0 }) },
  readYourWrites: { waitForPosition: async () => ({ woken: 'immediate' as const }) },
} satisfies QueryApiContext;

describe('defineQueryApi', () => {
  it('is a query-api definition whose register mounts the plugin with the context as options', async () => {
    let received: QueryApiContext | undefined;
    const api = defineQueryApi('things', async (server, options) => {
      received = options;
      server.decorate('thingsOnly', true);
      server.get('/things', async () => ({ scoped: server.hasDecorator('thingsOnly') }));
    });
    expect(api).toMatchObject({ kind: 'query-api', name: 'things' });

    const server = Fastify();
    await api.register(server, context);
    await server.ready();
    expect(received?.db).toBe(context.db);
    expect(received?.readYourWrites).toBe(context.readYourWrites);
    expect((await server.inject('/things')).json()).toEqual({ scoped: true });
    // A scope of its own: its decorators and hooks stay inside.
    expect(server.hasDecorator('thingsOnly')).toBe(false);
    await server.close();
  });

  it('refuses a bad name or a plugin that is not a function', () => {
    expect(() => defineQueryApi('', async () => {})).toThrow(/query API name "" must match/);
    expect(() => defineQueryApi('has space', async () => {})).toThrow(/must match/);
    expect(() => defineQueryApi('x', 'nope' as never)).toThrow(/must be a function/);
  });
});
