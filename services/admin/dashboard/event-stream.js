// Server-Sent Events over fetch + ReadableStream. EventSource cannot send an
// Authorization header, so the page reads and parses the stream itself, and
// reconnects with capped exponential backoff.

import { authHeaders, Unauthorized } from './api.js';

const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;
/** The stream sends about once a second; this much silence means a dead connection. */
const SILENCE_MS = 10_000;

/**
 * Parses SSE text. Feed chunks with `push`; complete events come out through
 * `onEvent({ event, data, id })`. Handles \n, \r\n and \r line ends, comments,
 * multi-line data and an event split over chunks.
 */
export function createSseParser(onEvent) {
  let buffer = '';
  let event = '';
  let data = [];
  let id;
  function line(text) {
    if (text === '') {
      if (data.length > 0) onEvent({ event: event || 'message', data: data.join('\n'), id });
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return {
    push(chunk) {
      buffer += chunk;
      const lines = buffer.split(/\r\n|\r|\n/);
      // A trailing \r may be the first half of \r\n: keep it for the next chunk.
      buffer = lines.pop() ?? '';
      if (buffer === '' && chunk.endsWith('\r')) buffer = '\r';
      for (const text of lines) line(text);
    },
  };
}

/**
 * Keeps one stream open. Callbacks:
 * - `onState(state, detail)`: 'connecting' | 'live' | 'reconnecting' ({ inMs, reason }) | 'unauthorized'
 * - `onMessage({ event, data })` for each event, data already JSON-parsed.
 * `getToken()` is read at each connection; on 401 the stream stops and waits
 * for `restart()` (after the user entered a token).
 */
export function connectStream({ url, getToken, onState, onMessage }) {
  let controller;
  let stopped = false;
  let backoffMs = INITIAL_BACKOFF_MS;
  let retryTimer;
  let silenceTimer;
  let generation = 0;

  function armSilence(abort) {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(abort, SILENCE_MS);
  }

  async function run(mine) {
    controller = new AbortController();
    const signal = controller.signal;
    const abort = () => controller.abort(new Error('no data for 10 s'));
    onState('connecting');
    try {
      armSilence(abort);
      const response = await fetch(url, {
        headers: { accept: 'text/event-stream', ...authHeaders(getToken()) },
        cache: 'no-store',
        signal,
      });
      if (response.status === 401 || response.status === 403) throw new Unauthorized();
      if (!response.ok || !response.body) throw new Error(`the stream answered ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = createSseParser((message) => {
        let data;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        backoffMs = INITIAL_BACKOFF_MS;
        onState('live');
        onMessage({ event: message.event, data });
      });
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the server closed the stream');
        armSilence(abort);
        parser.push(value);
      }
    } catch (error) {
      clearTimeout(silenceTimer);
      if (stopped || mine !== generation) return;
      if (error instanceof Unauthorized) {
        onState('unauthorized');
        return;
      }
      const jitter = Math.random() * 0.3 * backoffMs;
      const inMs = Math.round(backoffMs + jitter);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      onState('reconnecting', {
        inMs,
        reason: signal.aborted ? String(signal.reason?.message ?? 'aborted') : error.message,
      });
      retryTimer = setTimeout(() => run(mine), inMs);
    }
  }

  function restart() {
    clearTimeout(retryTimer);
    clearTimeout(silenceTimer);
    generation += 1;
    controller?.abort(new Error('restarted'));
    backoffMs = INITIAL_BACKOFF_MS;
    void run(generation);
  }

  restart();
  return {
    restart,
    close() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      controller?.abort(new Error('closed'));
    },
  };
}
