import { defineEvent, type EventsOf } from '@refract/core';
import { z } from 'zod';

// What the log accepts for each bank event: a raw append whose payload does
// not match is refused with 422 naming the field, before anything is stored.
const id = z.string().min(1).max(100);
const amountCents = z.int().positive().max(Number.MAX_SAFE_INTEGER);

export const accountOpened = defineEvent('AccountOpened', {
  schema: z.object({
    accountId: id,
    owner: z.string().min(1).max(200),
    openedAt: z.iso.datetime({ offset: true }),
  }),
});

export const moneyDeposited = defineEvent('MoneyDeposited', {
  schema: z.object({ accountId: id, amountCents }),
});

export const moneyWithdrawn = defineEvent('MoneyWithdrawn', {
  schema: z.object({ accountId: id, amountCents }),
});

/**
 * Appended to the sending account's stream only: the one event that touches
 * two accounts, debiting `fromAccountId` and crediting `toAccountId`.
 */
export const transferSent = defineEvent('TransferSent', {
  schema: z.object({ transferId: id, fromAccountId: id, toAccountId: id, amountCents }),
});

export const accountClosed = defineEvent('AccountClosed', {
  schema: z.object({ accountId: id }),
});

/** Every event type of the bank domain. */
export const bankEventTypes = [
  accountOpened,
  moneyDeposited,
  moneyWithdrawn,
  transferSent,
  accountClosed,
] as const;

/** The union the decider, the projections and the fold are typed over. */
export type BankEvent = EventsOf<typeof bankEventTypes>;
export type BankEventType = BankEvent['type'];

export const BANK_EVENT_TYPES: readonly BankEventType[] = bankEventTypes.map((t) => t.type);

/** Account `X` lives in the stream `account-X`. */
export function accountStreamId(accountId: string): string {
  return `account-${accountId}`;
}

/** The account whose stream an event is appended to (a transfer's sender). */
export function streamAccountOf(event: BankEvent): string {
  return event.type === 'TransferSent' ? event.data.fromAccountId : event.data.accountId;
}
