import fastifySwagger from '@fastify/swagger';
import { InvalidInputError } from '@refract/core';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifySchemaCompiler,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteOptions,
} from 'fastify';
import { jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';

export type { ZodTypeProvider };

import type { z } from 'zod';

/** A fastify instance whose routes are typed by their zod schemas. */
export type ContractApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** `app`, with its routes' request and reply types inferred from their zod schemas. */
export function typed(app: FastifyInstance): ContractApp {
  return app.withTypeProvider<ZodTypeProvider>();
}

/** Where the OpenAPI document is served, on every service that installs the contract. */
export const OPENAPI_PATH = '/openapi.json';

export interface ContractOptions {
  /** The document's `info`. */
  title: string;
  version: string;
  description?: string;
  /**
   * Routes that may have no schema, left out of the document: a third
   * party's (bull-board). Every other route must declare one.
   */
  exempt?: (route: { url: string }) => boolean;
  /**
   * Whether a route without a schema fails the start. query-api passes
   * false: the application's query API routes are documented when they
   * declare zod schemas, not refused when they do not. @defaultValue true
   */
  requireSchemas?: boolean;
  /** The `config` of the `/openapi.json` route (admin marks it public). */
  openApiConfig?: Record<string, unknown>;
}

/** Header names as the contract spells them (fastify lower-cases them). */
function headerName(lower: string): string {
  return lower.replace(
    /(^|-)([a-z])/g,
    (_, dash: string, letter: string) => dash + letter.toUpperCase(),
  );
}

/**
 * The field a zod issue names, in our error shape: the dotted body path
 * (`events.0.type`, `body` for the body itself), the query or path parameter,
 * or the header as it is spelled in the docs (`Idempotency-Key`). An unknown
 * key is named as itself.
 */
function fieldOf(issue: z.core.$ZodIssue, httpPart: string | undefined): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0] ?? '');
  if (httpPart === 'headers' && path[0] !== undefined) path[0] = headerName(path[0]);
  if (path.length > 0) return path.join('.');
  if (httpPart === 'body') return 'body';
  return httpPart === 'querystring' ? 'query' : (httpPart ?? 'request');
}

/**
 * Validates a request part with its zod schema. A refusal is core's
 * InvalidInputError, so the error handler answers it like every other bad
 * input: 400 `invalid_request` naming the first offending field.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({
  schema,
  httpPart,
  url,
}) => {
  if (typeof (schema as { safeParse?: unknown }).safeParse !== 'function') {
    throw new Error(`route ${url}: its ${httpPart} schema must be a zod schema`);
  }
  return (data) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    const issue = result.error.issues[0];
    if (!issue) return { error: new InvalidInputError(httpPart ?? 'request', 'is invalid') };
    const field = fieldOf(issue, httpPart);
    const problem =
      issue.code === 'unrecognized_keys'
        ? 'is not a known field'
        : issue.path.length === 0 && httpPart === 'body'
          ? 'must be a JSON object'
          : issue.message;
    return { error: new InvalidInputError(field, problem) };
  };
};

/**
 * Responses are written as JSON without a check against their schema: the
 * schemas type the handlers (tsc catches drift) and document the answers,
 * and a second pass over every answer would cost each request for nothing.
 */
const serializerCompiler = () => (data: unknown) => JSON.stringify(data);

/** The methods whose routes are documented; HEAD mirrors GET. */
function isDocumented(method: RouteOptions['method']): boolean {
  return [method].flat().some((m) => m !== 'HEAD');
}

/**
 * Makes a service's HTTP contract code: zod validation of each route's
 * params, query, headers and body (refusals in the shared 400 shape), an
 * OpenAPI document generated from the schemas at `GET /openapi.json`, and a
 * start that fails when a route has no schema (or no params schema for a
 * path with parameters), so no route slips out of the contract. Call it
 * before any route is added, and add routes in a plugin registered after it
 * (the document sees only routes added once its plugin has loaded).
 */
export function installContract(app: FastifyInstance, options: ContractOptions): ContractApp {
  const exempt = options.exempt ?? (() => false);
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRoute', (route) => {
    if (options.requireSchemas === false) return;
    if (!isDocumented(route.method) || exempt(route) || route.url === OPENAPI_PATH) return;
    const where = `${[route.method].flat().join(',')} ${route.url}`;
    if (route.schema === undefined) {
      throw new Error(`route ${where} has no schema: every route declares its contract`);
    }
    if (/[:*]/.test(route.url) && route.schema.params === undefined) {
      throw new Error(`route ${where} has path parameters but no params schema`);
    }
  });
  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.title,
        version: options.version,
        ...(options.description === undefined ? {} : { description: options.description }),
      },
    },
    transform: (document) =>
      exempt(document.route)
        ? { schema: { hide: true }, url: document.url }
        : jsonSchemaTransform(document),
  });
  app.get(OPENAPI_PATH, { schema: { hide: true }, config: options.openApiConfig ?? {} }, async () =>
    app.swagger(),
  );
  return typed(app);
}
