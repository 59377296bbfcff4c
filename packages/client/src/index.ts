export {
  type Appended,
  type AppendOptions,
  type CommandDone,
  type CommandOptions,
  type ExpectedVersion,
  type NewEvent,
  type ReadOptions,
  type ReadStreamOptions,
  RefractClient,
  type RefractClientOptions,
  type StreamPage,
} from './client.js';
export { RefractHttpError, RefractNetworkError } from './errors.js';
