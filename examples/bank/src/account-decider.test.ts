import { deciderSpec } from '@refract/testing/decider';
import { describe, it } from 'vitest';
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
const sent = (amountCents: number): BankEvent => ({
  type: 'TransferSent',
  data: { transferId: 't-1', fromAccountId: accountId, toAccountId: 'a-2', amountCents },
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

const account = deciderSpec(accountDecider);

/** Every refusal is a rule violation naming the account the command acts on. */
function refuses(history: BankEvent[], command: AccountCommand, message: RegExp): void {
  account.given(history).when(command).thenThrows({
    code: 'rule_violated',
    message,
    details: { accountId },
  });
}

describe('accountDecider', () => {
  it('opens an account, takes deposits, withdrawals and transfers within its balance, and closes it', () => {
    account.when(open).thenEvents([opened]);
    account
      .given([opened])
      .when(deposit(500))
      .thenEvents([deposited(500)]);
    account
      .given([opened, deposited(500)])
      .when(withdraw(500))
      .thenEvents([{ type: 'MoneyWithdrawn', data: { accountId, amountCents: 500 } }]);
    account
      .given([opened, deposited(500)])
      .when(transfer(300))
      .thenEvents([sent(300)]);
    account
      .given([opened, deposited(500)])
      .when(close)
      .thenEvents([closed]);
  });

  it('counts withdrawals and transfers sent against the balance', () => {
    const history: BankEvent[] = [
      opened,
      deposited(1000),
      ...account
        .given([opened, deposited(1000)])
        .when(transfer(600))
        .thenEvents([sent(600)]),
    ];
    account.given(history).when(withdraw(400)).thenState({ status: 'open', balanceCents: 0 });
    refuses(history, withdraw(401), /holds 400 cents, less than 401/);
  });

  it('refuses an overdraft, by withdrawal or by transfer', () => {
    refuses([opened], withdraw(1), /holds 0 cents/);
    refuses([opened, deposited(99)], withdraw(100), /less than 100/);
    refuses([opened, deposited(99)], transfer(100), /less than 100/);
  });

  it('refuses a transfer to the sending account itself', () => {
    refuses([opened, deposited(100)], transfer(10, accountId), /cannot transfer to itself/);
  });

  it('refuses amounts of 0, below 0, fractional or beyond the safe range', () => {
    for (const amount of [0, -5, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      for (const command of [deposit(amount), withdraw(amount), transfer(amount)]) {
        refuses([opened, deposited(100)], command, /greater than 0/);
      }
    }
    refuses([opened, deposited(Number.MAX_SAFE_INTEGER)], deposit(1), /largest supported balance/);
  });

  it('refuses everything on a closed account', () => {
    const history = [opened, deposited(100), closed];
    for (const command of [deposit(1), withdraw(1), transfer(1), close]) {
      refuses(history, command, /account a-1 is closed/);
    }
    refuses(history, open, /already open/);
  });

  it('refuses everything on an account never opened, and opening twice', () => {
    for (const command of [deposit(1), withdraw(1), transfer(1), close]) {
      refuses([], command, /has not been opened/);
    }
    refuses([opened], open, /already open/);
  });
});
