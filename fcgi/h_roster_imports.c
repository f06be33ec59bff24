/* Roster import and export pages and API: upload (raw zip or CSV body written to disk by nginx), history, a live job
 * page with the findings report grouped by file and rule, findings as JSON or CSV, re-run; exports started,
 * listed and downloaded. The work itself happens in the roster_import / roster_export jobs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit.h"
#include "config.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "roster_csv.h"
#include "roster_rules.h"
#include "roster_schema.h"
#include "router.h"
#include "video_store.h"
#include "upload_guard.h"
#include "zipread.h"
#include "timefmt.h"

const char *job_message_label(req *r, const char *msg);   /* h_jobs.c */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define IMPORT_COLS "i.id, i.filename, i.mode, i.dry_run, " \
	"CASE WHEN i.state IN ('queued', 'running') AND j.state IN ('cancelled', 'failed') THEN 'failed' ELSE i.state END " \
	"AS state, i.counts, i.job_id, i.size, i.error, " \
	TS("i.created_at") " AS created_at, " TS("i.finished_at") " AS finished_at, j.state AS job_state, " \
	"round(COALESCE(j.progress, 0)::numeric, 1)::float8 AS progress, j.message AS job_message, j.stats AS job_stats, " \
	"u.email AS created_by_email, (i.path IS NOT NULL) AS can_rerun"
#define IMPORT_FROM " FROM roster_imports i LEFT JOIN jobs j ON j.id = i.job_id LEFT JOIN users u ON u.id = i.created_by "
#define EXPORT_COLS "e.id, e.mode, " TS("e.since") " AS since, e.state, e.size, e.counts, e.job_id, e.error, " \
	TS("e.created_at") " AS created_at, " TS("e.finished_at") " AS finished_at, " \
	"round(COALESCE(j.progress, 0)::numeric, 1)::float8 AS progress"
#define PER_PAGE 50

static const char *id_param(req *r)
{
	return req_param_id(r, "id") ? req_param(r, "id") : NULL;
}

static void not_found(req *r)
{
	res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
}

/* display-only copy of the client's file name: the last path component, ASCII letters, digits, . _ - */
static const char *clean_filename(req *r, const char *name)
{
	if (!name || !*name)
		return "upload";
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *b2 = strrchr(base, '\\');
	base = b2 ? b2 + 1 : base;
	char *out = arena_alloc(r->a, 121);
	size_t n = 0;
	for (const char *p = base; *p && n < 120; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._-", *p))
			out[n++] = *p;
	out[n] = 0;
	return n && strcmp(out, ".") && strcmp(out, "..") ? out : "upload";
}

static json_object *import_get(const char *id)
{
	PGresult *res = DB_EXEC("SELECT " IMPORT_COLS IMPORT_FROM "WHERE i.id = $1::bigint", id);
	json_object *o = res && PQntuples(res) == 1 ? db_row_json(res, 0) : NULL;
	PQclear(res);
	return o;
}

static int enqueue_import(req *r, const char *id, int delta, long *job)
{
	json_object *p = json_object_new_object();
	json_object_object_add(p, "import_id", json_object_new_int64(atol(id)));
	if (delta)
		json_object_object_add(p, "delta", json_object_new_boolean(1));
	*job = job_enqueue("roster_import", p, r->user ? r->user->id : 0);
	json_object_put(p);
	if (*job < 0)
		return -1;
	char js[32];
	snprintf(js, sizeof js, "%ld", *job);
	return DB_CMD("UPDATE roster_imports SET job_id = $2::bigint WHERE id = $1::bigint", id, js);
}

/* ---- API ---- */

/* POST /api/v1/roster/imports?filename=users.csv&dry_run=1&delta=1 — body: a zip bundle or one CSV file */
void h_api_roster_import_create(req *r)
{
	long max = config_get_int("roster_import_max_bytes", 2L << 30);
	if (!r->body_file) {
		res_error(r, 400, "empty", tr(r, "roster_imports_err_empty"), NULL);
		return;
	}
	off_t size = video_file_size(r->body_file);
	if (size <= 0) {
		res_error(r, 400, "empty", tr(r, "roster_imports_err_empty"), NULL);
		return;
	}
	if (size > max) {
		res_error(r, 413, "payload_too_large", tr(r, "roster_imports_err_too_large"), NULL);
		return;
	}
	if (upload_guard_check(r, 0, 0) != UG_OK) return;
	const char *fname = clean_filename(r, req_query(r, "filename"));
	const char *dry = req_query(r, "dry_run"), *delta = req_query(r, "delta");
	int is_dry = dry && (!strcmp(dry, "1") || !strcmp(dry, "true"));
	int is_delta = delta && (!strcmp(delta, "1") || !strcmp(delta, "true"));
	int is_zip = zip_sniff(r->body_file);
	if (!is_zip && !rs_file_by_filename(fname)) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "filename", json_object_new_string(fname));
		res_error(r, 400, "unknown_file", tr(r, "roster_imports_err_unknown_file"), d);
		return;
	}
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", r->user ? r->user->id : 0L);
	char sz[32];
	snprintf(sz, sizeof sz, "%lld", (long long)size);
	/* dataset_id: the roster dataset this import is a version of (default: the default one) */
	const char *ds = req_query(r, "dataset_id");
	if (ds && *ds) {
		PGresult *x = parse_id(ds) > 0 ? DB_EXEC("SELECT 1 FROM datasets WHERE id = $1::bigint AND kind = 'roster_import'", ds) : NULL;
		int ok = x && PQntuples(x) == 1;
		PQclear(x);
		if (!ok) {
			res_error(r, 400, "unknown_dataset", tr(r, "datasets_err_unknown"), NULL);
			return;
		}
	} else
		ds = "";
	PGresult *res = DB_EXEC("INSERT INTO roster_imports (filename, mode, dry_run, size, created_by, dataset_id) VALUES ($1, $2, $3, "
				"$4::bigint, NULLIF($5, '0')::bigint, NULLIF($6, '')::bigint) RETURNING id",
				fname, is_zip ? "zip" : "csv", is_dry ? "true" : "false", sz, uid, ds);
	if (!res) {
		res_error(r, 500, "db", "could not record the import", NULL);
		return;
	}
	char id[32];
	snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	mkdir(config_data_path("roster"), 0750);
	mkdir(config_data_path("roster/imports"), 0750);
	char *dest = arena_printf(r->a, "%s/%s.%s", config_data_path("roster/imports"), id, is_zip ? "zip" : "csv");
	if (video_move_file(r->body_file, dest) < 0) {
		log_error("roster import %s: store %s: %s", id, dest, strerror(errno));
		DB_CMD("UPDATE roster_imports SET state = 'failed', error = 'could not store the upload', finished_at = now() "
		       "WHERE id = $1::bigint", id);
		res_error(r, 500, "store_failed", "could not store the upload", NULL);
		return;
	}
	long job;
	if (DB_CMD("UPDATE roster_imports SET path = $2 WHERE id = $1::bigint", id, dest) < 0 ||
	    enqueue_import(r, id, is_delta && !is_zip, &job) < 0) {
		res_error(r, 500, "db", "could not queue the import", NULL);
		return;
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "import_id", json_object_new_int64(atol(id)));
	json_object_object_add(d, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(d, "dry_run", json_object_new_boolean(is_dry));
	audit_record(r, NULL, "roster.import.upload", fname, d, 202, 0);
	json_object_put(d);
	json_object *o = json_object_new_object();
	json_object *imp = import_get(id);
	json_object_object_add(o, "import", imp ? imp : json_object_new_object());
	res_header(r, "Location", arena_printf(r->a, "/api/v1/roster/imports/%s", id));
	res_json(r, 202, o);
}

void h_api_roster_imports(req *r)
{
	int bad = 0;
	long before = req_query_long(r, "before", 0, 0, 1L << 62, &bad);
	if (bad) {
		res_error(r, 400, "bad_query", "before must be an import id", NULL);
		return;
	}
	char b[24];
	snprintf(b, sizeof b, "%ld", before);
	PGresult *res = DB_EXEC("SELECT " IMPORT_COLS IMPORT_FROM "WHERE ($1::bigint = 0 OR i.id < $1::bigint) "
				"ORDER BY i.id DESC LIMIT 50", b);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "imports", res ? db_rows_json(res) : json_object_new_array());
	PQclear(res);
	res_json(r, 200, o);
}

void h_api_roster_import(req *r)
{
	const char *id = id_param(r);
	json_object *imp = id ? import_get(id) : NULL;
	if (!imp) {
		not_found(r);
		return;
	}
	json_object *v;
	if (json_object_object_get_ex(imp, "job_message", &v) && v)   /* the live page shows it */
		json_object_object_add(imp, "job_message_label", json_object_new_string(job_message_label(r, json_object_get_string(v))));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "import", imp);
	res_json(r, 200, o);
}

static void findings_csv(req *r, const char *id, const char *filename)
{
	res_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"import-%s-findings.csv\"", id));
	res_header(r, "Cache-Control", "no-store");
	res_stream_begin(r, 200, "text/csv; charset=utf-8");
	buf b = {0};
	/* BOM: spreadsheet programs in Japanese locales otherwise read the file as Shift_JIS */
	buf_puts(&b, "\xef\xbb\xbf" "file,line,column,rule,severity,message_ja,message_en\r\n");
	char last[32] = "0";
	for (;;) {
		PGresult *res = DB_EXEC("SELECT id, file, line, col, rule, severity, message_ja, message_en FROM "
					"roster_import_findings WHERE import_id = $1::bigint AND id > $2::bigint ORDER BY id LIMIT 5000",
					id, last);
		int n = res ? PQntuples(res) : 0;
		for (int i = 0; i < n; i++) {
			for (int c = 1; c < 8; c++)
				rcsv_put_cell(&b, PQgetvalue(res, i, c), c == 1);
			buf_puts(&b, "\r\n");
			snprintf(last, sizeof last, "%s", PQgetvalue(res, i, 0));
		}
		PQclear(res);
		res_write(r, b.p ? b.p : "", b.len);
		buf_reset(&b);
		if (n < 5000)
			break;
	}
	buf_free(&b);
	(void)filename;
}

static json_object *finding_groups(req *r, const char *id)
{
	PGresult *res = DB_EXEC("SELECT file, rule, severity, count(*)::int AS count FROM roster_import_findings "
				"WHERE import_id = $1::bigint GROUP BY file, rule, severity ORDER BY file, severity, rule", id);
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	int en = r->lang && !strcmp(r->lang, "en");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *g = json_object_array_get_idx(a, i), *rule;
		json_object_object_get_ex(g, "rule", &rule);
		const struct rr_rule *rr = rr_rule(json_object_get_string(rule));
		if (rr)
			json_object_object_add(g, "description", json_object_new_string(en ? rr->en : rr->ja));
		json_object *sev;
		json_object_object_get_ex(g, "severity", &sev);
		json_object_object_add(g, "is_error", json_object_new_boolean(!strcmp(json_object_get_string(sev), "error")));
	}
	return a;
}

/* filter + page of findings: {"findings":[…], "total": n, "page": p, "pages": n} */
static json_object *findings_page(req *r, const char *id, int *bad)
{
	const char *file = req_query(r, "file"), *rule = req_query(r, "rule"), *sev = req_query(r, "severity");
	long page = req_query_long(r, "page", 1, 1, 1000000, bad);
	long per = req_query_long(r, "per_page", PER_PAGE, 1, 1000, bad);
	if (sev && *sev && strcmp(sev, "error") && strcmp(sev, "warning"))
		*bad = 1;
	if (*bad)
		return NULL;
	char lim[24], off[24];
	snprintf(lim, sizeof lim, "%ld", per);
	snprintf(off, sizeof off, "%ld", (page - 1) * per);
	const char *f = file && *file ? file : NULL, *ru = rule && *rule ? rule : NULL, *s = sev && *sev ? sev : NULL;
	PGresult *res = DB_EXEC("SELECT file, line::int AS line, col, rule, severity, message_ja, message_en, "
				"count(*) OVER ()::int AS total FROM roster_import_findings WHERE import_id = $1::bigint "
				"AND ($2::text IS NULL OR file = $2) AND ($3::text IS NULL OR rule = $3) "
				"AND ($4::text IS NULL OR severity = $4) ORDER BY id LIMIT $5::int OFFSET $6::bigint",
				id, f, ru, s, lim, off);
	json_object *a = json_object_new_array();
	long total = 0;
	int en = r->lang && !strcmp(r->lang, "en");
	for (int i = 0; res && i < PQntuples(res); i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "file", json_object_new_string(PQgetvalue(res, i, 0)));
		json_object_object_add(o, "line", json_object_new_int(atoi(PQgetvalue(res, i, 1))));
		json_object_object_add(o, "column", json_object_new_string(PQgetvalue(res, i, 2)));
		json_object_object_add(o, "rule", json_object_new_string(PQgetvalue(res, i, 3)));
		json_object_object_add(o, "severity", json_object_new_string(PQgetvalue(res, i, 4)));
		json_object_object_add(o, "is_error", json_object_new_boolean(!strcmp(PQgetvalue(res, i, 4), "error")));
		json_object *m = json_object_new_object();
		json_object_object_add(m, "ja", json_object_new_string(PQgetvalue(res, i, 5)));
		json_object_object_add(m, "en", json_object_new_string(PQgetvalue(res, i, 6)));
		json_object_object_add(o, "message", m);
		json_object_object_add(o, "text", json_object_new_string(PQgetvalue(res, i, en ? 6 : 5)));
		json_object_array_add(a, o);
		total = atol(PQgetvalue(res, i, 7));
	}
	if (res && PQntuples(res) == 0 && page > 1) {
		PGresult *c = DB_EXEC("SELECT count(*) FROM roster_import_findings WHERE import_id = $1::bigint "
				      "AND ($2::text IS NULL OR file = $2) AND ($3::text IS NULL OR rule = $3) "
				      "AND ($4::text IS NULL OR severity = $4)", id, f, ru, s);
		total = c ? atol(PQgetvalue(c, 0, 0)) : 0;
		PQclear(c);
	}
	PQclear(res);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "findings", a);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "page", json_object_new_int64(page));
	json_object_object_add(o, "per_page", json_object_new_int64(per));
	json_object_object_add(o, "pages", json_object_new_int64(total ? (total + per - 1) / per : 1));
	return o;
}

void h_api_roster_import_findings(req *r)
{
	const char *id = id_param(r);
	json_object *imp = id ? import_get(id) : NULL;
	if (!imp) {
		not_found(r);
		return;
	}
	json_object_put(imp);
	const char *fmt = req_query(r, "format");
	if (fmt && !strcmp(fmt, "csv")) {
		findings_csv(r, id, NULL);
		return;
	}
	int bad = 0;
	json_object *o = findings_page(r, id, &bad);
	if (!o) {
		res_error(r, 400, "bad_query", "page/per_page must be positive integers; severity error|warning", NULL);
		return;
	}
	json_object_object_add(o, "groups", finding_groups(r, id));
	res_json(r, 200, o);
}

/* ---- UI: imports ---- */

static json_object *page_ctx(req *r, const char *title_key, const char *script)
{
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, title_key)));
	json_object *st = json_object_new_array();
	json_object_array_add(st, json_object_new_string("/static/css/roster.css"));
	json_object_object_add(ctx, "styles", st);
	if (script) {
		json_object *sc = json_object_new_array();
		json_object_array_add(sc, json_object_new_string(script));
		json_object_object_add(ctx, "scripts", sc);
	}
	return ctx;
}

/* adds state_label, live (still running), counts_rows/errors/warnings for templates */
static void decorate_import(req *r, json_object *imp)
{
	json_object *v, *counts = NULL;
	if (json_object_object_get_ex(imp, "job_message", &v) && v)
		json_object_object_add(imp, "job_message_label", json_object_new_string(job_message_label(r, json_object_get_string(v))));
	const char *state = json_object_object_get_ex(imp, "state", &v) ? json_object_get_string(v) : "queued";
	json_object_object_add(imp, "state_label", json_object_new_string(tr(r, arena_printf(r->a, "roster_state_%s", state))));
	json_object_object_add(imp, "live", json_object_new_boolean(!strcmp(state, "queued") || !strcmp(state, "running")));
	json_object_object_get_ex(imp, "counts", &counts);
	long rows = 0, errs = 0, warns = 0;
	if (counts && json_object_object_get_ex(counts, "rows", &v)) rows = json_object_get_int64(v);
	if (counts && json_object_object_get_ex(counts, "errors", &v)) errs = json_object_get_int64(v);
	if (counts && json_object_object_get_ex(counts, "warnings", &v)) warns = json_object_get_int64(v);
	json_object *js = NULL;
	if (json_object_object_get_ex(imp, "job_stats", &js) && js && json_object_object_get_ex(js, "rows_per_s", &v))
		json_object_object_add(imp, "rows_per_s", json_object_new_int64(json_object_get_int64(v)));
	/* the stored error text is English (logs, API); the page says it in the reader's language */
	if (!strcmp(state, "failed") && errs > 0)
		json_object_object_add(imp, "error_text", json_object_new_string(tr(r, "roster_imports_err_validation")));
	else if (!strcmp(state, "held") || (!strcmp(state, "rejected") && json_object_object_get_ex(imp, "error", &v) && v &&
					       strstr(json_object_get_string(v), "quality check")))
		json_object_object_add(imp, "error_text", json_object_new_string(tr(r, !strcmp(state, "held")
			? "roster_imports_err_held" : "roster_imports_err_discarded")));
	else if (json_object_object_get_ex(imp, "error", &v) && v)
		json_object_object_add(imp, "error_text", json_object_get(v));
	json_object_object_add(imp, "n_rows", json_object_new_int64(rows));
	json_object_object_add(imp, "n_errors", json_object_new_int64(errs));
	json_object_object_add(imp, "n_warnings", json_object_new_int64(warns));
	/* per-file table */
	json_object *files = json_object_new_array();
	for (int i = 0; counts && i < RS_NFILES; i++) {
		json_object *fc;
		if (!json_object_object_get_ex(counts, rs_files[i].name, &fc))
			continue;
		json_object *row = json_object_get(fc);
		json_object_object_add(row, "name", json_object_new_string(rs_files[i].name));
		json_object_array_add(files, row);
	}
	json_object_object_add(imp, "has_files", json_object_new_boolean(json_object_array_length(files) > 0));
	json_object_object_add(imp, "files", files);
}

static const char *const import_times[] = {"created_at", "finished_at", NULL};

void h_roster_imports_list(req *r)
{
	PGresult *res = DB_EXEC0("SELECT " IMPORT_COLS IMPORT_FROM "ORDER BY i.id DESC LIMIT 100");
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++)
		decorate_import(r, json_object_array_get_idx(a, i));
	json_object *ctx = page_ctx(r, "roster_imports_title", "/static/js/roster-import.js");
	time_localize(r, a, TIME_LIST, import_times);
	json_object_object_add(ctx, "imports", a);
	json_object_object_add(ctx, "empty", json_object_new_boolean(json_object_array_length(a) == 0));
	res_html(r, 200, "roster/imports", ctx);
	json_object_put(ctx);
}

void h_roster_import_new(req *r)
{
	json_object *ctx = page_ctx(r, "roster_imports_new_title", "/static/js/roster-import.js");
	long max = config_get_int("roster_import_max_bytes", 2L << 30);
	json_object_object_add(ctx, "max_bytes", json_object_new_int64(max));
	json_object_object_add(ctx, "max_mb", json_object_new_int64(max >> 20));
	res_html(r, 200, "roster/imports_new", ctx);
	json_object_put(ctx);
}

static json_object *pager(req *r, const char *id, json_object *page)
{
	json_object *v;
	long p = json_object_object_get_ex(page, "page", &v) ? json_object_get_int64(v) : 1;
	long n = json_object_object_get_ex(page, "pages", &v) ? json_object_get_int64(v) : 1;
	const char *file = req_query(r, "file"), *rule = req_query(r, "rule");
	const char *q = arena_printf(r->a, "%s%s%s%s", file && *file ? "&file=" : "", file && *file ? url_encode(r->a, file) : "",
				     rule && *rule ? "&rule=" : "", rule && *rule ? url_encode(r->a, rule) : "");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "page", json_object_new_int64(p));
	json_object_object_add(o, "pages", json_object_new_int64(n));
	if (p > 1)
		json_object_object_add(o, "prev", json_object_new_string(arena_printf(r->a, "/admin/roster/imports/%s?page=%ld%s#findings", id, p - 1, q)));
	if (p < n)
		json_object_object_add(o, "next", json_object_new_string(arena_printf(r->a, "/admin/roster/imports/%s?page=%ld%s#findings", id, p + 1, q)));
	json_object_object_add(o, "csv", json_object_new_string(arena_printf(r->a, "/api/v1/roster/imports/%s/findings?format=csv", id)));
	return o;
}

void h_roster_import_show(req *r)
{
	const char *id = id_param(r);
	json_object *imp = id ? import_get(id) : NULL;
	if (!imp) {
		not_found(r);
		return;
	}
	decorate_import(r, imp);
	int bad = 0;
	json_object *page = findings_page(r, id, &bad);
	if (!page) {
		json_object_put(imp);
		res_error(r, 400, "bad_query", tr(r, "roster_imports_err_query"), NULL);
		return;
	}
	json_object *ctx = page_ctx(r, "roster_imports_show_title", "/static/js/roster-import.js");
	json_object *groups = finding_groups(r, id);
	for (size_t i = 0; i < json_object_array_length(groups); i++) {
		json_object *g = json_object_array_get_idx(groups, i), *f, *ru;
		json_object_object_get_ex(g, "file", &f);
		json_object_object_get_ex(g, "rule", &ru);
		json_object_object_add(g, "href", json_object_new_string(arena_printf(r->a,
			"/admin/roster/imports/%s?file=%s&rule=%s#findings", id, url_encode(r->a, json_object_get_string(f)),
			url_encode(r->a, json_object_get_string(ru)))));
	}
	json_object_object_add(ctx, "groups", groups);
	json_object_object_add(ctx, "has_groups", json_object_new_boolean(json_object_array_length(groups) > 0));
	json_object_object_add(ctx, "pager", pager(r, id, page));
	const char *file = req_query(r, "file"), *rule = req_query(r, "rule");
	if ((file && *file) || (rule && *rule)) {
		json_object *flt = json_object_new_object();
		json_object_object_add(flt, "file", json_object_new_string(file ? file : ""));
		json_object_object_add(flt, "rule", json_object_new_string(rule ? rule : ""));
		json_object_object_add(flt, "all", json_object_new_string(arena_printf(r->a, "/admin/roster/imports/%s#findings", id)));
		json_object_object_add(ctx, "filter", flt);
	}
	json_object_object_add(ctx, "page", page);
	time_localize(r, imp, TIME_LIST, import_times);
	json_object_object_add(ctx, "import", imp);
	res_html(r, 200, "roster/imports_show", ctx);
	json_object_put(ctx);
}

/* POST /admin/roster/imports/:id/rerun — same stored file, a new import row (history stays) */
void h_roster_import_rerun(req *r)
{
	const char *id = id_param(r);
	if (!id) {
		not_found(r);
		return;
	}
	const char *dry = req_form(r, "dry_run");
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", r->user ? r->user->id : 0L);
	PGresult *res = DB_EXEC("INSERT INTO roster_imports (filename, path, size, mode, dry_run, created_by, dataset_id) "
				"SELECT filename, path, size, mode, $2, NULLIF($3, '0')::bigint, dataset_id FROM roster_imports "
				"WHERE id = $1::bigint AND path IS NOT NULL RETURNING id, "
				"(SELECT COALESCE((j.payload ->> 'delta')::boolean, false) FROM roster_imports o "
				" JOIN jobs j ON j.id = o.job_id WHERE o.id = $1::bigint)",
				id, dry && *dry ? "true" : "false", uid);
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		not_found(r);
		return;
	}
	char nid[32];
	snprintf(nid, sizeof nid, "%s", PQgetvalue(res, 0, 0));
	int delta = !strcmp(PQgetvalue(res, 0, 1), "t");
	PQclear(res);
	long job;
	if (enqueue_import(r, nid, delta, &job) < 0) {
		res_error(r, 500, "db", "could not queue the import", NULL);
		return;
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "rerun_of", json_object_new_int64(atol(id)));
	audit_record(r, NULL, "roster.import.rerun", nid, d, 303, 0);
	json_object_put(d);
	res_redirect(r, arena_printf(r->a, "/admin/roster/imports/%s", nid));
}

/* ---- exports ---- */

static int create_export(req *r, const char *since, char *id, size_t idlen)
{
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", r->user ? r->user->id : 0L);
	int delta = since && *since;
	PGresult *res = DB_EXEC("INSERT INTO roster_exports (mode, since, created_by) VALUES ($1, $2::timestamptz, "
				"NULLIF($3, '0')::bigint) RETURNING id", delta ? "delta" : "bulk", delta ? since : NULL, uid);
	if (!res)
		return -1;
	snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	json_object *p = json_object_new_object();
	json_object_object_add(p, "export_id", json_object_new_int64(atol(id)));
	long job = job_enqueue("roster_export", p, r->user ? r->user->id : 0);
	json_object_put(p);
	if (job < 0)
		return -1;
	char js[32];
	snprintf(js, sizeof js, "%ld", job);
	DB_CMD("UPDATE roster_exports SET job_id = $2::bigint WHERE id = $1::bigint", id, js);
	json_object *d = json_object_new_object();
	json_object_object_add(d, "since", delta ? json_object_new_string(since) : NULL);
	audit_record(r, NULL, "roster.export.start", id, d, 202, 0);
	json_object_put(d);
	return 0;
}

static json_object *export_get(const char *id)
{
	PGresult *res = DB_EXEC("SELECT " EXPORT_COLS " FROM roster_exports e LEFT JOIN jobs j ON j.id = e.job_id "
				"WHERE e.id = $1::bigint", id);
	json_object *o = res && PQntuples(res) == 1 ? db_row_json(res, 0) : NULL;
	PQclear(res);
	return o;
}

static const char *valid_since(req *r, const char *since)
{
	if (!since || !*since)
		return NULL;
	/* <input type="datetime-local"> sends 2026-05-01T09:30 or …T09:30:15 (no zone): the admin means Japan time */
	size_t n = strlen(since);
	if ((n == 16 || n == 19) && since[10] == 'T')
		since = arena_printf(r->a, "%s%s+09:00", since, n == 16 ? ":00" : "");
	return rr_datetime_ok(since) ? since : "";
}

/* POST /api/v1/roster/exports {"since": "2026-05-01T00:00:00Z"} (or ?since=); no since = bulk */
void h_api_roster_export_create(req *r)
{
	const char *since = req_query(r, "since");
	json_object *v;
	if (!since && r->json && json_object_object_get_ex(r->json, "since", &v) && json_object_is_type(v, json_type_string))
		since = json_object_get_string(v);
	since = valid_since(r, since);
	if (since && !*since) {
		res_error(r, 400, "bad_since", tr(r, "roster_exports_err_since"), NULL);
		return;
	}
	char id[32];
	if (create_export(r, since, id, sizeof id) < 0) {
		res_error(r, 500, "db", "could not queue the export", NULL);
		return;
	}
	json_object *o = json_object_new_object();
	json_object *e = export_get(id);
	json_object_object_add(o, "export", e ? e : json_object_new_object());
	res_header(r, "Location", arena_printf(r->a, "/api/v1/roster/exports/%s", id));
	res_json(r, 202, o);
}

void h_api_roster_export(req *r)
{
	const char *id = id_param(r);
	json_object *e = id ? export_get(id) : NULL;
	if (!e) {
		not_found(r);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "export", e);
	res_json(r, 200, o);
}

void h_api_roster_export_download(req *r)
{
	const char *id = id_param(r);
	PGresult *res = id ? DB_EXEC("SELECT path, " TS("created_at") " FROM roster_exports WHERE id = $1::bigint "
				     "AND state = 'done' AND path IS NOT NULL", id) : NULL;
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		not_found(r);
		return;
	}
	char path[1024];
	snprintf(path, sizeof path, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		not_found(r);
		return;
	}
	struct stat st;
	fstat(fd, &st);
	res_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"oneroster-export-%s.zip\"", id));
	res_header(r, "Content-Length", arena_printf(r->a, "%lld", (long long)st.st_size));
	res_header(r, "Cache-Control", "no-store");
	res_stream_begin(r, 200, "application/zip");
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		res_write(r, chunk, (size_t)n);
	close(fd);
	audit_record(r, NULL, "roster.export.download", id, NULL, 200, 0);
}

void h_roster_exports_list(req *r)
{
	PGresult *res = DB_EXEC0("SELECT " EXPORT_COLS " FROM roster_exports e LEFT JOIN jobs j ON j.id = e.job_id "
				 "ORDER BY e.id DESC LIMIT 100");
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;
		const char *state = json_object_object_get_ex(e, "state", &v) ? json_object_get_string(v) : "queued";
		json_object_object_add(e, "state_label", json_object_new_string(tr(r, arena_printf(r->a, "roster_state_%s", state))));
		json_object_object_add(e, "is_done", json_object_new_boolean(!strcmp(state, "done")));
		json_object_object_add(e, "live", json_object_new_boolean(!strcmp(state, "queued") || !strcmp(state, "running")));
		json_object_object_get_ex(e, "mode", &v);
		json_object_object_add(e, "mode_label", json_object_new_string(tr(r, !strcmp(json_object_get_string(v), "delta")
										     ? "roster_exports_delta" : "roster_exports_bulk")));
	}
	json_object *ctx = page_ctx(r, "roster_exports_title", "/static/js/roster-import.js");
	time_localize(r, a, TIME_LIST, import_times);
	json_object_object_add(ctx, "exports", a);
	json_object_object_add(ctx, "empty", json_object_new_boolean(json_object_array_length(a) == 0));
	const char *err = req_query(r, "error");
	if (err && !strcmp(err, "since"))
		json_object_object_add(ctx, "error", json_object_new_string(tr(r, "roster_exports_err_since")));
	res_html(r, 200, "roster/exports", ctx);
	json_object_put(ctx);
}

/* POST /admin/roster/exports (form: mode=bulk|delta, since) */
void h_roster_export_create(req *r)
{
	const char *mode = req_form(r, "mode");
	const char *since = mode && !strcmp(mode, "delta") ? valid_since(r, req_form(r, "since")) : NULL;
	if (mode && !strcmp(mode, "delta") && (!since || !*since)) {
		res_redirect(r, "/admin/roster/exports?error=since");
		return;
	}
	char id[32];
	if (create_export(r, since, id, sizeof id) < 0) {
		res_error(r, 500, "db", "could not queue the export", NULL);
		return;
	}
	res_redirect(r, "/admin/roster/exports");
}
