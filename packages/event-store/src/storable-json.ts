import { InvalidInputError } from '@refract/core';

/**
 * Nesting deeper than this is refused. Real payloads stay under ten levels;
 * at a few thousand, JSON.stringify overflows the stack (a 1 MiB body can
 * nest 500,000 deep) and Postgres refuses the jsonb.
 */
export const MAX_JSON_DEPTH = 64;

const LONE_SURROGATE = /\p{Cs}/u;

function badString(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the character U+0000';
  if (LONE_SURROGATE.test(text)) return 'must not contain an unpaired surrogate (\\ud800-\\udfff)';
  return undefined;
}

/**
 * Throws InvalidInputError naming the path (`events.0.data.note`) of the
 * first value that Postgres cannot store as jsonb, or that would not survive
 * the trip: U+0000 and unpaired surrogates in strings or keys, numbers too
 * large for a double (JSON.parse turns them into Infinity, stored as null),
 * and nesting deeper than MAX_JSON_DEPTH. Iterative, so depth cannot
 * overflow the stack here either.
 */
export function assertStorableJson(value: unknown, at = ''): void {
  const stack: [unknown, string, number][] = [[value, at, 0]];
  for (;;) {
    const next = stack.pop();
    if (next === undefined) return;
    const [current, path, depth] = next;
    const field = path === '' ? 'body' : path;
    if (typeof current === 'string') {
      const problem = badString(current);
      if (problem) throw new InvalidInputError(field, problem);
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) throw new InvalidInputError(field, 'is too large a number');
    } else if (typeof current === 'object' && current !== null) {
      if (depth >= MAX_JSON_DEPTH) {
        throw new InvalidInputError(field, `must not nest deeper than ${MAX_JSON_DEPTH} levels`);
      }
      const prefix = path === '' ? '' : `${path}.`;
      if (Array.isArray(current)) {
        for (let i = current.length - 1; i >= 0; i--) {
          stack.push([current[i], `${prefix}${i}`, depth + 1]);
        }
      } else {
        const keys = Object.keys(current);
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i]!;
          const problem = badString(key);
          // The parent is named: a key with U+0000 in it would make a poor field name.
          if (problem) throw new InvalidInputError(field, `has a key that ${problem}`);
          stack.push([(current as Record<string, unknown>)[key], `${prefix}${key}`, depth + 1]);
        }
      }
    }
  }
}
