-- Forgets the checkpoints of a version that is being dropped, and its
-- audits: a version registered again starts from 0 and is audited from 0.
--   $1 text  projection   $2 int  version
WITH audits AS (
  DELETE FROM refract.projection_audits WHERE projection = $1 AND version = $2
)
DELETE FROM refract.projection_checkpoints WHERE projection = $1 AND version = $2
