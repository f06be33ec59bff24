-- Sign-in for rostered pupils and teachers: OpenID Connect providers per organisation, the short-lived state of
-- an OIDC login in progress, printed login cards, and one-time password-reset links. Owned by the sign-in area
-- (fcgi/signin_*.c, fcgi/h_signin.c). Secrets and codes are stored hashed (or, for the client secret, encrypted).

-- One OIDC provider (Google Workspace, Entra ID, any OIDC issuer) for the users of one org (a district covers its
-- schools). match_rule 'email' matches the verified e-mail claim to the rostered account's e-mail; 'user_id' matches
-- the sub claim to a OneRoster userIds entry {<user_id_type>:<sub>}.
CREATE TABLE IF NOT EXISTS oidc_providers (
	id                bigserial PRIMARY KEY,
	org_sourced_id    text NOT NULL,
	name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	issuer            text NOT NULL CHECK (length(issuer) BETWEEN 8 AND 500),
	client_id         text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 500),
	client_secret_enc text,                -- AES-256-GCM under a key derived from RSTREAM_SECRET; never shown again
	match_rule        text NOT NULL DEFAULT 'email' CHECK (match_rule IN ('email', 'user_id')),
	user_id_type      text CHECK (user_id_type ~ '^[A-Za-z0-9_.-]{1,40}$'),
	enabled           boolean NOT NULL DEFAULT true,
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now(),
	CHECK (match_rule = 'email' OR user_id_type IS NOT NULL)
);

-- A login in progress: state (hashed), nonce and PKCE verifier, single use (DELETE … RETURNING), a few minutes.
CREATE TABLE IF NOT EXISTS oidc_logins (
	state_hash    text PRIMARY KEY,
	provider_id   bigint NOT NULL REFERENCES oidc_providers(id) ON DELETE CASCADE,
	nonce         text NOT NULL,
	code_verifier text NOT NULL,
	next_path     text NOT NULL DEFAULT '/',
	expires_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_logins_expires_idx ON oidc_logins (expires_at);

-- Printed login cards: one live code per pupil (reissuing revokes the old one). code_hash is an HMAC keyed by the
-- server secret, so a copy of the database does not let anyone try codes offline.
CREATE TABLE IF NOT EXISTS login_codes (
	id            bigserial PRIMARY KEY,
	user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	code_hash     text NOT NULL UNIQUE,
	class_sourced_id text,
	created_by    bigint REFERENCES users(id) ON DELETE SET NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	expires_at    timestamptz NOT NULL,
	first_used_at timestamptz,
	revoked_at    timestamptz
);
CREATE INDEX IF NOT EXISTS login_codes_user_idx ON login_codes (user_id) WHERE revoked_at IS NULL;

-- One-time password-reset links made by an admin (later sent by e-mail): hashed, single use, expiring.
CREATE TABLE IF NOT EXISTS password_resets (
	token_hash  text PRIMARY KEY,
	user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	used_at     timestamptz
);
CREATE INDEX IF NOT EXISTS password_resets_user_idx ON password_resets (user_id);

-- OIDC match rule 'user_id' looks a pupil up by a userIds entry ("{Google:1234}"): index the array.
CREATE INDEX IF NOT EXISTS roster_users_user_ids_idx ON roster_users USING gin (user_ids);
