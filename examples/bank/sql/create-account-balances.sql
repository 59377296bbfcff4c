-- One version of the account_balances table. {{account_balances}} stands for
-- its versioned name (projections.account_balances_v<version>).
-- A row can exist before its account is opened: a transfer from another
-- partition may credit it first (owner and opened_at NULL, status 'unopened').
CREATE TABLE IF NOT EXISTS {{account_balances}} (
  account_id    text PRIMARY KEY,
  owner         text,
  status        text NOT NULL CHECK (status IN ('unopened', 'open', 'closed')),
  opened_at     timestamptz,
  balance_cents bigint NOT NULL,
  -- Global position of the last event of the account's own stream applied;
  -- credits come from other streams and leave it alone.
  position      bigint
);
