import { createHash, timingSafeEqual } from 'node:crypto';
import { errorBody } from '@refract/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered without the token: probes, metrics and the dashboard's static files. */
    public?: boolean;
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Compares in constant time: both sides are hashed to fixed-length digests
 * first, so neither the content nor the length of the token leaks through
 * the comparison's timing.
 */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

/** The credential a request carries: a bearer token, or the password of Basic auth where allowed. */
function credentialOf(request: FastifyRequest, basic: boolean): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (basic && scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

function refuse(reply: FastifyReply, status: 401 | 403, basic: boolean) {
  // A browser asks for the password again only on a 401 with a Basic challenge.
  if (basic) reply.header('www-authenticate', 'Basic realm="refract admin", charset="UTF-8"');
  const body =
    status === 401
      ? errorBody('unauthorized', 'this endpoint requires Authorization: Bearer <ADMIN_TOKEN>')
      : errorBody('forbidden', 'the token is not the admin token');
  return reply.code(status).type('application/json').send(body);
}

/**
 * Every route requires the admin token unless it is marked `public`: a new
 * route is protected by default. Missing credentials get 401, a wrong token
 * 403 (401 with a Basic challenge on browser pages, so the browser asks again).
 */
export function installAuth(
  app: FastifyInstance,
  token: string,
  options: {
    /** Browser pages under this path (bull-board) take HTTP Basic auth with the token as password too. */
    basicAuthPrefix?: string;
  } = {},
): void {
  const { basicAuthPrefix } = options;
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    if (request.routeOptions.config?.public) return;
    const route = request.routeOptions.url ?? '';
    const basic = basicAuthPrefix !== undefined && route.startsWith(basicAuthPrefix);
    const given = credentialOf(request, basic);
    if (given === undefined) return refuse(reply, 401, basic);
    if (!tokenMatches(given, token)) return refuse(reply, basic ? 401 : 403, basic);
  });
}
