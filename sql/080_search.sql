-- Search (fcgi/search_index.c, fcgi/h_search.c): one tsvector per video and one per caption cue, computed in C
-- (NFKC, CJK bigrams; see docs/search.md) so no extension is needed. Weights: A title, B tags/categories/course
-- titles, C description, D captions. Changes that affect a video's text put it on search_dirty (triggers below);
-- the worker re-indexes those; the video handlers also re-index at once after their own writes.

CREATE TABLE IF NOT EXISTS search_docs (
	video_id   bigint PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
	tsv        tsvector NOT NULL,
	views      bigint NOT NULL DEFAULT 0,          -- viewers (view_progress rows), refreshed by the worker
	updated_at timestamptz NOT NULL DEFAULT now()
);
-- no pending list: rows indexed in bulk by the worker would otherwise be scanned linearly until a vacuum
CREATE INDEX IF NOT EXISTS search_docs_tsv_idx ON search_docs USING gin (tsv) WITH (fastupdate = off);

CREATE TABLE IF NOT EXISTS caption_cues (
	video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	lang     text NOT NULL,
	seq      int NOT NULL,
	start_ms bigint NOT NULL CHECK (start_ms >= 0),
	end_ms   bigint NOT NULL,
	body     text NOT NULL,
	tsv      tsvector NOT NULL,
	PRIMARY KEY (video_id, lang, seq)
);

-- Videos whose search text must be recomputed. No foreign key: a deleted video is simply skipped.
CREATE TABLE IF NOT EXISTS search_dirty (
	video_id  bigint PRIMARY KEY,
	queued_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION search_mark_video() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO search_dirty (video_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
	RETURN NEW;
END $$;

-- rows that link a video to something named (tags, categories, courses)
CREATE OR REPLACE FUNCTION search_mark_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO search_dirty (video_id) VALUES (OLD.video_id) ON CONFLICT DO NOTHING;
		RETURN OLD;
	END IF;
	INSERT INTO search_dirty (video_id) VALUES (NEW.video_id) ON CONFLICT DO NOTHING;
	RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION search_mark_named() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'tags' THEN
		INSERT INTO search_dirty (video_id) SELECT video_id FROM video_tags WHERE tag_id = NEW.id ON CONFLICT DO NOTHING;
	ELSIF TG_TABLE_NAME = 'categories' THEN
		INSERT INTO search_dirty (video_id) SELECT video_id FROM video_categories WHERE category_id = NEW.id
			ON CONFLICT DO NOTHING;
	ELSE
		INSERT INTO search_dirty (video_id) SELECT video_id FROM course_videos WHERE course_id = NEW.id
			ON CONFLICT DO NOTHING;
	END IF;
	RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS search_videos_mark ON videos;
CREATE TRIGGER search_videos_mark AFTER INSERT OR UPDATE OF title, description ON videos
	FOR EACH ROW EXECUTE FUNCTION search_mark_video();
DROP TRIGGER IF EXISTS search_video_tags_mark ON video_tags;
CREATE TRIGGER search_video_tags_mark AFTER INSERT OR DELETE ON video_tags FOR EACH ROW EXECUTE FUNCTION search_mark_link();
DROP TRIGGER IF EXISTS search_video_categories_mark ON video_categories;
CREATE TRIGGER search_video_categories_mark AFTER INSERT OR DELETE ON video_categories
	FOR EACH ROW EXECUTE FUNCTION search_mark_link();
DROP TRIGGER IF EXISTS search_course_videos_mark ON course_videos;
CREATE TRIGGER search_course_videos_mark AFTER INSERT OR DELETE ON course_videos
	FOR EACH ROW EXECUTE FUNCTION search_mark_link();
DROP TRIGGER IF EXISTS search_tags_mark ON tags;
CREATE TRIGGER search_tags_mark AFTER UPDATE OF name ON tags FOR EACH ROW EXECUTE FUNCTION search_mark_named();
DROP TRIGGER IF EXISTS search_categories_mark ON categories;
CREATE TRIGGER search_categories_mark AFTER UPDATE OF name_ja, name_en ON categories
	FOR EACH ROW EXECUTE FUNCTION search_mark_named();
DROP TRIGGER IF EXISTS search_courses_mark ON courses;
CREATE TRIGGER search_courses_mark AFTER UPDATE OF title ON courses FOR EACH ROW EXECUTE FUNCTION search_mark_named();

-- Everything that exists now is indexed by the worker's first passes (captions are read from their files then).
INSERT INTO search_dirty (video_id) SELECT id FROM videos ON CONFLICT DO NOTHING;
