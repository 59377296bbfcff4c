import { describe, expect, it } from 'vitest';
import { EventRefusedError, foldEach } from './errors.js';

describe('foldEach', () => {
  it('folds in order and names the event a throw came from, with its message and cause', () => {
    const seen: number[] = [];
    const cause = new RangeError('invalid amount 12.5');
    let thrown: unknown;
    try {
      foldEach([{ position: 3 }, { position: 8 }, { position: 9 }], (event) => {
        if (event.position === 8) throw cause;
        seen.push(event.position);
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EventRefusedError);
    expect(thrown).toMatchObject({ position: 8, message: 'invalid amount 12.5', cause });
    expect(seen).toEqual([3]);
  });
});
