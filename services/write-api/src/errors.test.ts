import {
  DependencyUnavailableError,
  InvalidInputError,
  RuleViolatedError,
  WrongExpectedVersionError,
} from '@refract/core';
import { describe, expect, it } from 'vitest';
import { toHttpError } from './errors.js';

const LIMIT = 1024;
const map = (error: unknown) => toHttpError(error, 'req-1', LIMIT);

describe('toHttpError', () => {
  it('answers Refract errors with their code, status and details', () => {
    expect(map(new InvalidInputError('events.0.type', 'must be a string'))).toEqual({
      statusCode: 400,
      level: 'debug',
      body: {
        error: 'invalid_request',
        message: 'events.0.type must be a string',
        field: 'events.0.type',
      },
    });
    expect(map(new WrongExpectedVersionError('s', 3, 5)).body).toEqual({
      error: 'wrong_expected_version',
      message: 'stream s is at version 5, expected 3',
      streamId: 's',
      expected: 3,
      actual: 5,
    });
    expect(map(new RuleViolatedError('no', { orderId: 'o' })).statusCode).toBe(422);
    expect(map(new DependencyUnavailableError('postgres', new Error('x'))).statusCode).toBe(503);
  });

  it('never lets details override the code or the message', () => {
    const body = map(new RuleViolatedError('refused', { error: 'other', message: 'other' })).body;
    expect(body).toMatchObject({ error: 'rule_violated', message: 'refused' });
  });

  it('maps framework errors', () => {
    const fst = (code: string, statusCode: number) =>
      Object.assign(new Error(code), { code, statusCode });
    expect(map(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413))).toMatchObject({
      statusCode: 413,
      body: { error: 'payload_too_large', field: 'body', limitBytes: LIMIT },
    });
    expect(map(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))).toMatchObject({
      statusCode: 415,
      body: { error: 'unsupported_media_type' },
    });
    expect(map(fst('FST_ERR_CTP_INVALID_JSON_BODY', 400)).body).toMatchObject({
      error: 'invalid_request',
      field: 'body',
    });
    expect(map(fst('FST_ERR_MAX_PARAM_LENGTH', 414))).toMatchObject({
      statusCode: 400,
      body: { field: 'url' },
    });
  });

  it('maps Postgres errors: unreachable → 503, refused value → 400', () => {
    const refused = Object.assign(new Error('unsupported Unicode escape sequence'), {
      code: '22P05',
      severity: 'ERROR',
    });
    expect(map(refused)).toMatchObject({ statusCode: 400, body: { field: 'body' } });
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(map(down)).toMatchObject({
      statusCode: 503,
      body: { error: 'dependency_unavailable', dependency: 'postgres' },
    });
  });

  it('answers anything else with a generic 500 that leaks nothing', () => {
    const answer = map(new TypeError('cannot read properties of undefined (reading "x")'));
    expect(answer).toEqual({
      statusCode: 500,
      level: 'error',
      body: {
        error: 'internal_error',
        message: 'an unexpected error occurred',
        requestId: 'req-1',
      },
    });
    expect(map('a thrown string').statusCode).toBe(500);
    expect(map(null).statusCode).toBe(500);
  });
});
