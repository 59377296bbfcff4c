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

/**
 * SQLSTATEs of failures that say nothing about the event being applied:
 * serialization failure, deadlock, lock timeout, a statement canceled (a
 * statement timeout or an operator's cancel).
 */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03', '57014']);

/** ioredis' own failures while it has no connection (they carry no code). */
const REDIS_UNAVAILABLE =
  /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|Reached the max retries|CLUSTERDOWN|TRYAGAIN|LOADING/;

/**
 * Whether a handler's failure is the timing's fault, not the event's: the
 * same event applied again may well succeed. Everything else is taken as
 * deterministic (the event throws the same way every time), which a
 * projector parks after one immediate retry instead of backing off.
 */
export function isTransientError(error: unknown): boolean {
  if (isConnectionError(error)) return true;
  // A reactor's effect classified as transient (reactor.ts); named, not imported, to avoid a cycle.
  if ((error as { name?: unknown } | null)?.name === 'TransientEffectError') return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_SQLSTATES.has(code)) return true;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return true;
  return error instanceof Error && REDIS_UNAVAILABLE.test(error.message);
}
