-- Admin settings page: the logo image (served by the app from here) and the generation number every FastCGI
-- worker compares to pick up a change without a restart. The values themselves live in `settings` (011).
CREATE TABLE IF NOT EXISTS site_logo (
	id          integer PRIMARY KEY CHECK (id = 1),
	mime        text NOT NULL CHECK (mime IN ('image/png', 'image/jpeg')),
	bytes       bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 262144),
	sha256      text NOT NULL,
	updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings (key, value) VALUES ('settings.generation', '1') ON CONFLICT (key) DO NOTHING;
