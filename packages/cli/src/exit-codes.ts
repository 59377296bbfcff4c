/**
 * The `refract` exit codes, a contract for scripts (packages/cli/README.md).
 */
export const ExitCode = {
  /** Done; a watched job completed. */
  ok: 0,
  /** A watched job failed or was cancelled, a migration failed, or admin refused for another reason. */
  failed: 1,
  /** Bad command line or environment (unknown command, bad option value). */
  usage: 2,
  /** Admin cannot be reached (connection refused, timeout) or answered 503. */
  unreachable: 3,
  /** Admin answered 401 or 403: no token, or a wrong one. */
  unauthorized: 4,
  /** Admin answered 404: the projection, job or parked event named does not exist. */
  notFound: 5,
  /** Admin answered 409: e.g. a rebuild already runs (without --watch), or a parked event already resolved. */
  conflict: 6,
  /** A watched rebuild is held in verifying: v+1 differs from the live version; approve or cancel it. */
  held: 7,
  /** `refract audit`: events of handled types at or below a checkpoint were neither applied nor parked. */
  incomplete: 8,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is for the operator (no stack trace) and whose exit code is documented. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
