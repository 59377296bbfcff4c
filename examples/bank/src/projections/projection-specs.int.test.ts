// The bank's projections as a user tests theirs: given events appended to
// the log, applied by the projector, then the rows the query view shows and
// the counters in Redis.
import { type GivenEvent, projectionSpec } from '@refract/testing/projection';
import { afterAll, describe, it } from 'vitest';
import { accountStreamId, type BankEvent, bankApp, streamAccountOf } from '../index.js';

const balances = projectionSpec(bankApp, 'account_balances');
const activity = projectionSpec(bankApp, 'bank_activity');
afterAll(() => Promise.all([balances.close(), activity.close()]));

const given = (event: BankEvent): GivenEvent => ({
  streamId: accountStreamId(streamAccountOf(event)),
  ...event,
});
const opened = (accountId: string) =>
  given({
    type: 'AccountOpened',
    data: { accountId, owner: `owner of ${accountId}`, openedAt: '2024-01-01T00:00:00.000Z' },
  });
const deposited = (accountId: string, amountCents: number) =>
  given({ type: 'MoneyDeposited', data: { accountId, amountCents } });
const withdrawn = (accountId: string, amountCents: number) =>
  given({ type: 'MoneyWithdrawn', data: { accountId, amountCents } });
const sent = (fromAccountId: string, toAccountId: string, amountCents: number) =>
  given({
    type: 'TransferSent',
    data: {
      transferId: `${fromAccountId}>${toAccountId}`,
      fromAccountId,
      toAccountId,
      amountCents,
    },
  });
const closed = (accountId: string) => given({ type: 'AccountClosed', data: { accountId } });

const BALANCES = `SELECT account_id, owner, status, balance_cents::int AS balance_cents
  FROM projections.account_balances ORDER BY account_id`;

describe('account_balances', () => {
  it('debits the sender and credits the receiver of a transfer, even before the receiver opens', async () => {
    // The credit reaches `bob` before his account is opened: his row waits, unopened.
    const bank = balances.given([opened('ada'), deposited('ada', 1_000), sent('ada', 'bob', 300)]);
    await bank.thenRows(BALANCES, [
      { account_id: 'ada', owner: 'owner of ada', status: 'open', balance_cents: 700 },
      { account_id: 'bob', owner: null, status: 'unopened', balance_cents: 300 },
    ]);
    await bank.when([opened('bob'), withdrawn('bob', 50), closed('ada')]).thenRows(BALANCES, [
      { account_id: 'ada', owner: 'owner of ada', status: 'closed', balance_cents: 700 },
      { account_id: 'bob', owner: 'owner of bob', status: 'open', balance_cents: 250 },
    ]);
  });

  it('parks a deposit to an account never opened', async () => {
    await balances
      .given([opened('ada'), deposited('nobody', 5), deposited('ada', 5)])
      .thenParked([{ streamId: 'account-nobody', type: 'MoneyDeposited', error: 'nobody' }]);
  });
});

describe('bank_activity (Redis counters)', () => {
  it('counts what happened, once each, as events keep coming', async () => {
    const bank = activity.given([opened('ada'), deposited('ada', 1_000), sent('ada', 'bob', 300)]);
    await bank.thenCounters({
      accounts_opened: 1,
      deposits: 1,
      deposited_cents: 1_000,
      transfers: 1,
      transferred_cents: 300,
    });
    await bank.when([withdrawn('ada', 200), closed('ada')]).thenCounters({
      accounts_opened: 1,
      accounts_closed: 1,
      deposits: 1,
      deposited_cents: 1_000,
      withdrawals: 1,
      withdrawn_cents: 200,
      transfers: 1,
      transferred_cents: 300,
    });
  });
});
