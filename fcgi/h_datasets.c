/* Dataset pages and API: list with search, a dataset's settings and version timeline, a version (metadata, quality,
 * download with ETag = sha256 and byte ranges, apply or discard a held draft), the diff of two versions per entity
 * and the quality page (trend per metric, offending rows, CSV). Versions are made by the jobs (dataset.c). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit.h"
#include "chart.h"
#include "dataset.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "quality_rules.h"
#include "roster_csv.h"
#include "router.h"
#include "timefmt.h"
#include "ui.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define PER_PAGE 50
#define DS_COLS "d.id, d.name, d.description, d.kind, d.is_default, d.block_on_fail, d.check_schedule, d.keep_versions, " \
	"d.keep_days, d.thresholds, " TS("d.created_at") " AS created_at, u.email AS owner_email, " \
	"(SELECT count(*) FROM dataset_versions v WHERE v.dataset_id = d.id)::int AS versions, " \
	"(SELECT v.number FROM dataset_versions v WHERE v.dataset_id = d.id AND v.status = 'published') AS current_number"
#define DS_FROM " FROM datasets d LEFT JOIN users u ON u.id = d.owner_id "
#define V_COLS "v.id, v.number, v.status, v.source, v.import_id, v.export_id, v.filename, v.sha256, v.size, v.row_counts, " \
	"v.metadata, v.findings, " TS("v.created_at") " AS created_at, " TS("v.published_at") " AS published_at, " \
	"u.email AS created_by_email, i.state AS import_state, " \
	"(SELECT c.result FROM dataset_checks c WHERE c.version_id = v.id ORDER BY c.id DESC LIMIT 1) AS quality"
#define V_FROM " FROM dataset_versions v LEFT JOIN users u ON u.id = v.created_by LEFT JOIN roster_imports i ON i.id = v.import_id "

static const char *const time_fields[] = {"created_at", "published_at", NULL};

static void not_found(req *r) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); }
static void add_str(json_object *o, const char *k, const char *v) { json_object_object_add(o, k, json_object_new_string(v ? v : "")); }
static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

/* the catalog label of a code value: prefix + the code ("datasets_kind_" + "roster_import") */
static const char *code_label(req *r, const char *prefix, const char *code)
{
	return tr(r, arena_printf(r->a, "%s%s", prefix, code ? code : ""));
}

/* a text field of a request body: only a JSON string counts */
static const char *jtext(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static const char *id_str(req *r, const char *name)
{
	return req_param_id(r, name) ? req_param(r, name) : NULL;
}

static json_object *dataset_get(const char *id)
{
	PGresult *res = DB_EXEC("SELECT " DS_COLS DS_FROM "WHERE d.id = $1::bigint", id);
	json_object *o = res && PQntuples(res) == 1 ? db_row_json(res, 0) : NULL;
	PQclear(res);
	return o;
}

static json_object *version_get(const char *ds, const char *n)
{
	PGresult *res = DB_EXEC("SELECT " V_COLS V_FROM "WHERE v.dataset_id = $1::bigint AND v.number = $2::int", ds, n);
	json_object *o = res && PQntuples(res) == 1 ? db_row_json(res, 0) : NULL;
	PQclear(res);
	return o;
}

/* ---- labels for pages ---- */

static void label_dataset(req *r, json_object *d)
{
	add_str(d, "kind_label", code_label(r, "datasets_kind_", jstr(d, "kind")));
	json_object *v;
	json_object_object_add(d, "has_current", json_object_new_boolean(json_object_object_get_ex(d, "current_number", &v) && v));
}

static void label_version(req *r, json_object *v)
{
	const char *st = jstr(v, "status"), *q = jstr(v, "quality"), *is = jstr(v, "import_state");
	add_str(v, "status_label", tr(r, arena_printf(r->a, "datasets_status_%s", st ? st : "draft")));
	add_str(v, "source_label", code_label(r, "datasets_kind_", jstr(v, "source")));
	if (q) add_str(v, "quality_label", tr(r, arena_printf(r->a, "quality_result_%s", q)));
	json_object_object_add(v, "held", json_object_new_boolean(is && !strcmp(is, "held") && st && !strcmp(st, "draft")));
}

static json_object *page_ctx(req *r, const char *title)
{
	(void)r;
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", title);
	json_object *st = json_object_new_array();
	json_object_array_add(st, json_object_new_string("/static/css/stats.css"));
	json_object_array_add(st, json_object_new_string("/static/css/datasets.css"));
	json_object_object_add(ctx, "styles", st);
	json_object *sc = json_object_new_array();
	json_object_array_add(sc, json_object_new_string("/static/js/confirm.js"));
	json_object_object_add(ctx, "scripts", sc);
	return ctx;
}

/* ---- list and create ---- */

static json_object *list_rows(req *r, long *total, long *page, const char **q)
{
	int bad = 0;
	*q = req_query(r, "q");
	if (!*q) *q = "";
	*page = req_query_long(r, "page", 1, 1, 100000, &bad);
	char off[24], pat[300];
	snprintf(off, sizeof off, "%ld", (*page - 1) * PER_PAGE);
	/* the search is a plain substring of name or description: % and _ typed by people match themselves */
	buf b = {0};
	for (const char *p = *q; *p && b.len < 250; p++) {
		if (*p == '%' || *p == '_' || *p == '\\') buf_puts(&b, "\\");
		buf_append(&b, p, 1);
	}
	snprintf(pat, sizeof pat, "%%%s%%", b.p ? b.p : "");
	buf_free(&b);
	PGresult *res = DB_EXEC("SELECT " DS_COLS ", count(*) OVER () AS total" DS_FROM
				"WHERE d.name ILIKE $1 OR d.description ILIKE $1 ORDER BY d.is_default DESC, d.name, d.id "
				"LIMIT 50 OFFSET $2::bigint", pat, off);
	if (!res) return NULL;
	*total = PQntuples(res) ? atol(PQgetvalue(res, 0, PQfnumber(res, "total"))) : 0;
	json_object *a = db_rows_json(res);
	PQclear(res);
	return a;
}

void h_api_datasets(req *r)
{
	long total, page;
	const char *q;
	json_object *a = list_rows(r, &total, &page, &q);
	if (!a) { res_unavailable(r); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "datasets", a);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "page", json_object_new_int64(page));
	res_json(r, 200, o);
}

void h_datasets_list(req *r)
{
	long total, page;
	const char *q;
	json_object *a = list_rows(r, &total, &page, &q);
	if (!a) { res_unavailable(r); return; }
	for (size_t i = 0; i < json_object_array_length(a); i++) label_dataset(r, json_object_array_get_idx(a, i));
	json_object *ctx = page_ctx(r, tr(r, "datasets_title"));
	time_localize(r, a, TIME_LIST, time_fields);
	json_object_object_add(ctx, "datasets", a);
	json_object_object_add(ctx, "empty", json_object_new_boolean(json_object_array_length(a) == 0));
	add_str(ctx, "q", q);
	json_object_object_add(ctx, "pager", ui_pager(r, arena_printf(r->a, "/admin/datasets?q=%s", url_encode(r->a, q)), page,
						      PER_PAGE, total));
	const char *err = req_query(r, "error");
	if (err && !strcmp(err, "name")) add_str(ctx, "error", tr(r, "datasets_err_name"));
	res_html(r, 200, "datasets/list", ctx);
	json_object_put(ctx);
}

/* 0 ok (id in out), else a catalog key */
static const char *create(req *r, const char *name, const char *desc, char *out, size_t outlen)
{
	if (!dataset_name_valid(name)) return "datasets_err_name";
	if (desc && strlen(desc) > 6000) return "datasets_err_description";
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", r->user ? r->user->id : 0L);
	PGresult *res = DB_EXEC("INSERT INTO datasets (name, description, kind, owner_id) VALUES ($1, $2, 'roster_import', "
				"NULLIF($3, '0')::bigint) RETURNING id", name, desc ? desc : "", uid);
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		return !strcmp(db_sqlstate(), "23514") ? "datasets_err_description" : "error_db";
	}
	snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	json_object *d = json_object_new_object();
	add_str(d, "name", name);
	audit_record(r, NULL, "dataset.create", out, d, 201, 1);
	json_object_put(d);
	return NULL;
}

void h_api_dataset_create(req *r)
{
	char id[24];
	const char *err = create(r, jtext(r->json, "name"), jtext(r->json, "description"), id, sizeof id);
	if (err) {
		res_error(r, strcmp(err, "error_db") ? 400 : 500, strcmp(err, "error_db") ? "invalid" : "db", tr(r, err), NULL);
		return;
	}
	res_header(r, "Location", arena_printf(r->a, "/api/v1/datasets/%s", id));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "dataset", dataset_get(id));
	res_json(r, 201, o);
}

void h_dataset_create(req *r)
{
	char id[24];
	/* a body that is not a urlencoded form (e.g. JSON posted here) is refused, not read as an empty name */
	if (!req_form_posted(r)) { res_error(r, 400, "no_form", tr(r, "settings_err_no_form"), NULL); return; }
	const char *err = create(r, req_form(r, "name"), req_form(r, "description"), id, sizeof id);
	if (err) { res_redirect(r, "/admin/datasets?error=name"); return; }
	res_redirect(r, arena_printf(r->a, "/admin/datasets/%s", id));
}

/* ---- settings: one validation for the form and the JSON body ---- */

static int num_in(json_object *v, double lo, double hi, double *out)
{
	if (!v) return 0;
	double d;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		if (!*s || strlen(s) > 20) return 0;
		d = strtod(s, &end);
		if (*end) return 0;
	} else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) d = json_object_get_double(v);
	else return 0;
	if (!isfinite(d) || d < lo || d > hi) return 0;
	*out = d;
	return 1;
}

/* Validate and save {name, description, block_on_fail, check_schedule, keep_versions, keep_days, thresholds};
 * NULL ok, else a catalog key (nothing saved). */
static const char *update(req *r, const char *id, json_object *in)
{
	json_object *v, *th = json_object_new_object();
	const char *name = jtext(in, "name"), *desc = jtext(in, "description"), *sched = jtext(in, "check_schedule");
	static const char *const texts[] = {"name", "description", "check_schedule"};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (json_object_object_get_ex(in, texts[i], &v) && !json_object_is_type(v, json_type_string)) {
			json_object_put(th);
			return texts[i][0] == 'c' ? "datasets_err_schedule" : texts[i][0] == 'n' ? "datasets_err_name" : "datasets_err_description";
		}
	char kv[24] = "", kd[24] = "", blk[8] = "";
	const char *err = NULL;
	double x;
	if (name && !dataset_name_valid(name)) { err = "datasets_err_name"; goto out; }
	if (desc && strlen(desc) > 6000) { err = "datasets_err_description"; goto out; }
	struct quality_cron c;
	if (sched && *sched && quality_cron_parse(sched, &c) < 0) { err = "datasets_err_schedule"; goto out; }
	if (json_object_object_get_ex(in, "keep_versions", &v)) {
		if (!num_in(v, 1, 10000, &x) || x != floor(x)) { err = "datasets_err_keep"; goto out; }
		snprintf(kv, sizeof kv, "%.0f", x);
	}
	if (json_object_object_get_ex(in, "keep_days", &v)) {
		if (!num_in(v, 0, 36500, &x) || x != floor(x)) { err = "datasets_err_keep"; goto out; }
		snprintf(kd, sizeof kd, "%.0f", x);
	}
	if (json_object_object_get_ex(in, "block_on_fail", &v)) {
		int on = json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
			 : json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), "1");
		snprintf(blk, sizeof blk, "%s", on ? "true" : "false");
	}
	if (json_object_object_get_ex(in, "thresholds", &v)) {
		if (!json_object_is_type(v, json_type_object)) { err = "datasets_err_threshold"; goto out; }
		json_object_object_foreach(v, key, t) {
			const struct quality_metric *m = quality_metric_find(key);
			double w, f;
			json_object *wv = NULL, *fv = NULL;
			if (!m || !json_object_is_type(t, json_type_object) || !json_object_object_get_ex(t, "warn", &wv) ||
			    !json_object_object_get_ex(t, "fail", &fv) || !num_in(wv, 0, 100, &w) || !num_in(fv, 0, 100, &f) ||
			    !quality_threshold_valid(w, f)) {
				err = "datasets_err_threshold";
				goto out;
			}
			json_object *o = json_object_new_object();
			json_object_object_add(o, "warn", json_object_new_double(w));
			json_object_object_add(o, "fail", json_object_new_double(f));
			json_object_object_add(th, key, o);
		}
	}
	int has_th = json_object_object_get_ex(in, "thresholds", &v);
	if (DB_CMD("UPDATE datasets SET name = COALESCE($2, name), description = COALESCE($3, description), "
		   "check_schedule = COALESCE($4, check_schedule), keep_versions = COALESCE(NULLIF($5, '')::int, keep_versions), "
		   "keep_days = COALESCE(NULLIF($6, '')::int, keep_days), block_on_fail = COALESCE(NULLIF($7, '')::boolean, "
		   "block_on_fail), thresholds = CASE WHEN $8 = '1' THEN thresholds || $9::jsonb ELSE thresholds END "
		   "WHERE id = $1::bigint", id, name, desc, sched, kv, kd, blk, has_th ? "1" : "0",
		   json_object_to_json_string_ext(th, JSON_C_TO_STRING_PLAIN)) < 0) {
		err = "error_db";
		goto out;
	}
	audit_record(r, NULL, "dataset.update", id, in, 200, 1);
out:
	json_object_put(th);
	return err;
}

/* The metrics with their effective thresholds, for the settings form and the API. */
static json_object *threshold_rows(req *r, json_object *over)
{
	json_object *a = json_object_new_array();
	for (int i = 0; i < nquality_metrics; i++) {
		const struct quality_metric *m = &quality_metrics[i];
		json_object *o = json_object_new_object(), *t, *v;
		double w = m->warn, f = m->fail;
		if (over && json_object_object_get_ex(over, m->key, &t)) {
			if (json_object_object_get_ex(t, "warn", &v)) w = json_object_get_double(v);
			if (json_object_object_get_ex(t, "fail", &v)) f = json_object_get_double(v);
		}
		add_str(o, "metric", m->key);
		if (r) add_str(o, "label", tr(r, arena_printf(r->a, "quality_metric_%s", m->key)));
		json_object_object_add(o, "warn", json_object_new_double(w));
		json_object_object_add(o, "fail", json_object_new_double(f));
		json_object_array_add(a, o);
	}
	return a;
}

void h_api_dataset_update(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	json_object_put(d);
	if (!r->json || !json_object_is_type(r->json, json_type_object)) {
		res_error(r, 400, "invalid", tr(r, "datasets_err_body"), NULL);
		return;
	}
	const char *err = update(r, id, r->json);
	if (err) {
		res_error(r, strcmp(err, "error_db") ? 400 : 500, strcmp(err, "error_db") ? "invalid" : "db", tr(r, err), NULL);
		return;
	}
	json_object *o = json_object_new_object();
	d = dataset_get(id);
	json_object_object_add(d, "effective_thresholds", threshold_rows(NULL, json_object_object_get(d, "thresholds")));
	json_object_object_add(o, "dataset", d);
	res_json(r, 200, o);
}

/* ---- one dataset ---- */

static json_object *versions_of(const char *id)
{
	PGresult *res = DB_EXEC("SELECT " V_COLS V_FROM "WHERE v.dataset_id = $1::bigint ORDER BY v.number DESC LIMIT 500", id);
	json_object *a = res ? db_rows_json(res) : NULL;
	PQclear(res);
	return a;
}

void h_api_dataset(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	json_object_object_add(d, "effective_thresholds", threshold_rows(NULL, json_object_object_get(d, "thresholds")));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "dataset", d);
	res_json(r, 200, o);
}

void h_api_dataset_versions(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	json_object_put(d);
	json_object *a = versions_of(id);
	if (!a) { res_unavailable(r); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "versions", a);
	res_json(r, 200, o);
}

static void dataset_page(req *r, int status, const char *error)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	label_dataset(r, d);
	json_object *ctx = page_ctx(r, jstr(d, "name"));
	json_object *vs = versions_of(id);
	if (!vs) vs = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(vs); i++) label_version(r, json_object_array_get_idx(vs, i));
	time_localize(r, vs, TIME_LIST, time_fields);
	json_object_object_add(ctx, "thresholds", threshold_rows(r, json_object_object_get(d, "thresholds")));
	json_object_object_add(ctx, "dataset", d);
	json_object_object_add(ctx, "versions", vs);
	json_object_object_add(ctx, "has_versions", json_object_new_boolean(json_object_array_length(vs) > 0));
	json_object_object_add(ctx, "can_diff", json_object_new_boolean(json_object_array_length(vs) > 1));
	json_object_object_add(ctx, "is_roster", json_object_new_boolean(!strcmp(jstr(d, "kind"), "roster_import")));
	if (error) add_str(ctx, "error", tr(r, error));
	const char *saved = req_query(r, "saved");
	if (saved && !error) add_str(ctx, "notice", tr(r, !strcmp(saved, "check") ? "datasets_check_queued"
						       : !strcmp(saved, "retention") ? "datasets_retention_done" : "datasets_saved"));
	res_html(r, status, "datasets/show", ctx);
	json_object_put(ctx);
}

void h_dataset_show(req *r) { dataset_page(r, 200, NULL); }

/* POST /admin/datasets/:id (form) */
void h_dataset_update(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	json_object_put(d);
	json_object *in = json_object_new_object();
	static const char *const fields[] = {"name", "description", "check_schedule", "keep_versions", "keep_days"};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (req_form(r, fields[i])) add_str(in, fields[i], req_form(r, fields[i]));
	add_str(in, "block_on_fail", req_form(r, "block_on_fail") ? "1" : "0");
	json_object *th = json_object_new_object();
	for (int i = 0; i < nquality_metrics; i++) {
		const char *w = req_form(r, arena_printf(r->a, "warn_%s", quality_metrics[i].key));
		const char *f = req_form(r, arena_printf(r->a, "fail_%s", quality_metrics[i].key));
		if (!w && !f) continue;
		json_object *o = json_object_new_object();
		add_str(o, "warn", w);
		add_str(o, "fail", f);
		json_object_object_add(th, quality_metrics[i].key, o);
	}
	json_object_object_add(in, "thresholds", th);
	const char *err = update(r, id, in);
	json_object_put(in);
	if (err) { dataset_page(r, 400, err); return; }
	res_redirect(r, arena_printf(r->a, "/admin/datasets/%s?saved=1", id));
}

static long enqueue_check(req *r, const char *id)
{
	json_object *p = json_object_new_object();
	json_object_object_add(p, "dataset_id", json_object_new_int64(atol(id)));
	add_str(p, "trigger", "manual");
	long job = job_enqueue("dataset_check", p, r->user ? r->user->id : 0);
	json_object_put(p);
	audit_record(r, NULL, "dataset.check", id, NULL, job < 0 ? 500 : 202, 0);
	return job;
}

void h_dataset_check(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	json_object_put(d);
	if (enqueue_check(r, id) < 0) { res_unavailable(r); return; }
	res_redirect(r, arena_printf(r->a, "/admin/datasets/%s?saved=check", id));
}

void h_api_dataset_check(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	json_object_put(d);
	long job = enqueue_check(r, id);
	if (job < 0) { res_unavailable(r); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "job_id", json_object_new_int64(job));
	res_json(r, 202, o);
}

void h_api_dataset_retention(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	json_object_put(d);
	long n = dataset_retention(atol(id));
	if (n < 0) { res_unavailable(r); return; }
	audit_record(r, NULL, "dataset.retention", id, NULL, 200, n);
	if (!req_wants_json(r)) { res_redirect(r, arena_printf(r->a, "/admin/datasets/%s?saved=retention", id)); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "deleted", json_object_new_int64(n));
	res_json(r, 200, o);
}

/* ---- a version ---- */

/* the newest check of a version with its metrics */
static json_object *latest_check(req *r, long version_id)
{
	char v[24];
	snprintf(v, sizeof v, "%ld", version_id);
	PGresult *res = DB_EXEC("SELECT c.id, c.trigger, c.result, " TS("c.created_at") " AS created_at FROM dataset_checks c "
				"WHERE c.version_id = $1::bigint ORDER BY c.id DESC LIMIT 1", v);
	if (!res || PQntuples(res) != 1) { PQclear(res); return NULL; }
	json_object *c = db_row_json(res, 0);
	PQclear(res);
	res = DB_EXEC("SELECT metric, offending, total, round(value::numeric, 2)::float8 AS value, warn, fail, result "
		      "FROM dataset_metrics WHERE check_id = $1::bigint ORDER BY metric", jstr(c, "id"));
	json_object *m = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	for (size_t i = 0; r && i < json_object_array_length(m); i++) {
		json_object *x = json_object_array_get_idx(m, i);
		add_str(x, "label", code_label(r, "quality_metric_", jstr(x, "metric")));
		add_str(x, "result_label", code_label(r, "quality_result_", jstr(x, "result")));
		json_object *o;
		json_object_object_add(x, "has_rows", json_object_new_boolean(json_object_object_get_ex(x, "offending", &o) &&
									  json_object_get_int64(o) > 0));
	}
	if (r) {
		add_str(c, "result_label", code_label(r, "quality_result_", jstr(c, "result")));
		add_str(c, "trigger_label", code_label(r, "quality_trigger_", jstr(c, "trigger")));
	}
	json_object_object_add(c, "metrics", m);
	return c;
}

static long jlong(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && v ? (long)json_object_get_int64(v) : 0;
}

void h_api_dataset_version(req *r)
{
	const char *id = id_str(r, "id"), *n = id_str(r, "n");
	json_object *v = id && n ? version_get(id, n) : NULL;
	if (!v) { not_found(r); return; }
	json_object *c = latest_check(NULL, jlong(v, "id"));
	json_object_object_add(v, "quality", c);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version", v);
	res_json(r, 200, o);
}

void h_dataset_version(req *r)
{
	const char *id = id_str(r, "id"), *n = id_str(r, "n");
	json_object *d = id ? dataset_get(id) : NULL;
	json_object *v = d && n ? version_get(id, n) : NULL;
	if (!v) { json_object_put(d); not_found(r); return; }
	label_version(r, v);
	json_object *c = latest_check(r, jlong(v, "id"));
	json_object *ctx = page_ctx(r, arena_printf(r->a, "%s v%s", jstr(d, "name"), n));
	/* row counts and metadata as lists for the template */
	json_object *rows = json_object_new_array(), *meta = json_object_new_array();
	json_object_object_foreach(json_object_object_get(v, "row_counts"), k, val) {
		json_object *o = json_object_new_object();
		add_str(o, "entity", k);
		json_object_object_add(o, "rows", json_object_get(val));
		json_object_array_add(rows, o);
	}
	json_object_object_foreach(json_object_object_get(v, "metadata"), mk, mv) {
		json_object *o = json_object_new_object();
		add_str(o, "key", mk);
		add_str(o, "value", json_object_get_string(mv));
		json_object_array_add(meta, o);
	}
	json_object *f = json_object_object_get(v, "findings");
	json_object_object_add(ctx, "errors", json_object_new_int64(jlong(f, "errors")));
	json_object_object_add(ctx, "warnings", json_object_new_int64(jlong(f, "warnings")));
	time_localize(r, v, TIME_LIST, time_fields);
	if (c) time_localize(r, c, TIME_LIST, time_fields);
	json_object_object_add(ctx, "row_counts", rows);
	json_object_object_add(ctx, "has_metadata", json_object_new_boolean(json_object_array_length(meta) > 0));
	json_object_object_add(ctx, "metadata", meta);
	json_object_object_add(ctx, "check", c);
	json_object_object_add(ctx, "dataset", d);
	json_object_object_add(ctx, "version", v);
	const char *done = req_query(r, "done");
	if (done) add_str(ctx, "notice", tr(r, !strcmp(done, "apply") ? "datasets_apply_queued" : "datasets_discarded"));
	res_html(r, 200, "datasets/version", ctx);
	json_object_put(ctx);
}

/* apply (run the held import again without holding) or discard a held draft */
static int held_action(req *r, int apply, long *job)
{
	const char *id = id_str(r, "id"), *n = id_str(r, "n");
	json_object *v = id && n ? version_get(id, n) : NULL;
	if (!v) { not_found(r); return -1; }
	const char *is = jstr(v, "import_state"), *st = jstr(v, "status");
	char imp[24];
	snprintf(imp, sizeof imp, "%ld", jlong(v, "import_id"));
	int held = is && !strcmp(is, "held") && st && !strcmp(st, "draft");
	long vid = jlong(v, "id");
	json_object_put(v);
	if (!held) { res_error(r, 409, "not_held", tr(r, "datasets_err_not_held"), NULL); return -1; }
	*job = 0;
	if (apply) {
		PGresult *x = DB_EXEC("SELECT COALESCE((j.payload ->> 'delta')::boolean, false) FROM roster_imports i "
				      "LEFT JOIN jobs j ON j.id = i.job_id WHERE i.id = $1::bigint", imp);
		int delta = x && PQntuples(x) == 1 && PQgetvalue(x, 0, 0)[0] == 't';
		PQclear(x);
		json_object *p = json_object_new_object();
		json_object_object_add(p, "import_id", json_object_new_int64(atol(imp)));
		json_object_object_add(p, "force", json_object_new_boolean(1));
		if (delta) json_object_object_add(p, "delta", json_object_new_boolean(1));
		/* claim the draft first, so two clicks start one run */
		PGresult *u = DB_EXEC("UPDATE roster_imports SET state = 'queued', error = NULL WHERE id = $1::bigint "
				      "AND state = 'held' RETURNING id", imp);
		int won = u && PQntuples(u) == 1;
		PQclear(u);
		if (!won) { json_object_put(p); res_error(r, 409, "not_held", tr(r, "datasets_err_not_held"), NULL); return -1; }
		*job = job_enqueue("roster_import", p, r->user ? r->user->id : 0);
		json_object_put(p);
		char js[24];
		snprintf(js, sizeof js, "%ld", *job);
		if (*job < 0 || DB_CMD("UPDATE roster_imports SET job_id = $2::bigint WHERE id = $1::bigint", imp, js) < 0) {
			res_unavailable(r);
			return -1;
		}
	} else {
		char vs[24];
		snprintf(vs, sizeof vs, "%ld", vid);
		if (DB_CMD("UPDATE roster_imports SET state = 'rejected', error = 'discarded after the quality check' "
			   "WHERE id = $1::bigint AND state = 'held'", imp) < 0 ||
		    DB_CMD("UPDATE dataset_versions SET status = 'archived' WHERE id = $1::bigint AND status = 'draft'", vs) < 0) {
			res_unavailable(r);
			return -1;
		}
	}
	audit_record(r, NULL, apply ? "dataset.version.apply" : "dataset.version.discard",
		     arena_printf(r->a, "%s/%s", id, n), NULL, apply ? 202 : 200, 1);
	return 0;
}

void h_dataset_version_apply(req *r)
{
	long job;
	if (held_action(r, 1, &job) == 0)
		res_redirect(r, arena_printf(r->a, "/admin/datasets/%s/versions/%s?done=apply", req_param(r, "id"), req_param(r, "n")));
}

void h_dataset_version_discard(req *r)
{
	long job;
	if (held_action(r, 0, &job) == 0)
		res_redirect(r, arena_printf(r->a, "/admin/datasets/%s/versions/%s?done=discard", req_param(r, "id"), req_param(r, "n")));
}

void h_api_dataset_version_apply(req *r)
{
	long job;
	if (held_action(r, 1, &job) < 0) return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "job_id", json_object_new_int64(job));
	res_json(r, 202, o);
}

void h_api_dataset_version_discard(req *r)
{
	long job;
	if (held_action(r, 0, &job) < 0) return;
	json_object *o = json_object_new_object();
	add_str(o, "status", "archived");
	res_json(r, 200, o);
}

/* ---- download: ETag = sha256, one byte range, the content checked against its hash first ---- */

static void alarm_tampered(req *r, json_object *d, json_object *v, const char *why)
{
	log_error("dataset %s version %ld: file %s refused: %s", jstr(d, "id"), jlong(v, "number"), jstr(v, "sha256"), why);
	metrics_inc("rstream_dataset_integrity_failures_total", "", 1);
	json_object *p = json_object_new_object();
	add_str(p, "title", arena_printf(r->a, "%s v%ld", jstr(d, "name"), jlong(v, "number")));
	add_str(p, "href", arena_printf(r->a, "/admin/datasets/%s/versions/%ld", jstr(d, "id"), jlong(v, "number")));
	notify_emit("dataset_tampered", arena_printf(r->a, "tampered:%ld", jlong(v, "id")), "admins", 0, p);
	json_object_put(p);
	audit_record(r, NULL, "dataset.version.tampered", arena_printf(r->a, "%s/%ld", jstr(d, "id"), jlong(v, "number")),
		     NULL, 409, 0);
}

static int etag_match(const char *header, const char *etag)
{
	if (!header) return 0;
	if (!strcmp(header, "*")) return 1;
	return strstr(header, etag) != NULL;
}

void h_api_dataset_version_file(req *r)
{
	const char *id = id_str(r, "id"), *n = id_str(r, "n");
	json_object *d = id ? dataset_get(id) : NULL;
	json_object *v = d && n ? version_get(id, n) : NULL;
	if (!v) { json_object_put(d); not_found(r); return; }
	char path[1024], sha[65];
	long long size = -1;
	const char *want = jstr(v, "sha256");
	int fd = -1;
	if (dataset_object_path(want, path, sizeof path) < 0 || dataset_file_sha256(path, sha, &size) < 0 ||
	    strcmp(sha, want) || size != jlong(v, "size")) {
		alarm_tampered(r, d, v, access(path, F_OK) ? "missing" : "content does not match its sha256");
		res_error(r, 409, "integrity", tr(r, "datasets_err_integrity"), NULL);
		goto out;
	}
	const char *etag = arena_printf(r->a, "\"%s\"", sha);
	res_header(r, "ETag", etag);
	res_header(r, "Accept-Ranges", "bytes");
	res_header(r, "Cache-Control", "private, no-cache");
	if (etag_match(req_header(r, "If-None-Match"), etag)) {
		res_body(r, 304, "application/octet-stream", "", 0);
		goto out;
	}
	long long from = 0, to = size - 1;
	const char *ir = req_header(r, "If-Range");
	int rg = ir && strcmp(ir, etag) ? 0 : dataset_range_parse(req_header(r, "Range"), size, &from, &to);
	if (rg < 0) {
		res_error(r, 416, "range", tr(r, "datasets_err_range"), NULL);
		/* after res_error, which starts the headers afresh */
		res_header(r, "Content-Range", arena_printf(r->a, "bytes */%lld", size));
		goto out;
	}
	if (rg == 0) { from = 0; to = size - 1; }
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (from > 0 && lseek(fd, from, SEEK_SET) != from)) { res_unavailable(r); goto out; }
	/* the stored name is display text: the download name is made of the dataset id, version and type only */
	const char *fn = jstr(v, "filename"), *dot = fn ? strrchr(fn, '.') : NULL;
	const char *ext = dot && (!strcmp(dot, ".zip") || !strcmp(dot, ".csv")) ? dot : "";
	res_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"dataset-%s-v%s%s\"", id, n, ext));
	res_header(r, "Content-Length", arena_printf(r->a, "%lld", size ? to - from + 1 : 0));
	if (rg == 1) res_header(r, "Content-Range", arena_printf(r->a, "bytes %lld-%lld/%lld", from, to, size));
	res_stream_begin(r, rg == 1 ? 206 : 200, !strcmp(ext, ".csv") ? "text/csv; charset=utf-8"
					       : !strcmp(ext, ".zip") ? "application/zip" : "application/octet-stream");
	char chunk[65536];
	long long left = size ? to - from + 1 : 0;
	while (left > 0) {
		ssize_t k = read(fd, chunk, left < (long long)sizeof chunk ? (size_t)left : sizeof chunk);
		if (k <= 0) break;
		res_write(r, chunk, (size_t)k);
		left -= k;
	}
	if (rg == 0) audit_record(r, NULL, "dataset.version.download", arena_printf(r->a, "%s/%s", id, n), NULL, 200, 0);
out:
	if (fd >= 0) close(fd);
	json_object_put(v);
	json_object_put(d);
}

/* ---- diff ---- */

/* per entity: rows only in `to` (added), in both with other content (changed), only in `from` (removed) */
static json_object *diff(const char *id, const char *from, const char *to, int *missing)
{
	PGresult *res = DB_EXEC("SELECT a.id, b.id, (SELECT count(*) FROM dataset_rows WHERE version_id = a.id) > 0 "
				"AND (SELECT count(*) FROM dataset_rows WHERE version_id = b.id) > 0 "
				"FROM dataset_versions a, dataset_versions b WHERE a.dataset_id = $1::bigint AND a.number = $2::int "
				"AND b.dataset_id = $1::bigint AND b.number = $3::int", id, from, to);
	if (!res || PQntuples(res) != 1) { PQclear(res); *missing = 1; return NULL; }
	char a[24], b[24];
	snprintf(a, sizeof a, "%s", PQgetvalue(res, 0, 0));
	snprintf(b, sizeof b, "%s", PQgetvalue(res, 0, 1));
	int have = PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);
	*missing = 0;
	if (!have) { *missing = 2; return NULL; }
	res = DB_EXEC("SELECT entity, count(*) FILTER (WHERE x.h IS NULL)::bigint AS added, "
		      "count(*) FILTER (WHERE x.h IS NOT NULL AND y.h IS NOT NULL AND x.h <> y.h)::bigint AS changed, "
		      "count(*) FILTER (WHERE y.h IS NULL)::bigint AS removed, "
		      "count(*) FILTER (WHERE x.h = y.h)::bigint AS unchanged "
		      "FROM (SELECT entity, sourced_id, h FROM dataset_rows WHERE version_id = $1::bigint) x "
		      "FULL JOIN (SELECT entity, sourced_id, h FROM dataset_rows WHERE version_id = $2::bigint) y "
		      "USING (entity, sourced_id) GROUP BY entity ORDER BY entity", a, b);
	json_object *o = res ? db_rows_json(res) : NULL;
	PQclear(res);
	return o;
}

static int diff_args(req *r, const char **id, const char **from, const char **to)
{
	*id = id_str(r, "id");
	*from = req_query(r, "from");
	*to = req_query(r, "to");
	return *id && *from && *to && parse_id(*from) > 0 && parse_id(*to) > 0 && parse_id(*from) < 1000000000 &&
	       parse_id(*to) < 1000000000;
}

void h_api_dataset_diff(req *r)
{
	const char *id, *from, *to;
	if (!diff_args(r, &id, &from, &to)) { res_error(r, 400, "invalid", tr(r, "datasets_err_diff_args"), NULL); return; }
	int missing;
	json_object *e = diff(id, from, to, &missing);
	if (!e) {
		if (missing == 1) not_found(r);
		else if (missing == 2) res_error(r, 409, "no_rows", tr(r, "datasets_err_no_rows"), NULL);
		else res_unavailable(r);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "from", json_object_new_int64(atol(from)));
	json_object_object_add(o, "to", json_object_new_int64(atol(to)));
	json_object_object_add(o, "entities", e);
	res_json(r, 200, o);
}

void h_dataset_diff(req *r)
{
	const char *id, *from, *to;
	json_object *d = id_str(r, "id") ? dataset_get(req_param(r, "id")) : NULL;
	if (!d) { not_found(r); return; }
	json_object *ctx = page_ctx(r, tr(r, "datasets_diff_title"));
	json_object_object_add(ctx, "dataset", d);
	if (!diff_args(r, &id, &from, &to)) add_str(ctx, "error", tr(r, "datasets_err_diff_args"));
	else {
		int missing;
		json_object *e = diff(id, from, to, &missing);
		if (!e) add_str(ctx, "error", tr(r, missing == 1 ? "error_not_found" : missing == 2 ? "datasets_err_no_rows" : "error_db"));
		else {
			for (size_t i = 0; i < json_object_array_length(e); i++) {
				json_object *x = json_object_array_get_idx(e, i);
				add_str(x, "label", code_label(r, "datasets_entity_", jstr(x, "entity")));
			}
			json_object_object_add(ctx, "has_entities", json_object_new_boolean(json_object_array_length(e) > 0));
			json_object_object_add(ctx, "entities", e);
			add_str(ctx, "from", from);
			add_str(ctx, "to", to);
		}
	}
	res_html(r, 200, "datasets/diff", ctx);
	json_object_put(ctx);
}

/* ---- quality page: trend per metric, offending rows ---- */

static const char *metric_arg(req *r)
{
	const char *m = req_query(r, "metric");
	return quality_metric_find(m) ? m : NULL;
}

/* the check whose rows are shown: ?check=, else the newest check of ?version= (number), else of the newest version */
static long pick_check(const char *id, req *r)
{
	const char *c = req_query(r, "check"), *v = req_query(r, "version");
	if (c && parse_id(c) <= 0) return -1;
	if (v && (parse_id(v) <= 0 || parse_id(v) > 1000000000)) return -1;
	PGresult *res = DB_EXEC("SELECT c.id FROM dataset_checks c JOIN dataset_versions v ON v.id = c.version_id "
				"WHERE v.dataset_id = $1::bigint AND ($2::bigint IS NULL OR c.id = $2::bigint) "
				"AND ($3::int IS NULL OR v.number = $3::int) ORDER BY v.number DESC, c.id DESC LIMIT 1", id, c, v);
	long k = res && PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return k;
}

static json_object *offending(const char *check, const char *metric, long page, long *total)
{
	char off[24];
	snprintf(off, sizeof off, "%ld", (page - 1) * PER_PAGE);
	PGresult *res = DB_EXEC("SELECT n, entity, sourced_id, detail, count(*) OVER () AS total FROM dataset_metric_rows "
				"WHERE check_id = $1::bigint AND metric = $2 ORDER BY n LIMIT 50 OFFSET $3::bigint",
				check, metric, off);
	if (!res) return NULL;
	*total = PQntuples(res) ? atol(PQgetvalue(res, 0, 4)) : 0;
	if (!PQntuples(res) && page > 1) {
		PQclear(res);
		res = DB_EXEC("SELECT count(*) FROM dataset_metric_rows WHERE check_id = $1::bigint AND metric = $2", check, metric);
		*total = res && PQntuples(res) ? atol(PQgetvalue(res, 0, 0)) : 0;
		PQclear(res);
		return json_object_new_array();
	}
	json_object *a = db_rows_json(res);
	PQclear(res);
	return a;
}

void h_api_dataset_quality_rows(req *r)
{
	const char *id = id_str(r, "id"), *metric = metric_arg(r);
	int bad = 0;
	long page = req_query_long(r, "page", 1, 1, 1000000, &bad), total = 0;
	if (!id || !metric || bad) { res_error(r, 400, "invalid", tr(r, "datasets_err_metric"), NULL); return; }
	long check = pick_check(id, r);
	if (check < 0) { res_error(r, 400, "invalid", tr(r, "datasets_err_metric"), NULL); return; }
	if (check == 0) { not_found(r); return; }
	char cs[24];
	snprintf(cs, sizeof cs, "%ld", check);
	json_object *a = offending(cs, metric, page, &total);
	if (!a) { res_unavailable(r); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "check_id", json_object_new_int64(check));
	add_str(o, "metric", metric);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "page", json_object_new_int64(page));
	json_object_object_add(o, "rows", a);
	res_json(r, 200, o);
}

void h_dataset_quality(req *r)
{
	const char *id = id_str(r, "id");
	json_object *d = id ? dataset_get(id) : NULL;
	if (!d) { not_found(r); return; }
	const char *metric = metric_arg(r);
	if (!metric) metric = "missing_kana";
	int bad = 0;
	long page = req_query_long(r, "page", 1, 1, 1000000, &bad), total = 0;
	json_object *ctx = page_ctx(r, tr(r, "quality_title"));
	/* the trend: the newest check of each version, oldest first (at most the last 60 versions) */
	PGresult *res = DB_EXEC("SELECT * FROM (SELECT DISTINCT ON (v.number) v.number, m.value, m.result, c.id "
				"FROM dataset_versions v JOIN dataset_checks c ON c.version_id = v.id JOIN dataset_metrics m "
				"ON m.check_id = c.id AND m.metric = $2 WHERE v.dataset_id = $1::bigint "
				"ORDER BY v.number DESC, c.id DESC LIMIT 60) t ORDER BY number", id, metric);
	int n = res ? PQntuples(res) : 0;
	const char **labels = arena_alloc(r->a, sizeof *labels * (size_t)(n + 1));
	double *vals = arena_alloc(r->a, sizeof *vals * (size_t)(n + 1));
	json_object *points = json_object_new_array();
	for (int i = 0; i < n; i++) {
		labels[i] = arena_printf(r->a, "v%s", PQgetvalue(res, i, 0));
		vals[i] = atof(PQgetvalue(res, i, 1));
		json_object *p = json_object_new_object();
		add_str(p, "label", labels[i]);
		add_str(p, "value", arena_printf(r->a, "%.2f", vals[i]));
		add_str(p, "result_label", tr(r, arena_printf(r->a, "quality_result_%s", PQgetvalue(res, i, 2))));
		json_object_array_add(points, p);
	}
	PQclear(res);
	struct chart_axes ax = {560, 250, 0, 0, tr(r, arena_printf(r->a, "quality_metric_%s", metric)),
				tr(r, "quality_axis_version"), tr(r, "quality_axis_percent")};
	if (n > 0) json_object_object_add(ctx, "chart", chart_line(&ax, labels, vals, n));
	json_object_object_add(ctx, "has_points", json_object_new_boolean(n > 0));
	json_object_object_add(ctx, "points", points);
	json_object *ms = json_object_new_array();
	for (int i = 0; i < nquality_metrics; i++) {
		json_object *o = json_object_new_object();
		add_str(o, "metric", quality_metrics[i].key);
		add_str(o, "label", tr(r, arena_printf(r->a, "quality_metric_%s", quality_metrics[i].key)));
		json_object_object_add(o, "selected", json_object_new_boolean(!strcmp(metric, quality_metrics[i].key)));
		json_object_array_add(ms, o);
	}
	json_object_object_add(ctx, "metrics", ms);
	add_str(ctx, "metric", metric);
	add_str(ctx, "metric_label", tr(r, arena_printf(r->a, "quality_metric_%s", metric)));
	long check = pick_check(id, r);
	if (check > 0) {
		char cs[24];
		snprintf(cs, sizeof cs, "%ld", check);
		json_object *rows = offending(cs, metric, page, &total);
		for (size_t i = 0; rows && i < json_object_array_length(rows); i++) {
			json_object *x = json_object_array_get_idx(rows, i);
			/* roster entities have a name; the error rate's rows name a file (users.csv), shown as it is */
			const char *k = arena_printf(r->a, "datasets_entity_%s", jstr(x, "entity") ? jstr(x, "entity") : ""), *l = tr(r, k);
			add_str(x, "entity_label", strcmp(l, k) ? l : jstr(x, "entity"));
		}
		json_object_object_add(ctx, "rows", rows ? rows : json_object_new_array());
		json_object_object_add(ctx, "has_rows", json_object_new_boolean(total > 0));
		add_str(ctx, "check_id", cs);
		json_object_object_add(ctx, "pager", ui_pager(r, arena_printf(r->a, "/admin/datasets/%s/quality?metric=%s&check=%s",
									      id, metric, cs), page, PER_PAGE, total));
	}
	json_object_object_add(ctx, "dataset", d);
	res_html(r, 200, "datasets/quality", ctx);
	json_object_put(ctx);
}

/* GET /admin/datasets/:id/quality.csv?metric=&check= : every stored offending row, streamed */
void h_dataset_quality_csv(req *r)
{
	const char *id = id_str(r, "id"), *metric = metric_arg(r);
	if (!id || !metric) { res_error(r, 400, "invalid", tr(r, "datasets_err_metric"), NULL); return; }
	long check = pick_check(id, r);
	if (check <= 0) { not_found(r); return; }
	char cs[24];
	snprintf(cs, sizeof cs, "%ld", check);
	PGconn *c = db_conn();
	const char *params[2] = {cs, metric};
	if (!c || !PQsendQueryParams(c, "SELECT n, entity, sourced_id, detail FROM dataset_metric_rows WHERE check_id = "
				     "$1::bigint AND metric = $2 ORDER BY n", 2, NULL, params, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(c)) {
		if (c) { PGresult *x; while ((x = PQgetResult(c))) PQclear(x); }
		res_unavailable(r);
		return;
	}
	res_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"dataset-%s-check-%s-%s.csv\"", id, cs, metric));
	res_header(r, "Cache-Control", "no-store");
	res_stream_begin(r, 200, "text/csv; charset=utf-8");
	buf b = {0};
	buf_puts(&b, "\xEF\xBB\xBF");
	static const char *const head[] = {"n", "entity", "sourcedId", "detail"};
	for (int i = 0; i < 4; i++) rcsv_put_cell(&b, head[i], i == 0);
	buf_puts(&b, "\r\n");
	PGresult *x;
	while ((x = PQgetResult(c))) {
		if (PQresultStatus(x) == PGRES_SINGLE_TUPLE) {
			for (int i = 0; i < 4; i++) rcsv_put_cell(&b, PQgetvalue(x, 0, i), i == 0);
			buf_puts(&b, "\r\n");
			if (b.len > 16384) { res_write(r, b.p, b.len); buf_reset(&b); }
		} else if (PQresultStatus(x) != PGRES_TUPLES_OK)
			log_error("quality csv: %s", PQresultErrorMessage(x));
		PQclear(x);
	}
	if (b.len) res_write(r, b.p, b.len);
	buf_free(&b);
}
