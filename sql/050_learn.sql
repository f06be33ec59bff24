-- Learning: viewing progress merged from the Redis heartbeat buffer, courses, assignments to OneRoster classes.
-- Owned by the learn area (fcgi/learn_*.c, fcgi/h_learn_*.c). Watched ranges are int8 multiranges in milliseconds,
-- so merging beats is a union (idempotent: applying a beat twice changes nothing).

-- One playback session (one watch page load): the union of the ranges its beats carried.
CREATE TABLE IF NOT EXISTS view_sessions (
	id          text PRIMARY KEY CHECK (id ~ '^[a-f0-9]{16,32}$'),
	user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	video_id    bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	watched     int8multirange NOT NULL DEFAULT '{}',
	watched_ms  bigint NOT NULL DEFAULT 0,
	position_ms bigint NOT NULL DEFAULT 0,
	rate        real NOT NULL DEFAULT 1,
	started_at  timestamptz NOT NULL,
	last_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS view_sessions_user_idx ON view_sessions (user_id, last_at DESC);
CREATE INDEX IF NOT EXISTS view_sessions_video_idx ON view_sessions (video_id, last_at DESC);

-- Per (user, video): everything ever watched, the latest position, and when it first reached the completion share.
CREATE TABLE IF NOT EXISTS view_progress (
	user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	video_id     bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	watched      int8multirange NOT NULL DEFAULT '{}',
	watched_ms   bigint NOT NULL DEFAULT 0,
	position_ms  bigint NOT NULL DEFAULT 0,
	completed_at timestamptz,
	first_at     timestamptz NOT NULL,
	last_at      timestamptz NOT NULL,
	PRIMARY KEY (user_id, video_id)
);
CREATE INDEX IF NOT EXISTS view_progress_video_idx ON view_progress (video_id);
CREATE INDEX IF NOT EXISTS view_progress_user_last_idx ON view_progress (user_id, last_at DESC);

CREATE OR REPLACE FUNCTION learn_mr_ms(m int8multirange) RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT COALESCE(sum(upper(r) - lower(r)), 0)::bigint FROM unnest(m) AS r $$;

-- Apply one batch of beats (arrays of equal length, one element a beat). Beats of one session or one
-- (user, video) are first merged with range_agg, because one upsert may touch a row only once. Beats for a
-- video or user deleted meanwhile are dropped. Completion: watched_ms >= share * duration, decided here.
CREATE OR REPLACE FUNCTION learn_flush(a_sid text[], a_uid bigint[], a_vid bigint[], a_mr int8multirange[],
				       a_pos bigint[], a_rate real[], a_ms bigint[], share double precision)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
	IF to_regclass('pg_temp.learn_batch') IS NULL THEN
		CREATE TEMP TABLE learn_batch (sid text, uid bigint, vid bigint, mr int8multirange,
			pos bigint, rate real, ms bigint) ON COMMIT DELETE ROWS;
	END IF;
	INSERT INTO learn_batch SELECT b.* FROM unnest(a_sid, a_uid, a_vid, a_mr, a_pos, a_rate, a_ms) AS b(sid, uid, vid, mr, pos, rate, ms)
		JOIN videos v ON v.id = b.vid JOIN users u ON u.id = b.uid;
	GET DIAGNOSTICS n = ROW_COUNT;

	INSERT INTO view_sessions AS x (id, user_id, video_id, watched, watched_ms, position_ms, rate, started_at, last_at)
	SELECT sid, min(uid), min(vid), range_agg(mr), learn_mr_ms(range_agg(mr)),
	       (array_agg(pos ORDER BY ms DESC))[1], (array_agg(rate ORDER BY ms DESC))[1],
	       to_timestamp(min(ms) / 1000.0), to_timestamp(max(ms) / 1000.0)
	FROM learn_batch GROUP BY sid
	ON CONFLICT (id) DO UPDATE SET
		watched = x.watched + EXCLUDED.watched,
		watched_ms = learn_mr_ms(x.watched + EXCLUDED.watched),
		position_ms = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.position_ms ELSE x.position_ms END,
		rate = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.rate ELSE x.rate END,
		started_at = LEAST(x.started_at, EXCLUDED.started_at),
		last_at = GREATEST(x.last_at, EXCLUDED.last_at);

	INSERT INTO view_progress AS x (user_id, video_id, watched, watched_ms, position_ms, first_at, last_at)
	SELECT uid, vid, range_agg(mr), learn_mr_ms(range_agg(mr)), (array_agg(pos ORDER BY ms DESC))[1],
	       to_timestamp(min(ms) / 1000.0), to_timestamp(max(ms) / 1000.0)
	FROM learn_batch GROUP BY uid, vid
	ON CONFLICT (user_id, video_id) DO UPDATE SET
		watched = x.watched + EXCLUDED.watched,
		watched_ms = learn_mr_ms(x.watched + EXCLUDED.watched),
		position_ms = CASE WHEN EXCLUDED.last_at >= x.last_at THEN EXCLUDED.position_ms ELSE x.position_ms END,
		first_at = LEAST(x.first_at, EXCLUDED.first_at),
		last_at = GREATEST(x.last_at, EXCLUDED.last_at);

	UPDATE view_progress p SET completed_at = p.last_at FROM videos v
	WHERE v.id = p.video_id AND p.completed_at IS NULL AND v.duration > 0
	  AND p.watched_ms >= share * v.duration * 1000
	  AND (p.user_id, p.video_id) IN (SELECT DISTINCT uid, vid FROM learn_batch);

	-- the resume position the watch page reads (watch_positions, sql/020_video.sql) follows the newest beat
	INSERT INTO watch_positions AS w (user_id, video_id, position, updated_at)
	SELECT uid, vid, (array_agg(pos ORDER BY ms DESC))[1] / 1000.0, to_timestamp(max(ms) / 1000.0)
	FROM learn_batch GROUP BY uid, vid
	ON CONFLICT (user_id, video_id) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at
	WHERE w.updated_at <= EXCLUDED.updated_at;
	RETURN n;
END $$;

-- Courses: an ordered list of videos; visibility columns mean what they mean on videos.
CREATE TABLE IF NOT EXISTS courses (
	id                bigserial PRIMARY KEY,
	title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	description       text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
	owner_id          bigint REFERENCES users(id) ON DELETE SET NULL,
	visibility        text NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'org', 'class', 'private')),
	org_sourced_id    text,
	class_sourced_ids text[] NOT NULL DEFAULT '{}',
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS courses_owner_idx ON courses (owner_id);

CREATE TABLE IF NOT EXISTS course_videos (
	course_id bigint NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
	video_id  bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	position  int NOT NULL CHECK (position >= 0),
	PRIMARY KEY (course_id, video_id)
);
CREATE INDEX IF NOT EXISTS course_videos_video_idx ON course_videos (video_id);

-- Assignments give a course or one video to OneRoster classes. Who is in a class is read from
-- roster_enrollments at query time, so roster changes need no step here.
CREATE TABLE IF NOT EXISTS assignments (
	id         bigserial PRIMARY KEY,
	course_id  bigint REFERENCES courses(id) ON DELETE CASCADE,
	video_id   bigint REFERENCES videos(id) ON DELETE CASCADE,
	created_by bigint REFERENCES users(id) ON DELETE SET NULL,
	start_at   timestamptz,
	due_at     timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((course_id IS NULL) <> (video_id IS NULL)),
	CHECK (start_at IS NULL OR due_at IS NULL OR due_at >= start_at)
);
CREATE INDEX IF NOT EXISTS assignments_course_idx ON assignments (course_id);
CREATE INDEX IF NOT EXISTS assignments_video_idx ON assignments (video_id);
CREATE INDEX IF NOT EXISTS assignments_creator_idx ON assignments (created_by);

CREATE TABLE IF NOT EXISTS assignment_classes (
	assignment_id    bigint NOT NULL REFERENCES assignments(id) ON DELETE CASCADE,
	class_sourced_id text NOT NULL,
	PRIMARY KEY (assignment_id, class_sourced_id)
);
CREATE INDEX IF NOT EXISTS assignment_classes_class_idx ON assignment_classes (class_sourced_id);

-- The videos of an assignment, in course order.
CREATE OR REPLACE VIEW assignment_videos AS
	SELECT a.id AS assignment_id, a.video_id, 0 AS position FROM assignments a WHERE a.video_id IS NOT NULL
	UNION ALL
	SELECT a.id, cv.video_id, cv.position FROM assignments a JOIN course_videos cv ON cv.course_id = a.course_id;

-- The students of an assignment right now: active student enrollments in its active classes.
CREATE OR REPLACE VIEW assignment_students AS
	SELECT DISTINCT ac.assignment_id, u.id AS user_id
	FROM assignment_classes ac
	JOIN roster_classes c ON c.sourced_id = ac.class_sourced_id AND c.status = 'active'
	JOIN roster_enrollments e ON e.class_sourced_id = ac.class_sourced_id AND e.status = 'active'
	     AND e.role = 'student'
	JOIN users u ON u.sourced_id = e.user_sourced_id AND NOT u.disabled;
