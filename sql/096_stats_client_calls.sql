-- OneRoster API calls per client per day, kept as counters. The KPI refresh (every stats_kpi_interval, 15 s) used
-- to count 30 days of audit rows each time: a scan that grows with the API's own traffic (1.5 s of a core per
-- refresh at 3 million rows, a tenth of a core all day). Now each refresh adds only the audit rows written since the
-- last one (audit_log.id above a watermark) to per-day counters, and the KPI sums at most 31 rows per client.
--
-- Which rows are complete: an audit row's id is taken when it is inserted, its `at` when its transaction began,
-- and a row becomes visible only at commit. A refresh counts up to the id of the newest client row that began more
-- than 30 s ago: a row with a smaller id still uncommitted then would belong to a transaction open for more than
-- 15 s. An API call's audit row commits within milliseconds; one stuck longer than that may go uncounted (these
-- are statistics: the audit log itself keeps every row). Rows above that id are counted by a later refresh. Days
-- are calendar days in the deployment's time zone (tz).
CREATE TABLE IF NOT EXISTS stats_client_calls (
	day       date NOT NULL,
	client_id text NOT NULL,
	calls     bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (day, client_id)
);
CREATE TABLE IF NOT EXISTS stats_watermark (
	name    text PRIMARY KEY,
	last_id bigint NOT NULL
);

-- settle: how long ago the newest counted row's transaction must have begun (tests pass 0 for their own rows)
CREATE OR REPLACE FUNCTION stats_client_calls_add(tz text, settle interval DEFAULT '30 seconds') RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	from_id bigint;
	upto bigint;
	n bigint;
BEGIN
	INSERT INTO stats_watermark (name, last_id) VALUES ('client_calls', 0) ON CONFLICT DO NOTHING;
	-- one refresh at a time (workers on two hosts): the second waits, then starts at the first one's watermark
	SELECT last_id INTO from_id FROM stats_watermark WHERE name = 'client_calls' FOR UPDATE;
	SELECT id INTO upto FROM audit_log WHERE actor LIKE 'client:%' AND at < now() - settle
	ORDER BY at DESC, id DESC LIMIT 1;
	IF upto IS NULL OR upto <= from_id THEN RETURN 0; END IF;
	INSERT INTO stats_client_calls AS x (day, client_id, calls)
	SELECT (at AT TIME ZONE tz)::date, substr(actor, 8), count(*)
	FROM audit_log
	WHERE id > from_id AND id <= upto AND actor LIKE 'client:%' AND action IN ('roster.read', 'roster.write')
	  AND at >= now() - interval '31 days'
	GROUP BY 1, 2
	ON CONFLICT (day, client_id) DO UPDATE SET calls = x.calls + EXCLUDED.calls;
	GET DIAGNOSTICS n = ROW_COUNT;
	UPDATE stats_watermark SET last_id = upto WHERE name = 'client_calls';
	DELETE FROM stats_client_calls WHERE day < (now() AT TIME ZONE tz)::date - 31;
	RETURN n;
END $$;

-- stats_kpi_refresh of 060_stats.sql, its 'clients' snapshot now from the counters
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

	-- API calls per OneRoster client over the last 30 days (today and the 29 before it)
	PERFORM stats_client_calls_add(tz);
	INSERT INTO stats_kpi_snapshot AS x (key, data, computed_at)
	SELECT 'clients', COALESCE(jsonb_agg(jsonb_build_object('client_id', c.client_id, 'name', COALESCE(k.name, ''),
		'calls_30d', c.calls, 'calls_today', c.today) ORDER BY c.calls DESC, c.client_id), '[]'), now()
	FROM (SELECT client_id, sum(calls) AS calls, COALESCE(sum(calls) FILTER (WHERE day = today), 0) AS today
	      FROM stats_client_calls WHERE day >= today - 29 GROUP BY client_id) c
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
