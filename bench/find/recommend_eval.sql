-- Offline evaluation of the recommender (bench/find/recommend_eval.sh runs this in a scratch database that has
-- every migration). Generated histories with real structure: 40 classes of 25 pupils, each class assigned two
-- 8-video courses of its grade, watched in order with drop-outs; some popular videos (Zipf-like) and random ones
-- on top. Each pupil's last view is held out; the rest is counted by recommend_refresh() (the worker's code) and
-- the held-out video is looked for in the first 10 of: the recommender (recommend_for_user(), co-views), the
-- recommender topped up with the most viewed (what the home row does after assignments), and the most viewed
-- alone (baseline). Prints one line per method: hits, users, hit-rate@10.
\set ON_ERROR_STOP on
SELECT setseed(0.1301);
INSERT INTO users (email, name, role) VALUES ('owner@receval.example', 'Owner', 'creator');
-- 30 courses (6 grades × 5 subjects) of 8 videos, 30 popular videos, 130 others
CREATE TEMP TABLE cv_gen AS
	SELECT g, s, p, row_number() OVER (ORDER BY g, s, p) AS n FROM generate_series(0, 5) g, generate_series(0, 4) s,
	generate_series(0, 7) p;
INSERT INTO videos (public_id, title, owner_id, status, visibility, created_at)
	SELECT lpad(to_hex(n), 16, '0'), format('grade %s subject %s part %s', g, s, p), (SELECT id FROM users WHERE email = 'owner@receval.example'),
	       'ready', 'public', now() - n * interval '1 minute' FROM cv_gen;
INSERT INTO videos (public_id, title, owner_id, status, visibility)
	SELECT lpad(to_hex(1000 + i), 16, '0'), CASE WHEN i < 30 THEN 'popular ' ELSE 'other ' END || i,
	       (SELECT id FROM users WHERE email = 'owner@receval.example'), 'ready', 'public' FROM generate_series(0, 159) i;
CREATE TEMP TABLE course_vid AS
	SELECT c.g, c.s, c.p, v.id AS video_id FROM cv_gen c JOIN videos v ON v.public_id = lpad(to_hex(c.n), 16, '0');
CREATE TEMP TABLE popular_vid AS
	SELECT i, v.id AS video_id FROM generate_series(0, 29) i JOIN videos v ON v.public_id = lpad(to_hex(1000 + i), 16, '0');
CREATE TEMP TABLE other_vid AS
	SELECT row_number() OVER (ORDER BY v.id) - 1 AS i, v.id AS video_id FROM generate_series(30, 159) i
	JOIN videos v ON v.public_id = lpad(to_hex(1000 + i), 16, '0');

-- 40 classes: grade c % 6, two subjects; 25 pupils each
CREATE TEMP TABLE pupil AS SELECT c, k, c % 6 AS g, c % 5 AS s1, (c * 3 + 1) % 5 AS s2 FROM generate_series(0, 39) c,
	generate_series(0, 24) k;
UPDATE pupil SET s2 = (s2 + 1) % 5 WHERE s2 = s1;
INSERT INTO users (email, name, role) SELECT format('p%s.%s@receval.example', c, k), 'Pupil', 'viewer' FROM pupil;
ALTER TABLE pupil ADD COLUMN uid bigint;
UPDATE pupil SET uid = u.id FROM users u WHERE u.email = format('p%s.%s@receval.example', pupil.c, pupil.k);
-- how far each pupil gets in each course (1..8 videos, most finish more than half)
ALTER TABLE pupil ADD COLUMN len1 int, ADD COLUMN len2 int;
UPDATE pupil SET len1 = 1 + floor(8 * sqrt(random()))::int, len2 = 1 + floor(8 * sqrt(random()))::int;

-- the history: (user, video, when in days); course videos in order, the two courses interleaved
CREATE TEMP TABLE hist (uid bigint, video_id bigint, at double precision);
INSERT INTO hist SELECT pu.uid, cv.video_id, cv.p * 2 + random() FROM pupil pu JOIN course_vid cv
	ON cv.g = pu.g AND cv.s = pu.s1 AND cv.p < pu.len1;
INSERT INTO hist SELECT pu.uid, cv.video_id, cv.p * 2 + 0.5 + random() FROM pupil pu JOIN course_vid cv
	ON cv.g = pu.g AND cv.s = pu.s2 AND cv.p < pu.len2;
-- 0-3 popular videos (Zipf-like: the first ones much more often), one random other, at random times
INSERT INTO hist SELECT DISTINCT ON (pick.uid, pv.video_id) pick.uid, pv.video_id, 16 * random()
	FROM (SELECT pu.uid, floor(30 * power(random(), 3))::int AS i FROM pupil pu, generate_series(1, 3) j) pick
	JOIN popular_vid pv ON pv.i = pick.i WHERE random() < 0.6;
INSERT INTO hist SELECT pick.uid, ov.video_id, 16 * random()
	FROM (SELECT pu.uid, floor(random() * 130)::int AS i FROM pupil pu) pick JOIN other_vid ov ON ov.i = pick.i;
DELETE FROM hist h USING hist h2 WHERE h.uid = h2.uid AND h.video_id = h2.video_id AND h.ctid < h2.ctid;

-- hold out each pupil's last view (pupils with at least 3 views)
CREATE TEMP TABLE holdout AS
	SELECT DISTINCT ON (uid) uid, video_id FROM hist WHERE uid IN (SELECT uid FROM hist GROUP BY uid HAVING count(*) >= 3)
	ORDER BY uid, at DESC;
INSERT INTO view_progress (user_id, video_id, watched_ms, duration_ms, first_at, last_at)
	SELECT h.uid, h.video_id, 60000, 120000, timestamptz '2026-01-01' + h.at * interval '1 day', timestamptz '2026-01-01' + h.at * interval '1 day'
	FROM hist h WHERE NOT EXISTS (SELECT 1 FROM holdout o WHERE o.uid = h.uid AND o.video_id = h.video_id);

-- the worker's incremental counting, in batches as the worker does it
DO $$ BEGIN WHILE recommend_refresh(5000) = 5000 LOOP END LOOP; END $$;

CREATE TEMP TABLE popular AS
	SELECT video_id, count(*)::float8 AS n FROM view_progress GROUP BY video_id ORDER BY n DESC, video_id LIMIT 100;
CREATE TEMP TABLE lists AS
SELECT o.uid, o.video_id AS held,
	ARRAY(SELECT r.video_id FROM recommend_for_user(o.uid, 10) r) AS rec,
	ARRAY(SELECT video_id FROM (SELECT DISTINCT ON (video_id) video_id, src, score FROM (
		SELECT r.video_id, 0 AS src, r.score FROM recommend_for_user(o.uid, 10) r
		UNION ALL SELECT p.video_id, 1, p.n FROM popular p
		WHERE NOT EXISTS (SELECT 1 FROM view_progress x WHERE x.user_id = o.uid AND x.video_id = p.video_id)) c
		ORDER BY video_id, src) d ORDER BY src, score DESC, video_id LIMIT 10) AS rec_topped,
	ARRAY(SELECT p.video_id FROM popular p
		WHERE NOT EXISTS (SELECT 1 FROM view_progress x WHERE x.user_id = o.uid AND x.video_id = p.video_id)
		ORDER BY p.n DESC, p.video_id LIMIT 10) AS pop
FROM holdout o;

SELECT m.method, m.hits, m.users, round(m.hits::numeric / m.users, 3) AS hit_rate_at_10 FROM (
	SELECT 'recommender (co-views)' AS method, count(*) FILTER (WHERE held = ANY (rec)) AS hits, count(*) AS users, 1 AS o FROM lists
	UNION ALL SELECT 'recommender + most viewed', count(*) FILTER (WHERE held = ANY (rec_topped)), count(*), 2 FROM lists
	UNION ALL SELECT 'most viewed (baseline)', count(*) FILTER (WHERE held = ANY (pop)), count(*), 3 FROM lists) m
ORDER BY m.o;
SELECT 'views', count(*) FROM view_progress UNION ALL SELECT 'pairs', count(*) FROM recommend_pairs;
