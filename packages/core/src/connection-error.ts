// Kept in core, beside the DependencyUnavailableError it becomes, so that
// service-kit's HTTP error mapping (a lost database is a 503) needs no
// dependency on event-store: it reads the error's code and message, no driver.

/** SQLSTATE classes that mean the database is unreachable or going away. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    // node-postgres reports a dropped socket as a plain Error without a code.
    return error instanceof Error && /connect|terminat|timeout/i.test(error.message);
  }
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'EPIPE'
  );
}
