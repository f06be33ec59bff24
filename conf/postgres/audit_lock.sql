-- Make audit_log append-only for the application's role. Run as a PostgreSQL superuser in the rstream database,
-- after `rstream migrate` (scripts/stack.sh does it on every start; on a host see docs/operations.md):
--   psql -d rstream -v app=rstream -f audit_lock.sql
-- The table and the two SECURITY DEFINER functions (sql/091_protect_audit.sql) move to rstream_audit, a role
-- nobody logs in as; the application keeps SELECT and INSERT, and may call the functions. Safe to run again.
\set ON_ERROR_STOP on
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rstream_audit') AS need_role \gset
\if :need_role
CREATE ROLE rstream_audit NOLOGIN;
\endif
ALTER TABLE audit_log OWNER TO rstream_audit;
ALTER FUNCTION audit_purge(integer) OWNER TO rstream_audit;
ALTER FUNCTION audit_pseudonymise(text[], text) OWNER TO rstream_audit;
REVOKE ALL ON audit_log FROM :"app";
GRANT SELECT, INSERT ON audit_log TO :"app";
GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO :"app";   -- SELECT: pg_dump reads its state
REVOKE ALL ON FUNCTION audit_purge(integer), audit_pseudonymise(text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_purge(integer), audit_pseudonymise(text[], text) TO :"app";
