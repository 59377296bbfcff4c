import { InvalidInputError } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { accountDecider } from './account-decider.js';
import { bankCommands, openAccountRoute, transferRoute, withdrawRoute } from './commands.js';

/** The field an InvalidInputError names when `parse` refuses `input`. */
function refusedField(parse: (input: unknown) => unknown, input: unknown): string {
  try {
    parse(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).field;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

describe('bankCommands', () => {
  it('has one route per command type, all on the account decider', () => {
    expect(bankCommands.map((route) => route.type)).toEqual([
      'OpenAccount',
      'Deposit',
      'Withdraw',
      'Transfer',
      'CloseAccount',
    ]);
    for (const route of bankCommands) expect(route.decider).toBe(accountDecider);
  });

  it("routes each command to its account's stream, a transfer to its sender's", () => {
    const inputs: Record<string, unknown> = {
      OpenAccount: { accountId: 'A-7', owner: 'Ada' },
      Deposit: { accountId: 'A-7', amountCents: 1 },
      Withdraw: { accountId: 'A-7', amountCents: 1 },
      Transfer: { transferId: 't', fromAccountId: 'A-7', toAccountId: 'B-1', amountCents: 1 },
      CloseAccount: { accountId: 'A-7' },
    };
    for (const route of bankCommands) {
      expect(route.streamId(route.parse(inputs[route.type]))).toBe('account-A-7');
    }
  });

  it('stamps openedAt when absent and stores a given one in UTC', () => {
    const stamped = openAccountRoute.parse({ accountId: 'a', owner: 'Ada' }) as {
      openedAt: string;
    };
    expect(Number.isNaN(Date.parse(stamped.openedAt))).toBe(false);
    expect(
      openAccountRoute.parse({
        accountId: 'a',
        owner: 'Ada',
        openedAt: '2024-01-01T02:00:00+02:00',
      }),
    ).toEqual({
      type: 'OpenAccount',
      accountId: 'a',
      owner: 'Ada',
      openedAt: '2024-01-01T00:00:00.000Z',
    });
  });

  it('refuses malformed bodies with 400 naming the field, and leaves amounts of 0 to the decider', () => {
    expect(refusedField(withdrawRoute.parse, { accountId: 'a' })).toBe('amountCents');
    expect(refusedField(withdrawRoute.parse, { accountId: 'a', amountCents: 1.5 })).toBe(
      'amountCents',
    );
    expect(refusedField(withdrawRoute.parse, { accountId: 'a b', amountCents: 1 })).toBe(
      'accountId',
    );
    expect(refusedField(withdrawRoute.parse, { accountId: 'a', amountCents: 1, x: 1 })).toBe('x');
    expect(refusedField(withdrawRoute.parse, [])).toBe('body');
    expect(
      refusedField(transferRoute.parse, { transferId: 't', fromAccountId: 'a', amountCents: 1 }),
    ).toBe('toAccountId');
    expect(refusedField(openAccountRoute.parse, { accountId: 'a', owner: '' })).toBe('owner');
    expect(
      refusedField(openAccountRoute.parse, { accountId: 'a', owner: 'o', openedAt: 'today' }),
    ).toBe('openedAt');
    expect(withdrawRoute.parse({ accountId: 'a', amountCents: 0 })).toEqual({
      type: 'Withdraw',
      accountId: 'a',
      amountCents: 0,
    });
  });
});
