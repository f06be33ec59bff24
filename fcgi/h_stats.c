/* Statistics pages, API and CSV: per video (views over time, retention), per class (completion per student and
 * per video), platform KPIs for admins. Everything is read from the rollups of sql/060_stats.sql (kept by the
 * worker, stats_rollup.c) or from view_progress for one class's students: a few hundred rows, never view_sessions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "chart.h"
#include "config.h"
#include "dataset.h"
#include "db.h"
#include "i18n.h"
#include "learn.h"
#include "log.h"
#include "roster_csv.h"
#include "router.h"
#include "stats.h"
#include "stats_http.h"
#include "template.h"

#define STATS_DEFAULT_DAYS 30
#define CLASS_MAX_VIDEOS 60
#define CLASS_MAX_STUDENTS 300

static int is_admin(req *r) { return r->user && !strcmp(r->user->role, "admin"); }

static void fail(req *r, int status, const char *code)
{
	res_error(r, status, code, tr(r, arena_printf(r->a, "stats_err_%s", code)), NULL);
}

/* Render templates/stats/<name>.html with the stats stylesheet. ctx borrowed. */
static void stats_page(req *r, const char *name, json_object *ctx, const char *title_key)
{
	json_object *styles = json_object_new_array();
	json_object_array_add(styles, json_object_new_string("/static/css/stats.css"));
	json_object_object_add(ctx, "styles", styles);
	if (title_key && !json_object_object_get_ex(ctx, "title", NULL))
		json_object_object_add(ctx, "title", json_object_new_string(tr(r, title_key)));
	res_html(r, 200, arena_printf(r->a, "stats/%s", name), ctx);
}

/* The video and KPI pages' bodies come from the per-process cache (stats_cache.c) when their key was rendered
 * before: the key carries every input of the body, the rollups' generation among them. 1 when the page was sent. */
static int send_cached(req *r, const char *key, const char *title)
{
	size_t n;
	const char *body = stats_cache_get(key, &n);
	if (!body) return 0;
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "body", json_object_new_string_len(body, (int)n));
	json_object_object_add(ctx, "title", json_object_new_string(title));
	stats_page(r, "cached", ctx, NULL);
	json_object_put(ctx);
	return 1;
}

/* Render templates/stats/<name>.html with ctx (borrowed) as res_html would, keep it under key, send it. */
static void render_cached(req *r, const char *key, const char *name, json_object *ctx, const char *title)
{
	buf b = {0};
	json_object_object_add(ctx, "t", json_object_get(i18n_catalog(r->lang)));
	if (tmpl_render_name(arena_printf(r->a, "stats/%s", name), ctx, &b) < 0) {
		buf_free(&b);
		stats_page(r, name, ctx, NULL);   /* res_html reports the template error */
		return;
	}
	stats_cache_put(key, b.p ? b.p : "", b.len);
	buf_free(&b);
	if (!send_cached(r, key, title)) stats_page(r, name, ctx, NULL);   /* not kept (too big, no memory) */
}

static void add_str(json_object *o, const char *k, const char *v) { json_object_object_add(o, k, json_object_new_string(v ? v : "")); }
static void add_int(json_object *o, const char *k, long v) { json_object_object_add(o, k, json_object_new_int64(v)); }
/* 15 significant digits: 2.8 stays "2.8" in pages and JSON (json-c's default prints 2.7999999999999998) */
static void add_num(json_object *o, const char *k, double v)
{
	char s[32];
	snprintf(s, sizeof s, "%.15g", v);
	json_object_object_add(o, k, json_object_new_double_s(v, s));
}
static const char *val(PGresult *res, int row, int col) { return PQgetvalue(res, row, col); }
static long lval(PGresult *res, int row, int col) { return strtol(PQgetvalue(res, row, col), NULL, 10); }

/* from/to of the query as a range; 0 ok, -1 with a 400 sent */
static int read_range(req *r, const char *today, struct stats_range *rg)
{
	const char *code = NULL;
	if (stats_range_parse(req_query(r, "from"), req_query(r, "to"), today, STATS_DEFAULT_DAYS, rg, &code) < 0) {
		fail(r, 400, code);
		return -1;
	}
	return 0;
}

static void add_range(req *r, json_object *ctx, const struct stats_range *rg)
{
	json_object *o = json_object_new_object();
	add_str(o, "from", rg->from);
	add_str(o, "to", rg->to);
	add_int(o, "days", rg->days);
	add_str(o, "query", arena_printf(r->a, "from=%s&to=%s", rg->from, rg->to));
	json_object_object_add(ctx, "range", o);
}

/* ---- streaming CSV: single-row mode, so memory stays constant however many rows there are ---- */

/* Send the query's rows as CSV (UTF-8 with BOM, CRLF) under the given header cells. Cells go through the roster
 * CSV writer (quoting, formula guard). Returns 0, or -1 when the query could not start (nothing sent yet). */
static int csv_stream(req *r, const char *filename, const char *const *head, int ncols, const char *sql, int np,
		      const char *const *params)
{
	PGconn *c = db_conn();
	if (!c || !PQsendQueryParams(c, sql, np, NULL, params, NULL, NULL, 0) || !PQsetSingleRowMode(c)) {
		log_error("stats csv: %s", c ? PQerrorMessage(c) : "no connection");
		if (c) { PGresult *x; while ((x = PQgetResult(c))) PQclear(x); }
		fail(r, 500, "db");
		return -1;
	}
	res_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"%s\"", filename));
	res_header(r, "Cache-Control", "no-store");
	res_stream_begin(r, 200, "text/csv; charset=utf-8");
	/* every statistics export is also a dataset version (dataset.c): the same bytes go to a temporary file */
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s/stats-export-XXXXXX", config_data_path("tmp"));
	mkdir(config_data_path("tmp"), 0750);
	int tfd = mkstemp(tmp);
	FILE *tee = tfd >= 0 ? fdopen(tfd, "wb") : NULL;
	if (!tee && tfd >= 0) { close(tfd); unlink(tmp); }
	long nrows = 0;
	int ok = 1;
	buf b = {0};
	buf_puts(&b, "\xEF\xBB\xBF");   /* BOM: spreadsheet programs in Japanese locales otherwise guess Shift_JIS */
	for (int i = 0; i < ncols; i++) rcsv_put_cell(&b, head[i], i == 0);
	buf_puts(&b, "\r\n");
	PGresult *x;
	while ((x = PQgetResult(c))) {
		if (PQresultStatus(x) == PGRES_SINGLE_TUPLE) {
			for (int i = 0; i < ncols && i < PQnfields(x); i++) rcsv_put_cell(&b, PQgetvalue(x, 0, i), i == 0);
			buf_puts(&b, "\r\n");
			nrows++;
			if (b.len > 16384) {
				res_write(r, b.p, b.len);
				if (tee && fwrite(b.p, 1, b.len, tee) != b.len) ok = 0;
				buf_reset(&b);
			}
		} else if (PQresultStatus(x) != PGRES_TUPLES_OK) {
			/* headers are gone: the cut file ends without its last line, and the log says why */
			log_error("stats csv %s: %s", filename, PQresultErrorMessage(x));
			ok = 0;
		}
		PQclear(x);
	}
	if (b.len) {
		res_write(r, b.p, b.len);
		if (tee && fwrite(b.p, 1, b.len, tee) != b.len) ok = 0;
	}
	buf_free(&b);
	if (tee) {
		if (fclose(tee) != 0) ok = 0;
		if (ok) dataset_stats_export(filename, tmp, nrows, r->user ? r->user->id : 0);
		else unlink(tmp);
	}
	return 0;
}

/* ---- per video ---- */

/* gen: when the worker last refreshed the video's rollups (stats_video_totals.updated_at in µs, 0 never): every
 * refresh or rebuild that touches any of its rollup rows sets it */
struct video_ctx { char id[24], pid[17], today[11], gen[24]; const char *title; double duration; long viewers, completed; };

/* The video by public id, which the caller owns (admins: any). 0 ok; -1 with 404/403 sent. */
static int video_access(req *r, struct video_ctx *v)
{
	const char *pid = req_param(r, "id");
	if (!pid || strlen(pid) != 16 || strspn(pid, "0123456789abcdef") != 16) { fail(r, 404, "video_not_found"); return -1; }
	PGresult *res = DB_PREP("SELECT v.id, v.title, COALESCE(v.duration, 0), COALESCE(v.owner_id, 0), "
				"to_char(now() AT TIME ZONE $2, 'YYYY-MM-DD'), COALESCE(t.viewers, 0), COALESCE(t.completions, 0), "
				"COALESCE((extract(epoch FROM t.updated_at) * 1000000)::bigint, 0) "
				"FROM videos v LEFT JOIN stats_video_totals t ON t.video_id = v.id WHERE v.public_id = $1", pid, learn_tz());
	if (!res) { log_error("stats video: %s", db_error()); fail(r, 500, "db"); return -1; }
	if (!PQntuples(res)) { PQclear(res); fail(r, 404, "video_not_found"); return -1; }
	snprintf(v->id, sizeof v->id, "%s", val(res, 0, 0));
	snprintf(v->pid, sizeof v->pid, "%s", pid);
	snprintf(v->today, sizeof v->today, "%s", val(res, 0, 4));
	v->title = arena_strdup(r->a, val(res, 0, 1));
	v->duration = strtod(val(res, 0, 2), NULL);
	v->viewers = lval(res, 0, 5);
	v->completed = lval(res, 0, 6);
	snprintf(v->gen, sizeof v->gen, "%s", val(res, 0, 7));
	long owner = lval(res, 0, 3);
	PQclear(res);
	if (!is_admin(r) && owner != r->user->id) { fail(r, 403, "video_forbidden"); return -1; }
	return 0;
}

#define VIDEO_DAILY_SQL \
	"SELECT to_char(d, 'YYYY-MM-DD'), COALESCE(x.views, 0), COALESCE(x.viewers, 0), " \
	"round(COALESCE(x.watch_ms, 0) / 1000.0, 1), COALESCE(x.completions, 0) " \
	"FROM generate_series($2::date, $3::date, interval '1 day') d " \
	"LEFT JOIN stats_video_daily x ON x.video_id = $1::bigint AND x.day = d::date ORDER BY d"
#define VIDEO_RETENTION_SQL \
	"SELECT b.bucket, round((b.bucket * $2::float8 / 100)::numeric, 1), b.viewers, " \
	"round(100.0 * b.viewers / NULLIF(t.viewers, 0), 1) FROM stats_video_retention b " \
	"LEFT JOIN stats_video_totals t ON t.video_id = b.video_id WHERE b.video_id = $1::bigint ORDER BY b.bucket"

/* The video's numbers for a range: sums, daily rows, all-time viewers and completion, retention. */
static json_object *video_stats(const struct video_ctx *v, const struct stats_range *rg)
{
	PGresult *res = DB_PREP(VIDEO_DAILY_SQL, v->id, rg->from, rg->to);
	if (!res) { log_error("stats video daily: %s", db_error()); return NULL; }
	json_object *o = json_object_new_object(), *daily = json_object_new_array();
	long views = 0, completions = 0;
	double watch = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		json_object *d = json_object_new_object();
		add_str(d, "date", val(res, i, 0));
		add_int(d, "views", lval(res, i, 1));
		add_int(d, "viewers", lval(res, i, 2));
		add_num(d, "watch_seconds", strtod(val(res, i, 3), NULL));
		add_int(d, "completions", lval(res, i, 4));
		views += lval(res, i, 1);
		watch += strtod(val(res, i, 3), NULL);
		completions += lval(res, i, 4);
		json_object_array_add(daily, d);
	}
	PQclear(res);
	char dur[32];
	snprintf(dur, sizeof dur, "%.3f", v->duration);
	long viewers = v->viewers, completed = v->completed;   /* all-time, read with the video (video_access) */
	res = DB_PREP(VIDEO_RETENTION_SQL, v->id, dur);
	if (!res) { log_error("stats video retention: %s", db_error()); json_object_put(daily); json_object_put(o); return NULL; }
	json_object *ret = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_object *b = json_object_new_object();
		add_int(b, "bucket", lval(res, i, 0));
		add_num(b, "start_seconds", strtod(val(res, i, 1), NULL));
		add_int(b, "viewers", lval(res, i, 2));
		add_num(b, "percent", strtod(val(res, i, 3), NULL));
		json_object_array_add(ret, b);
	}
	PQclear(res);
	json_object *vo = json_object_new_object();
	add_str(vo, "id", v->pid);
	add_str(vo, "title", v->title);
	add_num(vo, "duration", v->duration);
	json_object_object_add(o, "video", vo);
	json_object *ro = json_object_new_object();
	add_str(ro, "from", rg->from);
	add_str(ro, "to", rg->to);
	json_object_object_add(o, "range", ro);
	add_int(o, "views", views);
	add_num(o, "watch_seconds", watch);
	add_num(o, "avg_watch_seconds", views ? watch / views : 0);
	add_int(o, "completions", completions);
	add_int(o, "unique_viewers", viewers);
	add_int(o, "completed_viewers", completed);
	add_num(o, "completion_rate", viewers ? (double)completed / viewers : 0);
	json_object_object_add(o, "daily", daily);
	json_object_object_add(o, "retention", ret);
	return o;
}

/* GET /api/v1/videos/:id/stats?from=&to= */
void h_api_video_stats(req *r)
{
	struct video_ctx v;
	struct stats_range rg;
	if (video_access(r, &v) < 0 || read_range(r, v.today, &rg) < 0) return;
	json_object *o = video_stats(&v, &rg);
	if (!o) { fail(r, 500, "db"); return; }
	res_json(r, 200, o);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}
static double jnum(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : 0;
}

/* "MM/DD" labels for a daily series (the year is in the range above the chart) */
static const char **day_labels(req *r, json_object *daily)
{
	size_t n = json_object_array_length(daily);
	const char **l = arena_alloc(r->a, sizeof *l * (n + 1));
	for (size_t i = 0; i < n; i++) {
		const char *d = jstr(json_object_array_get_idx(daily, i), "date");
		l[i] = strlen(d) == 10 ? arena_printf(r->a, "%.2s/%.2s", d + 5, d + 8) : d;
	}
	return l;
}

static json_object *series_chart(req *r, json_object *rows, const char **labels, const char *key,
				 const struct chart_axes *ax)
{
	size_t n = json_object_array_length(rows);
	double *vals = arena_alloc(r->a, sizeof *vals * (n + 1));
	for (size_t i = 0; i < n; i++) vals[i] = jnum(json_object_array_get_idx(rows, i), key);
	return chart_line(ax, labels, vals, (int)n);
}

static void fmt_duration(char *out, size_t n, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

/* GET /stats/videos/:id */
void h_stats_video_page(req *r)
{
	struct video_ctx v;
	struct stats_range rg;
	if (video_access(r, &v) < 0 || read_range(r, v.today, &rg) < 0) return;
	const char *title = arena_printf(r->a, "%s: %s", tr(r, "stats_video_title"), v.title);
	const char *key = arena_printf(r->a, "video %s %s %s %s %s %.3f %s", v.id, v.gen, rg.from, rg.to, r->lang,
				       v.duration, v.title);
	if (send_cached(r, key, title)) return;
	json_object *o = video_stats(&v, &rg);
	if (!o) { fail(r, 500, "db"); return; }
	json_object *daily = json_object_object_get(o, "daily"), *ret = json_object_object_get(o, "retention");
	const char **labels = day_labels(r, daily);
	struct chart_axes ax = {560, 250, 0, 0, tr(r, "stats_chart_views"), tr(r, "stats_axis_date"), tr(r, "stats_axis_views")};
	json_object_object_add(o, "views_chart", series_chart(r, daily, labels, "views", &ax));
	size_t nb = json_object_array_length(ret);
	const char **bl = arena_alloc(r->a, sizeof *bl * (nb + 1));
	char t[32];
	for (size_t i = 0; i < nb; i++) {
		json_object *b = json_object_array_get_idx(ret, i);
		fmt_duration(t, sizeof t, jnum(b, "start_seconds"));
		bl[i] = arena_strdup(r->a, t);
		json_object_object_add(b, "start_label", json_object_new_string(t));
	}
	struct chart_axes rx = {560, 250, 100, 1, tr(r, "stats_chart_retention"), tr(r, "stats_axis_position"), tr(r, "stats_axis_share")};
	json_object_object_add(o, "retention_chart", series_chart(r, ret, bl, "percent", &rx));
	json_object_object_add(o, "has_retention", json_object_new_boolean(nb > 0));
	fmt_duration(t, sizeof t, jnum(o, "watch_seconds"));
	add_str(o, "watch_label", t);
	fmt_duration(t, sizeof t, jnum(o, "avg_watch_seconds"));
	add_str(o, "avg_watch_label", t);
	add_str(o, "rate_label", arena_printf(r->a, "%.1f", 100 * jnum(o, "completion_rate")));
	add_range(r, o, &rg);
	add_str(o, "base", arena_printf(r->a, "/stats/videos/%s", v.pid));
	render_cached(r, key, "video", o, title);
	json_object_put(o);
}

/* GET /stats/videos/:id/daily.csv: exactly the rows of the views chart and its table */
void h_stats_video_daily_csv(req *r)
{
	struct video_ctx v;
	struct stats_range rg;
	if (video_access(r, &v) < 0 || read_range(r, v.today, &rg) < 0) return;
	const char *head[] = {tr(r, "stats_col_date"), tr(r, "stats_col_views"), tr(r, "stats_col_viewers"),
			      tr(r, "stats_col_watch_seconds"), tr(r, "stats_col_completions")};
	const char *p[] = {v.id, rg.from, rg.to};
	csv_stream(r, arena_printf(r->a, "video-%s-daily-%s-%s.csv", v.pid, rg.from, rg.to), head, 5, VIDEO_DAILY_SQL, 3, p);
}

/* GET /stats/videos/:id/retention.csv */
void h_stats_video_retention_csv(req *r)
{
	struct video_ctx v;
	if (video_access(r, &v) < 0) return;
	char dur[32];
	snprintf(dur, sizeof dur, "%.3f", v.duration);
	const char *head[] = {tr(r, "stats_col_bucket"), tr(r, "stats_col_start_seconds"), tr(r, "stats_col_viewers"),
			      tr(r, "stats_col_percent")};
	const char *p[] = {v.id, dur};
	csv_stream(r, arena_printf(r->a, "video-%s-retention.csv", v.pid), head, 4, VIDEO_RETENTION_SQL, 2, p);
}

/* ---- per class ---- */

/* The class by sourcedId, which the caller teaches (admins: any). Returns its title; NULL with 404/403 sent. */
static const char *class_access(req *r, const char **sid)
{
	*sid = req_param(r, "sourcedId");
	if (!*sid || !**sid || strlen(*sid) > 255) { fail(r, 404, "class_not_found"); return NULL; }
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", r->user->id);
	PGresult *res = DB_EXEC("SELECT c.title, EXISTS (SELECT 1 FROM roster_enrollments e JOIN users u ON u.sourced_id = e.user_sourced_id "
				"WHERE u.id = $2::bigint AND e.class_sourced_id = c.sourced_id AND e.role IN ('teacher', 'aide') "
				"AND e.status = 'active') FROM roster_classes c WHERE c.sourced_id = $1", *sid, uid);
	if (!res) { log_error("stats class: %s", db_error()); fail(r, 500, "db"); return NULL; }
	if (!PQntuples(res)) { PQclear(res); fail(r, 404, "class_not_found"); return NULL; }
	const char *title = arena_strdup(r->a, val(res, 0, 0));
	int teaches = val(res, 0, 1)[0] == 't';
	PQclear(res);
	if (!teaches && !is_admin(r)) { fail(r, 403, "class_forbidden"); return NULL; }
	return title;
}

/* The students of the class (active), the videos of its assignments, and their view_progress rows. */
#define CLASS_STUDENTS_SQL \
	"SELECT u.id, u.name, COALESCE(u.username, u.email, '') FROM roster_enrollments e " \
	"JOIN users u ON u.sourced_id = e.user_sourced_id AND NOT u.disabled " \
	"WHERE e.class_sourced_id = $1 AND e.role = 'student' AND e.status = 'active' " \
	"GROUP BY u.id ORDER BY u.name, u.id LIMIT " RS_STR(CLASS_MAX_STUDENTS)
#define CLASS_VIDEOS_SQL \
	"SELECT v.id, v.public_id, v.title FROM assignment_classes ac JOIN assignment_videos av ON av.assignment_id = ac.assignment_id " \
	"JOIN videos v ON v.id = av.video_id WHERE ac.class_sourced_id = $1 " \
	"GROUP BY v.id ORDER BY min(ac.assignment_id), min(av.position), v.id LIMIT " RS_STR(CLASS_MAX_VIDEOS)
#define RS_STR2(x) #x
#define RS_STR(x) RS_STR2(x)

static json_object *class_stats(req *r, const char *sid, const char *title)
{
	PGresult *st = DB_EXEC(CLASS_STUDENTS_SQL, sid);
	PGresult *vt = st ? DB_EXEC(CLASS_VIDEOS_SQL, sid) : NULL;
	if (!st || !vt) { log_error("stats class: %s", db_error()); PQclear(st); return NULL; }
	int ns = PQntuples(st), nv = PQntuples(vt);
	buf su = {0}, vu = {0};
	buf_puts(&su, "{");
	buf_puts(&vu, "{");
	for (int i = 0; i < ns; i++) buf_printf(&su, "%s%s", i ? "," : "", val(st, i, 0));
	for (int i = 0; i < nv; i++) buf_printf(&vu, "%s%s", i ? "," : "", val(vt, i, 0));
	buf_puts(&su, "}");
	buf_puts(&vu, "}");
	/* primary-key lookups: students × videos rows at most */
	PGresult *pr = DB_EXEC("SELECT p.user_id, p.video_id, LEAST(100, floor(100.0 * p.watched_ms / NULLIF(p.duration_ms, 0)))::int, "
			       "p.completed_at IS NOT NULL, to_char(p.last_at AT TIME ZONE $3, 'YYYY-MM-DD\"T\"HH24:MI') "
			       "FROM view_progress p WHERE p.user_id = ANY ($1::bigint[]) AND p.video_id = ANY ($2::bigint[])",
			       su.p, vu.p, learn_tz());
	PGresult *ar = pr ? DB_EXEC("WITH s AS (SELECT DISTINCT u.id FROM roster_enrollments e JOIN users u ON u.sourced_id = e.user_sourced_id "
				    "  AND NOT u.disabled WHERE e.class_sourced_id = $1 AND e.role = 'student' AND e.status = 'active') "
				    "SELECT a.id, COALESCE(co.title, v.title), to_char(a.due_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI'), "
				    "(SELECT count(*) FROM s WHERE NOT EXISTS (SELECT 1 FROM assignment_videos av LEFT JOIN view_progress p "
				    "  ON p.video_id = av.video_id AND p.user_id = s.id WHERE av.assignment_id = a.id AND p.completed_at IS NULL)), "
				    "(SELECT count(*) FROM s) "
				    "FROM assignment_classes ac JOIN assignments a ON a.id = ac.assignment_id "
				    "LEFT JOIN courses co ON co.id = a.course_id LEFT JOIN videos v ON v.id = a.video_id "
				    "WHERE ac.class_sourced_id = $1 ORDER BY a.id DESC LIMIT 100", sid, learn_tz()) : NULL;
	buf_free(&su);
	buf_free(&vu);
	if (!pr || !ar) { log_error("stats class progress: %s", db_error()); PQclear(st); PQclear(vt); PQclear(pr); return NULL; }
	int *pct = arena_alloc(r->a, sizeof(int) * (size_t)(ns * nv + 1)), *done = arena_alloc(r->a, sizeof(int) * (size_t)(ns * nv + 1));
	const char **last = arena_alloc(r->a, sizeof(char *) * (size_t)(ns * nv + 1));
	for (int i = 0; i < ns * nv; i++) { pct[i] = -1; done[i] = 0; last[i] = NULL; }
	for (int k = 0; k < PQntuples(pr); k++) {
		long u = lval(pr, k, 0), vv = lval(pr, k, 1);
		int si = -1, vi = -1;
		for (int i = 0; i < ns && si < 0; i++) if (lval(st, i, 0) == u) si = i;
		for (int i = 0; i < nv && vi < 0; i++) if (lval(vt, i, 0) == vv) vi = i;
		if (si < 0 || vi < 0) continue;
		pct[si * nv + vi] = PQgetisnull(pr, k, 2) ? 0 : atoi(val(pr, k, 2));
		done[si * nv + vi] = val(pr, k, 3)[0] == 't';
		last[si * nv + vi] = arena_strdup(r->a, val(pr, k, 4));
	}
	PQclear(pr);
	json_object *o = json_object_new_object(), *co = json_object_new_object();
	add_str(co, "sourcedId", sid);
	add_str(co, "title", title);
	json_object_object_add(o, "class", co);
	json_object *videos = json_object_new_array(), *students = json_object_new_array();
	for (int j = 0; j < nv; j++) {
		int c = 0;
		for (int i = 0; i < ns; i++) c += done[i * nv + j];
		json_object *v = json_object_new_object();
		add_str(v, "id", val(vt, j, 1));
		add_str(v, "title", val(vt, j, 2));
		add_int(v, "completed", c);
		add_int(v, "students", ns);
		add_num(v, "completion_rate", ns ? (double)c / ns : 0);
		json_object_array_add(videos, v);
	}
	for (int i = 0; i < ns; i++) {
		int c = 0;
		json_object *s = json_object_new_object(), *cells = json_object_new_array();
		add_int(s, "id", lval(st, i, 0));
		add_str(s, "name", val(st, i, 1));
		add_str(s, "login", val(st, i, 2));
		for (int j = 0; j < nv; j++) {
			json_object *e = json_object_new_object();
			add_str(e, "video", val(vt, j, 1));
			add_int(e, "percent", pct[i * nv + j] < 0 ? 0 : pct[i * nv + j]);
			json_object_object_add(e, "completed", json_object_new_boolean(done[i * nv + j]));
			if (last[i * nv + j]) add_str(e, "last_at", last[i * nv + j]);
			json_object_array_add(cells, e);
			c += done[i * nv + j];
		}
		add_int(s, "completed", c);
		add_int(s, "videos", nv);
		add_num(s, "completion_rate", nv ? (double)c / nv : 0);
		json_object_object_add(s, "cells", cells);
		json_object_array_add(students, s);
	}
	json_object *as = json_object_new_array();
	for (int k = 0; k < PQntuples(ar); k++) {
		json_object *a = json_object_new_object();
		add_int(a, "id", lval(ar, k, 0));
		add_str(a, "title", val(ar, k, 1));
		if (!PQgetisnull(ar, k, 2)) add_str(a, "due_at", val(ar, k, 2));
		add_int(a, "finished", lval(ar, k, 3));
		add_int(a, "students", lval(ar, k, 4));
		json_object_array_add(as, a);
	}
	PQclear(ar);
	json_object_object_add(o, "videos", videos);
	json_object_object_add(o, "students", students);
	json_object_object_add(o, "assignments", as);
	/* the heat map's input, kept for the page (not part of the API answer) */
	const char **rl = arena_alloc(r->a, sizeof(char *) * (size_t)(ns + 1)), **cl = arena_alloc(r->a, sizeof(char *) * (size_t)(nv + 1));
	for (int i = 0; i < ns; i++) rl[i] = arena_strdup(r->a, val(st, i, 1));
	for (int j = 0; j < nv; j++) cl[j] = arena_strdup(r->a, val(vt, j, 2));
	json_object_object_add(o, "_heat", chart_heat(rl, ns, cl, nv, pct, done, tr(r, "stats_chart_heat")));
	PQclear(st);
	PQclear(vt);
	return o;
}

/* GET /api/v1/classes/:sourcedId/stats */
void h_api_class_stats(req *r)
{
	const char *sid, *title = class_access(r, &sid);
	if (!title) return;
	json_object *o = class_stats(r, sid, title);
	if (!o) { fail(r, 500, "db"); return; }
	json_object_object_del(o, "_heat");
	res_json(r, 200, o);
}

/* GET /stats/classes/:sourcedId */
void h_stats_class_page(req *r)
{
	const char *sid, *title = class_access(r, &sid);
	if (!title) return;
	json_object *o = class_stats(r, sid, title);
	if (!o) { fail(r, 500, "db"); return; }
	json_object *heat = json_object_get(json_object_object_get(o, "_heat"));
	json_object_object_del(o, "_heat");
	json_object_object_add(o, "heat_chart", heat);
	json_object *videos = json_object_object_get(o, "videos");
	size_t nv = json_object_array_length(videos);
	const char **l = arena_alloc(r->a, sizeof *l * (nv + 1));
	long *vals = arena_alloc(r->a, sizeof *vals * (nv + 1));
	char clip[96];
	for (size_t i = 0; i < nv; i++) {
		json_object *v = json_object_array_get_idx(videos, i);
		chart_clip(jstr(v, "title"), 8, clip, sizeof clip);
		l[i] = arena_strdup(r->a, clip);
		vals[i] = (long)(100 * jnum(v, "completion_rate") + 0.5);
		add_int(v, "rate_percent", vals[i]);
	}
	json_object *bars = chart_bars(l, vals, (int)nv, nv > 8 ? (int)nv * 48 : 400, 200);
	add_str(bars, "title", tr(r, "stats_chart_completion"));
	json_object_object_add(o, "completion_chart", bars);
	json_object_object_add(o, "has_videos", json_object_new_boolean(nv > 0));
	json_object *students = json_object_object_get(o, "students");
	for (size_t i = 0; i < json_object_array_length(students); i++) {
		json_object *s = json_object_array_get_idx(students, i);
		add_int(s, "rate_percent", (long)(100 * jnum(s, "completion_rate") + 0.5));
	}
	add_int(o, "student_count", (long)json_object_array_length(students));
	add_str(o, "title", arena_printf(r->a, "%s: %s", tr(r, "stats_class_title"), title));
	add_str(o, "csv", arena_printf(r->a, "/stats/classes/%s/export.csv", url_encode(r->a, sid)));
	stats_page(r, "class", o, NULL);
	json_object_put(o);
}

/* GET /stats/classes/:sourcedId/export.csv: one line per (student, video), the cells of the heat map */
void h_stats_class_csv(req *r)
{
	const char *sid, *title = class_access(r, &sid);
	if (!title) return;
	const char *head[] = {tr(r, "stats_col_student"), tr(r, "stats_col_login"), tr(r, "stats_col_video"),
			      tr(r, "stats_col_video_id"), tr(r, "stats_col_percent"), tr(r, "stats_col_completed_at"),
			      tr(r, "stats_col_last_at")};
	const char *p[] = {sid};
	csv_stream(r, "class-stats.csv", head, 7,
		   "SELECT s.name, s.login, v.title, v.public_id, "
		   "COALESCE(LEAST(100, floor(100.0 * p.watched_ms / NULLIF(p.duration_ms, 0)))::int, 0), "
		   "COALESCE(to_char(p.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
		   "COALESCE(to_char(p.last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') "
		   "FROM (SELECT q.*, row_number() OVER () AS n FROM (" CLASS_STUDENTS_SQL ") q(id, name, login)) s "
		   "CROSS JOIN (SELECT q.*, row_number() OVER () AS n FROM (" CLASS_VIDEOS_SQL ") q(id, public_id, title)) v "
		   "LEFT JOIN view_progress p ON p.user_id = s.id AND p.video_id = v.id ORDER BY s.n, v.n", 1, p);
}

/* ---- platform KPIs (admins) ---- */

#define KPI_DAILY_SQL \
	"SELECT to_char(d, 'YYYY-MM-DD'), COALESCE(k.dau, 0), COALESCE(k.wau, 0), COALESCE(k.mau, 0), COALESCE(k.uploads, 0), " \
	"round(COALESCE(k.transcode_minutes, 0)::numeric, 1) FROM generate_series($1::date, $2::date, interval '1 day') d " \
	"LEFT JOIN stats_kpi_daily k ON k.day = d::date ORDER BY d"

static const char *today_text(req *r)
{
	PGresult *res = DB_PREP("SELECT to_char(now() AT TIME ZONE $1, 'YYYY-MM-DD')", learn_tz());
	const char *t = res && PQntuples(res) ? arena_strdup(r->a, val(res, 0, 0)) : NULL;
	PQclear(res);
	return t;
}

/* Today, and the KPI rollups' generation: when the worker last wrote a KPI row or snapshot (µs); one round trip */
static const char *kpi_state(req *r, const char **gen)
{
	PGresult *res = DB_PREP("SELECT to_char(now() AT TIME ZONE $1, 'YYYY-MM-DD'), "
				"COALESCE((SELECT (extract(epoch FROM max(computed_at)) * 1000000)::bigint FROM stats_kpi_daily), 0) "
				"|| '.' || COALESCE((SELECT (extract(epoch FROM max(computed_at)) * 1000000)::bigint FROM stats_kpi_snapshot), 0)",
				learn_tz());
	const char *t = res && PQntuples(res) ? arena_strdup(r->a, val(res, 0, 0)) : NULL;
	*gen = t ? arena_strdup(r->a, val(res, 0, 1)) : NULL;
	PQclear(res);
	return t;
}

static json_object *kpis(const struct stats_range *rg)
{
	PGresult *res = DB_PREP(KPI_DAILY_SQL, rg->from, rg->to);
	if (!res) { log_error("stats kpis: %s", db_error()); return NULL; }
	json_object *o = json_object_new_object(), *daily = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_object *d = json_object_new_object();
		add_str(d, "date", val(res, i, 0));
		add_int(d, "dau", lval(res, i, 1));
		add_int(d, "wau", lval(res, i, 2));
		add_int(d, "mau", lval(res, i, 3));
		add_int(d, "uploads", lval(res, i, 4));
		add_num(d, "transcode_minutes", strtod(val(res, i, 5), NULL));
		json_object_array_add(daily, d);
	}
	PQclear(res);
	json_object *ro = json_object_new_object();
	add_str(ro, "from", rg->from);
	add_str(ro, "to", rg->to);
	json_object_object_add(o, "range", ro);
	/* the newest row is "now" (refreshed by the worker every stats_kpi_interval seconds) */
	res = db_exec_prepared("SELECT dau, wau, mau, uploads, round(transcode_minutes::numeric, 1), "
			       "to_char(computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM stats_kpi_daily ORDER BY day DESC LIMIT 1",
			       0, NULL);
	json_object *now = json_object_new_object();
	if (res && PQntuples(res)) {
		add_int(now, "dau", lval(res, 0, 0));
		add_int(now, "wau", lval(res, 0, 1));
		add_int(now, "mau", lval(res, 0, 2));
		add_int(now, "uploads_today", lval(res, 0, 3));
		add_num(now, "transcode_minutes_today", strtod(val(res, 0, 4), NULL));
		add_str(now, "computed_at", val(res, 0, 5));
	}
	PQclear(res);
	json_object_object_add(o, "current", now);
	json_object_object_add(o, "daily", daily);
	res = db_exec_prepared("SELECT key, data::text FROM stats_kpi_snapshot WHERE key IN ('storage', 'clients', 'imports')", 0, NULL);
	for (int i = 0; res && i < PQntuples(res); i++) {
		json_object *d = json_tokener_parse(val(res, i, 1));
		if (d) json_object_object_add(o, val(res, i, 0), d);
	}
	PQclear(res);
	if (!json_object_object_get_ex(o, "clients", NULL)) json_object_object_add(o, "clients", json_object_new_array());
	return o;
}

/* GET /api/v1/stats/kpis?from=&to= */
void h_api_stats_kpis(req *r)
{
	const char *today = today_text(r);
	struct stats_range rg;
	if (!today) { fail(r, 500, "db"); return; }
	if (read_range(r, today, &rg) < 0) return;
	json_object *o = kpis(&rg);
	if (!o) { fail(r, 500, "db"); return; }
	res_json(r, 200, o);
}

static void human_bytes(char *out, size_t n, double b)
{
	const char *u[] = {"B", "KB", "MB", "GB", "TB"};
	int i = 0;
	while (b >= 1024 && i < 4) { b /= 1024; i++; }
	snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* GET /admin/stats */
void h_stats_kpis_page(req *r)
{
	const char *gen, *today = kpi_state(r, &gen);
	struct stats_range rg;
	if (!today) { fail(r, 500, "db"); return; }
	if (read_range(r, today, &rg) < 0) return;
	const char *title = tr(r, "stats_kpis_title"), *key = arena_printf(r->a, "kpis %s %s %s %s", gen, rg.from, rg.to, r->lang);
	if (send_cached(r, key, title)) return;
	json_object *o = kpis(&rg);
	if (!o) { fail(r, 500, "db"); return; }
	json_object *daily = json_object_object_get(o, "daily");
	const char **labels = day_labels(r, daily);
	struct chart_axes ax = {560, 250, 0, 0, tr(r, "stats_chart_active"), tr(r, "stats_axis_date"), tr(r, "stats_axis_users")};
	json_object_object_add(o, "dau_chart", series_chart(r, daily, labels, "dau", &ax));
	size_t n = json_object_array_length(daily);
	long *up = arena_alloc(r->a, sizeof *up * (n + 1));
	for (size_t i = 0; i < n; i++) up[i] = (long)jnum(json_object_array_get_idx(daily, i), "uploads");
	json_object *bars = chart_bars(labels, up, (int)n, 640, 200);
	add_str(bars, "title", tr(r, "stats_chart_uploads"));
	json_object_object_add(o, "uploads_chart", bars);
	json_object *st;
	if (json_object_object_get_ex(o, "storage", &st)) {
		char b[32];
		human_bytes(b, sizeof b, jnum(st, "source_bytes"));
		add_str(st, "source_label", b);
		human_bytes(b, sizeof b, jnum(st, "hls_bytes"));
		add_str(st, "hls_label", b);
	}
	add_range(r, o, &rg);
	add_str(o, "base", "/admin/stats");
	render_cached(r, key, "kpis", o, title);
	json_object_put(o);
}

/* GET /admin/stats/daily.csv */
void h_stats_kpis_csv(req *r)
{
	const char *today = today_text(r);
	struct stats_range rg;
	if (!today) { fail(r, 500, "db"); return; }
	if (read_range(r, today, &rg) < 0) return;
	const char *head[] = {tr(r, "stats_col_date"), tr(r, "stats_col_dau"), tr(r, "stats_col_wau"), tr(r, "stats_col_mau"),
			      tr(r, "stats_col_uploads"), tr(r, "stats_col_transcode_minutes")};
	const char *p[] = {rg.from, rg.to};
	csv_stream(r, arena_printf(r->a, "kpis-%s-%s.csv", rg.from, rg.to), head, 6, KPI_DAILY_SQL, 2, p);
}

/* GET /admin/stats/clients.csv */
void h_stats_clients_csv(req *r)
{
	const char *head[] = {tr(r, "stats_col_client_id"), tr(r, "stats_col_client_name"), tr(r, "stats_col_calls_30d"),
			      tr(r, "stats_col_calls_today")};
	csv_stream(r, "kpis-clients.csv", head, 4,
		   "SELECT e->>'client_id', e->>'name', e->>'calls_30d', e->>'calls_today' FROM stats_kpi_snapshot s, "
		   "jsonb_array_elements(s.data) e WHERE s.key = 'clients'", 0, NULL);
}

/* ---- the index: what the caller may look at ---- */

/* GET /stats: the caller's videos (admins: the most watched) and classes (admins: those with assignments) */
void h_stats_index(req *r)
{
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", is_admin(r) ? 0L : r->user->id);
	PGresult *res = DB_EXEC("SELECT v.public_id AS id, v.title, COALESCE(t.viewers, 0)::int AS viewers, "
				"COALESCE(t.completions, 0)::int AS completions FROM videos v "
				"LEFT JOIN stats_video_totals t ON t.video_id = v.id "
				"WHERE ($1::bigint = 0 OR v.owner_id = $1::bigint) AND v.status = 'ready' "
				"ORDER BY COALESCE(t.viewers, 0) DESC, v.id DESC LIMIT 200", uid);
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "videos", res ? db_rows_json(res) : json_object_new_array());
	PQclear(res);
	res = DB_EXEC("SELECT c.sourced_id, c.title FROM roster_classes c WHERE c.status = 'active' AND "
		      "CASE WHEN $1::bigint = 0 THEN EXISTS (SELECT 1 FROM assignment_classes ac WHERE ac.class_sourced_id = c.sourced_id) "
		      "ELSE EXISTS (SELECT 1 FROM roster_enrollments e JOIN users u ON u.sourced_id = e.user_sourced_id "
		      "  WHERE u.id = $1::bigint AND e.class_sourced_id = c.sourced_id AND e.role IN ('teacher', 'aide') AND e.status = 'active') END "
		      "ORDER BY c.title, c.sourced_id LIMIT 200", uid);
	json_object *classes = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(classes); i++) {
		json_object *c = json_object_array_get_idx(classes, i);
		add_str(c, "href", arena_printf(r->a, "/stats/classes/%s", url_encode(r->a, jstr(c, "sourced_id"))));
	}
	json_object_object_add(ctx, "classes", classes);
	json_object_object_add(ctx, "is_admin", json_object_new_boolean(is_admin(r)));
	stats_page(r, "index", ctx, "stats_index_title");
	json_object_put(ctx);
}

/* ---- shared with h_stats_student.c (the per-student page) ---- */
const char *stats_today(req *r) { return today_text(r); }
int stats_read_range(req *r, const char *today, struct stats_range *rg) { return read_range(r, today, rg); }
void stats_add_range(req *r, json_object *ctx, const struct stats_range *rg) { add_range(r, ctx, rg); }
void stats_render(req *r, const char *name, json_object *ctx, const char *title_key) { stats_page(r, name, ctx, title_key); }
void stats_fail(req *r, int status, const char *code) { fail(r, status, code); }
int stats_csv(req *r, const char *filename, const char *const *head, int ncols, const char *sql, int np, const char *const *params)
{
	return csv_stream(r, filename, head, ncols, sql, np, params);
}
