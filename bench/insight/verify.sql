-- bench/insight: the set-based rebuild (stats_rebuild) against the worker's own refresh (stats_refresh) on a sample
-- of :sample videos (every n-th of the loaded ones, psql -v sample= tz=). Their rollup rows are kept aside and
-- deleted; every day with a session or a completion is marked dirty, as the heartbeat flush marks it; the worker's
-- function recomputes them; the rows must be the same, row for row. Prints "<videos> <rows compared> <differing>".
\set ON_ERROR_STOP 1
SET jit = off;
SELECT set_config('rstream.tz', :'tz', false) \g /dev/null
CREATE TEMP TABLE s AS
	SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS c
			FROM videos WHERE title LIKE 'insight-%') x WHERE n % greatest(1, c / :sample) = 0;
CREATE TEMP TABLE d0 AS SELECT video_id, day, views, viewers, watch_ms, completions FROM stats_video_daily WHERE video_id IN (SELECT id FROM s);
CREATE TEMP TABLE t0 AS SELECT video_id, viewers, completions FROM stats_video_totals WHERE video_id IN (SELECT id FROM s);
CREATE TEMP TABLE r0 AS SELECT video_id, bucket, viewers FROM stats_video_retention WHERE video_id IN (SELECT id FROM s);
DELETE FROM stats_video_daily WHERE video_id IN (SELECT id FROM s);
DELETE FROM stats_video_totals WHERE video_id IN (SELECT id FROM s);
DELETE FROM stats_video_retention WHERE video_id IN (SELECT id FROM s);
INSERT INTO stats_dirty (video_id, day)
	SELECT video_id, (started_at AT TIME ZONE :'tz')::date FROM view_sessions WHERE video_id IN (SELECT id FROM s)
	UNION SELECT video_id, (completed_at AT TIME ZONE :'tz')::date FROM view_progress
	WHERE completed_at IS NOT NULL AND video_id IN (SELECT id FROM s)
	ON CONFLICT DO NOTHING;
-- in the worker's batches until no mark is left (0 while another refresh holds the lock: try again)
DO $$ BEGIN WHILE EXISTS (SELECT 1 FROM stats_dirty) LOOP PERFORM stats_refresh(500, current_setting('rstream.tz')); END LOOP; END $$;
SELECT (SELECT count(*) FROM s) || ' ' ||
       ((SELECT count(*) FROM d0) + (SELECT count(*) FROM t0) + (SELECT count(*) FROM r0)) || ' ' ||
       ((SELECT count(*) FROM (TABLE d0 EXCEPT ALL SELECT video_id, day, views, viewers, watch_ms, completions FROM stats_video_daily WHERE video_id IN (SELECT id FROM s)) a)
	+ (SELECT count(*) FROM (SELECT video_id, day, views, viewers, watch_ms, completions FROM stats_video_daily WHERE video_id IN (SELECT id FROM s) EXCEPT ALL TABLE d0) a)
	+ (SELECT count(*) FROM (TABLE t0 EXCEPT ALL SELECT video_id, viewers, completions FROM stats_video_totals WHERE video_id IN (SELECT id FROM s)) a)
	+ (SELECT count(*) FROM (SELECT video_id, viewers, completions FROM stats_video_totals WHERE video_id IN (SELECT id FROM s) EXCEPT ALL TABLE t0) a)
	+ (SELECT count(*) FROM (TABLE r0 EXCEPT ALL SELECT video_id, bucket, viewers FROM stats_video_retention WHERE video_id IN (SELECT id FROM s)) a)
	+ (SELECT count(*) FROM (SELECT video_id, bucket, viewers FROM stats_video_retention WHERE video_id IN (SELECT id FROM s) EXCEPT ALL TABLE r0) a));
