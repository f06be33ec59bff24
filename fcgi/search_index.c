/* The search index's writer. Triggers (sql/080_search.sql) queue every video whose text changed on search_dirty;
 * the worker drains it here in batches (a few statements per batch, whatever its size), and the video handlers
 * call search_reindex_video right after their own writes so an editor sees the change at once. Cues are stored per caption so a hit can say when it is said. */
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
#define FLUSH_BYTES (8 * 1024 * 1024) /* rows gathered for one INSERT … unnest before it is sent */
#define CUE_PART_BYTES (16 * 1024 * 1024)   /* cue text read at once by a batch (see search_reindex_batch) */

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

/* Array literals of many rows, sent as one INSERT … SELECT FROM unnest(…): the cost of a batch is a few
 * statements, not a few per video (the per-video writer indexed about 20 videos/s). */
typedef struct rows { buf col[7]; int ncol, n; } rows;

static void rows_init(rows *w, int ncol)
{
	memset(w, 0, sizeof *w);
	w->ncol = ncol;
	for (int i = 0; i < ncol; i++) buf_puts(&w->col[i], "{");
}

static size_t rows_bytes(const rows *w)
{
	size_t n = 0;
	for (int i = 0; i < w->ncol; i++) n += w->col[i].len;
	return n;
}

/* Send the rows (closing the literals), then start again empty. 0 ok / -1. */
static int rows_flush(rows *w, const char *sql)
{
	int rc = 0;
	if (w->n > 0) {
		const char *params[7];
		for (int i = 0; i < w->ncol; i++) { buf_puts(&w->col[i], "}"); params[i] = w->col[i].p; }
		rc = db_cmd(sql, w->ncol, params) < 0 ? -1 : 0;
	}
	int ncol = w->ncol;
	for (int i = 0; i < ncol; i++) buf_free(&w->col[i]);
	rows_init(w, ncol);
	return rc;
}

static void rows_free(rows *w)
{
	for (int i = 0; i < w->ncol; i++) buf_free(&w->col[i]);
}

#define CUES_INSERT "INSERT INTO caption_cues (video_id, lang, seq, start_ms, end_ms, body, tsv) " \
	"SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::text[], $7::tsvector[]) " \
	"ON CONFLICT DO NOTHING"
#define DOCS_UPSERT "INSERT INTO search_docs (video_id, tsv, views) " \
	"SELECT * FROM unnest($1::bigint[], $2::tsvector[], $3::bigint[]) " \
	"ON CONFLICT (video_id) DO UPDATE SET tsv = EXCLUDED.tsv, views = EXCLUDED.views, updated_at = now()"

/* The cues of one caption (WebVTT) as rows of caption_cues, each with its own tsvector. cues: CUES_MAX slots. */
static void cue_rows_add(rows *w, arena *a, search_cue *cues, const char *pk, const char *lang, const char *vtt, size_t n)
{
	int nc = search_vtt_cues(a, vtt, n, cues, CUES_MAX);
	for (int i = 0; i < nc; i++) {
		char num[24];
		array_elem(&w->col[0], pk);
		array_elem(&w->col[1], lang);
		snprintf(num, sizeof num, "%d", i);
		array_elem(&w->col[2], num);
		snprintf(num, sizeof num, "%ld", cues[i].start_ms);
		array_elem(&w->col[3], num);
		snprintf(num, sizeof num, "%ld", cues[i].end_ms);
		array_elem(&w->col[4], num);
		array_elem(&w->col[5], cues[i].text);
		search_doc d;
		search_doc_init(&d, 64 * 1024);
		search_doc_add(&d, a, cues[i].text, 'D');
		array_elem(&w->col[6], search_doc_tsvector(&d));
		search_doc_free(&d);
		w->n++;
	}
}

static int store_cues(arena *a, const char *pk, const char *lang, const char *vtt, size_t n)
{
	search_cue *cues = malloc(CUES_MAX * sizeof *cues);
	if (!cues) return -1;
	rows w;
	rows_init(&w, 7);
	cue_rows_add(&w, a, cues, pk, lang, vtt, n);
	free(cues);
	int rc = -1;
	if (db_begin() < 0) goto out;
	if (DB_CMD("DELETE FROM caption_cues WHERE video_id = $1::bigint AND lang = $2", pk, lang) < 0 ||
	    rows_flush(&w, CUES_INSERT) < 0 || db_commit() < 0) {
		db_rollback();
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) log_error("search: storing cues of video %s (%s): %s", pk, lang, db_error());
	rows_free(&w);
	return rc;
}

/* Captions stored before search existed (or generated in bulk) have no cues yet: read their files once, for the
 * whole batch, into as few INSERTs as their size allows. */
static int backfill_cues(arena *a, const char *ids)
{
	PGresult *res = DB_EXEC("SELECT c.video_id, v.public_id, c.lang, c.path FROM captions c JOIN videos v ON v.id = c.video_id "
				"WHERE c.video_id = ANY ($1::bigint[]) AND NOT EXISTS "
				"(SELECT 1 FROM caption_cues q WHERE q.video_id = c.video_id AND q.lang = c.lang)", ids);
	if (!res) { log_error("search: reading captions: %s", db_error()); return -1; }
	int rc = 0;
	char *data = NULL;
	search_cue *cues = NULL;
	rows w;
	rows_init(&w, 7);
	if (PQntuples(res) && (!(data = malloc(VIDEO_CAPTION_MAX + 1)) || !(cues = malloc(CUES_MAX * sizeof *cues)))) { rc = -1; goto out; }
	for (int i = 0; i < PQntuples(res); i++) {
		char dir[4096], path[4400];
		if (video_caption_dir(dir, sizeof dir, PQgetvalue(res, i, 1)) < 0) continue;
		snprintf(path, sizeof path, "%s/%s", dir, PQgetvalue(res, i, 3));
		FILE *f = fopen(path, "rb");
		if (!f) continue;
		size_t n = fread(data, 1, VIDEO_CAPTION_MAX, f);
		fclose(f);
		data[n] = 0;
		if (!video_utf8_valid(data, n)) continue;
		cue_rows_add(&w, a, cues, PQgetvalue(res, i, 0), PQgetvalue(res, i, 2), data, n);
		if (rows_bytes(&w) > FLUSH_BYTES && rows_flush(&w, CUES_INSERT) < 0) { rc = -1; goto out; }
	}
	if (rows_flush(&w, CUES_INSERT) < 0) rc = -1;
out:
	if (rc < 0) log_error("search: storing cues: %s", db_error());
	rows_free(&w);
	free(data);
	free(cues);
	PQclear(res);
	return rc;
}

int search_cue_parts(const long long *bytes, int n, long long limit, int *starts)
{
	int parts = 0;
	long long sum = 0;
	for (int i = 0; i < n; i++) {
		if (i == 0 || sum + bytes[i] > limit) { starts[parts++] = i; sum = 0; }
		sum += bytes[i];
	}
	return parts;
}

/* The documents of the videos ids (their cues already stored). */
static int reindex_part(arena *a, const char *ids)
{
	/* the videos and all their cues, both ordered by id, are walked side by side */
	PGresult *vres = DB_EXEC("SELECT v.id, v.title, v.description, "
				 "(SELECT string_agg(t.name, ' ') FROM video_tags vt JOIN tags t ON t.id = vt.tag_id WHERE vt.video_id = v.id), "
				 "(SELECT string_agg(c.name_ja || ' ' || c.name_en, ' ') FROM video_categories vc "
				 " JOIN categories c ON c.id = vc.category_id WHERE vc.video_id = v.id), "
				 "(SELECT string_agg(co.title, ' ') FROM course_videos cv JOIN courses co ON co.id = cv.course_id "
				 " WHERE cv.video_id = v.id), "
				 "(SELECT count(*) FROM view_progress p WHERE p.video_id = v.id) "
				 "FROM videos v WHERE v.id = ANY ($1::bigint[]) ORDER BY v.id", ids);
	PGresult *cres = vres ? DB_EXEC("SELECT video_id, body FROM caption_cues WHERE video_id = ANY ($1::bigint[]) "
					"ORDER BY video_id, lang, seq", ids) : NULL;
	int rc = -1, j = 0, nc = cres ? PQntuples(cres) : 0;
	rows w;
	rows_init(&w, 3);
	if (!cres) goto out;
	for (int i = 0; i < PQntuples(vres); i++) {
		long long id = strtoll(PQgetvalue(vres, i, 0), NULL, 10);
		search_doc d;
		search_doc_init(&d, DOC_MAX_BYTES);
		search_doc_add(&d, a, PQgetvalue(vres, i, 1), 'A');
		for (int f = 3; f <= 5; f++) search_doc_add(&d, a, PQgetvalue(vres, i, f), 'B');
		search_doc_add(&d, a, PQgetvalue(vres, i, 2), 'C');
		while (j < nc && strtoll(PQgetvalue(cres, j, 0), NULL, 10) < id) j++;
		for (; j < nc && strtoll(PQgetvalue(cres, j, 0), NULL, 10) == id; j++) search_doc_add(&d, a, PQgetvalue(cres, j, 1), 'D');
		array_elem(&w.col[0], PQgetvalue(vres, i, 0));
		array_elem(&w.col[1], search_doc_tsvector(&d));
		array_elem(&w.col[2], PQgetvalue(vres, i, 6));
		w.n++;
		search_doc_free(&d);
		if (rows_bytes(&w) > FLUSH_BYTES && rows_flush(&w, DOCS_UPSERT) < 0) goto out;
	}
	if (rows_flush(&w, DOCS_UPSERT) < 0) goto out;
	rc = 0;
out:
	if (rc < 0) log_error("search: indexing videos: %s", db_error());
	rows_free(&w);
	PQclear(vres);
	PQclear(cres);
	return rc;
}

/* A video deleted since it was queued loses its document (the foreign key cascade usually did that already). */
static int drop_deleted(const char *ids)
{
	if (DB_CMD("DELETE FROM search_docs d WHERE d.video_id = ANY ($1::bigint[]) "
		   "AND NOT EXISTS (SELECT 1 FROM videos v WHERE v.id = d.video_id)", ids) >= 0)
		return 0;
	log_error("search: dropping documents: %s", db_error());
	return -1;
}

int search_reindex_batch(arena *a, const char *ids)
{
	if (backfill_cues(a, ids) < 0) return -1;
	/* one video (an editor's save) is one part: no sizing query */
	if (!strchr(ids, ',')) return reindex_part(a, ids) < 0 || drop_deleted(ids) < 0 ? -1 : 0;
	/* the cue text of a whole batch read at once could be hundreds of MB (500 videos with long captions in
	 * several languages): it is read in parts of whole videos, CUE_PART_BYTES at most (the sizes come from the
	 * stored lengths; compressed values are not expanded to measure them) */
	PGresult *sres = DB_EXEC("SELECT v.id, coalesce((SELECT sum(octet_length(q.body)) FROM caption_cues q "
				 "WHERE q.video_id = v.id), 0) FROM videos v WHERE v.id = ANY ($1::bigint[]) ORDER BY v.id", ids);
	if (!sres) { log_error("search: sizing the cues: %s", db_error()); return -1; }
	int n = PQntuples(sres), rc = 0;
	long long *bytes = malloc(sizeof *bytes * (size_t)(n ? n : 1));
	int *starts = malloc(sizeof *starts * (size_t)(n ? n : 1));
	if (!bytes || !starts) rc = -1;
	for (int i = 0; !rc && i < n; i++) bytes[i] = strtoll(PQgetvalue(sres, i, 1), NULL, 10);
	int parts = rc ? 0 : search_cue_parts(bytes, n, CUE_PART_BYTES, starts);
	for (int p = 0; !rc && p < parts; p++) {
		int end = p + 1 < parts ? starts[p + 1] : n;
		buf part = {0};
		buf_puts(&part, "{");
		for (int i = starts[p]; i < end; i++) buf_printf(&part, "%s%s", i > starts[p] ? "," : "", PQgetvalue(sres, i, 0));
		buf_puts(&part, "}");
		rc = reindex_part(a, part.p);
		buf_free(&part);
	}
	free(bytes);
	free(starts);
	PQclear(sres);
	return rc || drop_deleted(ids) < 0 ? -1 : 0;
}

int search_reindex_video(arena *a, const char *pk)
{
	return search_reindex_batch(a, arena_printf(a, "{%s}", pk));
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
	buf ids = {0};
	buf_puts(&ids, "{");
	for (int i = 0; i < n; i++) buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
	buf_puts(&ids, "}");
	if (n > 0 && search_reindex_batch(a, ids.p) < 0)   /* try again on a later pass */
		DB_CMD("INSERT INTO search_dirty (video_id) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING", ids.p);
	buf_free(&ids);
	arena_reset(a);
	PQclear(res);
	was_full = n == max;
	return n;
}
