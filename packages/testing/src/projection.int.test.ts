import {
  defineApp,
  defineCounterProjection,
  defineEvent,
  defineProjection,
  type EventsOf,
} from '@refract/core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type GivenEvent, projectionSpec } from './projection.js';

/** v2 of `Deposited`: cents as an integer; v1 stored `{ amount: '1.50' }`. */
const deposited = defineEvent('Deposited', {
  version: 2,
  schema: z.object({ account: z.string(), amountCents: z.number().int() }),
  upcasters: [
    {
      fromVersion: 1,
      upcast: (data) => ({
        account: data.account as string,
        amountCents: Math.round(Number(data.amount) * 100),
      }),
    },
  ],
});
const noted = defineEvent('Noted', { schema: z.object({ account: z.string() }) });
const events = [deposited, noted] as const;
type SpecEvent = EventsOf<typeof events>;

/** The amount whose deposit every handler here refuses: a poison event. */
const POISON_CENTS = 13;

/**
 * Not idempotent on purpose: a deposit applied twice counts twice, so a
 * scenario that applied anything again would show it.
 */
function balances(name: string, options: { factor?: number; halt?: boolean } = {}) {
  return defineProjection<SpecEvent>({
    name,
    version: 1,
    tables: [name],
    // Shared transactions (the worker's group commit) for one, alone for the other.
    crossPartitionBatches: options.factor === undefined,
    maxAttempts: 2,
    retryBackoffMs: 1,
    onError: options.halt ? 'halt' : 'park',
    setup: (table) => `
CREATE TABLE IF NOT EXISTS ${table(name)} (
  account text PRIMARY KEY,
  balance_cents integer NOT NULL,
  deposits integer NOT NULL
);`,
    handlers: {
      async Deposited(event, ctx) {
        if (!Number.isInteger(event.data.amountCents)) {
          throw new Error(`deposit ${event.id} is not in the current shape`);
        }
        if (event.data.amountCents === POISON_CENTS) throw new Error('unlucky amount');
        await ctx.sql.query(
          `INSERT INTO ${ctx.table(name)} AS b VALUES ($1, $2, 1)
           ON CONFLICT (account) DO UPDATE
           SET balance_cents = b.balance_cents + $2, deposits = b.deposits + 1`,
          [event.data.account, event.data.amountCents * (options.factor ?? 1)],
        );
      },
    },
  });
}

const activity = defineCounterProjection<SpecEvent>({
  name: 'activity',
  version: 1,
  handles: ['Deposited', 'Noted'],
  increments(batch) {
    const increments: Record<string, number> = {};
    const add = (field: string, by: number) => {
      increments[field] = (increments[field] ?? 0) + by;
    };
    for (const event of batch) {
      if (event.type === 'Noted') {
        add('notes', 1);
        continue;
      }
      if (event.data.amountCents === POISON_CENTS) throw new Error('unlucky amount');
      add('deposits', 1);
      add('deposited_cents', event.data.amountCents);
    }
    return increments;
  },
});

const app = defineApp({
  name: 'spec-test',
  events,
  projections: [
    balances('balances'),
    balances('doubled_balances', { factor: 2 }),
    balances('halting_balances', { halt: true }),
    activity,
  ],
  pools: {
    money: ['balances', 'doubled_balances', 'halting_balances'],
    counting: ['activity'],
  },
});

const deposit = (account: string, amountCents: number): GivenEvent => ({
  streamId: `account-${account}`,
  type: 'Deposited',
  data: { account, amountCents },
});
const note = (account: string): GivenEvent => ({
  streamId: `account-${account}`,
  type: 'Noted',
  data: { account },
});
const BALANCES = 'SELECT * FROM projections.balances ORDER BY account';

const specs = {
  balances: projectionSpec(app, 'balances'),
  doubled: projectionSpec(app, 'doubled_balances'),
  halting: projectionSpec(app, 'halting_balances'),
  activity: projectionSpec(app, 'activity'),
};
afterAll(() => Promise.all(Object.values(specs).map((spec) => spec.close())));

describe('projectionSpec on a table projection', () => {
  it('applies the given events of many streams, across partitions, to the query view', async () => {
    const given = Array.from({ length: 60 }, (_, i) => deposit(`a${i % 20}`, 20 + i));
    const scenario = specs.balances.given(given);
    const rows = await scenario.rows<{ account: string }>(BALANCES);
    expect(rows).toHaveLength(20);
    await scenario.thenRows('SELECT sum(balance_cents)::int AS total FROM projections.balances', [
      { total: given.reduce((sum, e) => sum + (e.data.amountCents as number), 0) },
    ]);
    expect(await scenario.applied()).toEqual({ applied: 60, parked: 0, halted: 0 });
    await scenario.thenParked([]);
  });

  it('fails the expectation when the handler writes a wrong value', async () => {
    // doubled_balances writes twice the amount: the spec must say so.
    const scenario = specs.doubled.given([deposit('x', 100)]);
    await expect(
      scenario.thenRows('SELECT * FROM projections.doubled_balances', [
        { account: 'x', balance_cents: 100, deposits: 1 },
      ]),
    ).rejects.toThrow(/rows of SELECT \* FROM projections.doubled_balances/);
    await scenario.thenRows('SELECT * FROM projections.doubled_balances', [
      { account: 'x', balance_cents: 200, deposits: 1 },
    ]);
  });

  it('hands the handlers an old payload upcast to its current shape', async () => {
    await specs.balances
      .given([
        {
          streamId: 'account-old',
          type: 'Deposited',
          schemaVersion: 1,
          data: { account: 'old', amount: '1.50' },
        },
        deposit('old', 5),
      ])
      .thenRows(BALANCES, [{ account: 'old', balance_cents: 155, deposits: 2 }]);
  });

  it('applies what `when` adds on top, each event exactly once', async () => {
    const scenario = specs.balances.given([deposit('a', 1), deposit('b', 2), deposit('a', 4)]);
    await scenario.thenRows(BALANCES, [
      { account: 'a', balance_cents: 5, deposits: 2 },
      { account: 'b', balance_cents: 2, deposits: 1 },
    ]);
    await scenario
      .when([deposit('a', 100)])
      .when([deposit('c', 7)])
      .thenRows(BALANCES, [
        { account: 'a', balance_cents: 105, deposits: 3 },
        { account: 'b', balance_cents: 2, deposits: 1 },
        { account: 'c', balance_cents: 7, deposits: 1 },
      ]);
    expect(await scenario.applied()).toEqual({ applied: 5, parked: 0, halted: 0 });
  });

  it('shows a poison event as parked, its stream quarantined behind it, and applies the rest', async () => {
    const scenario = specs.balances.given([deposit('p', 1), deposit('p', POISON_CENTS)]);
    const parked = await scenario.thenParked([
      { streamId: 'account-p', type: 'Deposited', error: 'unlucky' },
    ]);
    expect(parked[0]).toMatchObject({ attempts: 2, resolution: null });
    // Another stream goes on; the poisoned one's next deposit waits, parked behind it.
    await scenario.when([deposit('q', 2), deposit('p', 4)]).thenRows(BALANCES, [
      { account: 'p', balance_cents: 1, deposits: 1 },
      { account: 'q', balance_cents: 2, deposits: 1 },
    ]);
    await scenario.thenParked([
      { streamId: 'account-p', type: 'Deposited', error: 'unlucky' },
      { streamId: 'account-p', type: 'Deposited', error: 'quarantined behind' },
    ]);
    // A failing expectation names the parked events: often the reason rows are missing.
    await expect(scenario.thenRows(BALANCES, [])).rejects.toThrow(
      /2 event\(s\) parked:\n {2}Deposited at \d+ on account-p: unlucky amount/,
    );
    await expect(scenario.thenParked([])).rejects.toThrow(/parked events/);
  });

  it('stops a partition at a poison event when the projection halts, and says so', async () => {
    // One stream: one partition, so what follows the poison event waits behind it.
    const scenario = specs.halting.given([deposit('h', 1), deposit('h', POISON_CENTS)]);
    await scenario
      .when([deposit('h', 2)])
      .thenRows('SELECT * FROM projections.halting_balances', [
        { account: 'h', balance_cents: 1, deposits: 1 },
      ]);
    expect(await scenario.applied()).toEqual({ applied: 1, parked: 0, halted: 1 });
    await scenario.thenParked([]);
  });

  it('starts each scenario from an empty log and read model, and closes the one before', async () => {
    const first = specs.balances.given([deposit('first', 1)]);
    await first.thenRows(BALANCES, [{ account: 'first', balance_cents: 1, deposits: 1 }]);
    const second = specs.balances.given([deposit('second', 2)]);
    await second.thenRows(BALANCES, [{ account: 'second', balance_cents: 2, deposits: 1 }]);
    await expect(first.rows(BALANCES)).rejects.toThrow(/scenario was closed/);
    await specs.balances.when([]).thenRows(BALANCES, []);
  });

  it('refuses a given event its type does not accept, naming it', async () => {
    const scenario = specs.balances.given([
      deposit('ok', 1),
      { streamId: 'account-bad', type: 'Deposited', data: { account: 'bad', amountCents: 'ten' } },
    ]);
    await expect(scenario.thenRows(BALANCES, [])).rejects.toThrow(
      /given event 1 \(Deposited on account-bad\) is refused: events.1.data.amountCents/,
    );
  });

  it('names the projections of the application when asked for another', () => {
    expect(() => projectionSpec(app, 'nope')).toThrow(
      /no projection nope \(it has: balances, doubled_balances, halting_balances, activity\)/,
    );
  });
});

describe('projectionSpec on a counter projection', () => {
  it('counts the given events in Redis, and what `when` adds exactly once', async () => {
    const scenario = specs.activity.given([deposit('a', 5), note('a'), deposit('b', 7)]);
    await scenario.thenCounters({ deposits: 2, deposited_cents: 12, notes: 1 });
    await scenario.when([deposit('a', 1)]).thenCounters({
      deposits: 3,
      deposited_cents: 13,
      notes: 1,
    });
    await expect(
      scenario.thenCounters({ deposits: 2, deposited_cents: 12, notes: 1 }),
    ).rejects.toThrow(/counters/);
    expect(await scenario.applied()).toMatchObject({ applied: 4, parked: 0 });
  });

  it('parks a poison event and counts the rest of its batch', async () => {
    await specs.activity
      .given([deposit('a', 5), deposit('a', POISON_CENTS), deposit('c', 1)])
      .thenParked([{ streamId: 'account-a', type: 'Deposited', error: /unlucky/ }]);
    const scenario = specs.activity.when([deposit('a', POISON_CENTS), note('n')]);
    await scenario.thenCounters({ notes: 1 });
    expect(await scenario.applied()).toMatchObject({ applied: 1, parked: 1 });
  });
});
