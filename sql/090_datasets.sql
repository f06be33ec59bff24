-- Datasets and their immutable versions (every roster import, roster export and statistics export), the files
-- stored once by content hash, per-version row fingerprints for diffs, and quality checks with offending rows.
--
--  * datasets: name/description are user text (shown escaped, never used in a path); kind says what fills it.
--    thresholds holds per-metric overrides {"missing_kana":{"warn":0,"fail":5}} of the built-in defaults
--    (quality.c); check_schedule is a cron-like line run by the worker; keep_versions/keep_days: retention.
--  * dataset_versions: the file is data_dir/datasets/objects/<sha256[0:2]>/<sha256>, shared by every version
--    with the same content. The identity columns cannot change (trigger); status moves draft → published →
--    archived (only one published version per dataset: the current one).
--  * dataset_rows: one fingerprint per roster row of a version (active rows after the import), for diffs.
--  * dataset_checks / dataset_metrics / dataset_metric_rows: one check run (on import, on schedule, by hand),
--    its metrics with the thresholds used and the result, and the offending rows (capped per metric).

CREATE TABLE IF NOT EXISTS datasets (
	id                 bigserial PRIMARY KEY,
	name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
	description        text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
	kind               text NOT NULL CHECK (kind IN ('roster_import', 'roster_export', 'stats_export')),
	owner_id           bigint REFERENCES users(id) ON DELETE SET NULL,
	is_default         boolean NOT NULL DEFAULT false,
	block_on_fail      boolean NOT NULL DEFAULT false,
	check_schedule     text NOT NULL DEFAULT '' CHECK (char_length(check_schedule) <= 100),
	keep_versions      integer NOT NULL DEFAULT 30 CHECK (keep_versions BETWEEN 1 AND 10000),
	keep_days          integer NOT NULL DEFAULT 365 CHECK (keep_days BETWEEN 0 AND 36500),
	thresholds         jsonb NOT NULL DEFAULT '{}',
	last_scheduled_at  timestamptz,
	created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS datasets_default_kind_idx ON datasets (kind) WHERE is_default;
CREATE INDEX IF NOT EXISTS datasets_name_idx ON datasets (lower(name));

-- statistics exports happen on every CSV download: their default dataset keeps 30 days, not a year
INSERT INTO datasets (name, description, kind, is_default, keep_days) VALUES
	('名簿インポート', 'OneRoster CSV の一括・差分インポート', 'roster_import', true, 365),
	('名簿エクスポート', 'OneRoster CSV のエクスポート', 'roster_export', true, 365),
	('統計エクスポート', '統計ページの CSV ダウンロード', 'stats_export', true, 30)
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS dataset_versions (
	id            bigserial PRIMARY KEY,
	dataset_id    bigint NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
	number        integer NOT NULL CHECK (number >= 1),
	status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
	source        text NOT NULL CHECK (source IN ('roster_import', 'roster_export', 'stats_export')),
	import_id     bigint UNIQUE REFERENCES roster_imports(id) ON DELETE SET NULL,
	export_id     bigint UNIQUE REFERENCES roster_exports(id) ON DELETE SET NULL,
	filename      text NOT NULL,
	sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	size          bigint NOT NULL CHECK (size >= 0),
	row_counts    jsonb NOT NULL DEFAULT '{}',   -- {"users": 30, "enrollments": 210, ...}
	metadata      jsonb NOT NULL DEFAULT '{}',   -- key/value strings
	findings      jsonb NOT NULL DEFAULT '{}',   -- {"errors","warnings"}; the rows stay in roster_import_findings
	created_by    bigint REFERENCES users(id) ON DELETE SET NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	published_at  timestamptz,
	UNIQUE (dataset_id, number)
);
CREATE INDEX IF NOT EXISTS dataset_versions_sha_idx ON dataset_versions (sha256);
CREATE UNIQUE INDEX IF NOT EXISTS dataset_versions_current_idx ON dataset_versions (dataset_id) WHERE status = 'published';

-- A version's identity is its file: nothing about it may change once recorded (status and the results may).
CREATE OR REPLACE FUNCTION dataset_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.dataset_id <> OLD.dataset_id OR NEW.number <> OLD.number OR NEW.sha256 <> OLD.sha256
	   OR NEW.size <> OLD.size OR NEW.filename <> OLD.filename OR NEW.source <> OLD.source
	   OR NEW.created_at <> OLD.created_at
	   -- the creator may only go (ON DELETE SET NULL when an account is erased)
	   OR (NEW.created_by IS DISTINCT FROM OLD.created_by AND NEW.created_by IS NOT NULL) THEN
		RAISE EXCEPTION 'dataset versions are immutable' USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS dataset_versions_immutable ON dataset_versions;
CREATE TRIGGER dataset_versions_immutable BEFORE UPDATE ON dataset_versions
	FOR EACH ROW EXECUTE FUNCTION dataset_versions_immutable();

CREATE TABLE IF NOT EXISTS dataset_rows (
	version_id  bigint NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
	entity      text NOT NULL,
	sourced_id  text NOT NULL,
	h           uuid NOT NULL,          -- md5 of the row without date_last_modified
	PRIMARY KEY (version_id, entity, sourced_id)
);

CREATE TABLE IF NOT EXISTS dataset_checks (
	id          bigserial PRIMARY KEY,
	version_id  bigint NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
	trigger     text NOT NULL CHECK (trigger IN ('import', 'schedule', 'manual')),
	result      text NOT NULL DEFAULT 'pass' CHECK (result IN ('pass', 'warn', 'fail')),
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dataset_checks_version_idx ON dataset_checks (version_id, id DESC);

CREATE TABLE IF NOT EXISTS dataset_metrics (
	check_id   bigint NOT NULL REFERENCES dataset_checks(id) ON DELETE CASCADE,
	metric     text NOT NULL,
	offending  bigint NOT NULL,
	total      bigint NOT NULL,
	value      double precision NOT NULL,   -- percent of total
	warn       double precision NOT NULL,
	fail       double precision NOT NULL,
	result     text NOT NULL CHECK (result IN ('pass', 'warn', 'fail')),
	PRIMARY KEY (check_id, metric)
);

CREATE TABLE IF NOT EXISTS dataset_metric_rows (
	check_id    bigint NOT NULL REFERENCES dataset_checks(id) ON DELETE CASCADE,
	metric      text NOT NULL,
	n           integer NOT NULL,
	entity      text NOT NULL,
	sourced_id  text NOT NULL,
	detail      text NOT NULL DEFAULT '',
	PRIMARY KEY (check_id, metric, n)
);

-- Imports go to a dataset (NULL = the default one); 'held' = a quality check failed and the dataset blocks on
-- failure: nothing was applied, the version waits as a draft for an admin to apply or discard it.
ALTER TABLE roster_imports ADD COLUMN IF NOT EXISTS dataset_id bigint REFERENCES datasets(id) ON DELETE SET NULL;
ALTER TABLE roster_imports DROP CONSTRAINT IF EXISTS roster_imports_state_check;
ALTER TABLE roster_imports ADD CONSTRAINT roster_imports_state_check
	CHECK (state IN ('queued', 'running', 'done', 'failed', 'rejected', 'held'));
