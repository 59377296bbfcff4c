import { describe, expect, it } from 'vitest';
import { deterministicUuid } from './deterministic-uuid.js';

describe('deterministicUuid', () => {
  it('depends only on seed and index', () => {
    expect(deterministicUuid(1, 42)).toBe(deterministicUuid(1, 42));
    expect(deterministicUuid(1, 42)).not.toBe(deterministicUuid(2, 42));
    expect(deterministicUuid(1, 42)).not.toBe(deterministicUuid(1, 43));
  });

  it('is a version 4, RFC 4122 variant UUID', () => {
    for (let index = 0; index < 1_000; index++) {
      expect(deterministicUuid(5, index)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
  });
});
