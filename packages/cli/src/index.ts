export { AdminClient, type AdminClientOptions, type RebuildStart } from './admin-client.js';
export type {
  JobInfo,
  ParkedEvent,
  ProjectionInfo,
  RelayInfo,
  WorkerInfo,
} from './admin-types.js';
export { type CliConfig, ConfigError, loadCliConfig } from './config.js';
export { CliError, ExitCode } from './exit-codes.js';
export { type CliIo, runCli } from './program.js';
