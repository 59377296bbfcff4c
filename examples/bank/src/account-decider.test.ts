import { foldEvents, RuleViolatedError } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { type AccountCommand, accountDecider } from './account-decider.js';
import type { BankEvent } from './event-types.js';

const accountId = 'a-1';
const opened: BankEvent = {
  type: 'AccountOpened',
  data: { accountId, owner: 'Ada', openedAt: '2024-01-01T00:00:00.000Z' },
};
const deposited = (amountCents: number): BankEvent => ({
  type: 'MoneyDeposited',
  data: { accountId, amountCents },
});
const closed: BankEvent = { type: 'AccountClosed', data: { accountId } };

const open: AccountCommand = {
  type: 'OpenAccount',
  accountId,
  owner: 'Ada',
  openedAt: '2024-01-01T00:00:00.000Z',
};
const deposit = (amountCents: number): AccountCommand => ({
  type: 'Deposit',
  accountId,
  amountCents,
});
const withdraw = (amountCents: number): AccountCommand => ({
  type: 'Withdraw',
  accountId,
  amountCents,
});
const transfer = (amountCents: number, toAccountId = 'a-2'): AccountCommand => ({
  type: 'Transfer',
  transferId: 't-1',
  fromAccountId: accountId,
  toAccountId,
  amountCents,
});
const close: AccountCommand = { type: 'CloseAccount', accountId };

/** Decides `command` on the state that `history` folds into. */
function decide(history: BankEvent[], command: AccountCommand): BankEvent[] {
  return accountDecider.decide(command, foldEvents(accountDecider, history));
}

function refusal(history: BankEvent[], command: AccountCommand): RuleViolatedError {
  try {
    decide(history, command);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleViolatedError);
    const refused = error as RuleViolatedError;
    expect(refused.code).toBe('rule_violated');
    expect(refused.details).toEqual({ accountId });
    return refused;
  }
  throw new Error(`expected ${command.type} to be refused`);
}

describe('accountDecider', () => {
  it('opens an account, takes deposits, withdrawals and transfers within its balance, and closes it', () => {
    expect(decide([], open)).toEqual([opened]);
    expect(decide([opened], deposit(500))).toEqual([deposited(500)]);
    expect(decide([opened, deposited(500)], withdraw(500))).toEqual([
      { type: 'MoneyWithdrawn', data: { accountId, amountCents: 500 } },
    ]);
    expect(decide([opened, deposited(500)], transfer(300))).toEqual([
      {
        type: 'TransferSent',
        data: { transferId: 't-1', fromAccountId: accountId, toAccountId: 'a-2', amountCents: 300 },
      },
    ]);
    expect(decide([opened, deposited(500)], close)).toEqual([closed]);
  });

  it('counts withdrawals and transfers sent against the balance', () => {
    const history: BankEvent[] = [
      opened,
      deposited(1000),
      ...decide([opened, deposited(1000)], transfer(600)),
    ];
    expect(foldEvents(accountDecider, history)).toEqual({ status: 'open', balanceCents: 400 });
    expect(refusal(history, withdraw(401)).message).toMatch(/holds 400 cents, less than 401/);
    expect(decide(history, withdraw(400))).toHaveLength(1);
  });

  it('refuses an overdraft, by withdrawal or by transfer', () => {
    expect(refusal([opened], withdraw(1)).message).toMatch(/holds 0 cents/);
    expect(refusal([opened, deposited(99)], withdraw(100)).message).toMatch(/less than 100/);
    expect(refusal([opened, deposited(99)], transfer(100)).message).toMatch(/less than 100/);
  });

  it('refuses a transfer to the sending account itself', () => {
    expect(refusal([opened, deposited(100)], transfer(10, accountId)).message).toMatch(
      /cannot transfer to itself/,
    );
  });

  it('refuses amounts of 0, below 0, fractional or beyond the safe range', () => {
    for (const amount of [0, -5, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      for (const command of [deposit(amount), withdraw(amount), transfer(amount)]) {
        expect(refusal([opened, deposited(100)], command).message).toMatch(/greater than 0/);
      }
    }
    expect(refusal([opened, deposited(Number.MAX_SAFE_INTEGER)], deposit(1)).message).toMatch(
      /largest supported balance/,
    );
  });

  it('refuses everything on a closed account', () => {
    const history = [opened, deposited(100), closed];
    for (const command of [deposit(1), withdraw(1), transfer(1), close]) {
      expect(refusal(history, command).message).toMatch(/account a-1 is closed/);
    }
    expect(refusal(history, open).message).toMatch(/already open/);
  });

  it('refuses everything on an account never opened, and opening twice', () => {
    for (const command of [deposit(1), withdraw(1), transfer(1), close]) {
      expect(refusal([], command).message).toMatch(/has not been opened/);
    }
    expect(refusal([opened], open).message).toMatch(/already open/);
  });
});
