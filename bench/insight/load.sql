-- bench/insight: load :rows playback sessions for :videos videos and :users viewers into the bench stack's own
-- database, as the heartbeat flush would have left them (view_sessions, view_progress, watch_positions,
-- stats_user_last), in one transaction of set-based statements (psql -v rows= users= videos= share= tz=).
--
-- Speed without a different end state: the indexes and key constraints of the three big tables are dropped, the rows
-- inserted, and every dropped definition re-created from its own text (pg_get_indexdef / pg_get_constraintdef), so
-- sorted index builds and one validation query per foreign key replace 10 million × 4 index insertions and
-- 20 million row-by-row key checks. The end of the script checks that the definitions are exactly the ones it
-- saved. A failure anywhere rolls back all of it (DDL is transactional).
--
-- Viewing pattern: pair p = i / 4 is (viewer p mod users, video (p / users × 37 + p mod users) mod videos), a
-- distinct (viewer, video) for p < users × videos / 37; its four sessions each watch [0, d × (1 + i mod 10) / 10)
-- of the video (d = its length) at times spread over the last 90 days.
\set ON_ERROR_STOP 1
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';
SET jit = off;   -- compiling these plans cost more than running them
BEGIN;
-- the bench database's earlier viewing rows go, as bench/learn empties them too; the rollups are rebuilt below
-- (viewers and videos of an earlier run are kept: deleting 100,000 users walks every table that refers to them).
-- The recommender's tables go too: every view loaded below is queued for it as new, nothing counted yet.
TRUNCATE view_sessions, view_progress, watch_positions, stats_dirty, stats_user_last,
	 recommend_queue, recommend_counted, recommend_viewers, recommend_pairs, recommend_related;
INSERT INTO users (email, name, role)
	SELECT 'v' || i || '@bench-insight.example', '視聴者 ' || i, 'viewer' FROM generate_series(1, :users) i
	ON CONFLICT DO NOTHING;
INSERT INTO videos (public_id, title, status, visibility, duration, source_size, created_at)
	SELECT lpad(to_hex(1000000 + i), 16, 'b'), 'insight-' || i, 'ready', 'public', 120 + i % 1200, 50000000,
	       now() - (i % 90) * interval '1 day' FROM generate_series(1, :videos) i
	ON CONFLICT DO NOTHING;
CREATE TEMP TABLE u ON COMMIT DROP AS
	SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM users WHERE email LIKE '%@bench-insight.example' AND role = 'viewer';
CREATE TEMP TABLE v ON COMMIT DROP AS
	SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, (duration * 1000)::bigint AS dur FROM videos WHERE title LIKE 'insight-%';
ALTER TABLE u ADD PRIMARY KEY (k);
ALTER TABLE v ADD PRIMARY KEY (k);
ANALYZE u;
ANALYZE v;

-- the definitions to drop and re-create, in the order they must come back
CREATE TEMP TABLE ddl ON COMMIT DROP AS
	SELECT 1 AS ord, c.conrelid::regclass::text AS tbl, c.conname::text AS name,
	       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS def
	FROM pg_constraint c WHERE c.conrelid IN ('view_sessions'::regclass, 'view_progress'::regclass, 'watch_positions'::regclass) AND c.contype IN ('p', 'u')
	UNION ALL
	SELECT 2, i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
	FROM pg_index i WHERE i.indrelid IN ('view_sessions'::regclass, 'view_progress'::regclass, 'watch_positions'::regclass)
	  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
	UNION ALL
	SELECT 3, c.conrelid::regclass::text, c.conname::text,
	       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
	FROM pg_constraint c WHERE c.conrelid IN ('view_sessions'::regclass, 'view_progress'::regclass, 'watch_positions'::regclass) AND c.contype = 'f';
-- the recommender's per-row trigger on view_progress is replaced by one INSERT of the same queue rows below
ALTER TABLE view_progress DISABLE TRIGGER recommend_view_mark;
DO $$
DECLARE d record;
BEGIN
	FOR d IN SELECT * FROM ddl ORDER BY ord DESC LOOP
		IF d.ord = 2 THEN EXECUTE format('DROP INDEX %s', d.name);
		ELSE EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', d.tbl, d.name); END IF;
	END LOOP;
END $$;

INSERT INTO view_sessions (id, user_id, video_id, watched, watched_ms, position_ms, rate, started_at, last_at)
	SELECT md5('insight' || i), u.id, v.id, int8multirange(int8range(0, x.ms)), x.ms, x.ms, 1, x.t, x.t + interval '10 minutes'
	FROM generate_series(0::bigint, :rows - 1) i
	JOIN u ON u.k = (i / 4) % :users
	JOIN v ON v.k = ((i / 4) / :users * 37 + (i / 4) % :users) % :videos
	CROSS JOIN LATERAL (SELECT v.dur * (1 + i % 10) / 10 AS ms,
				   now() - ((i * 7919) % (90 * 86400)) * interval '1 second' AS t) x;

-- per (viewer, video): the union of its sessions, the newest position, completion when the first session that
-- reached the share ended (as the flush decides it, beats arriving in time order)
INSERT INTO view_progress (user_id, video_id, watched, watched_ms, duration_ms, position_ms, completed_at, first_at, last_at)
	SELECT u.id, v.id, int8multirange(int8range(0, s.ms)), s.ms, v.dur, s.pos, s.done, s.t0, s.t1
	FROM generate_series(0::bigint, (:rows + 3) / 4 - 1) p
	JOIN u ON u.k = p % :users
	JOIN v ON v.k = (p / :users * 37 + p % :users) % :videos
	CROSS JOIN LATERAL (
		SELECT max(q.ms) AS ms, (array_agg(q.ms ORDER BY q.t DESC))[1] AS pos, min(q.t) AS t0,
		       max(q.t) + interval '10 minutes' AS t1,
		       min(q.t) FILTER (WHERE q.ms >= :share * v.dur) + interval '10 minutes' AS done
		FROM (SELECT v.dur * (1 + i % 10) / 10 AS ms, now() - ((i * 7919) % (90 * 86400)) * interval '1 second' AS t
		      FROM generate_series(p * 4, LEAST(p * 4 + 3, :rows - 1)) i) q) s;

ALTER TABLE view_progress ENABLE TRIGGER recommend_view_mark;
INSERT INTO recommend_queue (user_id, video_id, queued_at) SELECT user_id, video_id, now() FROM view_progress;
INSERT INTO watch_positions (user_id, video_id, position, updated_at)
	SELECT user_id, video_id, position_ms / 1000.0, last_at FROM view_progress;
INSERT INTO stats_user_last (user_id, last_day)
	SELECT user_id, max((last_at AT TIME ZONE :'tz')::date) FROM view_progress GROUP BY user_id;

DO $$
DECLARE d record;
BEGIN
	FOR d IN SELECT * FROM ddl ORDER BY ord, name LOOP EXECUTE d.def; END LOOP;
END $$;
-- exactly the saved definitions are back, no more, no fewer
CREATE TEMP VIEW now_defs AS
	SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
	WHERE i.indrelid IN ('view_sessions'::regclass, 'view_progress'::regclass, 'watch_positions'::regclass)
	  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
	UNION ALL
	SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
	FROM pg_constraint c WHERE c.conrelid IN ('view_sessions'::regclass, 'view_progress'::regclass, 'watch_positions'::regclass) AND c.contype IN ('p', 'u', 'f');
DO $$
BEGIN
	IF EXISTS (SELECT def FROM ddl EXCEPT ALL SELECT def FROM now_defs)
	   OR EXISTS (SELECT def FROM now_defs EXCEPT ALL SELECT def FROM ddl) THEN
		RAISE EXCEPTION 'bench/insight: indexes or constraints of the viewing tables differ from before the load';
	END IF;
END $$;
DROP VIEW now_defs;
COMMIT;
ANALYZE users;
ANALYZE videos;
ANALYZE view_sessions;
ANALYZE view_progress;
ANALYZE watch_positions;
ANALYZE stats_user_last;
