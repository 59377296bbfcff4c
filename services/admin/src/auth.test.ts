import { describe, expect, it } from 'vitest';
import { tokenMatches } from './auth.js';

describe('tokenMatches', () => {
  it('accepts the token and refuses anything else, whatever its length', () => {
    const token = 'the-admin-token-0123';
    expect(tokenMatches(token, token)).toBe(true);
    for (const other of [
      '',
      'the-admin-token-012',
      `${token}4`,
      'x'.repeat(1000),
      token.toUpperCase(),
    ]) {
      expect(tokenMatches(other, token)).toBe(false);
    }
  });
});
