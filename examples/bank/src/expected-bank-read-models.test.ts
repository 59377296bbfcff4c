import { describe, expect, it } from 'vitest';
import type { BankEvent } from './event-types.js';
import { expectedBankReadModels } from './expected-bank-read-models.js';

const at = '2024-01-01T00:00:00.000Z';
const opened = (accountId: string, owner: string): BankEvent => ({
  type: 'AccountOpened',
  data: { accountId, owner, openedAt: at },
});
const deposit = (accountId: string, amountCents: number): BankEvent => ({
  type: 'MoneyDeposited',
  data: { accountId, amountCents },
});
const transfer = (from: string, to: string, amountCents: number): BankEvent => ({
  type: 'TransferSent',
  data: { transferId: `${from}-${to}`, fromAccountId: from, toAccountId: to, amountCents },
});

describe('expectedBankReadModels', () => {
  it('debits the sender and credits the receiver of a transfer, and counts the activity', () => {
    const { accounts, activity } = expectedBankReadModels([
      { ...opened('a', 'Ada'), position: 1 },
      { ...opened('b', 'Bob'), position: 2 },
      { ...deposit('a', 1_000), position: 3 },
      { type: 'MoneyWithdrawn', data: { accountId: 'a', amountCents: 100 }, position: 5 },
      { ...transfer('a', 'b', 250), position: 8 },
      { type: 'AccountClosed', data: { accountId: 'b' }, position: 9 },
    ]);
    expect(accounts.get('a')).toEqual({
      accountId: 'a',
      owner: 'Ada',
      status: 'open',
      openedAt: at,
      balanceCents: 650,
      position: 8,
    });
    // The credit leaves b's position alone: only b's own events move it.
    expect(accounts.get('b')).toMatchObject({ status: 'closed', balanceCents: 250, position: 9 });
    expect(activity).toEqual({
      accounts_opened: 2,
      accounts_closed: 1,
      deposits: 1,
      withdrawals: 1,
      transfers: 1,
      deposited_cents: 1_000,
      withdrawn_cents: 100,
      transferred_cents: 250,
    });
  });

  it('credits an account not opened yet, which its opening then completes', () => {
    const credited = expectedBankReadModels([
      opened('a', 'Ada'),
      deposit('a', 10),
      transfer('a', 'z', 7),
    ]);
    expect(credited.accounts.get('z')).toEqual({
      accountId: 'z',
      owner: null,
      status: 'unopened',
      openedAt: null,
      balanceCents: 7,
      position: null,
    });
    const later = expectedBankReadModels([
      opened('a', 'Ada'),
      deposit('a', 10),
      transfer('a', 'z', 7),
      opened('z', 'Zoe'),
    ]);
    expect(later.accounts.get('z')).toMatchObject({
      owner: 'Zoe',
      status: 'open',
      balanceCents: 7,
    });
  });

  it('refuses sequences no account stream produces', () => {
    expect(() => expectedBankReadModels([deposit('a', 1)])).toThrow(/which is unopened/);
    expect(() => expectedBankReadModels([opened('a', 'A'), opened('a', 'A')])).toThrow(
      /opened twice/,
    );
    expect(() =>
      expectedBankReadModels([
        opened('a', 'A'),
        { type: 'AccountClosed', data: { accountId: 'a' } },
        deposit('a', 1),
      ]),
    ).toThrow(/which is closed/);
  });
});
