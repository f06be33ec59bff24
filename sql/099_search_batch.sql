-- Search index writer in batches (fcgi/search_index.c): the worker takes the oldest queued videos by queued_at;
-- without this index every pass sorted the whole queue (80-190 ms a pass with 100,000 videos queued).
CREATE INDEX IF NOT EXISTS search_dirty_queued_idx ON search_dirty (queued_at);

-- The list cache (fcgi/catalog_cache.c) keys search results and suggestions on catalog_gen too: what the search
-- index holds and the cue text it shows change them, and so do tag and category names (shown in catalog rows).
-- search_docs only when rows changed: the worker's view-count refresh runs every minute and mostly changes nothing
CREATE OR REPLACE FUNCTION catalog_bump_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM changed) THEN
		UPDATE catalog_gen SET gen = gen + 1;
	END IF;
	RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS catalog_search_docs_ins ON search_docs;
CREATE TRIGGER catalog_search_docs_ins AFTER INSERT ON search_docs REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_rows();
DROP TRIGGER IF EXISTS catalog_search_docs_upd ON search_docs;
CREATE TRIGGER catalog_search_docs_upd AFTER UPDATE ON search_docs REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_rows();
DROP TRIGGER IF EXISTS catalog_search_docs_del ON search_docs;
CREATE TRIGGER catalog_search_docs_del AFTER DELETE ON search_docs REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_rows();
DROP TRIGGER IF EXISTS catalog_caption_cues_bump ON caption_cues;
CREATE TRIGGER catalog_caption_cues_bump AFTER INSERT OR DELETE OR UPDATE ON caption_cues
	FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump();
DROP TRIGGER IF EXISTS catalog_tags_bump ON tags;
CREATE TRIGGER catalog_tags_bump AFTER UPDATE OF name OR DELETE ON tags FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump();
DROP TRIGGER IF EXISTS catalog_categories_bump ON categories;
CREATE TRIGGER catalog_categories_bump AFTER UPDATE OF slug, name_ja, name_en OR DELETE ON categories
	FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump();
