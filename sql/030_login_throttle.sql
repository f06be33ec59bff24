-- Login throttling and session revocation on password change (issue 7, findings 4 and 5).
-- login_throttle replaces the Redis lockout counter and users.locked_until: failures are counted per
-- (account, source address), per account and per source address, each with an exponential backoff instead of a
-- hard lock. Rows exist for unknown e-mails exactly as for real ones, so the answers tell nothing apart.
-- key: 'p:' || sha256(email|ip), 'a:' || sha256(email), 'i:' || ip; account: sha256 of the normalised e-mail
-- (trimmed, lower-cased), so an admin unlock finds every row of one account. Kept in PostgreSQL, which a login
-- needs anyway: a Redis outage no longer switches throttling off.
CREATE TABLE login_throttle (
    key        text PRIMARY KEY,
    account    text,
    fails      int NOT NULL DEFAULT 0,
    wait_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_throttle_account ON login_throttle (account);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);

-- Every session and bearer token carries the generation it was issued under; a password change bumps it, which
-- revokes them all at once (the user query compares it on each session check).
ALTER TABLE users ADD COLUMN token_gen int NOT NULL DEFAULT 0;

COMMENT ON COLUMN users.failed_logins IS 'unused since 030: see login_throttle';
COMMENT ON COLUMN users.locked_until IS 'unused since 030: see login_throttle';
