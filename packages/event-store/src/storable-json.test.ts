import { InvalidInputError } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { assertStorableJson, MAX_JSON_DEPTH } from './storable-json.js';

function fieldOf(value: unknown): string | undefined {
  try {
    assertStorableJson(value);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).field;
  }
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('assertStorableJson', () => {
  it('accepts ordinary JSON, emoji included', () => {
    expect(
      fieldOf({ events: [{ type: 'A', data: { s: 'héllo 😀', n: -1.5, b: true, z: null } }] }),
    ).toBe(undefined);
    expect(fieldOf(nested(MAX_JSON_DEPTH))).toBe(undefined);
  });

  it('names the path of U+0000, unpaired surrogates and infinite numbers', () => {
    expect(fieldOf({ events: [{ data: { note: 'a\u0000' } }] })).toBe('events.0.data.note');
    expect(fieldOf({ list: ['ok', '\udc00'] })).toBe('list.1');
    expect(fieldOf({ s: 'x\ud83d' })).toBe('s');
    expect(fieldOf({ n: Number.POSITIVE_INFINITY })).toBe('n');
    expect(fieldOf('\u0000')).toBe('body');
  });

  it('names the parent of a bad key', () => {
    expect(fieldOf({ data: { 'k\u0000': 1 } })).toBe('data');
    expect(fieldOf({ '\ud800': 1 })).toBe('body');
  });

  it('refuses nesting past the limit without overflowing the stack', () => {
    expect(fieldOf(nested(MAX_JSON_DEPTH + 1))).toMatch(/^(a\.)+a$/);
    expect(fieldOf(JSON.parse(`${'['.repeat(300_000)}${']'.repeat(300_000)}`))).toMatch(
      /^(0\.)+0$/,
    );
  });
});
