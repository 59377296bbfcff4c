import { defineCounterProjection, type Recorded } from '@refract/core';
import { BANK_EVENT_TYPES, type BankEvent } from '../event-types.js';

/** The counters of `bank_activity`, each summed over every partition. */
export const BANK_ACTIVITY_FIELDS = [
  'accounts_opened',
  'accounts_closed',
  'deposits',
  'withdrawals',
  'transfers',
  'deposited_cents',
  'withdrawn_cents',
  'transferred_cents',
] as const;

export type BankActivityField = (typeof BANK_ACTIVITY_FIELDS)[number];
export type BankActivity = Record<BankActivityField, number>;

/** A batch's increments; fields the batch does not move are left out. */
export function bankActivityIncrements(
  events: readonly Recorded<BankEvent>[],
): Partial<BankActivity> {
  const increments: Partial<BankActivity> = {};
  const add = (field: BankActivityField, by: number) => {
    increments[field] = (increments[field] ?? 0) + by;
  };
  for (const event of events) {
    switch (event.type) {
      case 'AccountOpened':
        add('accounts_opened', 1);
        break;
      case 'AccountClosed':
        add('accounts_closed', 1);
        break;
      case 'MoneyDeposited':
        add('deposits', 1);
        add('deposited_cents', event.data.amountCents);
        break;
      case 'MoneyWithdrawn':
        add('withdrawals', 1);
        add('withdrawn_cents', event.data.amountCents);
        break;
      case 'TransferSent':
        // Counted once, in the sender's partition: the credit is the same money.
        add('transfers', 1);
        add('transferred_cents', event.data.amountCents);
        break;
    }
  }
  return increments;
}

/**
 * `bank_activity`: counters of the whole bank kept in Redis, one hash per
 * partition, moved together with that partition's checkpoint by the
 * projector (exact under redelivery).
 */
export const bankActivityProjection = defineCounterProjection<BankEvent>({
  name: 'bank_activity',
  version: 1,
  handles: BANK_EVENT_TYPES,
  increments: bankActivityIncrements,
  // Every counter it keeps: a rebuild's cutover compares them all.
  compare: { counters: BANK_ACTIVITY_FIELDS },
});
