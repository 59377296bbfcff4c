import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { ContractApp } from '@refract/service-kit';
import { z } from 'zod';

/** Shown at `/` until the dashboard's files are there, so a fresh checkout still answers. */
const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Refract admin</title></head>
<body><h1>Refract admin</h1>
<p>The dashboard is not built: <code>services/admin/dashboard/index.html</code> is missing.
The API is at <code>/api/projections</code>, <code>/api/workers</code>, <code>/api/relay</code>
and <code>/api/stream</code> (with <code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</code>).</p>
</body></html>
`;

/**
 * The dashboard: `/` is its index.html, any other path a file of its
 * directory. Public, since a page cannot send a header before it has asked
 * for the token; the page's API calls carry `Authorization: Bearer`.
 */
export async function registerDashboardRoutes(app: ContractApp, dir: string): Promise<void> {
  const config = { public: true };
  // Static files, not API: kept out of the OpenAPI document.
  const schema = { hide: true };
  const built = existsSync(join(dir, 'index.html'));
  if (!built) {
    app.log.warn({ dir }, 'dashboard not built; / answers a placeholder');
    app.get('/', { config, schema }, (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(NOT_BUILT),
    );
    return;
  }
  // serve: false, so the routes below (marked public) are the only ones it adds.
  await app.register(fastifyStatic, { root: dir, serve: false });
  app.get('/', { config, schema }, (_request, reply) => reply.sendFile('index.html'));
  const files = { hide: true, params: z.object({ '*': z.string() }) };
  app.get('/*', { config, schema: files }, (request, reply) => reply.sendFile(request.params['*']));
}
