import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from './command.js';
import { defineDecider } from './decider.js';
import { defineEvent, type EventsOf } from './event-type.js';
import { defineCounterProjection, defineProjection } from './projection.js';

// Type tests: `pnpm check` (tsc) compiles this file, so a handler for an
// unknown type, or a payload read as the wrong type, fails the build.
const eventTypes = [
  defineEvent('Opened', { schema: z.object({ id: z.string(), owner: z.string() }) }),
  defineEvent('Deposited', { schema: z.object({ id: z.string(), cents: z.int() }) }),
] as const;
type BankEvent = EventsOf<typeof eventTypes>;

describe('typed authoring', () => {
  it('gives each handler its own payload type', () => {
    defineProjection<BankEvent>({
      name: 'typed',
      version: 1,
      tables: ['typed'],
      setup: () => '',
      handlers: {
        Opened: (event) => {
          expectTypeOf(event.type).toEqualTypeOf<'Opened'>();
          expectTypeOf(event.data).toEqualTypeOf<{ id: string; owner: string }>();
        },
        Deposited: (event) => {
          expectTypeOf(event.data.cents).toEqualTypeOf<number>();
        },
      },
    });
  });

  it('refuses a handler for an event type outside the union', () => {
    defineProjection<BankEvent>({
      name: 'typed',
      version: 1,
      tables: ['typed'],
      setup: () => '',
      handlers: {
        // @ts-expect-error Withdrawn is not a BankEvent
        Withdrawn: () => {},
      },
    });
    defineCounterProjection<BankEvent>({
      name: 'counted',
      version: 1,
      // @ts-expect-error Withdrawn is not a BankEvent
      handles: ['Opened', 'Withdrawn'],
      increments: () => ({}),
    });
  });

  it('narrows a batch handler to the union', () => {
    defineProjection<BankEvent>({
      name: 'batch',
      version: 1,
      tables: ['batch'],
      setup: () => '',
      handles: ['Deposited'],
      applyBatch: async (events) => {
        for (const event of events) {
          if (event.type === 'Deposited') expectTypeOf(event.data.cents).toEqualTypeOf<number>();
          // @ts-expect-error owner exists only on Opened
          if (event.type === 'Deposited') void event.data.owner;
        }
      },
    });
  });

  it('checks a command schema, its command and its decider together', () => {
    type Open = { type: 'Open'; id: string; owner: string };
    const decider = defineDecider<Open, BankEvent, { open: boolean }>({
      name: 'account',
      initialState: () => ({ open: false }),
      evolve: (state) => ({ ...state, open: true }),
      decide: (command) => [{ type: 'Opened', data: { id: command.id, owner: command.owner } }],
    });
    defineCommand({
      type: 'Open',
      schema: z.object({ id: z.string(), owner: z.string() }),
      toCommand: (body): Open => ({ type: 'Open', ...body }),
      streamId: (command) => `account-${command.id}`,
      decider,
    });
    defineDecider<Open, BankEvent, { open: boolean }>({
      name: 'account',
      initialState: () => ({ open: false }),
      evolve: (state) => state,
      // @ts-expect-error Closed is not a BankEvent
      decide: () => [{ type: 'Closed', data: {} }],
    });
  });
});
