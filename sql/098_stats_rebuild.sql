-- Statistics: rebuild the rollups of sql/060_stats.sql from the raw rows with one aggregate per rollup.
-- stats_refresh() recomputes marked (video, day) pairs one at a time through indexes, which suits the trickle the
-- heartbeat flush marks but takes hours over a whole history (bench/insight: 10 million sessions, 450,000 pairs).
-- This computes the same rows set-based, for a bulk load of history or a repair. bench/insight/run.sh and
-- tests/integration/test_stats_rollups.c check that both give identical rows.
--
-- vids: the videos to rebuild, NULL for all. Takes the refresh's advisory lock (waiting for it), so the worker's
-- stats_refresh() skips meanwhile. The marks of the videos are deleted first: a mark committed after that
-- statement's snapshot (its sessions maybe not seen below) stays for the worker. Days are calendar days in tz;
-- `(t AT TIME ZONE tz)::date = day` is the refresh's `t >= day AT TIME ZONE tz AND t < day + 1 AT TIME ZONE tz`.
-- Returns the (video, day) rows written.
CREATE OR REPLACE FUNCTION stats_rebuild(vids bigint[], tz text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	all_v boolean := vids IS NULL;
	n bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('rstream.stats_refresh'));
	DELETE FROM stats_dirty WHERE all_v OR video_id = ANY (vids);

	DELETE FROM stats_video_daily WHERE all_v OR video_id = ANY (vids);
	INSERT INTO stats_video_daily (video_id, day, views, viewers, watch_ms, completions)
	SELECT COALESCE(s.video_id, c.video_id), COALESCE(s.day, c.day), COALESCE(s.views, 0), COALESCE(s.viewers, 0),
	       COALESCE(s.watch_ms, 0), COALESCE(c.completions, 0)
	FROM (SELECT video_id, (started_at AT TIME ZONE tz)::date AS day, count(*)::int AS views,
		     count(DISTINCT user_id)::int AS viewers, sum(watched_ms)::bigint AS watch_ms
	      FROM view_sessions WHERE all_v OR video_id = ANY (vids) GROUP BY 1, 2) s
	FULL JOIN (SELECT video_id, (completed_at AT TIME ZONE tz)::date AS day, count(*)::int AS completions
		   FROM view_progress WHERE completed_at IS NOT NULL AND (all_v OR video_id = ANY (vids)) GROUP BY 1, 2) c
	ON c.video_id = s.video_id AND c.day = s.day;
	GET DIAGNOSTICS n = ROW_COUNT;

	-- totals and retention: as the refresh, one row (100 buckets) for every video it would have touched
	CREATE TEMP TABLE IF NOT EXISTS stats_rebuild_v (vid bigint PRIMARY KEY) ON COMMIT DROP;
	INSERT INTO stats_rebuild_v SELECT DISTINCT video_id FROM view_progress WHERE all_v
	UNION SELECT v.id FROM videos v WHERE NOT all_v AND v.id = ANY (vids);
	ANALYZE stats_rebuild_v;

	DELETE FROM stats_video_totals WHERE all_v OR video_id = ANY (vids);
	INSERT INTO stats_video_totals (video_id, viewers, completions, updated_at)
	SELECT t.vid, count(p.user_id)::int, count(p.completed_at)::int, now()
	FROM stats_rebuild_v t LEFT JOIN view_progress p ON p.video_id = t.vid GROUP BY t.vid;

	-- Retention without expanding every watched range into its buckets (2.5 million people × ~80 buckets): each
	-- range is a bucket interval [b0, b1] computed as the refresh does; a person adds +1 at b0 and -1 after b1, and
	-- the running sum over the buckets is the number of people in each. The ranges of one multirange are sorted
	-- and disjoint, so two consecutive ones can only share their boundary bucket: that bucket is taken back once.
	-- Buckets below 0 (a range starting before 0) are cut as the refresh's join to 0..99 cuts them.
	DELETE FROM stats_video_retention WHERE all_v OR video_id = ANY (vids);
	INSERT INTO stats_video_retention (video_id, bucket, viewers)
	WITH r AS (
		SELECT p.video_id, p.user_id, lower(w.r) AS lo,
		       GREATEST(0, LEAST(99, floor(lower(w.r) * 100.0 / p.duration_ms))::int) AS b0,
		       LEAST(99, floor((upper(w.r) - 1) * 100.0 / p.duration_ms))::int AS b1
		FROM view_progress p CROSS JOIN LATERAL unnest(p.watched) AS w(r)
		WHERE p.duration_ms > 0 AND (all_v OR p.video_id = ANY (vids))
	), i AS (
		SELECT video_id, b0, b1, lag(b1) OVER (PARTITION BY video_id, user_id ORDER BY lo) AS prev_b1
		FROM r WHERE b1 >= 0
	), e AS (
		SELECT video_id, b0 AS b, 1 AS d FROM i
		UNION ALL SELECT video_id, b1 + 1, -1 FROM i WHERE b1 < 99
		UNION ALL SELECT video_id, b0, -1 FROM i WHERE b0 = prev_b1
		UNION ALL SELECT video_id, b0 + 1, 1 FROM i WHERE b0 = prev_b1 AND b0 < 99
	), g AS (
		SELECT video_id, b, sum(d) AS d FROM e GROUP BY 1, 2
	)
	SELECT t.vid, gs.b, COALESCE(sum(g.d) OVER (PARTITION BY t.vid ORDER BY gs.b), 0)::int
	FROM stats_rebuild_v t CROSS JOIN generate_series(0, 99) AS gs(b)
	LEFT JOIN g ON g.video_id = t.vid AND g.b = gs.b;
	DROP TABLE stats_rebuild_v;
	RETURN n;
END $$;
-- The aggregates sort millions of rows: in memory rather than in temporary files. No JIT: the planner's costs
-- pass every JIT threshold and compiling with inlining and optimisation took longer than the work (measured: a
-- 400,000-session rebuild 17 s with JIT, see the bench).
ALTER FUNCTION stats_rebuild(bigint[], text) SET work_mem = '256MB';
ALTER FUNCTION stats_rebuild(bigint[], text) SET jit = off;
