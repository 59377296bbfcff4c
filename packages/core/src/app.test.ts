import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppConfigError, type AppDefinition, composeApps, defineApp } from './app.js';
import { defineEvent } from './event-type.js';
import { defineCounterProjection, defineProjection } from './projection.js';

const opened = defineEvent('AccountOpened', {
  schema: z.object({ accountId: z.string(), owner: z.string() }),
});
const deposited = defineEvent('Deposited', {
  version: 3,
  schema: z.object({ accountId: z.string(), amountCents: z.int().positive() }),
  upcasters: [
    // v1 carried the amount as a decimal string, v2 as `amount` in cents.
    {
      fromVersion: 1,
      upcast: (data) => ({ ...data, amount: Math.round(Number(data.amount) * 100) }),
    },
    {
      fromVersion: 2,
      upcast: ({ amount, ...rest }) => ({ ...rest, amountCents: amount as number }),
    },
  ],
});

const balances = defineProjection({
  name: 'balances',
  version: 1,
  tables: ['balances'],
  setup: (t) => `CREATE TABLE IF NOT EXISTS ${t('balances')} (id text primary key)`,
  handlers: { Deposited: () => {} },
});
const counts = defineCounterProjection({
  name: 'counts',
  version: 1,
  handles: ['AccountOpened'],
  increments: (events) => ({ opened: events.length }),
});

function problemsOf(definition: AppDefinition): readonly string[] {
  try {
    defineApp(definition);
  } catch (error) {
    if (error instanceof AppConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('defineApp', () => {
  const valid: AppDefinition = {
    events: [opened, deposited],
    projections: [balances, counts],
    pools: { bank: ['balances', 'counts'] },
  };

  it('fills in each projection pool and indexes the module', () => {
    const app = defineApp(valid);
    expect(app.pools).toEqual(['bank']);
    expect(app.projectionsOf('bank').map((p) => p.name)).toEqual(['balances', 'counts']);
    expect(app.projection('counts')?.pool).toBe('bank');
    expect(app.upcasters.currentVersion('Deposited')).toBe(3);
    expect(app.upcasters.currentVersion('AccountOpened')).toBe(1);
  });

  it('names a pool that does not exist, and a projection of another pool', () => {
    const app = defineApp(valid);
    expect(() => app.projectionsOf('orders')).toThrow(/no projection belongs to pool orders/);
    expect(() => app.projectionsOf('other', ['balances'])).toThrow(
      /balances belongs to pool bank, not other/,
    );
    expect(() => app.projectionsOf('bank', ['nope'])).toThrow(/unknown projection nope/);
  });

  it('refuses two projections with one name', () => {
    expect(
      problemsOf({ ...valid, projections: [balances, { ...balances, pool: undefined }] }),
    ).toContain('two projections are named balances');
  });

  it('refuses a projection in no pool, or in two', () => {
    expect(problemsOf({ ...valid, pools: { bank: ['balances'] } })).toEqual([
      'projection counts is in no pool',
    ]);
    expect(
      problemsOf({ ...valid, pools: { bank: ['balances', 'counts'], b2: ['counts'] } }),
    ).toEqual(['projection counts is in two pools: bank, b2']);
    expect(problemsOf({ ...valid, projections: [{ ...balances, pool: 'own' }, counts] })).toEqual([
      'projection balances is in two pools: own, bank',
    ]);
    expect(problemsOf({ ...valid, pools: { bank: ['balances', 'counts', 'ghost'] } })).toEqual([
      'pool bank lists ghost, which is not a declared projection',
    ]);
  });

  it('refuses a handler for an undeclared event type', () => {
    expect(problemsOf({ ...valid, events: [deposited] })).toEqual([
      'projection counts handles AccountOpened, which is not a declared event type',
    ]);
  });

  it('refuses an upcaster chain with a gap, or one past the current version', () => {
    const gap = defineEvent('Deposited', {
      version: 4,
      schema: z.object({}),
      upcasters: [
        { fromVersion: 1, upcast: (d) => d },
        { fromVersion: 3, upcast: (d) => d },
      ],
    });
    expect(problemsOf({ ...valid, events: [opened, gap] })).toEqual([
      'event type Deposited: the upcaster chain has a gap: none from version 2 to 3',
    ]);
    const beyond = defineEvent('Deposited', {
      version: 2,
      schema: z.object({}),
      upcasters: [{ fromVersion: 2, upcast: (d) => d }],
    });
    expect(problemsOf({ ...valid, events: [opened, beyond] })).toEqual([
      'event type Deposited: an upcaster from version 2, but the type is at version 2',
    ]);
  });

  it('refuses an event type declared twice and a command declared twice', () => {
    const route = {
      type: 'Open',
      parse: (x: unknown) => x,
      streamId: () => 's',
      decider: {} as never,
    };
    const problems = problemsOf({
      ...valid,
      events: [opened, opened, deposited],
      commands: [route, route],
    });
    expect(problems).toEqual([
      'event type AccountOpened is declared twice',
      'command Open is declared twice',
    ]);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ events: [], projections: [balances, counts] });
    expect(problems).toHaveLength(4);
  });
});

describe('checkEvent', () => {
  const app = defineApp({
    events: [opened, deposited],
    projections: [balances, counts],
    pools: { bank: ['balances', 'counts'] },
  });

  it('stamps the current schema version on a valid payload', () => {
    expect(
      app.checkEvent({ type: 'Deposited', data: { accountId: 'a', amountCents: 5 } }, 'events.0'),
    ).toBe(3);
  });

  it('names the field a payload fails on', () => {
    expect(() =>
      app.checkEvent({ type: 'Deposited', data: { accountId: 'a', amountCents: '5' } }, 'events.2'),
    ).toThrow(
      expect.objectContaining({ code: 'invalid_event', field: 'events.2.data.amountCents' }),
    );
  });

  it('accepts an old version whose upcast payload is valid, and keeps its version', () => {
    expect(
      app.checkEvent(
        { type: 'Deposited', schemaVersion: 1, data: { accountId: 'a', amount: '1.50' } },
        'e',
      ),
    ).toBe(1);
    expect(() =>
      app.checkEvent({ type: 'Deposited', schemaVersion: 1, data: { accountId: 'a' } }, 'e'),
    ).toThrow(/e.data.amountCents .*once upcast to version 3/);
  });

  it('refuses a schema version it cannot bring to the current one', () => {
    expect(() =>
      app.checkEvent({ type: 'Deposited', schemaVersion: 4, data: {} }, 'events.0'),
    ).toThrow(expect.objectContaining({ field: 'events.0.schemaVersion' }));
    expect(() =>
      app.checkEvent({ type: 'AccountOpened', schemaVersion: 0, data: {} }, 'events.0'),
    ).toThrow(/must be from 1 to 1/);
  });

  it('refuses undeclared types unless the application accepts them', () => {
    expect(() => app.checkEvent({ type: 'Stray', data: {} }, 'events.1')).toThrow(
      expect.objectContaining({ field: 'events.1.type' }),
    );
    const open = defineApp({ ...app.definition, acceptUndeclaredEvents: true });
    expect(open.checkEvent({ type: 'Stray', data: {} }, 'events.1')).toBe(1);
  });
});

describe('composeApps', () => {
  it('merges modules and still refuses clashing names', () => {
    const bank = defineApp({
      events: [opened, deposited],
      projections: [balances, counts],
      pools: { bank: ['balances', 'counts'] },
    });
    const other = defineApp({
      events: [defineEvent('Pinged', { schema: z.object({}) })],
      projections: [
        defineProjection({
          name: 'pings',
          version: 1,
          pool: 'ping',
          tables: ['pings'],
          setup: () => '',
          handlers: { Pinged: () => {} },
        }),
      ],
    });
    const both = composeApps('both', bank, other);
    expect(both.pools).toEqual(['bank', 'ping']);
    expect(() => composeApps('twice', bank, bank)).toThrow(/two projections are named balances/);
  });
});
