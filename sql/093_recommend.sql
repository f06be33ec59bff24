-- Recommendations (fcgi/recommend.c, fcgi/h_recommend.c; docs/search.md "Recommendations"): "watched together"
-- item-to-item similarity from viewing history, counted incrementally by the worker, plus the catalog's count cache.
-- Everything here is set-based SQL so the offline evaluation (bench/find/recommend_eval.sh) runs the same code.

-- A (user, video) pair seen for the first time (a new view_progress row) waits here until the worker counts it.
CREATE TABLE IF NOT EXISTS recommend_queue (
	user_id   bigint NOT NULL,
	video_id  bigint NOT NULL,
	queued_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, video_id)
);
-- Pairs already counted (so a pair is never counted twice, whatever order the queue is drained in).
CREATE TABLE IF NOT EXISTS recommend_counted (
	user_id  bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, video_id)
);
CREATE INDEX IF NOT EXISTS recommend_counted_video_idx ON recommend_counted (video_id);
-- Viewers per video, as counted (the normaliser).
CREATE TABLE IF NOT EXISTS recommend_viewers (
	video_id bigint PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
	n        bigint NOT NULL
);
-- Co-views: how many users watched both a and b (both directions are stored).
CREATE TABLE IF NOT EXISTS recommend_pairs (
	a  bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	b  bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	co bigint NOT NULL,
	PRIMARY KEY (a, b)
);
CREATE INDEX IF NOT EXISTS recommend_pairs_b_idx ON recommend_pairs (b);
-- The top 30 neighbours of each video by normalised co-views, recomputed for the videos a worker pass touched.
CREATE TABLE IF NOT EXISTS recommend_related (
	video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	other_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	score    double precision NOT NULL,
	co       bigint NOT NULL,
	PRIMARY KEY (video_id, other_id)
);
CREATE INDEX IF NOT EXISTS recommend_related_other_idx ON recommend_related (other_id);

-- the personal list's "most viewed" fallback reads the top of this
CREATE INDEX IF NOT EXISTS search_docs_views_idx ON search_docs (views DESC, video_id DESC);

CREATE OR REPLACE FUNCTION recommend_mark_view() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO recommend_queue (user_id, video_id) VALUES (NEW.user_id, NEW.video_id) ON CONFLICT DO NOTHING;
	RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS recommend_view_mark ON view_progress;
CREATE TRIGGER recommend_view_mark AFTER INSERT ON view_progress FOR EACH ROW EXECUTE FUNCTION recommend_mark_view();

-- Count up to max_rows queued views: each new (user, video) adds one co-view with every other video that user
-- has (already counted, or new in this batch), in both directions; then the neighbours of every touched video are
-- ranked again by co / (sqrt(viewers(a) * viewers(b)) + 1): cosine similarity, so a video everybody watches does
-- not top every list, damped by +1 so a single shared viewer of two rare videos does not score 1.0.
-- Returns how many queued views were taken (max_rows means more are waiting).
CREATE OR REPLACE FUNCTION recommend_refresh(max_rows int) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE taken integer;
BEGIN
	-- one pass at a time across workers: two passes taking two new views of one user at once would each miss
	-- the other's view, and that pair would never be counted
	IF NOT pg_try_advisory_xact_lock(93093) THEN
		RETURN 0;
	END IF;
	IF to_regclass('pg_temp.recommend_batch') IS NULL THEN
		CREATE TEMP TABLE recommend_batch (user_id bigint, video_id bigint) ON COMMIT DELETE ROWS;
		CREATE TEMP TABLE recommend_touched (video_id bigint PRIMARY KEY) ON COMMIT DELETE ROWS;
	END IF;
	TRUNCATE recommend_batch, recommend_touched;
	WITH d AS (
		DELETE FROM recommend_queue q WHERE (q.user_id, q.video_id) IN
			(SELECT user_id, video_id FROM recommend_queue ORDER BY queued_at LIMIT max_rows FOR UPDATE SKIP LOCKED)
		RETURNING q.user_id, q.video_id)
	INSERT INTO recommend_batch SELECT user_id, video_id FROM d;
	GET DIAGNOSTICS taken = ROW_COUNT;
	-- a user or video deleted meanwhile, or a pair already counted: nothing to add
	DELETE FROM recommend_batch b WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = b.user_id)
		OR NOT EXISTS (SELECT 1 FROM videos v WHERE v.id = b.video_id)
		OR EXISTS (SELECT 1 FROM recommend_counted c WHERE c.user_id = b.user_id AND c.video_id = b.video_id);
	IF NOT EXISTS (SELECT 1 FROM recommend_batch) THEN
		RETURN taken;
	END IF;

	INSERT INTO recommend_viewers AS x (video_id, n) SELECT video_id, count(*) FROM recommend_batch GROUP BY video_id
	ON CONFLICT (video_id) DO UPDATE SET n = x.n + EXCLUDED.n;

	WITH p AS (
		SELECT b.video_id AS a, c.video_id AS b FROM recommend_batch b JOIN recommend_counted c ON c.user_id = b.user_id
		UNION ALL
		SELECT c.video_id, b.video_id FROM recommend_batch b JOIN recommend_counted c ON c.user_id = b.user_id
		UNION ALL
		SELECT b1.video_id, b2.video_id FROM recommend_batch b1
		JOIN recommend_batch b2 ON b2.user_id = b1.user_id AND b2.video_id <> b1.video_id),
	ins AS (
		INSERT INTO recommend_pairs AS x (a, b, co) SELECT a, b, count(*) FROM p GROUP BY a, b
		ON CONFLICT (a, b) DO UPDATE SET co = x.co + EXCLUDED.co
		RETURNING x.a)
	INSERT INTO recommend_touched SELECT DISTINCT a FROM ins;

	INSERT INTO recommend_counted SELECT user_id, video_id FROM recommend_batch ON CONFLICT DO NOTHING;

	DELETE FROM recommend_related r USING recommend_touched t WHERE r.video_id = t.video_id;
	INSERT INTO recommend_related (video_id, other_id, score, co)
	SELECT a, b, score, co FROM (
		SELECT p.a, p.b, p.co, p.co / (sqrt(va.n::float8 * vb.n) + 1) AS score,
		       row_number() OVER (PARTITION BY p.a ORDER BY p.co / (sqrt(va.n::float8 * vb.n) + 1) DESC, p.b) AS rk
		FROM recommend_touched t JOIN recommend_pairs p ON p.a = t.video_id
		JOIN recommend_viewers va ON va.video_id = p.a JOIN recommend_viewers vb ON vb.video_id = p.b) s
	WHERE rk <= 30;
	RETURN taken;
END $$;

-- Candidates for one user, best first, before visibility (the caller joins videos and applies the watch rule):
-- neighbours of the user's 20 most recent views, a neighbour's score summed over the views that lead to it and
-- weighted towards recent ones; videos the user finished or is in the middle of are left out.
CREATE OR REPLACE FUNCTION recommend_for_user(uid bigint, k int)
RETURNS TABLE (video_id bigint, score double precision) LANGUAGE sql STABLE AS $$
	WITH recent AS (
		SELECT p.video_id, row_number() OVER (ORDER BY p.last_at DESC, p.video_id) AS rn
		FROM view_progress p WHERE p.user_id = uid ORDER BY p.last_at DESC, p.video_id LIMIT 20)
	SELECT r.other_id, sum(r.score / (1 + 0.1 * (rc.rn - 1))) AS score
	FROM recent rc JOIN recommend_related r ON r.video_id = rc.video_id
	WHERE NOT EXISTS (SELECT 1 FROM view_progress s WHERE s.user_id = uid AND s.video_id = r.other_id)
	GROUP BY r.other_id ORDER BY 2 DESC, 1 LIMIT k
$$;

-- Catalog count cache (fcgi/h_videos.c): a generation bumped by any change that can change what a catalog page
-- lists; counts are cached in Redis under it, so a write makes every cached count stale at once.
CREATE TABLE IF NOT EXISTS catalog_gen (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	gen bigint NOT NULL
);
INSERT INTO catalog_gen (one, gen) VALUES (true, 1) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION catalog_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE catalog_gen SET gen = gen + 1;
	RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS catalog_videos_bump ON videos;
CREATE TRIGGER catalog_videos_bump AFTER INSERT OR DELETE OR UPDATE OF status, visibility, owner_id, org_sourced_id,
	class_sourced_ids, title, description ON videos FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump();
DROP TRIGGER IF EXISTS catalog_video_tags_bump ON video_tags;
CREATE TRIGGER catalog_video_tags_bump AFTER INSERT OR DELETE ON video_tags FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump();
DROP TRIGGER IF EXISTS catalog_video_categories_bump ON video_categories;
CREATE TRIGGER catalog_video_categories_bump AFTER INSERT OR DELETE ON video_categories
	FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump();

-- Every view recorded before this migration is counted by the worker's first passes.
INSERT INTO recommend_queue (user_id, video_id) SELECT user_id, video_id FROM view_progress ON CONFLICT DO NOTHING;
