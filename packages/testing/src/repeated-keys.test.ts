import { describe, expect, it } from 'vitest';
import { repeatedKeys } from './repeated-keys.js';

describe('repeatedKeys', () => {
  it('finds a key repeated in one object, which JSON.parse would drop silently', () => {
    const line = '{"level":50,"projection":"x","partition":3,"projection":"x","msg":"parked"}';
    expect(JSON.parse(line)).toMatchObject({ projection: 'x' });
    expect(repeatedKeys(line)).toEqual(['$.projection']);
  });

  it('names nested repeats by path and allows one key in sibling objects', () => {
    expect(repeatedKeys('{"a":{"b":1,"b":2},"c":[{"d":1},{"d":2,"d":3}],"e":{"b":1}}')).toEqual([
      '$.a.b',
      '$.c[1].d',
    ]);
  });

  it('reads escapes, numbers and literals, and finds nothing in a clean line', () => {
    expect(
      repeatedKeys('{"s":"a\\"b\\\\","n":-1.5e3,"t":true,"f":false,"z":null,"o":{},"l":[]}'),
    ).toEqual([]);
  });

  it('refuses text that is not JSON', () => {
    expect(() => repeatedKeys('{"a":1')).toThrow(SyntaxError);
    expect(() => repeatedKeys('{"a":1} x')).toThrow(SyntaxError);
  });
});
