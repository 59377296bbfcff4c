-- Moves the relay's checkpoint forward (never back: a deposed leader that
-- still writes cannot undo its successor's progress).
--   $1 text  relay name    $2 bigint  new position
UPDATE refract.relay_checkpoints
SET position = greatest(position, $2), updated_at = now()
WHERE name = $1
