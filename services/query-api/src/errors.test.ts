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
});
