-- Halts one partition of a projection at a poison event (onError = 'halt').
--   $1 text  projection  $2 int  version  $3 int  partition
--   $4 bigint  the checkpoint the worker holds (guards against a lost partition)
--   $5 bigint  the position of the event that failed
UPDATE refract.projection_checkpoints
SET halted_at = $5, updated_at = now()
WHERE projection = $1 AND version = $2 AND partition = $3 AND position = $4 AND halted_at IS NULL
