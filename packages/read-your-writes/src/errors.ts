/** A checkpoint that has not reached its target: the partition, the target and the checkpoint last seen. */
export interface PendingPartition {
  partition: number;
  target: number;
  checkpoint: number;
}

/**
 * A wait that did not end in the position being applied. Carries the HTTP
 * answer: `statusCode` and the body `{ error: code, message, ...details }`.
 */
export class ReadYourWritesError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: 'not_caught_up' | 'shutting_down',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The timeout came first: 504 `not_caught_up`, with the partitions still behind when known. */
export class NotCaughtUpError extends ReadYourWritesError {
  constructor(
    message: string,
    readonly projection: string,
    readonly minPosition: number,
    readonly timeoutMs: number,
    /** Absent when the position was beyond the log's head. */
    readonly pending?: PendingPartition[],
  ) {
    super(504, 'not_caught_up', message, {
      projection,
      minPosition,
      timeoutMs,
      ...(pending ? { pending } : {}),
    });
  }
}

/** The watcher closed while the request waited (the server is shutting down): 503 `shutting_down`. */
export class WatcherClosedError extends ReadYourWritesError {
  constructor() {
    super(503, 'shutting_down', 'the server is shutting down; retry on another instance');
  }
}
