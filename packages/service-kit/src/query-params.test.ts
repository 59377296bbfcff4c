import { InvalidInputError } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { integerParam, singleParam } from './query-params.js';

/** The InvalidInputError a call throws, as `{ field, message }`. */
function refusal(call: () => unknown) {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    const { field, message } = error as InvalidInputError;
    return { field, message };
  }
  throw new Error('expected a refusal');
}

describe('singleParam', () => {
  it('gives the query value and names the parameter', () => {
    expect(singleParam({ query: { a: 'x' } }, 'a')).toEqual({ text: 'x', field: 'a' });
    expect(singleParam({ query: { a: '' } }, 'a')).toEqual({ text: '', field: 'a' });
  });

  it('gives nothing for an absent parameter, or no query at all', () => {
    expect(singleParam({ query: {} }, 'a')).toBeUndefined();
    expect(singleParam({}, 'a')).toBeUndefined();
  });

  it('refuses a repeated parameter', () => {
    expect(refusal(() => singleParam({ query: { a: ['1', '2'] } }, 'a'))).toEqual({
      field: 'a',
      message: 'a must be given once',
    });
  });

  it('falls back to the header, matched case-insensitively, and names it', () => {
    const request = { query: {}, headers: { 'refract-min-position': '7' } };
    expect(singleParam(request, 'minPosition', 'Refract-Min-Position')).toEqual({
      text: '7',
      field: 'Refract-Min-Position',
    });
    // Without a header name the header is not read.
    expect(singleParam(request, 'minPosition')).toBeUndefined();
  });

  it('prefers the query to the header', () => {
    const request = { query: { minPosition: '3' }, headers: { 'refract-min-position': '7' } };
    expect(singleParam(request, 'minPosition', 'Refract-Min-Position')?.text).toBe('3');
  });

  it('refuses a repeated header, naming the header', () => {
    const request = { headers: { 'refract-timeout-ms': ['1', '2'] } };
    expect(refusal(() => singleParam(request, 'timeoutMs', 'Refract-Timeout-Ms'))).toEqual({
      field: 'Refract-Timeout-Ms',
      message: 'Refract-Timeout-Ms must be given once',
    });
  });
});

describe('integerParam', () => {
  const query = (value: string) => ({ query: { n: value } });

  it('reads a decimal integer within the bounds', () => {
    expect(integerParam(query('0'), 'n')).toBe(0);
    expect(integerParam(query('42'), 'n', { min: 1, max: 42 })).toBe(42);
    expect(integerParam(query('9007199254740991'), 'n')).toBe(Number.MAX_SAFE_INTEGER);
    expect(integerParam({ query: {} }, 'n')).toBeUndefined();
  });

  it.each(['-1', '1.5', 'abc', '', '+5', '1e3', ' 1', '0x10', '9007199254740992'])(
    'refuses %j as a non-negative integer',
    (text) => {
      expect(refusal(() => integerParam(query(text), 'n'))).toEqual({
        field: 'n',
        message: 'n must be a non-negative integer',
      });
    },
  );

  it('states the bounds it was given', () => {
    const bounds = { min: 1, max: 1000 };
    for (const limit of ['0', '1001']) {
      expect(refusal(() => integerParam({ query: { limit } }, 'limit', bounds))).toEqual({
        field: 'limit',
        message: 'limit must be an integer from 1 to 1000',
      });
    }
    expect(integerParam({ query: { limit: '1000' } }, 'limit', bounds)).toBe(1000);
    expect(refusal(() => integerParam(query('4'), 'n', { min: 5 }))).toEqual({
      field: 'n',
      message: 'n must be an integer of at least 5',
    });
  });

  it('names the header when the value came from it', () => {
    const request = { headers: { 'refract-timeout-ms': '60001' } };
    const options = { max: 60_000, header: 'Refract-Timeout-Ms' };
    expect(refusal(() => integerParam(request, 'timeoutMs', options))).toEqual({
      field: 'Refract-Timeout-Ms',
      message: 'Refract-Timeout-Ms must be an integer from 0 to 60000',
    });
    expect(integerParam({ headers: { 'refract-timeout-ms': '250' } }, 'timeoutMs', options)).toBe(
      250,
    );
  });
});
