-- First step of a counter projection's swap: its registry row, locked until
-- the swap commits. Live workers refused by the frozen version wait for this
-- row (settleCounterFreeze), so they resume only once the swap is decided.
--   $1 text  projection
SELECT live_version FROM refract.projections WHERE name = $1 FOR UPDATE
