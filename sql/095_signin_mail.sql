-- E-mailed sign-in links (issue 8): password-reset links and invitations sent through the notification outbox.
-- Owned by signin_mail.c, h_signin_mail.c; delivered by the notify_mail job (mail.c) with its retries.

-- A transactional message is neither a notification nor a digest: mail_kind says which text to write and
-- sealed carries its link (AES-256-GCM under a key from RSTREAM_SECRET, like OIDC client secrets), because
-- the link holds a live token that the database otherwise keeps only as a keyed hash. Cleared once sent.
ALTER TABLE mail_outbox ADD COLUMN IF NOT EXISTS mail_kind text CHECK (mail_kind IN ('reset', 'invite'));
ALTER TABLE mail_outbox ADD COLUMN IF NOT EXISTS sealed text;
ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_check;
ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_source_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_source_check
	CHECK (num_nonnulls(notification_id, digest_of, mail_kind) = 1);

-- Invitations: an admin invites a person by e-mail; the account exists from the invitation on (no password, so
-- nobody can sign in to it) and the e-mailed single-use link sets its password. Resending replaces the token
-- (the older link dies); revoking ends the link and disables an account that was made for the invitation.
CREATE TABLE IF NOT EXISTS invitations (
	id          bigserial PRIMARY KEY,
	user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	token_hash  text NOT NULL UNIQUE,
	new_account boolean NOT NULL,
	invited_by  bigint REFERENCES users(id) ON DELETE SET NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	sent_at     timestamptz NOT NULL DEFAULT now(),
	sends       int NOT NULL DEFAULT 1,
	expires_at  timestamptz NOT NULL,
	accepted_at timestamptz,
	revoked_at  timestamptz
);
-- one open invitation per account
CREATE UNIQUE INDEX IF NOT EXISTS invitations_open_idx ON invitations (user_id) WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS invitations_recent_idx ON invitations (id DESC);
