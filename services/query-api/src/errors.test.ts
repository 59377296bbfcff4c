import { InvalidInputError } from '@refract/core';
import { NotCaughtUpError, WatcherClosedError } from '@refract/read-your-writes';
import { describe, expect, it } from 'vitest';
import { isExpected, toHttpError } from './errors.js';

const map = (error: unknown) => toHttpError(error, 'req-1', 1024);

describe('toHttpError', () => {
  it('answers a wait that did not end with its status and details', () => {
    const late = new NotCaughtUpError('late', 'order_summary', 3, 100, []);
    expect(map(late)).toEqual({
      statusCode: 504,
      level: 'warn',
      body: {
        error: 'not_caught_up',
        message: 'late',
        projection: 'order_summary',
        minPosition: 3,
        timeoutMs: 100,
        pending: [],
      },
    });
    expect(map(new WatcherClosedError())).toMatchObject({
      statusCode: 503,
      level: 'debug',
      body: { error: 'shutting_down' },
    });
  });

  it('keeps details from overriding the code or the message', () => {
    const sneaky = new NotCaughtUpError('late', 'x', 1, 1);
    Object.assign(sneaky.details, { error: 'x', message: 'y' });
    expect(map(sneaky).body).toMatchObject({ error: 'not_caught_up', message: 'late' });
  });

  it('answers a body over the limit 413, naming the limit', () => {
    const tooLarge = Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(map(tooLarge)).toEqual({
      statusCode: 413,
      level: 'debug',
      body: {
        error: 'payload_too_large',
        message: 'body must be at most 1024 bytes',
        field: 'body',
        limitBytes: 1024,
      },
    });
  });

  it('leaves the rest to the shared mapping', () => {
    expect(map(new InvalidInputError('thing', 'is wrong'))).toMatchObject({
      statusCode: 400,
      body: { error: 'invalid_request', field: 'thing' },
    });
  });
});

describe('isExpected', () => {
  it('is client errors and waits that ran out of time', () => {
    expect(isExpected(map(new NotCaughtUpError('late', 'x', 1, 1)))).toBe(true);
    expect(isExpected(map(new InvalidInputError('thing', 'is wrong')))).toBe(true);
    expect(isExpected(map(new Error('boom')))).toBe(false);
  });
});
