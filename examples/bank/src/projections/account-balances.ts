import { readFileSync } from 'node:fs';
import { defineProjection, type ProjectionContext, type Recorded } from '@refract/core';
import { BANK_EVENT_TYPES, type BankEvent, streamAccountOf } from '../event-types.js';

const TABLE = 'account_balances';
const PLACEHOLDER = `{{${TABLE}}}`;

/** A statement of `sql/`, with the placeholder for the versioned table left in. */
const load = (name: string) =>
  readFileSync(new URL(`../../sql/${name}.sql`, import.meta.url), 'utf8');
const CREATE_SQL = load('create-account-balances');
const APPLY_SQL = load('apply-account-balances');

/** What one batch does to one account's row. */
export interface AccountChange {
  accountId: string;
  /** Set when the batch holds the account's AccountOpened. */
  opened: { owner: string; openedAt: string } | null;
  closed: boolean;
  /** Own deposits − withdrawals − transfers sent, plus transfers received, in cents. */
  deltaCents: number;
  /** Global position of the account's own last event in the batch; null when it was only credited. */
  position: number | null;
}

function changeOf(changes: Map<string, AccountChange>, accountId: string): AccountChange {
  let change = changes.get(accountId);
  if (!change) {
    change = { accountId, opened: null, closed: false, deltaCents: 0, position: null };
    changes.set(accountId, change);
  }
  return change;
}

/**
 * Folds a batch (position order) into one change per account: its own
 * events, and the credits of transfers other accounts sent it. Sequences no
 * valid account stream produces within the batch are refused here; those
 * spanning batches, by the statement.
 */
export function foldAccountChanges(
  events: readonly Recorded<BankEvent>[],
): Map<string, AccountChange> {
  const changes = new Map<string, AccountChange>();
  for (const event of events) {
    const accountId = streamAccountOf(event);
    const change = changeOf(changes, accountId);
    const where = `(position ${event.position})`;
    if (change.closed) {
      throw new Error(`${event.type} for account ${accountId} after it was closed ${where}`);
    }
    switch (event.type) {
      case 'AccountOpened':
        if (change.opened) throw new Error(`account ${accountId} opened twice ${where}`);
        if (change.position !== null) {
          throw new Error(`account ${accountId} had events before it was opened ${where}`);
        }
        change.opened = { owner: event.data.owner, openedAt: event.data.openedAt };
        break;
      case 'MoneyDeposited':
        change.deltaCents += event.data.amountCents;
        break;
      case 'MoneyWithdrawn':
        change.deltaCents -= event.data.amountCents;
        break;
      case 'TransferSent':
        change.deltaCents -= event.data.amountCents;
        // The credit belongs to another stream's row: no position, no status.
        changeOf(changes, event.data.toAccountId).deltaCents += event.data.amountCents;
        break;
      case 'AccountClosed':
        change.closed = true;
        break;
    }
    change.position = event.position;
  }
  return changes;
}

async function applyAccountBalances(
  events: Recorded<BankEvent>[],
  ctx: ProjectionContext,
): Promise<void> {
  const changes = foldAccountChanges(events);
  if (changes.size === 0) return;
  const accountIds: string[] = [];
  const owners: (string | null)[] = [];
  const openedAts: (string | null)[] = [];
  const closed: boolean[] = [];
  const deltas: number[] = [];
  const positions: (number | null)[] = [];
  for (const change of changes.values()) {
    accountIds.push(change.accountId);
    owners.push(change.opened?.owner ?? null);
    openedAts.push(change.opened?.openedAt ?? null);
    closed.push(change.closed);
    deltas.push(change.deltaCents);
    positions.push(change.position);
  }
  const table = ctx.table(TABLE);
  const result = await ctx.sql.query<{ refused: string[] | null }>({
    // One name per text: the versioned table is part of both.
    name: `account-balances-apply:${table}`,
    text: APPLY_SQL.replaceAll(PLACEHOLDER, table),
    values: [accountIds, owners, openedAts, closed, deltas, positions],
  });
  const refused = result.rows[0]?.refused;
  if (refused && refused.length > 0) {
    throw new Error(
      `events no valid account stream produces (never opened, opened twice or closed): ${refused.slice(0, 10).join(', ')}`,
    );
  }
}

/**
 * `account_balances`: one row per account. A two-stream projection: a
 * TransferSent debits its own stream's account and credits the target's
 * row, which belongs to another stream and usually another partition.
 */
export const accountBalancesProjection = defineProjection<BankEvent>({
  name: 'account_balances',
  version: 1,
  // One statement per batch, rows locked in account_id order: safe to share
  // a transaction with other partitions' batches.
  crossPartitionBatches: true,
  handles: BANK_EVENT_TYPES,
  tables: [TABLE],
  // Verified cutover: what readers see of an account is compared; `position`
  // records which event was applied last, bookkeeping a rebuild may move.
  compare: {
    [TABLE]: { key: ['account_id'], columns: ['owner', 'status', 'opened_at', 'balance_cents'] },
  },
  setup: (table) => CREATE_SQL.replaceAll(PLACEHOLDER, table(TABLE)),
  applyBatch: applyAccountBalances,
});
