import type { BankWorkloadEvent } from './bank-workload.js';
import { type BankEvent, streamAccountOf } from './event-types.js';
import type { BankActivity } from './projections/bank-activity.js';

/** The expected `account_balances` row of one account. */
export type ExpectedAccount = {
  accountId: string;
  /** null while only credits reached it (its AccountOpened not among the events). */
  owner: string | null;
  status: 'unopened' | 'open' | 'closed';
  openedAt: string | null;
  /** Deposits − withdrawals − transfers sent + transfers received, in cents. */
  balanceCents: number;
  /** Position of the account's own last event, when the events carry positions. */
  position: number | null;
};

export interface ExpectedBankReadModels {
  accounts: Map<string, ExpectedAccount>;
  activity: BankActivity;
}

type FoldInput = BankWorkloadEvent | (BankEvent & { position?: number });

function accountOf(accounts: Map<string, ExpectedAccount>, accountId: string): ExpectedAccount {
  let account = accounts.get(accountId);
  if (!account) {
    account = {
      accountId,
      owner: null,
      status: 'unopened',
      openedAt: null,
      balanceCents: 0,
      position: null,
    };
    accounts.set(accountId, account);
  }
  return account;
}

/**
 * Folds events, in the order given, into what `account_balances` and
 * `bank_activity` must hold after them: the independent check of both
 * projections. Takes generated workload events, or bare or recorded bank
 * events (then `position` is kept). Throws on a sequence no valid account
 * stream produces (an event before AccountOpened, a second AccountOpened,
 * anything after AccountClosed); a transfer to an account never opened or
 * closed is valid and credits it.
 */
export function expectedBankReadModels(events: Iterable<FoldInput>): ExpectedBankReadModels {
  const accounts = new Map<string, ExpectedAccount>();
  const activity: BankActivity = {
    accounts_opened: 0,
    accounts_closed: 0,
    deposits: 0,
    withdrawals: 0,
    transfers: 0,
    deposited_cents: 0,
    withdrawn_cents: 0,
    transferred_cents: 0,
  };
  for (const item of events) {
    const event: BankEvent = 'event' in item ? item.event : item;
    const position = 'event' in item ? null : (item.position ?? null);
    const own = streamAccountOf(event);
    const account = accountOf(accounts, own);
    if (event.type === 'AccountOpened') {
      if (account.status !== 'unopened') throw new Error(`account ${own} opened twice`);
      account.owner = event.data.owner;
      account.openedAt = event.data.openedAt;
      account.status = 'open';
      activity.accounts_opened += 1;
    } else if (account.status !== 'open') {
      throw new Error(`${event.type} for account ${own}, which is ${account.status}`);
    }
    switch (event.type) {
      case 'MoneyDeposited':
        account.balanceCents += event.data.amountCents;
        activity.deposits += 1;
        activity.deposited_cents += event.data.amountCents;
        break;
      case 'MoneyWithdrawn':
        account.balanceCents -= event.data.amountCents;
        activity.withdrawals += 1;
        activity.withdrawn_cents += event.data.amountCents;
        break;
      case 'TransferSent':
        account.balanceCents -= event.data.amountCents;
        accountOf(accounts, event.data.toAccountId).balanceCents += event.data.amountCents;
        activity.transfers += 1;
        activity.transferred_cents += event.data.amountCents;
        break;
      case 'AccountClosed':
        account.status = 'closed';
        activity.accounts_closed += 1;
        break;
    }
    account.position = position;
  }
  return { accounts, activity };
}
