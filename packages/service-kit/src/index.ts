export {
  apiTokensOf,
  type BearerAuthOptions,
  bearerOf,
  findToken,
  INSECURE_NO_AUTH_FLAG,
  insecureNoAuthFlag,
  installBearerAuth,
  isLoopbackHost,
  tokenMatches,
} from './auth.js';
export {
  type ContractApp,
  type ContractOptions,
  installContract,
  OPENAPI_PATH,
  typed,
  type ZodTypeProvider,
  zodValidatorCompiler,
} from './contract.js';
export * as env from './env.js';
export { type ApiToken, ConfigError, type Scope } from './env.js';
export { closeOnce, createHttpApp, type HttpAppOptions, listen } from './http-app.js';
export {
  type ErrorBody,
  type ErrorMapping,
  errorBody,
  type HttpError,
  httpErrorOf,
  ServiceError,
  type ToHttpError,
} from './http-errors.js';
export { type HttpMetrics, httpMetrics } from './http-metrics.js';
export { checkPostgres, type Queryable } from './probes.js';
export {
  type HttpServer,
  type HttpServiceConfig,
  type HttpServiceOptions,
  runHttpService,
} from './process.js';
