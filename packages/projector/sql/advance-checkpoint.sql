-- Compare-and-set on one partition checkpoint, first statement of a batch
-- transaction: it also locks the row, so a worker that lost the partition
-- (paused, partitioned, slow) waits here and then finds the position moved.
--   $1 text  projection   $2 int  version   $3 int  partition
--   $4 bigint  the position this batch starts after (what the worker last read)
--   $5 bigint  the position this batch ends at
-- Returns one row when the checkpoint moved, none when it was not at $4 or is halted.
UPDATE refract.projection_checkpoints
SET position = $5, updated_at = now()
WHERE projection = $1 AND version = $2 AND partition = $3 AND position = $4 AND halted_at IS NULL
RETURNING position
