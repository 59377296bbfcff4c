import { bearerOf, errorBody, findToken } from '@refract/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export { tokenMatches } from '@refract/service-kit';

/**
 * What an admin token may do: `read` sees the dashboard, the status
 * endpoints and the stream; `operator` (ADMIN_TOKEN) also changes things:
 * rebuilds, pause/resume, parked retries and skips, bull-board's actions.
 */
export type AdminScope = 'read' | 'operator';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; unset, GET and HEAD need `read`, every other method `operator`. */
    adminScope?: AdminScope;
  }
}

interface AdminToken {
  /** In logs and as the key of the per-token stream cap: `operator`, `read-1`, `read-2`, … */
  name: string;
  scope: AdminScope;
  token: string;
}

/** The operator token and the read-only ones, named for logs and the stream cap. */
export function adminTokens(operator: string, read: readonly string[] = []): AdminToken[] {
  return [
    { name: 'operator', scope: 'operator', token: operator },
    ...read.map((token, i) => ({ name: `read-${i + 1}`, scope: 'read' as const, token })),
  ];
}

/** The credential a request carries: a bearer token, or the password of Basic auth where allowed. */
function credentialOf(request: FastifyRequest, basic: boolean): string | undefined {
  const bearer = bearerOf(request);
  if (bearer !== undefined || !basic) return bearer;
  const [scheme, value] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * True when the request's Origin (or, without one, its Referer) is the
 * server itself. A browser logged in to bull-board with Basic auth sends
 * the credentials with any page's form post; the Origin is what tells the
 * two apart. No Origin and no Referer is refused too: browsers send one of
 * them on a cross-site POST, and a script has no reason to post there.
 */
export function sameOrigin(request: FastifyRequest): boolean {
  const host = request.headers.host;
  const source = request.headers.origin ?? request.headers.referer;
  if (!host || typeof source !== 'string') return false;
  try {
    return new URL(source).host === host;
  } catch {
    return false;
  }
}

type Refusal = 'unauthorized' | 'wrong_token' | 'needs_operator' | 'cross_origin';

function refuse(reply: FastifyReply, refusal: Refusal, basic: boolean) {
  // A browser asks for the password again only on a 401 with a Basic challenge.
  if (basic) reply.header('www-authenticate', 'Basic realm="refract admin", charset="UTF-8"');
  switch (refusal) {
    case 'unauthorized':
      return reply
        .code(401)
        .type('application/json')
        .send(
          errorBody('unauthorized', 'this endpoint requires Authorization: Bearer <ADMIN_TOKEN>'),
        );
    case 'wrong_token':
      return reply
        .code(basic ? 401 : 403)
        .type('application/json')
        .send(errorBody('forbidden', 'the token is not an admin token'));
    case 'needs_operator':
      return reply
        .code(403)
        .type('application/json')
        .send(
          errorBody(
            'forbidden',
            'this endpoint changes state: it requires the operator token (ADMIN_TOKEN)',
          ),
        );
    case 'cross_origin':
      return reply
        .code(403)
        .type('application/json')
        .send(errorBody('forbidden', 'the Origin (or Referer) of the request is not this server'));
  }
}

/**
 * Every route requires an admin token unless it is marked `public`: a new
 * route is protected by default. A read token opens reads (GET, HEAD, the
 * stream); every other method needs the operator token, unless a route sets
 * `adminScope`. Missing credentials get 401, a wrong token 403 (401 with a
 * Basic challenge on browser pages, so the browser asks again), a read token
 * on an operator route 403. On the browser pages (bull-board), a mutating
 * request must also come from the same origin, else 403.
 */
export function installAuth(
  app: FastifyInstance,
  tokens: readonly AdminToken[],
  options: {
    /** Browser pages under this path (bull-board) take HTTP Basic auth with the token as password too. */
    basicAuthPrefix?: string;
  } = {},
): void {
  const { basicAuthPrefix } = options;
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    const config = request.routeOptions.config;
    if (config?.public) return;
    const route = request.routeOptions.url ?? '';
    const basic = basicAuthPrefix !== undefined && route.startsWith(basicAuthPrefix);
    const given = credentialOf(request, basic);
    if (given === undefined) return refuse(reply, 'unauthorized', basic);
    const match = findToken(tokens, given);
    if (match === undefined) return refuse(reply, 'wrong_token', basic);
    const reads = request.method === 'GET' || request.method === 'HEAD';
    const scope = config?.adminScope ?? (reads ? 'read' : 'operator');
    if (scope === 'operator' && match.scope !== 'operator') {
      request.log.info({ tokenName: match.name, route }, 'read token refused on an operator route');
      return refuse(reply, 'needs_operator', false);
    }
    if (basic && !reads && !sameOrigin(request)) {
      request.log.warn(
        { origin: request.headers.origin, route },
        'cross-origin bull-board request refused',
      );
      return refuse(reply, 'cross_origin', false);
    }
    request.tokenName = match.name;
  });
}
