-- Ends every session connected to the current database except the harness's
-- own (its pools carry this application_name).
--   $1 text  the harness's application_name
-- Result: one row, `terminated`, the number of sessions ended.
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS terminated
FROM pg_stat_activity
WHERE datname = current_database()
  AND pid <> pg_backend_pid()
  AND application_name IS DISTINCT FROM $1
