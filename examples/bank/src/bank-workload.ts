import { accountStreamId, type BankEvent, streamAccountOf } from './event-types.js';
import { type SeededRng, seededRng } from './seeded-rng.js';

export const BANK_WORKLOAD_DEFAULT_SEED = 1_000_003;
/** Accounts open at once, about: new ones open as others close. */
export const BANK_WORKLOAD_DEFAULT_OPEN_ACCOUNTS = 100;
const START_MS = Date.UTC(2024, 0, 1);
/** The largest deposit, withdrawal or transfer the workload makes: 2,000.00. */
const MAX_AMOUNT_CENTS = 200_000;

export interface BankHistoryOptions {
  seed: number;
  /** @defaultValue BANK_WORKLOAD_DEFAULT_OPEN_ACCOUNTS */
  openAccounts?: number;
  /** The id of the n-th account opened (from 1). @defaultValue String(n) */
  accountId?: (n: number) => string;
  /** The id of the n-th transfer (from 1). @defaultValue `transfer-<n>` */
  transferId?: (n: number) => string;
}

interface OpenAccount {
  accountId: string;
  /** What the account's decider lets it spend: its own stream's balance. */
  spendableCents: number;
}

/**
 * An endless, seeded history of the bank: accounts opened, deposits,
 * withdrawals and transfers within what the account may spend, transfers to
 * other open accounts only, and now and then an account closed. Every event
 * is what the account decider decides for the matching command on its
 * stream's history, so the events of each account, in order, are accepted.
 * Same options ⇒ same sequence.
 */
export function* bankHistory(options: BankHistoryOptions): Generator<BankEvent, never> {
  const target = options.openAccounts ?? BANK_WORKLOAD_DEFAULT_OPEN_ACCOUNTS;
  if (!Number.isSafeInteger(target) || target < 2) {
    throw new RangeError(`openAccounts must be an integer of at least 2, got ${target}`);
  }
  const accountId = options.accountId ?? String;
  const transferId = options.transferId ?? ((n: number) => `transfer-${n}`);
  const rng = seededRng(options.seed);
  const open: OpenAccount[] = [];
  let accounts = 0;
  let transfers = 0;
  for (let index = 0; ; index++) {
    if (open.length < 2 || (open.length < target && rng.next() < 0.1)) {
      accounts += 1;
      const account = { accountId: accountId(accounts), spendableCents: 0 };
      open.push(account);
      yield {
        type: 'AccountOpened',
        data: {
          accountId: account.accountId,
          owner: `customer-${rng.int(1, target * 5)}`,
          openedAt: new Date(START_MS + index * 1000).toISOString(),
        },
      };
      continue;
    }
    const slot = rng.int(0, open.length - 1);
    const account = open[slot]!;
    const roll = rng.next();
    if (roll < 0.02) {
      // Swap-remove: which slot an account holds does not matter.
      open[slot] = open[open.length - 1]!;
      open.pop();
      yield { type: 'AccountClosed', data: { accountId: account.accountId } };
      continue;
    }
    if (roll < 0.4 || account.spendableCents === 0) {
      const amountCents = rng.int(1, MAX_AMOUNT_CENTS);
      account.spendableCents += amountCents;
      yield { type: 'MoneyDeposited', data: { accountId: account.accountId, amountCents } };
      continue;
    }
    const amountCents = rng.int(1, Math.min(account.spendableCents, MAX_AMOUNT_CENTS));
    account.spendableCents -= amountCents;
    if (roll < 0.65) {
      yield { type: 'MoneyWithdrawn', data: { accountId: account.accountId, amountCents } };
      continue;
    }
    transfers += 1;
    yield {
      type: 'TransferSent',
      data: {
        transferId: transferId(transfers),
        fromAccountId: account.accountId,
        toAccountId: otherThan(open, slot, rng).accountId,
        amountCents,
      },
    };
  }
}

/** An open account other than the one in `slot` (there are at least two). */
function otherThan(open: readonly OpenAccount[], slot: number, rng: SeededRng): OpenAccount {
  const other = rng.int(0, open.length - 2);
  return open[other >= slot ? other + 1 : other]!;
}

export interface BankWorkloadOptions {
  /** Exactly this many events. */
  events: number;
  /** @defaultValue BANK_WORKLOAD_DEFAULT_SEED */
  seed?: number;
  /** @defaultValue BANK_WORKLOAD_DEFAULT_OPEN_ACCOUNTS */
  openAccounts?: number;
}

export type IdentifiedBankEvent = BankEvent & { id: string };

export interface BankWorkloadEvent {
  /** 0-based position in the generated sequence. */
  index: number;
  streamId: string;
  /** 0-based position within its stream: the stream's version once appended. */
  version: number;
  /** Ready to append: a NewEvent with an id that depends only on (seed, index). */
  event: IdentifiedBankEvent;
}

/**
 * The first `events` events of `bankHistory`, ready to append: account `n`
 * is `"<n>"` in stream `account-<n>`, each event with its stream version and
 * a UUID-shaped id. Options are checked at the call (RangeError).
 */
export function generateBankWorkload(
  options: BankWorkloadOptions,
): Generator<BankWorkloadEvent, void> {
  const { events: total, seed = BANK_WORKLOAD_DEFAULT_SEED } = options;
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`events must be a non-negative integer, got ${total}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const history = bankHistory({ seed, openAccounts: options.openAccounts });
  return (function* () {
    const versions = new Map<string, number>();
    for (let index = 0; index < total; index++) {
      const event = history.next().value;
      const streamId = accountStreamId(streamAccountOf(event));
      const version = versions.get(streamId) ?? 0;
      versions.set(streamId, version + 1);
      yield { index, streamId, version, event: { id: eventIdOf(seed, index), ...event } };
    }
  })();
}

/** A UUID v4-shaped id that depends only on (seed, index). */
export function eventIdOf(seed: number, index: number): string {
  const rng = seededRng(Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) ^ index);
  const hex = Array.from({ length: 4 }, () => rng.uint32().toString(16).padStart(8, '0')).join('');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
