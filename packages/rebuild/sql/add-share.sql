-- Records one finished share of a rebuild flow: which partitions, which worker.
--   $1 text  job id   $2 jsonb  the share ({ share, partitions, worker, applied })
UPDATE refract.rebuilds SET shares = shares || jsonb_build_array($2::jsonb) WHERE job_id = $1
