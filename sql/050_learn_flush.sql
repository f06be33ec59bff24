-- Learning, second step: the heartbeat flush as one SQL statement (data-modifying CTEs instead of a PL/pgSQL
-- function with a temporary table, whose ON COMMIT truncation cost every batch), completion decided inside the
-- upsert from view_progress.duration_ms, and view_sessions without the (…, last_at) indexes nothing reads yet.
-- A separate file because 050_learn.sql may already be applied.

ALTER TABLE view_progress ADD COLUMN IF NOT EXISTS duration_ms bigint;
UPDATE view_progress p SET duration_ms = COALESCE((v.duration * 1000)::bigint, 0) FROM videos v
WHERE v.id = p.video_id AND p.duration_ms IS NULL;
ALTER TABLE view_progress ALTER COLUMN duration_ms SET NOT NULL;

DROP INDEX IF EXISTS view_sessions_user_idx;
DROP INDEX IF EXISTS view_sessions_video_idx;
CREATE INDEX IF NOT EXISTS view_sessions_video_idx ON view_sessions (video_id);   -- ON DELETE CASCADE
CREATE INDEX IF NOT EXISTS view_sessions_user_idx ON view_sessions (user_id);     -- ON DELETE CASCADE

DROP FUNCTION IF EXISTS learn_flush(text[], bigint[], bigint[], int8multirange[], bigint[], real[], bigint[], double precision);

-- Apply one batch of beats (arrays of equal length, one element a beat) in one statement. Beats of one session
-- or one (user, video) are first merged with range_agg, because one upsert may touch a row only once. Beats for
-- a video or user deleted meanwhile are dropped. Completion: watched_ms >= share * duration_ms, decided here;
-- completed_at is the time of the beat that crossed it.
CREATE OR REPLACE FUNCTION learn_flush(a_sid text[], a_uid bigint[], a_vid bigint[], a_mr int8multirange[],
				       a_pos bigint[], a_rate real[], a_ms bigint[], share double precision)
RETURNS bigint LANGUAGE sql AS $$
WITH b AS (
	SELECT b.*, (v.duration * 1000)::bigint AS dur
	FROM unnest(a_sid, a_uid, a_vid, a_mr, a_pos, a_rate, a_ms) AS b(sid, uid, vid, mr, pos, rate, ms)
	JOIN videos v ON v.id = b.vid JOIN users u ON u.id = b.uid
), s AS (
	INSERT INTO view_sessions AS x (id, user_id, video_id, watched, watched_ms, position_ms, rate, started_at, last_at)
	SELECT sid, min(uid), min(vid), range_agg(mr), learn_mr_ms(range_agg(mr)),
	       (array_agg(pos ORDER BY ms DESC))[1], (array_agg(rate ORDER BY ms DESC))[1],
	       to_timestamp(min(ms) / 1000.0), to_timestamp(max(ms) / 1000.0)
	FROM b GROUP BY sid
	ON CONFLICT (id) DO UPDATE SET
		watched = x.watched + EXCLUDED.watched,
		watched_ms = learn_mr_ms(x.watched + EXCLUDED.watched),
		position_ms = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.position_ms ELSE x.position_ms END,
		rate = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.rate ELSE x.rate END,
		started_at = LEAST(x.started_at, EXCLUDED.started_at),
		last_at = GREATEST(x.last_at, EXCLUDED.last_at)
	RETURNING 1
), p AS (
	INSERT INTO view_progress AS x (user_id, video_id, watched, watched_ms, duration_ms, position_ms, completed_at,
					first_at, last_at)
	SELECT uid, vid, range_agg(mr), learn_mr_ms(range_agg(mr)), min(dur), (array_agg(pos ORDER BY ms DESC))[1],
	       CASE WHEN min(dur) > 0 AND learn_mr_ms(range_agg(mr)) >= share * min(dur) THEN to_timestamp(max(ms) / 1000.0) END,
	       to_timestamp(min(ms) / 1000.0), to_timestamp(max(ms) / 1000.0)
	FROM b GROUP BY uid, vid
	ON CONFLICT (user_id, video_id) DO UPDATE SET
		watched = x.watched + EXCLUDED.watched,
		watched_ms = learn_mr_ms(x.watched + EXCLUDED.watched),
		position_ms = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.position_ms ELSE x.position_ms END,
		completed_at = COALESCE(x.completed_at, CASE WHEN x.duration_ms > 0
			AND learn_mr_ms(x.watched + EXCLUDED.watched) >= share * x.duration_ms THEN EXCLUDED.last_at END),
		first_at = LEAST(x.first_at, EXCLUDED.first_at),
		last_at = GREATEST(x.last_at, EXCLUDED.last_at)
	RETURNING 1
), w AS (
	-- the resume position the watch page reads (watch_positions, sql/020_video.sql) follows the newest beat
	INSERT INTO watch_positions AS w (user_id, video_id, position, updated_at)
	SELECT uid, vid, (array_agg(pos ORDER BY ms DESC))[1] / 1000.0, to_timestamp(max(ms) / 1000.0)
	FROM b GROUP BY uid, vid
	ON CONFLICT (user_id, video_id) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at
	WHERE w.updated_at <= EXCLUDED.updated_at
	RETURNING 1
)
-- every data-modifying CTE runs whether read or not; the count is of playback sessions touched
SELECT count(*) FROM s
$$;
