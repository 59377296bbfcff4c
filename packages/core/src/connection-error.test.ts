import { describe, expect, it } from 'vitest';
import { isTransientError } from './connection-error.js';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isTransientError', () => {
  it.each([
    ['serialization failure', withCode('40001')],
    ['deadlock', withCode('40P01')],
    ['lock timeout', withCode('55P03')],
    ['query canceled', withCode('57014')],
    ['connection exception', withCode('08006')],
    ['refused socket', withCode('ECONNREFUSED')],
    ['dropped pg socket', new Error('Connection terminated unexpectedly')],
    ['ioredis without a connection', new Error('Connection is closed.')],
    [
      'ioredis giving up',
      Object.assign(new Error('Reached the max retries per request limit'), {
        name: 'MaxRetriesPerRequestError',
      }),
    ],
  ])('takes %s for transient', (_, error) => {
    expect(isTransientError(error)).toBe(true);
  });

  it.each([
    ['a handler bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['invalid numeric input', withCode('22P02', 'invalid input syntax for type numeric')],
    ['a check violation', withCode('23514')],
    ['a thrown string', 'nope'],
    ['nothing', undefined],
  ])('takes %s for deterministic', (_, error) => {
    expect(isTransientError(error)).toBe(false);
  });
});
