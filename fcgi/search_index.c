/* The search index's writer. Triggers (sql/080_search.sql) queue every video whose text changed on search_dirty;
 * the worker drains it here, and the video handlers call search_reindex_video right after their own writes so
 * an editor sees the change at once. Cues are stored per caption so a hit can say when it is said. */
#include "search_index.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db.h"
#include "log.h"
#include "search_text.h"
#include "video_srt.h"
#include "video_store.h"

#define DOC_MAX_BYTES (900 * 1024)   /* a tsvector may not pass 1 MB; the literal is larger than the value */
#define CUES_MAX 20000

/* One element of a PostgreSQL array literal: double-quoted, with " and \ escaped. */
static void array_elem(buf *b, const char *s)
{
	buf_puts(b, b->len > 1 ? ",\"" : "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') buf_append(b, "\\", 1);
		buf_append(b, s, 1);
	}
	buf_puts(b, "\"");
}

static int store_cues(arena *a, const char *pk, const char *lang, const char *vtt, size_t n)
{
	search_cue *cues = arena_alloc(a, CUES_MAX * sizeof *cues);
	int nc = search_vtt_cues(a, vtt, n, cues, CUES_MAX);
	buf seq = {0}, st = {0}, en = {0}, body = {0}, tsv = {0};
	buf_puts(&seq, "{"); buf_puts(&st, "{"); buf_puts(&en, "{"); buf_puts(&body, "{"); buf_puts(&tsv, "{");
	for (int i = 0; i < nc; i++) {
		buf_printf(&seq, "%s%d", i ? "," : "", i);
		buf_printf(&st, "%s%ld", i ? "," : "", cues[i].start_ms);
		buf_printf(&en, "%s%ld", i ? "," : "", cues[i].end_ms);
		array_elem(&body, cues[i].text);
		search_doc d;
		search_doc_init(&d, 64 * 1024);
		search_doc_add(&d, a, cues[i].text, 'D');
		array_elem(&tsv, search_doc_tsvector(&d));
		search_doc_free(&d);
	}
	buf_puts(&seq, "}"); buf_puts(&st, "}"); buf_puts(&en, "}"); buf_puts(&body, "}"); buf_puts(&tsv, "}");
	int rc = -1;
	if (db_begin() < 0) goto out;
	if (DB_CMD("DELETE FROM caption_cues WHERE video_id = $1::bigint AND lang = $2", pk, lang) < 0 ||
	    DB_CMD("INSERT INTO caption_cues (video_id, lang, seq, start_ms, end_ms, body, tsv) "
		   "SELECT $1::bigint, $2, * FROM unnest($3::int[], $4::bigint[], $5::bigint[], $6::text[], $7::tsvector[])",
		   pk, lang, seq.p, st.p, en.p, body.p, tsv.p) < 0 ||
	    db_commit() < 0) {
		db_rollback();
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) log_error("search: storing cues of video %s (%s): %s", pk, lang, db_error());
	buf_free(&seq); buf_free(&st); buf_free(&en); buf_free(&body); buf_free(&tsv);
	return rc;
}

/* Captions stored before search existed have no cues yet: read their files once. */
static void backfill_cues(arena *a, const char *pk, const char *pid)
{
	PGresult *res = DB_EXEC("SELECT c.lang, c.path FROM captions c WHERE c.video_id = $1::bigint AND NOT EXISTS "
				"(SELECT 1 FROM caption_cues q WHERE q.video_id = c.video_id AND q.lang = c.lang)", pk);
	for (int i = 0; res && i < PQntuples(res); i++) {
		char dir[4096], path[4400];
		if (video_caption_dir(dir, sizeof dir, pid) < 0) continue;
		snprintf(path, sizeof path, "%s/%s", dir, PQgetvalue(res, i, 1));
		FILE *f = fopen(path, "rb");
		if (!f) continue;
		char *data = arena_alloc(a, VIDEO_CAPTION_MAX + 1);
		size_t n = fread(data, 1, VIDEO_CAPTION_MAX, f);
		fclose(f);
		if (video_utf8_valid(data, n)) store_cues(a, pk, PQgetvalue(res, i, 0), data, n);
	}
	PQclear(res);
}

int search_reindex_video(arena *a, const char *pk)
{
	PGresult *res = DB_EXEC("SELECT v.public_id, v.title, v.description, "
				"(SELECT string_agg(t.name, ' ') FROM video_tags vt JOIN tags t ON t.id = vt.tag_id WHERE vt.video_id = v.id), "
				"(SELECT string_agg(c.name_ja || ' ' || c.name_en, ' ') FROM video_categories vc "
				" JOIN categories c ON c.id = vc.category_id WHERE vc.video_id = v.id), "
				"(SELECT string_agg(co.title, ' ') FROM course_videos cv JOIN courses co ON co.id = cv.course_id "
				" WHERE cv.video_id = v.id), "
				"(SELECT count(*) FROM view_progress p WHERE p.video_id = v.id) "
				"FROM videos v WHERE v.id = $1::bigint", pk);
	if (!res) { log_error("search: reading video %s: %s", pk, db_error()); return -1; }
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DB_CMD("DELETE FROM search_docs WHERE video_id = $1::bigint", pk) < 0 ? -1 : 0;
	}
	char *pid = arena_strdup(a, PQgetvalue(res, 0, 0)), *views = arena_strdup(a, PQgetvalue(res, 0, 6));
	search_doc d;
	search_doc_init(&d, DOC_MAX_BYTES);
	search_doc_add(&d, a, PQgetvalue(res, 0, 1), 'A');
	for (int f = 3; f <= 5; f++) search_doc_add(&d, a, PQgetvalue(res, 0, f), 'B');
	search_doc_add(&d, a, PQgetvalue(res, 0, 2), 'C');
	PQclear(res);
	backfill_cues(a, pk, pid);
	res = DB_EXEC("SELECT body FROM caption_cues WHERE video_id = $1::bigint ORDER BY lang, seq", pk);
	for (int i = 0; res && i < PQntuples(res); i++) search_doc_add(&d, a, PQgetvalue(res, i, 0), 'D');
	PQclear(res);
	int rc = DB_CMD("INSERT INTO search_docs (video_id, tsv, views) VALUES ($1::bigint, $2::tsvector, $3::bigint) "
			"ON CONFLICT (video_id) DO UPDATE SET tsv = EXCLUDED.tsv, views = EXCLUDED.views, updated_at = now()",
			pk, search_doc_tsvector(&d), views);
	search_doc_free(&d);
	if (rc < 0) log_error("search: indexing video %s: %s", pk, db_error());
	return rc;
}

int search_store_cues(arena *a, const char *pk, const char *lang, const char *vtt, size_t n)
{
	if (store_cues(a, pk, lang, vtt, n) < 0) return -1;
	return search_reindex_video(a, pk);
}

int search_drop_cues(arena *a, const char *pk, const char *lang)
{
	if (DB_CMD("DELETE FROM caption_cues WHERE video_id = $1::bigint AND lang = $2", pk, lang) < 0) return -1;
	return search_reindex_video(a, pk);
}

int search_index_tick(int max)
{
	static arena *a;
	static time_t last_views;
	if (!a) a = arena_new(1 << 20);
	time_t now = time(NULL);
	if (now - last_views >= 60) {
		last_views = now;
		if (db_cmd("UPDATE search_docs d SET views = s.n FROM (SELECT video_id, count(*) AS n FROM view_progress "
			   "GROUP BY video_id) s WHERE d.video_id = s.video_id AND d.views <> s.n", 0, NULL) < 0)
			log_warn("search: refreshing view counts: %s", db_error());
	}
	/* the worker loops fast while heartbeats flow: look at the queue every half second unless it was full */
	static struct timespec last_poll;
	static int was_full;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!was_full && (ts.tv_sec - last_poll.tv_sec) * 1000 + (ts.tv_nsec - last_poll.tv_nsec) / 1000000 < 500) return 0;
	last_poll = ts;
	char lim[16];
	snprintf(lim, sizeof lim, "%d", max);
	PGresult *res = DB_EXEC("DELETE FROM search_dirty WHERE video_id IN (SELECT video_id FROM search_dirty "
				"ORDER BY queued_at LIMIT $1::int FOR UPDATE SKIP LOCKED) RETURNING video_id", lim);
	if (!res) {
		if (strcmp(db_sqlstate(), "42P01")) log_warn("search: reading the queue: %s", db_error());
		return 0;
	}
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *pk = PQgetvalue(res, i, 0);
		if (search_reindex_video(a, pk) < 0)   /* try again on a later pass */
			DB_CMD("INSERT INTO search_dirty (video_id) VALUES ($1::bigint) ON CONFLICT DO NOTHING", pk);
		arena_reset(a);
	}
	PQclear(res);
	was_full = n == max;
	return n;
}
