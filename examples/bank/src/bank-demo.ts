import type { DemoCommand, DemoTraffic } from '@refract/core';
import { bankHistory } from './bank-workload.js';
import type { BankEvent } from './event-types.js';

/** The command whose accepted result is `event` (the history describes outcomes, the API takes commands). */
export function bankCommandFor(event: BankEvent): DemoCommand {
  switch (event.type) {
    case 'AccountOpened':
      // openedAt left out: the write API stamps the time of the request.
      return {
        type: 'OpenAccount',
        body: { accountId: event.data.accountId, owner: event.data.owner },
      };
    case 'MoneyDeposited':
      return { type: 'Deposit', body: { ...event.data } };
    case 'MoneyWithdrawn':
      return { type: 'Withdraw', body: { ...event.data } };
    case 'TransferSent':
      return { type: 'Transfer', body: { ...event.data } };
    case 'AccountClosed':
      return { type: 'CloseAccount', body: { ...event.data } };
  }
}

/**
 * Demo traffic for the bank: `bankHistory` as commands, endless. Accounts are
 * `demo-<runId>-<n>`, so a restart on kept data opens new ones. Every command
 * is accepted when each account's commands are sent in order: a command
 * depends only on its own account's earlier ones (a transfer on its sender's).
 */
export const bankDemo: DemoTraffic = {
  name: 'bank',
  *commands({ seed, runId }) {
    const history = bankHistory({
      seed,
      accountId: (n) => `demo-${runId}-${n}`,
      transferId: (n) => `demo-${runId}-t${n}`,
    });
    for (const event of history) yield bankCommandFor(event);
  },
};
