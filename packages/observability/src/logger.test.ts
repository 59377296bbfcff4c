import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskUrlPassword, prettyStream } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = {
    write(line: string) {
      lines.push(JSON.parse(line));
    },
  };
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON with the service bound and an ISO time', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'write-api', destination });
    logger.child({ reqId: 'r1' }).info({ n: 1 }, 'hello');
    expect(lines[0]).toMatchObject({ service: 'write-api', reqId: 'r1', n: 1, msg: 'hello' });
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', level: 'warn', destination });
    logger.info('dropped');
    logger.warn('kept');
    expect(lines.map((l) => l.msg)).toEqual(['kept']);
  });

  it('redacts secrets in headers, nested objects and URLs', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination });
    logger.info(
      {
        req: {
          headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'x-api-key': 'k', host: 'h' },
        },
        config: { password: 'p', databaseUrl: 'postgres://app:hunter2@db:5432/refract' },
        token: 't',
        url: '/streams/a/events',
      },
      'connecting to postgres://app:hunter2@db/refract failed',
    );
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain('abc');
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('sid=1');
    expect(lines[0]).toMatchObject({
      req: { headers: { authorization: '[Redacted]', 'x-api-key': '[Redacted]', host: 'h' } },
      config: { password: '[Redacted]', databaseUrl: 'postgres://app:[Redacted]@db:5432/refract' },
      token: '[Redacted]',
      url: '/streams/a/events',
      msg: 'connecting to postgres://app:[Redacted]@db/refract failed',
    });
  });
});

describe('maskUrlPassword', () => {
  it('masks only the password', () => {
    expect(maskUrlPassword('redis://:s3cret@r:6379 and postgres://u@h/d')).toBe(
      'redis://:[Redacted]@r:6379 and postgres://u@h/d',
    );
  });
});

describe('prettyStream', () => {
  it('prints one readable line per record', () => {
    let text = '';
    const out = new Writable({
      write(chunk, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    });
    const logger = createLogger({ service: 'svc', destination: prettyStream(out) });
    logger.warn({ streamId: 's-1' }, 'slow append');
    expect(text).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}\[svc\] slow append \{"streamId":"s-1"\}\n$/,
    );
  });
});
