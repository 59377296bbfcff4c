import { AssertionError } from 'node:assert';
import { defineDecider, RuleViolatedError } from '@refract/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { deciderSpec } from './decider.js';

// A counter small enough to read in one glance: Add adds, Close closes, and
// nothing is added once closed or beyond 10.
type Added = { type: 'Added'; data: { by: number } };
type Closed = { type: 'Closed'; data: { reason: string } };
type CounterEvent = Added | Closed;
type Add = { type: 'Add'; by: number };
type Close = { type: 'Close' };
type CounterState = { total: number; closed: boolean };

const counter = defineDecider<Add | Close, CounterEvent, CounterState>({
  name: 'counter',
  initialState: () => ({ total: 0, closed: false }),
  decide(command, state) {
    if (state.closed) throw new RuleViolatedError('counter is closed', { total: state.total });
    if (command.type === 'Close') return [{ type: 'Closed', data: { reason: 'done' } }];
    if (command.by === 0) return [];
    if (state.total + command.by > 10) throw new RangeError('beyond 10');
    return [{ type: 'Added', data: { by: command.by } }];
  },
  evolve(state, event) {
    if (event.type === 'Closed') return { ...state, closed: true };
    if (event.data.by < 0) throw new Error('a negative Added cannot be folded');
    return { ...state, total: state.total + event.data.by };
  },
});

const spec = deciderSpec(counter);
const added = (by: number): Added => ({ type: 'Added', data: { by } });
const closed: Closed = { type: 'Closed', data: { reason: 'done' } };

/** The AssertionError `run` throws, so its message can be asserted. */
function failure(run: () => unknown): AssertionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AssertionError);
    return error as AssertionError;
  }
  throw new Error('expected the expectation to fail');
}

describe('deciderSpec', () => {
  it('passes when decide produces the expected events, folded from the given ones', () => {
    expect(
      spec
        .given([added(2), added(3)])
        .when({ type: 'Add', by: 5 })
        .thenEvents([added(5)]),
    ).toEqual([added(5)]);
    spec.when({ type: 'Close' }).thenEvents([closed]);
    spec.when({ type: 'Add', by: 0 }).thenEvents([]);
  });

  it('compares events as stored JSON: key order and undefined fields do not count', () => {
    const reordered = { data: { by: 1 }, type: 'Added' } as const;
    spec.when({ type: 'Add', by: 1 }).thenEvents([reordered]);
    spec
      .when({ type: 'Add', by: 1 })
      .thenEvents([{ type: 'Added', data: { by: 1, note: undefined } } as Added]);
  });

  it('fails a different event naming the first difference, with both sides as JSON', () => {
    const error = failure(() =>
      spec
        .given([added(2)])
        .when({ type: 'Add', by: 5 })
        .thenEvents([added(4)]),
    );
    expect(error.message).toBe(
      [
        'Add on [Added]: the events decided differ at [0].data.by: expected 4, got 5',
        `expected: ${JSON.stringify([added(4)], null, 2)}`,
        `actual:   ${JSON.stringify([added(5)], null, 2)}`,
      ].join('\n'),
    );
    // vitest and jest print their own diff from these.
    expect(error.actual).toEqual([added(5)]);
    expect(error.expected).toEqual([added(4)]);
  });

  it('fails on a missing, an extra or another event', () => {
    const when = spec.when({ type: 'Add', by: 1 });
    expect(failure(() => when.thenEvents([])).message).toMatch(
      /^Add on no events: the events decided differ at \[0\]: expected nothing, got \{"type":"Added","data":\{"by":1\}\}\n/,
    );
    expect(failure(() => when.thenEvents([added(1), added(1)])).message).toMatch(
      /differ at \[1\]: expected \{"type":"Added","data":\{"by":1\}\}, got nothing\n/,
    );
    const twice = spec.given([added(1)]).when({ type: 'Add', by: 1 });
    expect(failure(() => twice.thenEvents([closed, added(1)])).message).toMatch(
      /differ at \[0\]\.type: expected "Closed", got "Added"\n/,
    );
  });

  it('fails `thenEvents` when decide threw, saying what it threw', () => {
    expect(failure(() => spec.given([closed]).when({ type: 'Close' }).thenEvents([])).message).toBe(
      'Close on [Closed]: expected events [], but decide threw RuleViolatedError (rule_violated): counter is closed',
    );
  });

  it('asserts a refusal by code, by class, by message and by details', () => {
    const when = spec.given([added(4), closed]).when({ type: 'Add', by: 1 });
    const error = when.thenThrows('rule_violated');
    expect(error).toBeInstanceOf(RuleViolatedError);
    when.thenThrows(RuleViolatedError);
    when.thenThrows({ code: 'rule_violated', message: /is closed/, details: { total: 4 } });
    when.thenThrows({ type: RuleViolatedError, message: 'counter is' });
    spec
      .given([added(8)])
      .when({ type: 'Add', by: 3 })
      .thenThrows(RangeError);
  });

  it('fails `thenThrows` with what was expected and what happened instead', () => {
    expect(
      failure(() => spec.when({ type: 'Add', by: 1 }).thenThrows('rule_violated')).message,
    ).toBe(
      'Add on no events: expected decide to throw an error with code "rule_violated", but it returned [{"type":"Added","data":{"by":1}}]',
    );
    const refused = spec.given([closed]).when({ type: 'Close' });
    expect(failure(() => refused.thenThrows('unknown_command')).message).toBe(
      'Close on [Closed]: expected decide to throw an error with code "unknown_command", but it threw RuleViolatedError (rule_violated): counter is closed: its code is "rule_violated", not "unknown_command"',
    );
    expect(failure(() => refused.thenThrows(RangeError)).message).toMatch(
      /throw an error with RangeError, but it threw RuleViolatedError .*: it is not a RangeError$/,
    );
    expect(failure(() => refused.thenThrows({ message: /open/ })).message).toMatch(
      /its message does not match \/open\/$/,
    );
    expect(failure(() => refused.thenThrows({ message: 'open' })).message).toMatch(
      /its message does not contain "open"$/,
    );
    expect(failure(() => refused.thenThrows({ details: { total: 1 } })).message).toMatch(
      /its details are \{"total":0\}, not \{"total":1\}$/,
    );
  });

  it('asserts the state the given and the decided events fold into', () => {
    expect(
      spec
        .given([added(2)])
        .when({ type: 'Add', by: 3 })
        .thenState({ total: 5, closed: false }),
    ).toEqual({ total: 5, closed: false });
    expect(
      failure(() => spec.when({ type: 'Close' }).thenState({ total: 0, closed: false })).message,
    ).toMatch(/^Close on no events: the state after differ at \.closed: expected false, got true/);
  });

  it('decides once however many expectations follow', () => {
    let calls = 0;
    const counted = deciderSpec({
      ...counter,
      decide: (command: Add | Close, state: CounterState) => {
        calls++;
        return counter.decide(command, state);
      },
    });
    const when = counted.when({ type: 'Add', by: 1 });
    when.thenEvents([added(1)]);
    when.thenState({ total: 1, closed: false });
    expect(calls).toBe(1);
  });

  it('names the given event evolve could not fold, as an error of the test itself', () => {
    const error = (() => {
      try {
        spec
          .given([added(1), added(-1)])
          .when({ type: 'Close' })
          .thenEvents([closed]);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected evolve to throw');
    })();
    expect(error).not.toBeInstanceOf(AssertionError);
    expect(error.message).toBe(
      'evolve threw on given event 1 (Added): Error: a negative Added cannot be folded',
    );
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('infers the command, event and state types from the decider', () => {
    expectTypeOf(spec.when).parameter(0).toEqualTypeOf<Add | Close>();
    expectTypeOf(spec.given).parameter(0).toEqualTypeOf<readonly CounterEvent[]>();
    expectTypeOf(spec.when({ type: 'Close' }).thenEvents).returns.toEqualTypeOf<CounterEvent[]>();
    expectTypeOf(spec.when({ type: 'Close' }).thenState)
      .parameter(0)
      .toEqualTypeOf<CounterState>();
    // Each line below must fail to compile; tsc reports an unused directive otherwise.
    const typeErrors = () => {
      // @ts-expect-error: not a command of this decider
      spec.when({ type: 'Remove', by: 1 });
      // @ts-expect-error: a command with a field of the wrong type
      spec.when({ type: 'Add', by: '1' });
      // @ts-expect-error: not an event of this decider
      spec.given([{ type: 'Removed', data: { by: 1 } }]);
      // @ts-expect-error: an expected event with the wrong payload
      spec.when({ type: 'Close' }).thenEvents([{ type: 'Closed', data: { by: 1 } }]);
      // @ts-expect-error: a state of another shape
      spec.when({ type: 'Close' }).thenState({ total: 0 });
    };
    expect(typeErrors).toBeTypeOf('function');
  });

  it('loads no database driver', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('./decider.ts', import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports).toEqual(['node:assert', 'node:util']);
  });
});
