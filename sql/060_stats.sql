-- Statistics: rollups the worker keeps from the flushed heartbeats, so stats pages read a few hundred rows and
-- never scan view_sessions. Owned by the stats area (fcgi/stats_*.c, fcgi/h_stats.c).
--
-- How the rollups stay exact: the heartbeat flush (learn_flush.c) calls stats_mark() in the same statement as
-- learn_flush(), so the (video, day) pairs a batch may have changed are recorded in stats_dirty atomically with the
-- beats. The worker's stats_refresh() takes a bounded number of marks and recomputes exactly those pairs (and the
-- per-video totals and retention of those videos) from view_sessions / view_progress through indexes.
-- Days are calendar days in the deployment's time zone (passed in as tz).

-- (video, day) pairs whose rollup may be stale
CREATE TABLE IF NOT EXISTS stats_dirty (
	video_id bigint NOT NULL,
	day      date NOT NULL,
	PRIMARY KEY (video_id, day)
);

-- Per video per day: playback sessions started that day, distinct people among them, time they watched
-- (the sessions' unique milliseconds, attributed to the day the session started) and completions reached that day.
CREATE TABLE IF NOT EXISTS stats_video_daily (
	video_id    bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	day         date NOT NULL,
	views       integer NOT NULL DEFAULT 0,
	viewers     integer NOT NULL DEFAULT 0,
	watch_ms    bigint NOT NULL DEFAULT 0,
	completions integer NOT NULL DEFAULT 0,
	PRIMARY KEY (video_id, day)
);

-- Per video, all time: distinct people who watched any of it, and how many of them completed it.
CREATE TABLE IF NOT EXISTS stats_video_totals (
	video_id    bigint PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
	viewers     integer NOT NULL DEFAULT 0,
	completions integer NOT NULL DEFAULT 0,
	updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Retention: per video, 100 buckets of 1 % of its length; viewers = people who watched any part of the bucket.
CREATE TABLE IF NOT EXISTS stats_video_retention (
	video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	bucket   smallint NOT NULL CHECK (bucket BETWEEN 0 AND 99),
	viewers  integer NOT NULL DEFAULT 0,
	PRIMARY KEY (video_id, bucket)
);

-- The last day each person watched something (daily/weekly/monthly active users without scanning views).
CREATE TABLE IF NOT EXISTS stats_user_last (
	user_id  bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	last_day date NOT NULL
);
CREATE INDEX IF NOT EXISTS stats_user_last_day_idx ON stats_user_last (last_day);

-- Platform KPIs, one row a day (today's row is refreshed by the worker every stats_kpi_interval seconds).
CREATE TABLE IF NOT EXISTS stats_kpi_daily (
	day               date PRIMARY KEY,
	dau               integer NOT NULL DEFAULT 0,
	wau               integer NOT NULL DEFAULT 0,
	mau               integer NOT NULL DEFAULT 0,
	uploads           integer NOT NULL DEFAULT 0,
	transcode_minutes double precision NOT NULL DEFAULT 0,
	computed_at       timestamptz NOT NULL DEFAULT now()
);

-- KPI snapshots that are not daily series: storage, API calls per OneRoster client, import results.
CREATE TABLE IF NOT EXISTS stats_kpi_snapshot (
	key         text PRIMARY KEY,
	data        jsonb NOT NULL,
	computed_at timestamptz NOT NULL DEFAULT now()
);

-- What the refresh reads, through indexes: one video's sessions of one day, completions of one day.
CREATE INDEX IF NOT EXISTS view_sessions_video_started_idx ON view_sessions (video_id, started_at);
CREATE INDEX IF NOT EXISTS view_progress_video_completed_idx ON view_progress (video_id, completed_at)
	WHERE completed_at IS NOT NULL;

-- Called in the flush statement: the beats' (video, day) pairs become dirty. A session's beats arrive within
-- ttl_s of its start (the playback token's lifetime), so the day its session started is among
-- day(beat - ttl) .. day(beat). Users and videos deleted meanwhile are skipped, as learn_flush() skips them.
CREATE OR REPLACE FUNCTION stats_mark(a_uid bigint[], a_vid bigint[], a_ms bigint[], tz text, ttl_s bigint)
RETURNS bigint LANGUAGE sql AS $$
WITH b AS (
	SELECT b.uid, b.vid, (to_timestamp(b.ms / 1000.0) AT TIME ZONE tz)::date AS d1,
	       (to_timestamp(b.ms / 1000.0 - ttl_s) AT TIME ZONE tz)::date AS d0
	FROM unnest(a_uid, a_vid, a_ms) AS b(uid, vid, ms)
	JOIN videos v ON v.id = b.vid JOIN users u ON u.id = b.uid
), m AS (
	INSERT INTO stats_dirty (video_id, day)
	SELECT DISTINCT vid, d::date FROM b, generate_series(d0, d1, interval '1 day') d
	ON CONFLICT DO NOTHING
	RETURNING 1
), u AS (
	INSERT INTO stats_user_last AS x (user_id, last_day)
	SELECT uid, max(d1) FROM b GROUP BY uid
	ON CONFLICT (user_id) DO UPDATE SET last_day = EXCLUDED.last_day WHERE x.last_day < EXCLUDED.last_day
	RETURNING 1
)
SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM u)
$$;

-- Recompute up to lim dirty (video, day) pairs. One refresh at a time (advisory lock); returns the pairs done,
-- 0 when there was nothing to do or another worker is refreshing.
CREATE OR REPLACE FUNCTION stats_refresh(lim integer, tz text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	vids bigint[];
	days date[];
	dv bigint[];
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtext('rstream.stats_refresh')) THEN RETURN 0; END IF;
	WITH d AS (
		DELETE FROM stats_dirty WHERE (video_id, day) IN (
			SELECT video_id, day FROM stats_dirty ORDER BY video_id, day LIMIT lim)
		RETURNING video_id, day
	) SELECT array_agg(video_id), array_agg(day) INTO vids, days FROM d;
	IF vids IS NULL THEN RETURN 0; END IF;

	INSERT INTO stats_video_daily AS x (video_id, day, views, viewers, watch_ms, completions)
	SELECT k.vid, k.day, s.views, s.viewers, s.watch_ms, c.completions
	FROM unnest(vids, days) AS k(vid, day)
	JOIN videos v ON v.id = k.vid
	CROSS JOIN LATERAL (
		SELECT count(*)::int AS views, count(DISTINCT vs.user_id)::int AS viewers,
		       COALESCE(sum(vs.watched_ms), 0)::bigint AS watch_ms
		FROM view_sessions vs WHERE vs.video_id = k.vid
		  AND vs.started_at >= (k.day::timestamp AT TIME ZONE tz)
		  AND vs.started_at < ((k.day + 1)::timestamp AT TIME ZONE tz)) s
	CROSS JOIN LATERAL (
		SELECT count(*)::int AS completions FROM view_progress p WHERE p.video_id = k.vid
		  AND p.completed_at >= (k.day::timestamp AT TIME ZONE tz)
		  AND p.completed_at < ((k.day + 1)::timestamp AT TIME ZONE tz)) c
	ON CONFLICT (video_id, day) DO UPDATE SET views = EXCLUDED.views, viewers = EXCLUDED.viewers,
		watch_ms = EXCLUDED.watch_ms, completions = EXCLUDED.completions;
	-- a day that turned out empty (its marks came from the ttl look-back) keeps no row
	DELETE FROM stats_video_daily x USING unnest(vids, days) AS k(vid, day)
	WHERE x.video_id = k.vid AND x.day = k.day AND x.views = 0 AND x.completions = 0;

	SELECT array_agg(DISTINCT u) INTO dv FROM unnest(vids) u JOIN videos v ON v.id = u;
	IF dv IS NULL THEN RETURN array_length(vids, 1); END IF;

	INSERT INTO stats_video_totals AS x (video_id, viewers, completions, updated_at)
	SELECT t.vid, count(p.user_id)::int, count(p.completed_at)::int, now()
	FROM unnest(dv) AS t(vid) LEFT JOIN view_progress p ON p.video_id = t.vid GROUP BY t.vid
	ON CONFLICT (video_id) DO UPDATE SET viewers = EXCLUDED.viewers, completions = EXCLUDED.completions,
		updated_at = EXCLUDED.updated_at;

	-- every bucket of every touched video, so a bucket nobody reached reads 0
	INSERT INTO stats_video_retention AS x (video_id, bucket, viewers)
	SELECT t.vid, g.b, COALESCE(r.viewers, 0)
	FROM unnest(dv) AS t(vid) CROSS JOIN generate_series(0, 99) AS g(b)
	LEFT JOIN (
		SELECT p.video_id, b.b, count(DISTINCT p.user_id)::int AS viewers
		FROM view_progress p
		CROSS JOIN LATERAL unnest(p.watched) AS w(r)
		CROSS JOIN LATERAL generate_series(
			LEAST(99, floor(lower(w.r) * 100.0 / p.duration_ms))::int,
			LEAST(99, floor((upper(w.r) - 1) * 100.0 / p.duration_ms))::int) AS b(b)
		WHERE p.video_id = ANY (dv) AND p.duration_ms > 0
		GROUP BY p.video_id, b.b
	) r ON r.video_id = t.vid AND r.b = g.b
	ON CONFLICT (video_id, bucket) DO UPDATE SET viewers = EXCLUDED.viewers;
	RETURN array_length(vids, 1);
END $$;

-- Today's KPI row and the snapshots. Active = watched something (stats_user_last) or signed in that day.
CREATE OR REPLACE FUNCTION stats_kpi_refresh(tz text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	today date := (now() AT TIME ZONE tz)::date;
	t0 timestamptz := today::timestamp AT TIME ZONE tz;
BEGIN
	INSERT INTO stats_kpi_daily AS x (day, dau, wau, mau, uploads, transcode_minutes, computed_at)
	SELECT today, a.dau, a.wau, a.mau,
	       (SELECT count(*) FROM videos WHERE created_at >= t0)::int,
	       (SELECT COALESCE(sum(extract(epoch FROM finished_at - started_at)), 0) / 60.0 FROM jobs
		WHERE kind = 'transcode' AND state = 'done' AND finished_at >= t0 AND started_at IS NOT NULL),
	       now()
	FROM (
		SELECT count(*) FILTER (WHERE d = today)::int AS dau, count(*) FILTER (WHERE d >= today - 6)::int AS wau,
		       count(*)::int AS mau
		FROM (
			SELECT GREATEST(l.last_day, (u.last_login_at AT TIME ZONE tz)::date) AS d
			FROM users u LEFT JOIN stats_user_last l ON l.user_id = u.id
			WHERE l.last_day >= today - 29 OR u.last_login_at >= t0 - interval '29 days'
		) s WHERE d >= today - 29
	) a
	ON CONFLICT (day) DO UPDATE SET dau = EXCLUDED.dau, wau = EXCLUDED.wau, mau = EXCLUDED.mau,
		uploads = EXCLUDED.uploads, transcode_minutes = EXCLUDED.transcode_minutes, computed_at = EXCLUDED.computed_at;

	-- API calls per OneRoster client over the last 30 days (audit_log, index on (actor, at))
	INSERT INTO stats_kpi_snapshot AS x (key, data, computed_at)
	SELECT 'clients', COALESCE(jsonb_agg(jsonb_build_object('client_id', c.client_id, 'name', COALESCE(k.name, ''),
		'calls_30d', c.calls, 'calls_today', c.today) ORDER BY c.calls DESC, c.client_id), '[]'), now()
	FROM (SELECT substr(actor, 8) AS client_id, count(*) AS calls, count(*) FILTER (WHERE at >= t0) AS today
	      FROM audit_log WHERE actor LIKE 'client:%' AND at >= now() - interval '30 days'
	      AND action IN ('roster.read', 'roster.write') GROUP BY actor) c
	LEFT JOIN api_clients k ON k.client_id = c.client_id
	ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, computed_at = EXCLUDED.computed_at;

	-- roster import results over the last 30 days
	INSERT INTO stats_kpi_snapshot AS x (key, data, computed_at)
	SELECT 'imports', jsonb_build_object(
		'done', count(*) FILTER (WHERE state = 'done' AND NOT dry_run),
		'dry_run', count(*) FILTER (WHERE state = 'done' AND dry_run),
		'failed', count(*) FILTER (WHERE state = 'failed'),
		'rejected', count(*) FILTER (WHERE state = 'rejected'),
		'pending', count(*) FILTER (WHERE state IN ('queued', 'running'))), now()
	FROM roster_imports WHERE created_at >= now() - interval '30 days'
	ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, computed_at = EXCLUDED.computed_at;
END $$;
