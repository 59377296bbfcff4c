import { DependencyUnavailableError, InvalidInputError } from '@refract/core';
import { describe, expect, it } from 'vitest';
import {
  customerNotFound,
  orderNotFound,
  QueryApiError,
  shuttingDown,
  toHttpError,
} from './errors.js';

const map = (error: unknown) => toHttpError(error, 'req-1');

describe('toHttpError', () => {
  it('answers input errors 400 with the field', () => {
    expect(map(new InvalidInputError('minPosition', 'must be a non-negative integer'))).toEqual({
      statusCode: 400,
      level: 'debug',
      body: {
        error: 'invalid_request',
        message: 'minPosition must be a non-negative integer',
        field: 'minPosition',
      },
    });
  });

  it('answers the query API’s own errors with their status and details', () => {
    expect(map(orderNotFound('7'))).toEqual({
      statusCode: 404,
      level: 'debug',
      body: { error: 'order_not_found', message: 'order 7 does not exist', orderId: '7' },
    });
    expect(map(customerNotFound('c')).statusCode).toBe(404);
    expect(map(shuttingDown())).toMatchObject({
      statusCode: 503,
      body: { error: 'shutting_down' },
    });
    const late = new QueryApiError(504, 'not_caught_up', 'late', { minPosition: 3 });
    expect(map(late)).toEqual({
      statusCode: 504,
      level: 'warn',
      body: { error: 'not_caught_up', message: 'late', minPosition: 3 },
    });
  });

  it('keeps details from overriding the code or the message', () => {
    const sneaky = new QueryApiError(504, 'not_caught_up', 'late', { error: 'x', message: 'y' });
    expect(map(sneaky).body).toEqual({ error: 'not_caught_up', message: 'late' });
  });

  it('answers a missing dependency 503 and a lost connection 503', () => {
    expect(map(new DependencyUnavailableError('projection order_summary'))).toMatchObject({
      statusCode: 503,
      body: { error: 'dependency_unavailable', dependency: 'projection order_summary' },
    });
    expect(map(Object.assign(new Error('gone'), { code: '57P01' }))).toMatchObject({
      statusCode: 503,
      body: { error: 'dependency_unavailable', dependency: 'postgres' },
    });
  });

  it('answers anything else 500 with a generic message and the request id, never its text', () => {
    const answer = map(new Error('secret at /srv/x.ts:1'));
    expect(answer).toEqual({
      statusCode: 500,
      level: 'error',
      body: {
        error: 'internal_error',
        message: 'an unexpected error occurred',
        requestId: 'req-1',
      },
    });
    expect(JSON.stringify(answer.body)).not.toContain('secret');
  });
});
