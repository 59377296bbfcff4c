import type { Socket } from 'node:net';
import {
  DependencyUnavailableError,
  InvalidInputError,
  RuleViolatedError,
  WrongExpectedVersionError,
} from '@refract/core';
import { describe, expect, it } from 'vitest';
import {
  clientErrorHandler,
  type ErrorMapping,
  errorBody,
  type HttpError,
  httpErrorOf,
  shuttingDownBody,
} from './http-errors.js';

const map = (error: unknown, mapping: ErrorMapping = { unreadableField: 'body' }) =>
  httpErrorOf(error, 'req-1', mapping);

const fst = (code: string, statusCode: number) =>
  Object.assign(new Error(code), { code, statusCode });

describe('errorBody', () => {
  it('is { error, message, ...details }, and details never override the code or the message', () => {
    expect(errorBody('rule_violated', 'refused', { orderId: 'o' })).toEqual({
      error: 'rule_violated',
      message: 'refused',
      orderId: 'o',
    });
    expect(errorBody('rule_violated', 'refused', { error: 'x', message: 'y' })).toEqual({
      error: 'rule_violated',
      message: 'refused',
    });
    expect(shuttingDownBody()).toEqual({
      error: 'shutting_down',
      message: 'the server is shutting down; retry on another instance',
    });
  });
});

describe('httpErrorOf', () => {
  // From services/write-api/src/errors.test.ts: the shared part of its mapping.
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

  it("answers a Refract error of another copy of @refract/core (an application module's) by its code", () => {
    // What a decider in a module loaded by path throws: not an instance of this copy's class.
    const foreign = Object.assign(new Error('task t1 exists'), {
      name: 'RuleViolatedError',
      code: 'rule_violated',
      details: { taskId: 't1' },
    });
    expect(map(foreign)).toEqual({
      statusCode: 422,
      level: 'debug',
      body: { error: 'rule_violated', message: 'task t1 exists', taskId: 't1' },
    });
    // A code outside the catalog, or no details, is not taken for one.
    expect(map(Object.assign(new Error('x'), { code: 'not_a_code', details: {} })).statusCode).toBe(
      500,
    );
    expect(map(Object.assign(new Error('x'), { code: 'rule_violated' })).statusCode).toBe(500);
  });

  it('never lets details override the code or the message', () => {
    const body = map(new RuleViolatedError('refused', { error: 'other', message: 'other' })).body;
    expect(body).toMatchObject({ error: 'rule_violated', message: 'refused' });
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

  // From services/query-api/src/errors.test.ts: the shared part of its mapping.
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

  it('asks the service first, for anything', () => {
    const mine: HttpError = { statusCode: 418, level: 'debug', body: errorBody('mine', 'mine') };
    const mapping: ErrorMapping = {
      service: (error) => (error instanceof RuleViolatedError ? mine : undefined),
      unreadableField: 'body',
    };
    expect(map(new RuleViolatedError('no'), mapping)).toBe(mine);
    expect(map(new InvalidInputError('x', 'is bad'), mapping).statusCode).toBe(400);
  });

  it('answers URL errors 400 with field url', () => {
    for (const code of ['FST_ERR_BAD_URL', 'FST_ERR_MAX_PARAM_LENGTH']) {
      expect(map(fst(code, 414))).toEqual({
        statusCode: 400,
        level: 'debug',
        body: {
          error: 'invalid_request',
          message: 'url is malformed or a path segment is too long',
          field: 'url',
        },
      });
    }
  });

  it("asks the service about framework errors, then answers other 4xx 400 with the service's field", () => {
    const tooLarge: HttpError = {
      statusCode: 413,
      level: 'debug',
      body: errorBody('payload_too_large', 'too large'),
    };
    const mapping: ErrorMapping = {
      framework: (error) => (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? tooLarge : undefined),
      unreadableField: 'request',
    };
    expect(map(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413), mapping)).toBe(tooLarge);
    expect(map(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), mapping)).toEqual({
      statusCode: 400,
      level: 'debug',
      body: {
        error: 'invalid_request',
        message: 'the request could not be read',
        field: 'request',
      },
    });
    expect(map(fst('FST_ERR_REQ_ABORTED', 400)).body).toMatchObject({ field: 'body' });
    // A framework failure of our own is not the client's.
    expect(map(fst('FST_ERR_SOMETHING', 500)).statusCode).toBe(500);
  });
});

describe('clientErrorHandler', () => {
  function fakeSocket(options: { destroyed?: boolean; writable?: boolean } = {}) {
    const socket = {
      destroyed: options.destroyed ?? false,
      writable: options.writable ?? true,
      written: '',
      destroyedWith: undefined as unknown,
      write(text: string) {
        socket.written += text;
        return true;
      },
      destroy(error?: unknown) {
        socket.destroyedWith = error;
      },
    };
    return socket;
  }
  const handle = (code: string | undefined, socket: ReturnType<typeof fakeSocket>) => {
    const error = Object.assign(new Error('parse error'), code ? { code } : {});
    clientErrorHandler(error, socket as unknown as Socket);
    return error;
  };
  const bodyOf = (written: string) => JSON.parse(written.split('\r\n\r\n')[1] ?? '');

  it('answers what Node could not parse in our error shape, then closes', () => {
    const socket = fakeSocket();
    const error = handle('HPE_INVALID_METHOD', socket);
    expect(socket.written).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(socket.written).toContain('Content-Type: application/json\r\n');
    expect(socket.written).toContain('Connection: close\r\n');
    const body = bodyOf(socket.written);
    expect(body).toEqual({
      error: 'invalid_request',
      message: 'the request is not valid HTTP',
      field: 'request',
    });
    expect(socket.written).toContain(`Content-Length: ${Buffer.byteLength(JSON.stringify(body))}`);
    expect(socket.destroyedWith).toBe(error);
  });

  it('answers a slow request 408 and oversized headers 431', () => {
    const slow = fakeSocket();
    handle('ERR_HTTP_REQUEST_TIMEOUT', slow);
    expect(slow.written).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(bodyOf(slow.written)).toMatchObject({ error: 'request_timeout' });
    const big = fakeSocket();
    handle('HPE_HEADER_OVERFLOW', big);
    expect(big.written).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(bodyOf(big.written)).toMatchObject({ error: 'headers_too_large', field: 'headers' });
  });

  it('leaves reset or destroyed sockets alone, and writes nothing to an unwritable one', () => {
    const reset = fakeSocket();
    handle('ECONNRESET', reset);
    expect(reset).toMatchObject({ written: '', destroyedWith: undefined });
    const gone = fakeSocket({ destroyed: true });
    handle(undefined, gone);
    expect(gone).toMatchObject({ written: '', destroyedWith: undefined });
    const halfClosed = fakeSocket({ writable: false });
    const error = handle(undefined, halfClosed);
    expect(halfClosed.written).toBe('');
    expect(halfClosed.destroyedWith).toBe(error);
  });
});
