-- OneRoster REST API: OAuth2 API clients, the audit log, and the settings row for audit retention.
-- Also the extra indexes the REST endpoints need beyond 010_roster.sql (nested endpoints and keyset order).

-- OAuth2 client-credentials clients. secret_hash = sha256 hex of the secret (the secret is 256 random bits shown once;
-- a fast hash is enough for a random secret and keeps /oauth/token cheap). scopes are the short names
-- (roster-core.readonly, roster.readonly, roster-demographics.readonly). ip_allowlist: CIDRs; empty = any address.
CREATE TABLE IF NOT EXISTS api_clients (
	id                  bigserial PRIMARY KEY,
	name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	client_id           text NOT NULL UNIQUE,
	secret_hash         text NOT NULL,
	scopes              text[] NOT NULL DEFAULT '{}',
	ip_allowlist        text[] NOT NULL DEFAULT '{}',
	rate_limit_per_min  integer NOT NULL DEFAULT 600 CHECK (rate_limit_per_min BETWEEN 1 AND 1000000),
	revoked_at          timestamptz,
	created_by          bigint REFERENCES users(id) ON DELETE SET NULL,
	created_at          timestamptz NOT NULL DEFAULT now(),
	last_used_at        timestamptz
);
CREATE INDEX IF NOT EXISTS api_clients_created_idx ON api_clients (created_at DESC);

-- Every import, export, write and roster API read. actor: "user:<id>" / "client:<client_id>" / "system".
CREATE TABLE IF NOT EXISTS audit_log (
	id            bigserial PRIMARY KEY,
	at            timestamptz NOT NULL DEFAULT now(),
	actor         text NOT NULL,
	action        text NOT NULL,
	target        text NOT NULL DEFAULT '',
	detail        jsonb NOT NULL DEFAULT '{}',
	ip            text,
	status        integer NOT NULL DEFAULT 0,
	result_count  bigint
);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON audit_log (actor, at);
CREATE INDEX IF NOT EXISTS audit_log_action_idx ON audit_log (action, at);

-- Key/value settings editable at run time (created here if no other migration did).
CREATE TABLE IF NOT EXISTS settings (
	key         text PRIMARY KEY,
	value       text NOT NULL,
	updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings (key, value) VALUES ('audit_retention_days', '1095') ON CONFLICT (key) DO NOTHING;

-- Nested REST endpoints: /users/{id}/classes, /classes/{id}/students, /schools/{id}/courses, users by role.
CREATE INDEX IF NOT EXISTS roster_roles_user_role_idx ON roster_roles (user_sourced_id, role);
CREATE INDEX IF NOT EXISTS roster_roles_role_user_idx ON roster_roles (role, user_sourced_id);
CREATE INDEX IF NOT EXISTS roster_enrollments_user_class_idx ON roster_enrollments (user_sourced_id, class_sourced_id);
CREATE INDEX IF NOT EXISTS roster_users_family_sid_idx ON roster_users (family_name, sourced_id);
-- Collection pages are ordered by sourcedId: a filter on a reference plus that order is one index range.
CREATE INDEX IF NOT EXISTS roster_users_primary_org_sid_idx ON roster_users (primary_org_sourced_id, sourced_id);
CREATE INDEX IF NOT EXISTS roster_classes_school_sid_idx ON roster_classes (school_sourced_id, sourced_id);
CREATE INDEX IF NOT EXISTS roster_enrollments_school_sid_idx ON roster_enrollments (school_sourced_id, sourced_id);
