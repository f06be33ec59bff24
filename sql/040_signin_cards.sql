-- Sign-in, second step (after 040_signin.sql was applied): login cards that ask for a password at the first
-- sign-in, and password sign-in by roster user name for pupils without an e-mail address.
ALTER TABLE login_codes ADD COLUMN IF NOT EXISTS set_password boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN login_codes.set_password IS 'the first sign-in with this card asks for a password, then the card is used up';
-- session_check_password looks an account up by lower(username) when the typed name has no "@"
CREATE INDEX IF NOT EXISTS users_lower_username ON users (lower(username));
-- The GIN index on roster_users.user_ids (040_signin.sql) slowed every bulk import, a measured service level, to
-- speed up a rare lookup: an OIDC sign-in matched by userIds scans roster_users once instead.
DROP INDEX IF EXISTS roster_users_user_ids_idx;
