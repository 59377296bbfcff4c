import { Pool } from 'undici';
import { expectedVersionBefore, type StreamChunk } from './workload.js';

/** An append request, serialised before the clock starts: the client's JSON work is not measured. */
export interface PreparedAppend {
  streamId: string;
  path: string;
  body: string;
  events: number;
}

/** The body of `POST /streams/{id}/events` for consecutive events of one stream, ids included. */
export function prepareAppend(chunk: StreamChunk): PreparedAppend {
  const body = JSON.stringify({
    expectedVersion: expectedVersionBefore(chunk.events[0]!.version),
    events: chunk.events.map((event) => ({
      id: event.id,
      type: event.type,
      data: JSON.parse(event.dataJson),
    })),
  });
  return {
    streamId: chunk.streamId,
    path: `/streams/${encodeURIComponent(chunk.streamId)}/events`,
    body,
    events: chunk.events.length,
  };
}

/**
 * HTTP/1.1 keep-alive connections to the write API (undici), one per
 * concurrent client. An answer other than 201 is an error.
 */
export class WriteApiClient {
  private readonly pool: Pool;

  constructor(origin: string, connections: number) {
    this.pool = new Pool(origin, { connections, pipelining: 1 });
  }

  /** Resolves with the append's last position. */
  async append(request: PreparedAppend): Promise<number> {
    const response = await this.pool.request({
      method: 'POST',
      path: request.path,
      headers: { 'content-type': 'application/json' },
      body: request.body,
    });
    const text = await response.body.text();
    if (response.statusCode !== 201) {
      throw new Error(`append to ${request.streamId}: HTTP ${response.statusCode} ${text}`);
    }
    return (JSON.parse(text) as { lastPosition: number }).lastPosition;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
