-- Core schema: accounts and the job queue.
-- users holds local accounts and rostered users alike (sourced_id links a OneRoster user; such accounts have no
-- password until an admin or SSO sets one). jobs is the queue claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    email          text UNIQUE,
    username       text,
    name           text NOT NULL DEFAULT '',
    role           text NOT NULL DEFAULT 'viewer' CHECK (role IN ('admin', 'creator', 'viewer', 'guest')),
    password_hash  text,
    sourced_id     text UNIQUE,
    org_sourced_id text,
    disabled       boolean NOT NULL DEFAULT false,
    lang           text CHECK (lang IN ('ja', 'en')),
    failed_logins  int NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- keyset pagination and search over large rosters
CREATE INDEX users_role_id ON users (role, id);
CREATE INDEX users_lower_email ON users (lower(email) text_pattern_ops);
CREATE INDEX users_lower_name ON users (lower(name) text_pattern_ops);
CREATE INDEX users_org ON users (org_sourced_id);

CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress      real NOT NULL DEFAULT 0,
    message       text NOT NULL DEFAULT '',
    stats         jsonb NOT NULL DEFAULT '{}',
    error         text,
    attempts      int NOT NULL DEFAULT 0,
    max_attempts  int NOT NULL DEFAULT 3,
    run_after     timestamptz NOT NULL DEFAULT now(),
    locked_by     text,
    locked_at     timestamptz,
    heartbeat_at  timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_by    bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX jobs_claim ON jobs (run_after, id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (heartbeat_at) WHERE state = 'running';
CREATE INDEX jobs_kind_created ON jobs (kind, id DESC);
CREATE INDEX jobs_created ON jobs (id DESC);

-- logged-out tokens (mirrors Redis so an outage of Redis never revives a session)
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
