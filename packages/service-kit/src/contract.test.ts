import { compileErrors, validate } from '@readme/openapi-parser';
import { createLogger, createMetrics } from '@refract/observability';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { installContract, OPENAPI_PATH, typed } from './contract.js';
import { createHttpApp } from './http-app.js';
import { httpErrorOf } from './http-errors.js';
import { httpMetrics } from './http-metrics.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function build(routes: (app: FastifyInstance) => void, requireSchemas?: boolean) {
  const app = createHttpApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: httpMetrics(createMetrics({ defaultMetrics: false }), [1]),
    bodyLimitBytes: 1024,
    toHttpError: (error, requestId) => httpErrorOf(error, requestId, { unreadableField: 'body' }),
  });
  installContract(app, { title: 'test', version: '1.0.0', requireSchemas });
  app.register(async (scope) => routes(scope));
  apps.push(app);
  return app;
}

const item = z.strictObject({
  name: z.string().min(1),
  tags: z.array(z.string().max(3)).optional(),
});

function items(app: FastifyInstance) {
  typed(app).post(
    '/items/:id',
    {
      schema: {
        params: z.object({ id: z.string().regex(/^\d+$/, 'must be digits') }),
        querystring: z.strictObject({ dry: z.enum(['yes', 'no']).optional() }),
        headers: z.looseObject({ 'x-tenant-id': z.string().min(2).optional() }),
        body: item,
        response: { 200: z.object({ id: z.string(), name: z.string() }) },
      },
    },
    async (request) => ({ id: request.params.id, name: request.body.name }),
  );
}

describe('installContract', () => {
  it('refuses what a schema does not describe with a 400 naming the field', async () => {
    const app = build(items);
    const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url, payload: payload as object, headers });
    expect((await post('/items/1', { name: 'a' })).json()).toEqual({ id: '1', name: 'a' });
    const cases: [string, unknown, Record<string, string>, string][] = [
      ['/items/x', { name: 'a' }, {}, 'id'],
      ['/items/1', { name: '' }, {}, 'name'],
      ['/items/1', { name: 'a', tags: ['ok', 'long'] }, {}, 'tags.1'],
      ['/items/1', { name: 'a', extra: 1 }, {}, 'extra'],
      ['/items/1', [1], {}, 'body'],
      ['/items/1?dry=maybe', { name: 'a' }, {}, 'dry'],
      ['/items/1?other=1', { name: 'a' }, {}, 'other'],
      ['/items/1?dry=yes&dry=no', { name: 'a' }, {}, 'dry'],
      ['/items/1', { name: 'a' }, { 'x-tenant-id': 'x' }, 'X-Tenant-Id'],
    ];
    for (const [url, payload, headers, field] of cases) {
      const response = await post(url, payload, headers);
      expect(response.statusCode, url).toBe(400);
      expect(response.json(), `${url} ${JSON.stringify(payload)}`).toEqual({
        error: 'invalid_request',
        message: expect.stringMatching(new RegExp(`^${field.replaceAll('.', '\\.')} `)),
        field,
      });
    }
  });

  it('serves an OpenAPI 3.1 document of every route at /openapi.json that a validator accepts', async () => {
    const app = build(items);
    const response = await app.inject({ url: OPENAPI_PATH });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(['/items/{id}']);
    expect(
      document.paths['/items/{id}'].post.requestBody.content['application/json'].schema,
    ).toMatchObject({ required: ['name'], additionalProperties: false });
  });

  it('fails the start when a route has no schema, or path parameters without one', async () => {
    const bare = build((app) => app.get('/bare', async () => ({})));
    await expect(bare.ready()).rejects.toThrow('route GET /bare has no schema');
    const noParams = build((app) => app.get('/x/:id', { schema: {} }, async () => ({})));
    await expect(noParams.ready()).rejects.toThrow('route GET /x/:id has path parameters');
    // query-api's choice: the application's routes are documented, not required.
    const lax = build((app) => app.get('/bare', async () => ({})), false);
    await expect(lax.ready()).resolves.toBeDefined();
  });
});
