import { defineDecider, RuleViolatedError } from '@refract/core';
import type { BankEvent } from './event-types.js';

export type OpenAccount = {
  type: 'OpenAccount';
  accountId: string;
  owner: string;
  /** ISO 8601 date-time. */
  openedAt: string;
};
export type Deposit = { type: 'Deposit'; accountId: string; amountCents: number };
export type Withdraw = { type: 'Withdraw'; accountId: string; amountCents: number };
export type Transfer = {
  type: 'Transfer';
  transferId: string;
  fromAccountId: string;
  toAccountId: string;
  amountCents: number;
};
export type CloseAccount = { type: 'CloseAccount'; accountId: string };

export type AccountCommand = OpenAccount | Deposit | Withdraw | Transfer | CloseAccount;

export type AccountStatus = 'none' | 'open' | 'closed';

/**
 * What one account's own stream says, as plain JSON (it is stored as a
 * snapshot). `balanceCents` is what the account may spend: deposits minus
 * withdrawals minus transfers sent. Transfers it received live in the
 * senders' streams, which the decider does not read, so they are never
 * spendable here: the rule stays conservative and never lets an account
 * overdraw.
 */
export type AccountState = {
  status: AccountStatus;
  balanceCents: number;
};

/** The stream a command acts on: a transfer's is its sender's. */
export function accountOf(command: AccountCommand): string {
  return command.type === 'Transfer' ? command.fromAccountId : command.accountId;
}

function refuse(accountId: string, message: string): never {
  throw new RuleViolatedError(message, { accountId });
}

function requireOpen(accountId: string, state: AccountState): void {
  if (state.status === 'none') refuse(accountId, `account ${accountId} has not been opened`);
  if (state.status === 'closed') refuse(accountId, `account ${accountId} is closed`);
}

function requireAmount(accountId: string, amountCents: number): void {
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0) {
    refuse(accountId, 'amountCents must be a whole number of cents greater than 0');
  }
}

function requireFunds(accountId: string, amountCents: number, state: AccountState): void {
  if (amountCents > state.balanceCents) {
    refuse(
      accountId,
      `account ${accountId} holds ${state.balanceCents} cents, less than ${amountCents}`,
    );
  }
}

export const accountDecider = defineDecider<AccountCommand, BankEvent, AccountState>({
  name: 'bank-account',
  initialState: () => ({ status: 'none', balanceCents: 0 }),

  decide(command, state) {
    const accountId = accountOf(command);
    if (command.type === 'OpenAccount') {
      if (state.status !== 'none') refuse(accountId, `account ${accountId} is already open`);
      const { owner, openedAt } = command;
      return [{ type: 'AccountOpened', data: { accountId, owner, openedAt } }];
    }
    requireOpen(accountId, state);
    switch (command.type) {
      case 'Deposit':
        requireAmount(accountId, command.amountCents);
        if (!Number.isSafeInteger(state.balanceCents + command.amountCents)) {
          refuse(accountId, `account ${accountId} would exceed the largest supported balance`);
        }
        return [{ type: 'MoneyDeposited', data: { accountId, amountCents: command.amountCents } }];
      case 'Withdraw':
        requireAmount(accountId, command.amountCents);
        requireFunds(accountId, command.amountCents, state);
        return [{ type: 'MoneyWithdrawn', data: { accountId, amountCents: command.amountCents } }];
      case 'Transfer': {
        const { transferId, toAccountId, amountCents } = command;
        if (toAccountId === accountId) refuse(accountId, 'an account cannot transfer to itself');
        requireAmount(accountId, amountCents);
        requireFunds(accountId, amountCents, state);
        return [
          {
            type: 'TransferSent',
            data: { transferId, fromAccountId: accountId, toAccountId, amountCents },
          },
        ];
      }
      case 'CloseAccount':
        return [{ type: 'AccountClosed', data: { accountId } }];
      default:
        // Unreachable for typed callers; guards a route wired to the wrong decider.
        throw new Error(`account decider: unknown command ${(command as { type?: unknown }).type}`);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'AccountOpened':
        return { ...state, status: 'open' };
      case 'MoneyDeposited':
        return { ...state, balanceCents: state.balanceCents + event.data.amountCents };
      case 'MoneyWithdrawn':
      case 'TransferSent':
        return { ...state, balanceCents: state.balanceCents - event.data.amountCents };
      case 'AccountClosed':
        return { ...state, status: 'closed' };
      default:
        // An event type this version does not know: deciding on a partial state would be wrong.
        throw new Error(`account decider: unknown event ${(event as { type?: unknown }).type}`);
    }
  },
});
