import { describe, expect, it } from 'vitest';
import { toHttpError } from './errors.js';

const LIMIT = 1024;
const map = (error: unknown) => toHttpError(error, 'req-1', LIMIT);

describe('toHttpError', () => {
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
});
