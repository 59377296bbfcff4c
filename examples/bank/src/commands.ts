import { type AnyCommandRoute, defineCommand } from '@refract/core';
import { z } from 'zod';
import {
  type AccountCommand,
  accountDecider,
  accountOf,
  type CloseAccount,
  type Deposit,
  type OpenAccount,
  type Transfer,
  type Withdraw,
} from './account-decider.js';
import { accountStreamId } from './event-types.js';

/** Ids stay within the stream-id alphabet, so `account-<accountId>` is always a valid stream id. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,100}$/;

const id = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .regex(ACCOUNT_ID_PATTERN, 'must be 1 to 100 letters, digits or _ . : @ -');

// Only the shape is checked here (400); an amount of 0 or below, an
// overdraft or a transfer to oneself are business rules the decider refuses (422).
const amountCents = z.int({
  error: (issue) => (issue.input === undefined ? 'is required' : 'must be a whole number of cents'),
});

// Unknown fields are refused rather than dropped: a misspelt optional field
// (`openedat`) would otherwise be silently replaced by its default.
const openAccountBody = z.strictObject({
  accountId: id,
  owner: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  openedAt: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' })
    .optional(),
});
const amountBody = z.strictObject({ accountId: id, amountCents });
const transferBody = z.strictObject({
  transferId: id,
  fromAccountId: id,
  toAccountId: id,
  amountCents,
});
const closeAccountBody = z.strictObject({ accountId: id });

/** A command of one account: served on its stream (a transfer's sender's), decided by its decider. */
function accountRoute<Body>(
  type: AccountCommand['type'],
  schema: z.ZodType<Body>,
  toCommand: (body: Body) => AccountCommand,
): AnyCommandRoute {
  return defineCommand({
    type,
    schema,
    toCommand,
    streamId: (command) => accountStreamId(accountOf(command)),
    decider: accountDecider,
  });
}

export const openAccountRoute = accountRoute(
  'OpenAccount',
  openAccountBody,
  (body): OpenAccount => ({
    type: 'OpenAccount',
    accountId: body.accountId,
    owner: body.owner,
    // Normalised to UTC so equal instants are stored alike.
    openedAt: new Date(body.openedAt ?? Date.now()).toISOString(),
  }),
);

export const depositRoute = accountRoute(
  'Deposit',
  amountBody,
  (body): Deposit => ({ type: 'Deposit', ...body }),
);

export const withdrawRoute = accountRoute(
  'Withdraw',
  amountBody,
  (body): Withdraw => ({ type: 'Withdraw', ...body }),
);

export const transferRoute = accountRoute(
  'Transfer',
  transferBody,
  (body): Transfer => ({ type: 'Transfer', ...body }),
);

export const closeAccountRoute = accountRoute(
  'CloseAccount',
  closeAccountBody,
  (body): CloseAccount => ({ type: 'CloseAccount', ...body }),
);

/** The bank's command catalog: `POST /commands/{type}` for each. */
export const bankCommands: readonly AnyCommandRoute[] = [
  openAccountRoute,
  depositRoute,
  withdrawRoute,
  transferRoute,
  closeAccountRoute,
];
