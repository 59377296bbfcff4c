-- One rebuild by job id.
--   $1 text  job id
SELECT * FROM refract.rebuilds WHERE job_id = $1
