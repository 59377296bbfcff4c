/**
 * The contract's version, the `info.version` of each service's OpenAPI
 * document: it moves with @refract/contract's own version.
 */
export const CONTRACT_VERSION = '0.1.0';

export * as admin from './admin.js';
export {
  type ErrorBody,
  errorBody,
  GIVEN_ONCE,
  healthzResponse,
  integerText,
  metricsResponse,
  probeSchemas,
  readyzResponse,
  singleText,
} from './common.js';
export * as readYourWrites from './read-your-writes.js';
export * as writeApi from './write-api.js';
