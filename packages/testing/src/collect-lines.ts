import { Writable } from 'node:stream';

/**
 * A stream that keeps what is written to it, one chunk a line: a logger's
 * destination for tests that assert on what was (or was not) logged.
 */
export function collectLines(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}
