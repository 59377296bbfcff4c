-- One batch of account_balances, folded into one change per account, in one
-- statement. {{account_balances}} stands for the versioned table.
--   $1 text[]         account_id
--   $2 text[]         owner: set when the batch holds the account's AccountOpened
--   $3 timestamptz[]  opened_at: likewise
--   $4 boolean[]      closed: the batch holds its AccountClosed
--   $5 bigint[]       delta_cents: deposits - withdrawals - transfers sent
--                     + transfers received, all within the batch
--   $6 bigint[]       position of its own last event; NULL when the batch only
--                     credits it (a transfer in another account's stream)
-- Returns `refused`: accounts whose own events no valid stream produces (an
-- event before AccountOpened, a second AccountOpened, an event after
-- AccountClosed). The caller fails the batch; nothing of it commits.
--
-- Balances are increments, not idempotent: they rely on the runtime applying
-- each batch exactly once (checkpoint compare-and-set in this transaction).
-- A credit touches another partition's row, so batches of different
-- partitions contend: rows are locked in account_id order (ORDER BY in the
-- INSERT … SELECT), so two batches wait for each other and never deadlock.
-- A credit that arrives before its account's AccountOpened inserts the row,
-- and the opening fills it in later: either order ends in the same row.
-- Owner, status and position are written only by the account's own stream,
-- one batch after another, so `prior` (this statement's snapshot) is exact
-- for them.
WITH batch AS (
  SELECT *
  FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::boolean[], $5::bigint[], $6::bigint[])
    AS b(account_id, owner, opened_at, closed, delta_cents, position)
),
prior AS (
  SELECT a.account_id, a.owner, a.status
  FROM {{account_balances}} AS a
  JOIN batch AS b ON b.account_id = a.account_id
),
upserted AS (
  INSERT INTO {{account_balances}} AS a
    (account_id, owner, status, opened_at, balance_cents, position)
  SELECT account_id,
         owner,
         CASE WHEN closed THEN 'closed' WHEN owner IS NOT NULL THEN 'open' ELSE 'unopened' END,
         opened_at,
         delta_cents,
         position
  FROM batch
  ORDER BY account_id
  ON CONFLICT (account_id) DO UPDATE SET
    owner = coalesce(EXCLUDED.owner, a.owner),
    opened_at = coalesce(EXCLUDED.opened_at, a.opened_at),
    -- 'unopened' here means the batch did not change the status.
    status = CASE WHEN EXCLUDED.status = 'unopened' THEN a.status ELSE EXCLUDED.status END,
    balance_cents = a.balance_cents + EXCLUDED.balance_cents,
    position = greatest(a.position, EXCLUDED.position)
)
SELECT array_agg(b.account_id) FILTER (
         WHERE (b.position IS NOT NULL AND b.owner IS NULL AND p.owner IS NULL)
            OR (b.owner IS NOT NULL AND p.owner IS NOT NULL)
            OR (b.position IS NOT NULL AND p.status = 'closed')
       ) AS refused
FROM batch AS b
LEFT JOIN prior AS p ON p.account_id = b.account_id
