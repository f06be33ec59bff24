-- Notifications (issue 10, items 6-11): the in-app list, subscriptions, per-user channel preferences, the
-- e-mail outbox and admin webhooks with their delivery log. Owned by notify.c, mail.c, webhook.c, h_notify.c.

-- One row per (event, person). The unique key makes fan-out idempotent: a fan-out job that is killed and run
-- again inserts nothing twice. inapp = false keeps the row for e-mail only (the person turned the list off).
CREATE TABLE IF NOT EXISTS notifications (
	id         bigserial PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	event_key  text NOT NULL CHECK (length(event_key) BETWEEN 1 AND 200),
	kind       text NOT NULL,
	payload    jsonb NOT NULL DEFAULT '{}',
	inapp      boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	read_at    timestamptz,
	UNIQUE (event_key, user_id)
);
CREATE INDEX IF NOT EXISTS notifications_user_idx ON notifications (user_id, id DESC) WHERE inapp;
-- the header's bell: an index-only count of a person's unread rows
CREATE INDEX IF NOT EXISTS notifications_unread_idx ON notifications (user_id) WHERE inapp AND read_at IS NULL;

-- Subscriptions to a creator (users.id) or a category (categories.id): notified when their videos become ready.
CREATE TABLE IF NOT EXISTS notify_subscriptions (
	user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	target_kind text NOT NULL CHECK (target_kind IN ('creator', 'category')),
	target_id   bigint NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, target_kind, target_id)
);
CREATE INDEX IF NOT EXISTS notify_subscriptions_target_idx ON notify_subscriptions (target_kind, target_id);

-- A person's choice per event kind and channel; absent = the kind's default (notify.c, notify_kinds).
CREATE TABLE IF NOT EXISTS notify_prefs (
	user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind    text NOT NULL,
	channel text NOT NULL CHECK (channel IN ('inapp', 'email')),
	enabled boolean NOT NULL,
	PRIMARY KEY (user_id, kind, channel)
);
-- e-mail digest: 'off' = one mail per event, 'daily' = one mail a day listing them
CREATE TABLE IF NOT EXISTS notify_settings (
	user_id bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	digest  text NOT NULL DEFAULT 'off' CHECK (digest IN ('off', 'daily'))
);

-- E-mail outbox: one message per notification (or one digest of several). Sent by the notify_mail job with
-- retries and backoff; after mail.max_attempts it is 'failed' and listed for the admin, never dropped.
CREATE TABLE IF NOT EXISTS mail_outbox (
	id              bigserial PRIMARY KEY,
	user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	notification_id bigint UNIQUE REFERENCES notifications(id) ON DELETE CASCADE,
	digest_of       bigint[],
	state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'digest', 'digested', 'sent', 'failed')),
	attempts        int NOT NULL DEFAULT 0,
	next_at         timestamptz NOT NULL DEFAULT now(),
	last_error      text,
	message_id      text,
	created_at      timestamptz NOT NULL DEFAULT now(),
	sent_at         timestamptz,
	CHECK ((notification_id IS NULL) <> (digest_of IS NULL))
);
CREATE INDEX IF NOT EXISTS mail_outbox_due_idx ON mail_outbox (next_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS mail_outbox_digest_idx ON mail_outbox (user_id) WHERE state = 'digest';
CREATE INDEX IF NOT EXISTS mail_outbox_failed_idx ON mail_outbox (id DESC) WHERE state = 'failed';

-- Admin-configured webhook endpoints (Slack-compatible JSON, HMAC-SHA256 signed). The secret is sealed like
-- OIDC client secrets (AES-256-GCM under a key derived from RSTREAM_SECRET).
CREATE TABLE IF NOT EXISTS webhooks (
	id             bigserial PRIMARY KEY,
	name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	url            text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
	secret_sealed  text NOT NULL,
	kinds          text[] NOT NULL DEFAULT '{}',
	enabled        boolean NOT NULL DEFAULT true,
	failures       int NOT NULL DEFAULT 0,          -- consecutive failed attempts
	disabled_reason text,
	disabled_at    timestamptz,
	created_by     bigint REFERENCES users(id) ON DELETE SET NULL,
	created_at     timestamptz NOT NULL DEFAULT now()
);

-- One delivery per (webhook, event): the unique key makes fan-out idempotent like notifications.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
	id          bigserial PRIMARY KEY,
	webhook_id  bigint NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
	event_key   text NOT NULL,
	kind        text NOT NULL,
	payload     jsonb NOT NULL,
	state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
	attempts    int NOT NULL DEFAULT 0,
	next_at     timestamptz NOT NULL DEFAULT now(),
	status_code int,
	last_error  text,
	created_at  timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	UNIQUE (webhook_id, event_key)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx ON webhook_deliveries (next_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, id DESC);

-- Each attempt, for the delivery log in the UI.
CREATE TABLE IF NOT EXISTS webhook_attempts (
	id          bigserial PRIMARY KEY,
	delivery_id bigint NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
	status_code int,
	error       text,
	at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- Assignments whose "due within 24 h" notice went out are remembered by the notification's event key
-- ('due:<assignment id>'), so the scheduled scan is idempotent without a column here.
