-- TOTP second factor (issue 14, item 8). One row per account that started or finished enrolment; the secret is
-- sealed with AES-256-GCM under a key derived from RSTREAM_SECRET (totp.c), so a database dump alone gives no codes.
CREATE TABLE IF NOT EXISTS mfa_totp (
    user_id       bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed text NOT NULL,
    confirmed_at  timestamptz,                 -- NULL while enrolling: not asked for at sign-in yet
    last_step     bigint NOT NULL DEFAULT 0,   -- the newest 30 s step accepted; codes of it or before are refused
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Ten single-use recovery codes per enrolment, stored only as HMAC(secret, code) like login cards.
CREATE TABLE IF NOT EXISTS mfa_recovery_codes (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamptz
);
CREATE INDEX IF NOT EXISTS mfa_recovery_codes_user_idx ON mfa_recovery_codes (user_id);
