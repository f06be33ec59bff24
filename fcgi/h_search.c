/* Search: the results page, GET /api/v1/search, suggestions, and search inside one video's captions.
 * The query is turned into a tsquery by search_text.c (never to_tsquery on raw input); who may watch what is
 * decided in the same SQL (video_access_sql), so a page never holds rows filtered out after LIMIT. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalog_cache.h"
#include "db.h"
#include "h_search.h"
#include "h_videos.h"
#include "log.h"
#include "router.h"
#include "search_text.h"
#include "timefmt.h"
#include "video_access.h"
#include "video_srt.h"

#define PAGE_SIZE 20
#define MAX_OFFSET 1000   /* deeper than 50 pages nobody reads; the query should be narrowed instead */
#define TS_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

struct sparams {
	const char *q, *category, *tag, *owner, *from, *to, *sort;
	long dmin, dmax, limit, offset;   /* duration bounds in minutes (-1 none) */
	search_query sq;
};

static int date_ok(const char *s)
{
	if (strlen(s) != 10) return 0;
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !isdigit((unsigned char)s[i])) return 0;
	int m = atoi(s + 5), d = atoi(s + 8), y = atoi(s);
	return y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static const char *opt(req *r, const char *name)
{
	const char *v = req_query(r, name);
	return v && *v ? v : NULL;
}

/* Read and check every parameter. 0 ok, -1 with *err a message key. */
static int sparams_read(req *r, struct sparams *p, long def_limit, const char **err)
{
	int bad = 0;
	memset(p, 0, sizeof *p);
	p->q = req_query(r, "q");
	if (!p->q) p->q = "";
	p->category = opt(r, "category");
	p->tag = opt(r, "tag");
	p->owner = opt(r, "owner");
	p->from = opt(r, "from");
	p->to = opt(r, "to");
	p->sort = opt(r, "sort");
	if (!p->sort) p->sort = "relevance";
	p->dmin = req_query_long(r, "dmin", -1, 0, 100000, &bad);
	p->dmax = req_query_long(r, "dmax", -1, 0, 100000, &bad);
	p->limit = req_query_long(r, "limit", def_limit, 1, 50, &bad);
	p->offset = req_query_long(r, "offset", 0, 0, MAX_OFFSET, &bad);
	long page = req_query_long(r, "page", 0, 1, MAX_OFFSET / PAGE_SIZE + 1, &bad);
	if (page > 0) p->offset = (page - 1) * p->limit;
	if (bad) { *err = "search_err_paging"; return -1; }
	if ((p->category && strlen(p->category) > 63) || (p->tag && strlen(p->tag) > 50)) { *err = "search_err_filter"; return -1; }
	if (p->owner && !parse_id(p->owner)) { *err = "search_err_filter"; return -1; }
	if ((p->from && !date_ok(p->from)) || (p->to && !date_ok(p->to))) { *err = "search_err_date"; return -1; }
	if (strcmp(p->sort, "relevance") && strcmp(p->sort, "newest") && strcmp(p->sort, "views")) { *err = "search_err_sort"; return -1; }
	return search_query_parse(r->a, p->q, &p->sq, err);
}

static const char *uid_text(req *r) { return arena_printf(r->a, "%ld", r->user ? r->user->id : 0L); }
static const char *role_text(req *r) { return r->user ? r->user->role : "guest"; }

static json_object *segs_json(req *r, const char *text, const search_query *sq, int window)
{
	search_seg segs[64];
	int n = search_highlight(r->a, text, sq, window, segs, 64);
	json_object *a = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "text", json_object_new_string(segs[i].text));
		if (segs[i].hit) json_object_object_add(s, "hit", json_object_new_boolean(1));
		json_object_array_add(a, s);
	}
	return a;
}

static void add_cues(req *r, json_object *items, const char *ids, const search_query *sq)
{
	/* per video the cues that match every part, else any part: the best few, earliest first among equals */
	buf any = {0};
	for (int i = 0; i < sq->nterms; i++) {
		search_query one;
		const char *err;
		if (search_query_parse(r->a, sq->terms[i], &one, &err) == 0 && one.tsquery)
			buf_printf(&any, "%s(%s)", any.len ? " | " : "", one.tsquery);
	}
	PGresult *res = DB_EXEC("SELECT video_id, start_ms, body FROM (SELECT c.video_id, c.start_ms, c.body, "
				"row_number() OVER (PARTITION BY c.video_id ORDER BY (c.tsv @@ $2::tsquery) DESC, "
				"ts_rank(c.tsv, $3::tsquery) DESC, c.start_ms) AS n "
				"FROM caption_cues c WHERE c.video_id = ANY ($1::bigint[]) AND c.tsv @@ $3::tsquery) x "
				"WHERE n <= 3 ORDER BY video_id, start_ms", ids, sq->tsquery, any.p ? any.p : sq->tsquery);
	buf_free(&any);
	if (!res) { log_error("search cues: %s", db_error()); return; }
	for (size_t k = 0; k < json_object_array_length(items); k++) {
		json_object *it = json_object_array_get_idx(items, k), *pkv, *idv;
		json_object_object_get_ex(it, "pk", &pkv);
		json_object_object_get_ex(it, "id", &idv);
		const char *pk = json_object_get_string(pkv);
		json_object *cues = json_object_new_array();
		for (int i = 0; i < PQntuples(res); i++) {
			if (strcmp(PQgetvalue(res, i, 0), pk)) continue;
			long ms = strtol(PQgetvalue(res, i, 1), NULL, 10), s = ms / 1000;
			json_object *c = json_object_new_object();
			json_object_object_add(c, "start", json_object_new_int64(s));
			json_object_object_add(c, "time_text", json_object_new_string(
				s >= 3600 ? arena_printf(r->a, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60)
					  : arena_printf(r->a, "%ld:%02ld", s / 60, s % 60)));
			json_object_object_add(c, "text", json_object_new_string(PQgetvalue(res, i, 2)));
			json_object_object_add(c, "text_highlight", segs_json(r, PQgetvalue(res, i, 2), sq, 80));
			json_object_object_add(c, "url", json_object_new_string(
				arena_printf(r->a, "/watch/%s?t=%ld", json_object_get_string(idv), s)));
			json_object_array_add(cues, c);
		}
		if (json_object_array_length(cues)) json_object_object_add(it, "has_cues", json_object_new_boolean(1));
		json_object_object_add(it, "cues", cues);
	}
	PQclear(res);
}

/* Run the search. Returns the result array (caller puts) and *total, or NULL on a database error. */
static json_object *search_run(req *r, struct sparams *p, long *total)
{
	*total = 0;
	if (!p->sq.tsquery) return json_object_new_array();
	/* the same search by a viewer of the same scope in the same catalog generation: the stored rows */
	enum time_style st = req_wants_json(r) ? TIME_ISO : TIME_DATE;
	const char *style = st == TIME_ISO ? "iso" : "date";
	const char *parts[] = {p->sq.tsquery, p->category, p->tag, p->owner, p->from, p->to, p->sort,
		arena_printf(r->a, "%ld/%ld/%ld/%ld", p->dmin, p->dmax, p->limit, p->offset), time_zone_of(r), style};
	const char *key = catalog_cache_key(r, "search", parts, (int)(sizeof parts / sizeof parts[0]));
	/* stored with its times already in the viewer's zone, language and style (all in the key), so a hit is
	 * only read: shared, not copied */
	json_object *hit = catalog_cache_get_shared(key), *items, *tv;
	if (hit && json_object_object_get_ex(hit, "items", &items) && json_object_object_get_ex(hit, "total", &tv)) {
		*total = json_object_get_int64(tv);
		items = json_object_get(items);
		json_object_put(hit);
		return items;
	}
	json_object_put(hit);
	buf sql = {0};
	buf_puts(&sql, "SELECT v.id AS pk, v.public_id AS id, v.title, v.description, v.duration, v.poster, v.status, "
		 TS_UTC("v.created_at") " AS created_at, COALESCE(u.name, '') AS owner_name, COALESCE(v.owner_id, 0) AS owner_id, "
		 "d.views, count(*) OVER () AS total_count "
		 "FROM search_docs d JOIN videos v ON v.id = d.video_id LEFT JOIN users u ON u.id = v.owner_id "
		 "WHERE d.tsv @@ $3::tsquery AND v.status = 'ready' AND ");
	video_access_sql(&sql, 1, 2);
	buf_puts(&sql, " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM video_categories vc JOIN categories c ON c.id = vc.category_id "
		 "WHERE vc.video_id = v.id AND c.slug = $4)) "
		 "AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM video_tags vt JOIN tags t ON t.id = vt.tag_id "
		 "WHERE vt.video_id = v.id AND t.name = $5)) "
		 "AND ($6::bigint IS NULL OR v.owner_id = $6::bigint) "
		 /* dates are days in the viewer's zone */
		 "AND ($7::date IS NULL OR v.created_at >= ($7::date::timestamp AT TIME ZONE $13)) "
		 "AND ($8::date IS NULL OR v.created_at < (($8::date + 1)::timestamp AT TIME ZONE $13)) "
		 "AND ($9::int IS NULL OR v.duration >= $9::int * 60) AND ($10::int IS NULL OR v.duration <= $10::int * 60) ");
	if (!strcmp(p->sort, "newest")) buf_puts(&sql, "ORDER BY v.created_at DESC, v.id DESC ");
	else if (!strcmp(p->sort, "views")) buf_puts(&sql, "ORDER BY d.views DESC, v.created_at DESC, v.id DESC ");
	else buf_puts(&sql, "ORDER BY ts_rank(d.tsv, $3::tsquery) DESC, v.created_at DESC, v.id DESC ");
	buf_puts(&sql, "LIMIT $11::int OFFSET $12::int");
	const char *params[13] = {
		uid_text(r), role_text(r), p->sq.tsquery, p->category, p->tag, p->owner, p->from, p->to,
		p->dmin >= 0 ? arena_printf(r->a, "%ld", p->dmin) : NULL, p->dmax >= 0 ? arena_printf(r->a, "%ld", p->dmax) : NULL,
		arena_printf(r->a, "%ld", p->limit), arena_printf(r->a, "%ld", p->offset), time_zone_of(r)};
	PGresult *res = db_exec(sql.p, 13, params);
	buf_free(&sql);
	if (!res) { log_error("search: %s", db_error()); return NULL; }
	items = json_object_new_array();
	buf ids = {0};
	buf_puts(&ids, "{");
	for (int i = 0; i < PQntuples(res); i++) {
		json_object *v = db_row_json(res, i), *tc;
		if (json_object_object_get_ex(v, "total_count", &tc)) *total = json_object_get_int64(tc);
		json_object_object_del(v, "total_count");
		buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
		json_object_object_add(v, "title_highlight", segs_json(r, PQgetvalue(res, i, 2), &p->sq, 0));
		json_object_object_add(v, "description_highlight", segs_json(r, PQgetvalue(res, i, 3), &p->sq, 120));
		json_object_object_add(v, "url", json_object_new_string(arena_printf(r->a, "/watch/%s", PQgetvalue(res, i, 1))));
		json_object_array_add(items, v);
	}
	PQclear(res);
	buf_puts(&ids, "}");
	if (json_object_array_length(items)) add_cues(r, items, ids.p, &p->sq);
	buf_free(&ids);
	/* a past offset of a shrinking result still reports how many there are */
	if (!json_object_array_length(items) && p->offset > 0) {
		struct sparams first = *p;
		first.offset = 0;
		first.limit = 1;
		json_object *probe = search_run(r, &first, total);
		if (probe) json_object_put(probe);
	}
	for (size_t k = 0; k < json_object_array_length(items); k++) {
		json_object *v = json_object_array_get_idx(items, k);
		video_decorate(r, v, 0);
		json_object_object_del(v, "poster");
		json_object_object_del(v, "status");
		json_object_object_del(v, "description");
		json_object_object_del(v, "status_label");
		json_object_object_del(v, "is_ready");
		json_object_object_del(v, "can_manage");
	}
	time_localize(r, items, st, (const char *const[]){"created_at", NULL});
	if (key) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "items", json_object_get(items));
		json_object_object_add(c, "total", json_object_new_int64(*total));
		catalog_cache_put(key, c);
		json_object_put(c);
	}
	return items;
}

void h_api_search(req *r)
{
	struct sparams p;
	const char *err = NULL;
	if (sparams_read(r, &p, PAGE_SIZE, &err) < 0) { res_error(r, 400, "bad_query", tr(r, err), NULL); return; }
	long total = 0;
	json_object *items = search_run(r, &p, &total);
	if (!items) { res_error(r, 500, "db", tr(r, "search_err_db"), NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "query", json_object_new_string(p.q));
	json_object *terms = json_object_new_array();
	for (int i = 0; i < p.sq.nterms; i++) json_object_array_add(terms, json_object_new_string(p.sq.terms[i]));
	json_object_object_add(o, "terms", terms);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "limit", json_object_new_int64(p.limit));
	json_object_object_add(o, "offset", json_object_new_int64(p.offset));
	json_object_object_add(o, "results", items);
	res_json(r, 200, o);
}

static json_object *choice(req *r, const char *value, const char *label_key, const char *current)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "value", json_object_new_string(value));
	json_object_object_add(o, "label", json_object_new_string(tr(r, label_key)));
	if (current && !strcmp(value, current)) json_object_object_add(o, "selected", json_object_new_boolean(1));
	return o;
}

void h_search_page(req *r)
{
	struct sparams p;
	const char *err = NULL;
	int status = 200;
	json_object *ctx = json_object_new_object(), *items = NULL;
	long total = 0;
	if (sparams_read(r, &p, PAGE_SIZE, &err) < 0) {
		status = 400;
		json_object_object_add(ctx, "error", json_object_new_string(tr(r, err)));
		if (!p.q) p.q = "";
	} else if (!(items = search_run(r, &p, &total))) {
		json_object_put(ctx);
		res_error(r, 500, "db", tr(r, "search_err_db"), NULL);
		return;
	}
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "search_title")));
	/* the echo is a plain string: the template escapes it */
	if (video_utf8_valid(p.q, strlen(p.q))) json_object_object_add(ctx, "q", json_object_new_string(p.q));
	if (items) {
		json_object_object_add(ctx, "results", items);
		json_object_object_add(ctx, "searched", json_object_new_boolean(p.sq.tsquery != NULL));
		json_object_object_add(ctx, "total", json_object_new_int64(total));
		if (!p.sq.tsquery && status == 200) json_object_object_add(ctx, "hint", json_object_new_string(tr(r, "search_hint_empty")));
	}
	/* filters keep their values */
	PGresult *res = db_exec_prepared("SELECT slug, name_ja, name_en FROM categories ORDER BY slug", 0, NULL);
	json_object *cats = json_object_new_array();
	for (int i = 0; res && i < PQntuples(res); i++) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "value", json_object_new_string(PQgetvalue(res, i, 0)));
		json_object_object_add(c, "label", json_object_new_string(PQgetvalue(res, i, !strcmp(r->lang, "en") ? 2 : 1)));
		if (p.category && !strcmp(p.category, PQgetvalue(res, i, 0))) json_object_object_add(c, "selected", json_object_new_boolean(1));
		json_object_array_add(cats, c);
	}
	PQclear(res);
	json_object_object_add(ctx, "categories", cats);
	json_object *sorts = json_object_new_array();
	json_object_array_add(sorts, choice(r, "relevance", "search_sort_relevance", p.sort));
	json_object_array_add(sorts, choice(r, "newest", "search_sort_newest", p.sort));
	json_object_array_add(sorts, choice(r, "views", "search_sort_views", p.sort));
	json_object_object_add(ctx, "sorts", sorts);
	if (status == 200) {
		if (p.tag) json_object_object_add(ctx, "tag", json_object_new_string(p.tag));
		if (p.owner) json_object_object_add(ctx, "owner", json_object_new_string(p.owner));
		if (p.from) json_object_object_add(ctx, "from", json_object_new_string(p.from));
		if (p.to) json_object_object_add(ctx, "to", json_object_new_string(p.to));
		if (p.dmin >= 0) json_object_object_add(ctx, "dmin", json_object_new_int64(p.dmin));
		if (p.dmax >= 0) json_object_object_add(ctx, "dmax", json_object_new_int64(p.dmax));
		if (p.category || p.tag || p.from || p.to || p.dmin >= 0 || p.dmax >= 0 || strcmp(p.sort, "relevance"))
			json_object_object_add(ctx, "filtered", json_object_new_boolean(1));
		/* page links keep the query and filters */
		buf base = {0};
		buf_printf(&base, "/search?q=%s&sort=%s", url_encode(r->a, p.q), url_encode(r->a, p.sort));
		const char *keys[] = {"category", "tag", "owner", "from", "to"};
		const char *vals[] = {p.category, p.tag, p.owner, p.from, p.to};
		for (int i = 0; i < 5; i++) if (vals[i]) buf_printf(&base, "&%s=%s", keys[i], url_encode(r->a, vals[i]));
		if (p.dmin >= 0) buf_printf(&base, "&dmin=%ld", p.dmin);
		if (p.dmax >= 0) buf_printf(&base, "&dmax=%ld", p.dmax);
		long pages = (total + p.limit - 1) / p.limit, page = p.offset / p.limit + 1, maxp = MAX_OFFSET / p.limit + 1;
		if (pages > maxp) pages = maxp;
		if (page > 1) json_object_object_add(ctx, "prev_url", json_object_new_string(arena_printf(r->a, "%s&page=%ld", base.p, page - 1)));
		if (page < pages) json_object_object_add(ctx, "next_url", json_object_new_string(arena_printf(r->a, "%s&page=%ld", base.p, page + 1)));
		if (pages > 1) {
			json_object_object_add(ctx, "page", json_object_new_int64(page));
			json_object_object_add(ctx, "pages", json_object_new_int64(pages));
		}
		buf_free(&base);
	}
	json_object *styles = json_object_new_array();
	json_object_array_add(styles, json_object_new_string("/static/css/video.css"));
	json_object_array_add(styles, json_object_new_string("/static/css/search.css"));
	json_object_object_add(ctx, "styles", styles);
	res_html(r, status, "search/results", ctx);
	json_object_put(ctx);
}

/* GET /api/v1/search/suggest?q= — completions of the last word from titles and tags the viewer may see. */
void h_api_search_suggest(req *r)
{
	const char *q = req_query(r, "q"), *err = NULL;
	search_query sq;
	if (search_query_parse(r->a, q ? q : "", &sq, &err) < 0) { res_error(r, 400, "bad_query", tr(r, err), NULL); return; }
	const char *key = sq.prefix_tsquery ? catalog_cache_key(r, "suggest", (const char *const[]){q, sq.prefix_tsquery}, 2) : NULL;
	json_object *out = catalog_cache_get_shared(key);   /* shared: a cached list is only read below */
	if (out && !json_object_is_type(out, json_type_array)) { json_object_put(out); out = NULL; }
	int cached = out != NULL;
	if (!out) out = json_object_new_array();
	if (sq.prefix_tsquery && !cached) {
		buf sql = {0};
		buf_puts(&sql, "(SELECT t.name AS text, 'tag' AS kind FROM tags t WHERE starts_with(lower(t.name), lower($3)) "
			 "ORDER BY t.name LIMIT 3) UNION ALL (SELECT v.title, 'title' FROM search_docs d JOIN videos v ON v.id = d.video_id "
			 "WHERE d.tsv @@ $4::tsquery AND v.status = 'ready' AND ");
		video_access_sql(&sql, 1, 2);
		buf_puts(&sql, " ORDER BY ts_rank(d.tsv, $4::tsquery) DESC, d.views DESC, v.id DESC LIMIT 7)");
		const char *trimmed = q;
		while (*trimmed == ' ') trimmed++;
		const char *params[4] = {uid_text(r), role_text(r), trimmed, sq.prefix_tsquery};
		PGresult *res = db_exec(sql.p, 4, params);
		buf_free(&sql);
		if (!res) { json_object_put(out); log_error("suggest: %s", db_error()); res_error(r, 500, "db", tr(r, "search_err_db"), NULL); return; }
		for (int i = 0; i < PQntuples(res); i++) {
			json_object *s = json_object_new_object();
			json_object_object_add(s, "text", json_object_new_string(PQgetvalue(res, i, 0)));
			json_object_object_add(s, "kind", json_object_new_string(PQgetvalue(res, i, 1)));
			json_object_array_add(out, s);
		}
		PQclear(res);
		catalog_cache_put(key, out);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "suggestions", out);
	res_header(r, "Cache-Control", "private, max-age=30");
	res_json(r, 200, o);
}

int search_in_video(req *r, const char *pk, const char *pid, const char *q, json_object **hits, const char **err)
{
	search_query sq;
	*hits = NULL;
	if (search_query_parse(r->a, q ? q : "", &sq, err) < 0) return -1;
	json_object *a = json_object_new_array();
	if (!sq.tsquery) { *hits = a; return 0; }
	PGresult *res = DB_EXEC("SELECT start_ms, body FROM caption_cues WHERE video_id = $1::bigint AND tsv @@ $2::tsquery "
				"ORDER BY start_ms, lang LIMIT 100", pk, sq.tsquery);
	if (!res) { json_object_put(a); *err = "search_err_db"; log_error("search in video: %s", db_error()); return -1; }
	for (int i = 0; i < PQntuples(res); i++) {
		long s = strtol(PQgetvalue(res, i, 0), NULL, 10) / 1000;
		json_object *c = json_object_new_object();
		json_object_object_add(c, "start", json_object_new_int64(s));
		json_object_object_add(c, "time_text", json_object_new_string(
			s >= 3600 ? arena_printf(r->a, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60)
				  : arena_printf(r->a, "%ld:%02ld", s / 60, s % 60)));
		json_object_object_add(c, "text", json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_object_add(c, "text_highlight", segs_json(r, PQgetvalue(res, i, 1), &sq, 0));
		json_object_object_add(c, "url", json_object_new_string(arena_printf(r->a, "/watch/%s?t=%ld", pid, s)));
		json_object_array_add(a, c);
	}
	PQclear(res);
	*hits = a;
	return 0;
}
