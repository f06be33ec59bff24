-- bench/find/run.sh: a generated catalogue of :n videos (Japanese and English titles and descriptions from a
-- school vocabulary; 9 in 10 public) owned by one creator, plus the hand-labelled videos of the recall set
-- (bench/find/recall.txt) with planted words no generated text contains. Caption files are written by run.sh.
\set ON_ERROR_STOP on
SELECT setseed(0.1313);
INSERT INTO users (email, name, role) VALUES ('owner@bench-find.example', 'Bench Owner', 'creator') ON CONFLICT (email) DO NOTHING;
-- the bench stack keeps its database between runs: start from no generated video
DELETE FROM videos WHERE owner_id = (SELECT id FROM users WHERE email = 'owner@bench-find.example');
DELETE FROM search_dirty;
CREATE TEMP TABLE subj (i int, ja text, en text);
INSERT INTO subj VALUES (0,'算数','math'),(1,'国語','japanese'),(2,'理科','science'),(3,'社会','social studies'),
	(4,'英語','english'),(5,'音楽','music'),(6,'図工','arts'),(7,'体育','sports'),(8,'家庭科','home economics'),(9,'道徳','ethics');
CREATE TEMP TABLE topic (i int, ja text, en text);
INSERT INTO topic VALUES (0,'たし算','addition'),(1,'ひき算','subtraction'),(2,'分数','fractions'),(3,'天気の変化','weather'),
	(4,'地図の見方','maps'),(5,'江戸時代','edo period'),(6,'漢字の練習','kanji practice'),(7,'物語を読む','reading stories'),
	(8,'リコーダー','recorder'),(9,'水溶液','solutions'),(10,'電気の働き','electricity'),(11,'プログラミング','programming'),
	(12,'HTML 入門','html introduction'),(13,'あいさつ','greetings'),(14,'鉄棒','horizontal bar'),(15,'調理実習','cooking');
INSERT INTO videos (public_id, title, description, owner_id, status, visibility, duration, created_at)
SELECT 'bf' || lpad(to_hex(g), 14, '0'),
       s.ja || ' ' || t.ja || ' 第' || (g % 20 + 1) || '回' || CASE WHEN g % 4 = 0 THEN ' / ' || s.en || ': ' || t.en ELSE '' END,
       'この動画では' || t.ja || 'について学びます。' || s.ja || 'の授業で使います。 Lesson on ' || t.en || ' for ' || s.en || '.',
       (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready',
       CASE WHEN g % 10 = 9 THEN 'private' ELSE 'public' END, 300 + g % 900,
       timestamptz '2026-01-01' + g * interval '2 minutes'
FROM generate_series(1, :n) g
JOIN subj s ON s.i = (g * 7) % 10 JOIN topic t ON t.i = (g * 13 + g / 10) % 16;
-- the recall set's planted videos (ids pinned by public id; see recall.txt)
INSERT INTO videos (public_id, title, description, owner_id, status, visibility, duration) VALUES
	('bfeca11000000001', 'ミトコンドリアの観察', '顕微鏡で細胞を見ます。', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'public', 600),
	('bfeca11000000002', 'ＰＹＴＨＯＮで作るゲーム', 'Full-width title.', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'public', 600),
	('bfeca11000000003', '手芸クラブ', 'ﾌｪﾙﾄで作るﾏｽｺｯﾄ', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'public', 600),
	('bfeca11000000004', 'カスタネット入門', 'Rhythm basics.', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'public', 600),
	('bfeca11000000005', '理科 実験', '外で観察します。', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'public', 600),
	('bfeca11000000006', '社会 見学', '工場に行きます。', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'public', 600),
	('bfeca11000000007', 'Volcano field trip', 'English only.', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'public', 600),
	('bfeca11000000008', '秘密の実験', 'Private on purpose.', (SELECT id FROM users WHERE email = 'owner@bench-find.example'), 'ready', 'private', 600);
-- captions: one Japanese caption on the first :c generated videos and the planted 5, 6, 8 (files by run.sh)
INSERT INTO captions (video_id, lang, label, path)
SELECT id, 'ja', '日本語', 'captions-ja.vtt' FROM videos
WHERE public_id LIKE 'bf%' AND (public_id <= 'bf' || lpad(to_hex(:c), 14, '0') OR public_id IN ('bfeca11000000005', 'bfeca11000000006', 'bfeca11000000008'))
ON CONFLICT DO NOTHING;
