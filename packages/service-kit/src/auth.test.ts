import { createLogger, createMetrics } from '@refract/observability';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { apiTokensOf, findToken, installBearerAuth, isLoopbackHost } from './auth.js';
import { type ApiToken, ConfigError } from './env.js';
import { closeOnce, createHttpApp } from './http-app.js';
import { httpErrorOf } from './http-errors.js';
import { httpMetrics } from './http-metrics.js';

const READ = 'read-token-0123456789';
const WRITE = 'write-token-0123456789';
const tokens: ApiToken[] = [
  { name: 'reader', scopes: ['read'], token: READ },
  { name: 'writer', scopes: ['read', 'write'], token: WRITE },
];

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => closeOnce(app)()));
});

async function build() {
  const app = createHttpApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: httpMetrics(createMetrics({ defaultMetrics: false }), [1]),
    bodyLimitBytes: 1024,
    toHttpError: (error, requestId) => httpErrorOf(error, requestId, { unreadableField: 'body' }),
  });
  apps.push(app);
  installBearerAuth(app, {
    tokens,
    realm: 'test',
    scopeOf: (request) => (request.method === 'GET' ? 'read' : 'write'),
  });
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/things', async (request) => ({ by: request.tokenName }));
  app.post('/things', async (request) => ({ by: request.tokenName }));
  await app.ready();
  return app;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('installBearerAuth', () => {
  it('answers 401 with a Bearer challenge without a token, or with an unknown one', async () => {
    const app = await build();
    const none = await app.inject({ method: 'GET', url: '/things' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="test"');
    expect(none.json()).toMatchObject({ error: 'unauthorized' });

    const basic = await app.inject({
      method: 'GET',
      url: '/things',
      headers: { authorization: `Basic ${Buffer.from(`x:${READ}`).toString('base64')}` },
    });
    expect(basic.statusCode).toBe(401);

    const wrong = await app.inject({ method: 'GET', url: '/things', headers: bearer(`${READ}x`) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="test", error="invalid_token"');
    expect(wrong.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('answers 403 to a token without the route scope, and lets the right one in', async () => {
    const app = await build();
    const denied = await app.inject({ method: 'POST', url: '/things', headers: bearer(READ) });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ error: 'forbidden' });
    expect(denied.json().message).toContain('write scope');

    const read = await app.inject({ method: 'GET', url: '/things', headers: bearer(READ) });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ by: 'reader' });
    const write = await app.inject({ method: 'POST', url: '/things', headers: bearer(WRITE) });
    expect(write.statusCode).toBe(200);
    expect(write.json()).toEqual({ by: 'writer' });
  });

  it('leaves public routes and unknown routes alone', async () => {
    const app = await build();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
  });
});

describe('findToken', () => {
  it('finds the token equal to the one given, of any length', () => {
    expect(findToken(tokens, WRITE)?.name).toBe('writer');
    expect(findToken(tokens, READ)?.name).toBe('reader');
    expect(findToken(tokens, READ.slice(0, -1))).toBeUndefined();
    expect(findToken(tokens, '')).toBeUndefined();
  });
});

describe('isLoopbackHost', () => {
  it('knows the addresses only this machine reaches', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '192.168.1.4',
      'example.com',
      '::ffff:10.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('apiTokensOf', () => {
  const base = {
    hostVariable: 'X_HOST',
    tokenVariable: 'X_TOKEN',
    scopes: ['read'] as const,
    listed: undefined,
    insecureNoAuth: false,
  };
  it('refuses no token on a non-loopback host, naming the variable and the way out', () => {
    const refuse = () => apiTokensOf({ ...base, host: '0.0.0.0', token: undefined });
    expect(refuse).toThrow(ConfigError);
    expect(refuse).toThrow(/X_TOKEN: is required when X_HOST is not a loopback address/);
    expect(refuse).toThrow(/--insecure-no-auth/);
  });
  it('allows no token on loopback or when told it is insecure on purpose', () => {
    expect(apiTokensOf({ ...base, host: '127.0.0.1', token: undefined })).toEqual([]);
    expect(
      apiTokensOf({ ...base, host: '0.0.0.0', token: undefined, insecureNoAuth: true }),
    ).toEqual([]);
  });
  it('joins the service token and the listed ones', () => {
    expect(
      apiTokensOf({ ...base, host: '0.0.0.0', token: READ, listed: [tokens[1]!] }).map(
        (t) => t.name,
      ),
    ).toEqual(['X_TOKEN', 'writer']);
  });
});
