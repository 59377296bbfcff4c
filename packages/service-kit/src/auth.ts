import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApiToken, ConfigError, type Scope } from './env.js';
import { errorBody } from './http-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered without a token: probes, metrics, the OpenAPI document, public files. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The name of the token the request was let in with; unset on public routes and without auth. */
    tokenName?: string;
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

/**
 * The token among `tokens` equal to `given`, or undefined. Every token is
 * compared, whatever matched first, so the time taken does not tell which.
 */
export function findToken<T extends { token: string }>(
  tokens: readonly T[],
  given: string,
): T | undefined {
  let found: T | undefined;
  for (const candidate of tokens) {
    if (tokenMatches(given, candidate.token) && found === undefined) found = candidate;
  }
  return found;
}

/** The bearer token of an `Authorization` header, or undefined when there is none. */
export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  return scheme?.toLowerCase() === 'bearer' && value ? value : undefined;
}

/** True for 127.0.0.0/8, ::1 and `localhost`: the addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/** The command-line flag that lets write-api or query-api listen beyond loopback without a token. */
export const INSECURE_NO_AUTH_FLAG = '--insecure-no-auth';

/** True when the command line has `--insecure-no-auth`. */
export function insecureNoAuthFlag(argv: readonly string[] = process.argv): boolean {
  return argv.includes(INSECURE_NO_AUTH_FLAG);
}

/**
 * The tokens write-api or query-api lets in: its own variable's token (with
 * `scopes`) and the `REFRACT_API_TOKENS` list. Throws a ConfigError naming
 * the token variable when there are none and the host is reachable from
 * other machines: a non-loopback address without authentication is refused
 * unless `insecureNoAuth` (`--insecure-no-auth`, `REFRACT_INSECURE_NO_AUTH=1`)
 * says a proxy in front authenticates.
 */
export function apiTokensOf(options: {
  host: string;
  hostVariable: string;
  token: string | undefined;
  tokenVariable: string;
  scopes: readonly Scope[];
  listed: readonly ApiToken[] | undefined;
  insecureNoAuth: boolean;
}): ApiToken[] {
  const tokens = [
    ...(options.token === undefined
      ? []
      : [{ name: options.tokenVariable, scopes: options.scopes, token: options.token }]),
    ...(options.listed ?? []),
  ];
  if (tokens.length === 0 && !options.insecureNoAuth && !isLoopbackHost(options.host)) {
    throw new ConfigError([
      `${options.tokenVariable}: is required when ${options.hostVariable} is not a loopback address ` +
        '(anyone who can reach the port could use the API): set it or REFRACT_API_TOKENS, ' +
        `or pass ${INSECURE_NO_AUTH_FLAG} (REFRACT_INSECURE_NO_AUTH=1) when a proxy in front authenticates`,
    ]);
  }
  return tokens;
}

export interface BearerAuthOptions {
  tokens: readonly ApiToken[];
  /** The scope a route requires: write-api asks `write` of everything but GET. */
  scopeOf: (request: FastifyRequest) => Scope;
  /** Names the API in the `WWW-Authenticate` challenge. */
  realm: string;
}

/**
 * Every route needs a bearer token with the route's scope unless it is
 * marked `public` (probes, metrics, the OpenAPI document): a new route is
 * protected by default. No token or an unknown one: 401 with a
 * `WWW-Authenticate: Bearer` challenge; a token without the scope: 403.
 * Unknown routes stay 404, which tells nothing a token would protect.
 */
export function installBearerAuth(app: FastifyInstance, options: BearerAuthOptions): void {
  const { tokens, scopeOf, realm } = options;
  const challenge = (error?: string) =>
    `Bearer realm="${realm}"${error ? `, error="${error}"` : ''}`;
  const refuse = (reply: FastifyReply, status: 401 | 403, code: string, message: string) => {
    if (status === 401) {
      reply.header(
        'www-authenticate',
        challenge(code === 'unauthorized' ? undefined : 'invalid_token'),
      );
    }
    return reply.code(status).type('application/json').send(errorBody(code, message));
  };
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404 || request.routeOptions.config?.public) return;
    const given = bearerOf(request);
    if (given === undefined) {
      return refuse(
        reply,
        401,
        'unauthorized',
        'this endpoint requires Authorization: Bearer <token>',
      );
    }
    const match = findToken(tokens, given);
    if (match === undefined) return refuse(reply, 401, 'invalid_token', 'the token is not known');
    const scope = scopeOf(request);
    if (!match.scopes.includes(scope)) {
      request.log.info({ tokenName: match.name, scope }, 'token lacks the scope');
      return refuse(
        reply,
        403,
        'forbidden',
        `this endpoint requires a token with the ${scope} scope`,
      );
    }
    request.tokenName = match.name;
  });
}
