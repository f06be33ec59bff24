-- Learning, third step: the heartbeat flush made cheap per beat (issue 9 item 7, bench/learn).
-- Measured before: a warm call of learn_flush() + stats_mark() cost ~17 ms whatever the batch size, because a
-- LANGUAGE sql function with data-modifying CTEs is parsed and planned again on every call, and every row paid an
-- executor start-up for learn_mr_ms() (a SQL function with FROM cannot be inlined). Now:
--  * both functions are PL/pgSQL, whose statements keep their plans for the life of the connection;
--  * the unique milliseconds of a multirange are an inline sub-select, planned once with the statement.
-- Same signatures, same results: learn_flush.c is unchanged by this file.

CREATE OR REPLACE FUNCTION learn_flush(a_sid text[], a_uid bigint[], a_vid bigint[], a_mr int8multirange[],
				       a_pos bigint[], a_rate real[], a_ms bigint[], share double precision)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	WITH b AS (
		SELECT b.*, (v.duration * 1000)::bigint AS dur
		FROM unnest(a_sid, a_uid, a_vid, a_mr, a_pos, a_rate, a_ms) AS b(sid, uid, vid, mr, pos, rate, ms)
		JOIN videos v ON v.id = b.vid JOIN users u ON u.id = b.uid
	), bs AS (   -- one row per playback session of the batch
		SELECT sid, min(uid) AS uid, min(vid) AS vid, range_agg(mr) AS mr,
		       (array_agg(pos ORDER BY ms DESC))[1] AS pos, (array_agg(rate ORDER BY ms DESC))[1] AS rate,
		       min(ms) AS ms0, max(ms) AS ms1
		FROM b GROUP BY sid
	), bp AS (   -- one row per (user, video) of the batch
		SELECT uid, vid, range_agg(mr) AS mr, min(dur) AS dur, (array_agg(pos ORDER BY ms DESC))[1] AS pos,
		       min(ms) AS ms0, max(ms) AS ms1
		FROM b GROUP BY uid, vid
	), s AS (
		INSERT INTO view_sessions AS x (id, user_id, video_id, watched, watched_ms, position_ms, rate, started_at, last_at)
		SELECT sid, uid, vid, mr, (SELECT COALESCE(sum(upper(r) - lower(r)), 0) FROM unnest(mr) r)::bigint,
		       pos, rate, to_timestamp(ms0 / 1000.0), to_timestamp(ms1 / 1000.0)
		FROM bs
		ON CONFLICT (id) DO UPDATE SET
			watched = x.watched + EXCLUDED.watched,
			watched_ms = (SELECT COALESCE(sum(upper(r) - lower(r)), 0) FROM unnest(x.watched + EXCLUDED.watched) r)::bigint,
			position_ms = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.position_ms ELSE x.position_ms END,
			rate = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.rate ELSE x.rate END,
			started_at = LEAST(x.started_at, EXCLUDED.started_at),
			last_at = GREATEST(x.last_at, EXCLUDED.last_at)
		RETURNING 1
	), p AS (
		INSERT INTO view_progress AS x (user_id, video_id, watched, watched_ms, duration_ms, position_ms, completed_at,
						first_at, last_at)
		SELECT uid, vid, mr, ms, dur, pos,
		       CASE WHEN dur > 0 AND ms >= share * dur THEN to_timestamp(ms1 / 1000.0) END,
		       to_timestamp(ms0 / 1000.0), to_timestamp(ms1 / 1000.0)
		FROM (SELECT bp.*, (SELECT COALESCE(sum(upper(r) - lower(r)), 0) FROM unnest(mr) r)::bigint AS ms FROM bp) q
		ON CONFLICT (user_id, video_id) DO UPDATE SET
			watched = x.watched + EXCLUDED.watched,
			watched_ms = (SELECT COALESCE(sum(upper(r) - lower(r)), 0) FROM unnest(x.watched + EXCLUDED.watched) r)::bigint,
			position_ms = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.position_ms ELSE x.position_ms END,
			completed_at = COALESCE(x.completed_at, CASE WHEN x.duration_ms > 0
				AND (SELECT COALESCE(sum(upper(r) - lower(r)), 0) FROM unnest(x.watched + EXCLUDED.watched) r)
				    >= share * x.duration_ms THEN EXCLUDED.last_at END),
			first_at = LEAST(x.first_at, EXCLUDED.first_at),
			last_at = GREATEST(x.last_at, EXCLUDED.last_at)
		RETURNING 1
	), w AS (
		-- the resume position the watch page reads (watch_positions, sql/020_video.sql) follows the newest beat
		INSERT INTO watch_positions AS w (user_id, video_id, position, updated_at)
		SELECT uid, vid, pos / 1000.0, to_timestamp(ms1 / 1000.0) FROM bp
		ON CONFLICT (user_id, video_id) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at
		WHERE w.updated_at <= EXCLUDED.updated_at
		RETURNING 1
	)
	-- every data-modifying CTE runs whether read or not; the count is of playback sessions touched
	SELECT count(*) INTO n FROM s;
	RETURN n;
END $$;

-- sql/060_stats.sql's stats_mark, unchanged but for the language (its plan is kept per connection now)
CREATE OR REPLACE FUNCTION stats_mark(a_uid bigint[], a_vid bigint[], a_ms bigint[], tz text, ttl_s bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
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
	SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM u) INTO n;
	RETURN n;
END $$;


-- No JIT for these: with a batch of 2,000 beats (or a busy video's day) the planner's cost passes jit_above_cost,
-- and compiling the expressions with LLVM cost more than running them (20 % of the flush's CPU in a profile).
ALTER FUNCTION learn_flush(text[], bigint[], bigint[], int8multirange[], bigint[], real[], bigint[], double precision)
	SET jit = off;
ALTER FUNCTION stats_mark(bigint[], bigint[], bigint[], text, bigint) SET jit = off;
ALTER FUNCTION stats_refresh(integer, text) SET jit = off;
