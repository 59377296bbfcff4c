import type {
  AuditInfo,
  JobInfo,
  ParkedEvent,
  ParkedStreamsPage,
  ProjectionInfo,
  ReactorInfo,
  RelayInfo,
  ReplayInfo,
  RetryAllResult,
  WorkerInfo,
} from './admin-types.js';
import { CliError, ExitCode } from './exit-codes.js';

export interface AdminClientOptions {
  /** e.g. `http://127.0.0.1:4002`; a trailing slash is ignored. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; without one, admin answers 401. */
  token: string | undefined;
  /** Per request. @defaultValue 10000 */
  timeoutMs?: number;
}

/** What `POST /api/projections/{name}/rebuild` answered. */
export type RebuildStart =
  | { started: true; jobId: string }
  /** 409: one runs already; this is its id. */
  | { started: false; jobId: string };

interface ErrorBody {
  error?: string;
  message?: string;
  jobId?: string;
  [field: string]: unknown;
}

/**
 * The admin API over HTTP (global fetch). Every failure becomes a CliError
 * with a message that says what to do and the documented exit code; `what`
 * names the thing asked for, so a 404 says which projection or job is unknown.
 */
export class AdminClient {
  private readonly base: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  projections(): Promise<ProjectionInfo[]> {
    return this.json('GET', '/api/projections', 'the projections');
  }

  workers(): Promise<WorkerInfo[]> {
    return this.json('GET', '/api/workers', 'the workers');
  }

  relay(): Promise<RelayInfo> {
    return this.json('GET', '/api/relay', 'the relay');
  }

  /** `expectChanges`: 'any', or the columns allowed to differ from the live version. */
  async rebuild(projection: string, expectChanges?: 'any' | string[]): Promise<RebuildStart> {
    const response = await this.send(
      'POST',
      `/api/projections/${seg(projection)}/rebuild`,
      expectChanges === undefined ? undefined : { expectChanges },
    );
    const body = await readBody(response);
    if (response.status === 409 && typeof body?.jobId === 'string') {
      return { started: false, jobId: body.jobId };
    }
    this.check(response, body, projectionWhat(projection));
    return { started: true, jobId: String((body as { jobId: unknown }).jobId) };
  }

  /** The application's reactors with their ledger's counts. */
  reactors(): Promise<ReactorInfo[]> {
    return this.json('GET', '/api/reactors', 'the reactors');
  }

  /** Moves a reactor's checkpoints back to handle its events from `from` on again. */
  replayReactor(reactor: string, from: number): Promise<ReplayInfo> {
    return this.json('POST', `/api/reactors/${seg(reactor)}/replay`, `reactor "${reactor}"`, {
      from,
    });
  }

  job(jobId: string): Promise<JobInfo> {
    return this.json('GET', `/api/jobs/${seg(jobId)}`, `job ${jobId}`);
  }

  /** Swaps a rebuild held in verifying. */
  approve(jobId: string): Promise<JobInfo> {
    return this.json('POST', `/api/jobs/${seg(jobId)}/approve`, `job ${jobId}`);
  }

  cancel(jobId: string): Promise<unknown> {
    return this.json('DELETE', `/api/jobs/${seg(jobId)}`, `job ${jobId}`);
  }

  pause(projection: string): Promise<unknown> {
    return this.json(
      'POST',
      `/api/projections/${seg(projection)}/pause`,
      projectionWhat(projection),
    );
  }

  resume(projection: string): Promise<unknown> {
    return this.json(
      'POST',
      `/api/projections/${seg(projection)}/resume`,
      projectionWhat(projection),
    );
  }

  /** Runs the completeness audit of the projection's live version now (`full`: the whole log). */
  audit(projection: string, full = false): Promise<AuditInfo> {
    return this.json(
      'POST',
      `/api/projections/${seg(projection)}/audit${full ? '?full=true' : ''}`,
      projectionWhat(projection),
    );
  }

  parked(projection: string): Promise<ParkedEvent[]> {
    return this.json(
      'GET',
      `/api/projections/${seg(projection)}/parked`,
      projectionWhat(projection),
    );
  }

  /** A page of quarantined streams, each with its parked events in order. */
  parkedStreams(projection: string, after?: string): Promise<ParkedStreamsPage> {
    const query = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
    return this.json(
      'GET',
      `/api/projections/${seg(projection)}/parked/streams${query}`,
      projectionWhat(projection),
    );
  }

  retryAllParked(projection: string): Promise<RetryAllResult> {
    return this.json(
      'POST',
      `/api/projections/${seg(projection)}/parked/retry`,
      projectionWhat(projection),
    );
  }

  skipParkedStream(projection: string, streamId: string): Promise<ParkedEvent> {
    return this.json(
      'POST',
      `/api/projections/${seg(projection)}/parked/skip`,
      `stream ${streamId} of projection "${projection}"`,
      { streamId },
    );
  }

  resolveParked(projection: string, id: string, action: 'retry' | 'skip'): Promise<unknown> {
    return this.json(
      'POST',
      `/api/projections/${seg(projection)}/parked/${seg(id)}/${action}`,
      `parked event ${id} of projection "${projection}"`,
    );
  }

  private async json<T>(method: string, path: string, what: string, sent?: unknown): Promise<T> {
    const response = await this.send(method, path, sent);
    const body = await readBody(response);
    this.check(response, body, what);
    return (body ?? {}) as T;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new CliError(
        `admin is not reachable at ${this.base} (${reason(error)}). Is it running? ` +
          '`refract dev` (`pnpm start` in the repository) runs it; --url or REFRACT_ADMIN_URL points elsewhere.',
        ExitCode.unreachable,
      );
    }
  }

  private check(response: Response, body: ErrorBody | undefined, what: string): void {
    if (response.ok) return;
    const said = body?.message ? `: ${body.message}` : '';
    const code = body?.error ? ` ${body.error}` : '';
    switch (response.status) {
      case 401:
      case 403:
        throw new CliError(
          this.token === undefined
            ? 'admin wants a token: set REFRACT_ADMIN_TOKEN or pass --token (`refract dev` and `pnpm start` print it and keep it in .refract/admin-token)'
            : `admin refused the token (${response.status}${code}); check REFRACT_ADMIN_TOKEN or --token`,
          ExitCode.unauthorized,
        );
      case 404:
        throw new CliError(`${what} not found${said}`, ExitCode.notFound);
      case 409:
        throw new CliError(`conflict on ${what}${said}`, ExitCode.conflict);
      case 503:
        throw new CliError(`admin is up but not ready (503${code})${said}`, ExitCode.unreachable);
      default:
        throw new CliError(
          `admin answered ${response.status}${code} for ${what}${said}`,
          ExitCode.failed,
        );
    }
  }
}

function projectionWhat(name: string): string {
  return `projection "${name}"`;
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

async function readBody(response: Response): Promise<ErrorBody | undefined> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as ErrorBody;
  } catch {
    // Not JSON (a proxy's error page): the status line says enough.
    return undefined;
  }
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'no answer in time';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}
