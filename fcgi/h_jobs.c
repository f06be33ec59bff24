/* Jobs pages and API: list with state and progress, a job's detail; the page polls the API for live progress. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "db.h"
#include "jobs.h"
#include "router.h"
#include "timefmt.h"

#define JOB_COLS "id, kind, state, round(progress::numeric, 1)::float8 AS progress, message, stats, error, attempts, " \
	"max_attempts, created_by, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, " \
	"to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS started_at, " \
	"to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS finished_at, payload"

static const char *const job_times[] = {"created_at", "started_at", "finished_at", NULL};

/* Workers write progress messages in English ("ready", "1486 rows imported"). People read them through the
 * catalog: the message with every number replaced by "#" is the key (job_msg:# rows imported), and the numbers go
 * back into the translation's "#" in order. A message with no catalog entry (an ffmpeg error) stays as it is. */
const char *job_message_label(req *r, const char *msg)
{
	if (!msg || !*msg) return "";
	buf key = {0};
	const char *nums[8];
	size_t lens[8];
	int n = 0;
	buf_puts(&key, "job_msg:");
	for (const char *p = msg; *p;) {
		if (*p >= '0' && *p <= '9') {
			size_t l = strspn(p, "0123456789");
			if (n < 8) { nums[n] = p; lens[n] = l; n++; }
			buf_puts(&key, "#");
			p += l;
		} else {
			buf_append(&key, p, 1);
			p++;
		}
	}
	const char *k = arena_strdup(r->a, key.p);
	buf_free(&key);
	const char *t = tr(r, k);
	if (!strcmp(t, k)) return msg;
	buf out = {0};
	int used = 0;
	for (const char *p = t; *p; p++) {
		if (*p == '#' && used < n) { buf_append(&out, nums[used], lens[used]); used++; }
		else buf_append(&out, p, 1);
	}
	const char *res = arena_strdup(r->a, out.p ? out.p : "");
	buf_free(&out);
	return res;
}

/* Human labels for a job row: its state and its kind in the request's language (the kind itself if unknown). */
void job_labels(req *r, json_object *job)
{
	json_object *v;
	if (json_object_object_get_ex(job, "state", &v))
		json_object_object_add(job, "state_label", json_object_new_string(
			tr(r, arena_printf(r->a, "job_state_%s", json_object_get_string(v)))));
	if (json_object_object_get_ex(job, "kind", &v)) {
		const char *key = arena_printf(r->a, "job_kind_%s", json_object_get_string(v));
		const char *label = tr(r, key);
		json_object_object_add(job, "kind_label", json_object_new_string(strcmp(label, key) ? label : json_object_get_string(v)));
	}
	if (json_object_object_get_ex(job, "state", &v)) {
		const char *st = json_object_get_string(v);
		/* a finished job offers no Cancel; a failed one offers Retry */
		json_object_object_add(job, "cancellable", json_object_new_boolean(!strcmp(st, "queued") || !strcmp(st, "running")));
		json_object_object_add(job, "retryable", json_object_new_boolean(!strcmp(st, "failed")));
	}
	if (json_object_object_get_ex(job, "message", &v))
		json_object_object_add(job, "message_label", json_object_new_string(job_message_label(r, json_object_get_string(v))));
}

static json_object *job_get(req *r, long *owner)
{
	if (!req_param_id(r, "id")) return NULL;
	const char *id = req_param(r, "id");
	PGresult *res = DB_EXEC("SELECT " JOB_COLS " FROM jobs WHERE id = $1::bigint", id);
	json_object *o = res && PQntuples(res) == 1 ? db_row_json(res, 0) : NULL;
	if (o && owner) *owner = PQgetisnull(res, 0, 9) ? 0 : strtol(PQgetvalue(res, 0, 9), NULL, 10);
	PQclear(res);
	return o;
}

static json_object *jobs_list(req *r, int *bad)
{
	long before = req_query_long(r, "before", 0, 0, 1L << 62, bad);
	const char *state = req_query(r, "state"), *kind = req_query(r, "kind");
	if (state && *state && strcmp(state, "queued") && strcmp(state, "running") && strcmp(state, "done") &&
	    strcmp(state, "failed") && strcmp(state, "cancelled")) *bad = 1;
	if (*bad) return NULL;
	char b[24];
	snprintf(b, sizeof b, "%ld", before);
	/* creators see their own jobs; admins see all */
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", strcmp(r->user->role, "admin") ? r->user->id : 0L);
	PGresult *res = DB_EXEC("SELECT " JOB_COLS " FROM jobs WHERE ($1::bigint = 0 OR id < $1::bigint) "
				"AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR kind = $3) "
				"AND ($4::bigint = 0 OR created_by = $4::bigint) ORDER BY id DESC LIMIT 50",
				b, state && *state ? state : NULL, kind && *kind ? kind : NULL, uid);
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	return a;
}

void h_api_jobs(req *r)
{
	int bad = 0;
	json_object *a = jobs_list(r, &bad);
	if (!a) { res_error(r, 400, "bad_query", "state must be queued|running|done|failed|cancelled; before a job id", NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "jobs", a);
	res_json(r, 200, o);
}

static int may_see(req *r, long owner)
{
	return !strcmp(r->user->role, "admin") || owner == r->user->id;
}

void h_api_job(req *r)
{
	long owner = 0;
	json_object *j = job_get(r, &owner);
	if (!j || !may_see(r, owner)) { json_object_put(j); res_error(r, 404, "not_found", "no such job", NULL); return; }
	job_labels(r, j);   /* live progress bars show the state in the page's language */
	json_object *o = json_object_new_object();
	json_object_object_add(o, "job", j);
	res_json(r, 200, o);
}

void h_api_job_cancel(req *r)
{
	long owner = 0;
	json_object *j = job_get(r, &owner);
	if (!j || !may_see(r, owner)) { json_object_put(j); res_error(r, 404, "not_found", "no such job", NULL); return; }
	json_object_put(j);
	DB_CMD("UPDATE jobs SET cancel_requested = true, "
	       "state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, "
	       "finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END WHERE id = $1::bigint",
	       req_param(r, "id"));
	j = job_get(r, NULL);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "job", j);
	/* a browser form posts urlencoded and wants the page back; API callers get JSON */
	if (r->nform == 0) res_json(r, 200, o);
	else { json_object_put(o); res_redirect(r, arena_printf(r->a, "/admin/jobs/%s", req_param(r, "id"))); }
}

/* Job stats as table rows: {"rows":1200,"users":{"rows":40}} → "行数 1200", "users › 行数 40". Names go through the
 * catalog (jobs_stat_<name>); a value that is neither a number nor text is shown as compact JSON. */
static void stats_add(req *r, json_object *rows, const char *prefix, json_object *o, int depth)
{
	json_object_object_foreach(o, k, v) {
		const char *label = tr_code(r, "jobs_stat_", k);
		if (prefix) label = arena_printf(r->a, "%s › %s", prefix, label);
		if (v && json_object_is_type(v, json_type_object) && depth < 2) { stats_add(r, rows, label, v, depth + 1); continue; }
		json_object *row = json_object_new_object();
		json_object_object_add(row, "name", json_object_new_string(label));
		const char *val = !v ? "" : json_object_is_type(v, json_type_string) ? json_object_get_string(v)
			: json_object_is_type(v, json_type_double) ? arena_printf(r->a, "%.1f", json_object_get_double(v))
			: json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		if (v && json_object_is_type(v, json_type_string)) val = tr_code(r, "job_msg:", val);
		json_object_object_add(row, "value", json_object_new_string(val));
		json_object_array_add(rows, row);
	}
}

static json_object *stats_rows(req *r, json_object *stats)
{
	json_object *rows = json_object_new_array();
	if (json_object_is_type(stats, json_type_object)) stats_add(r, rows, NULL, stats, 0);
	return rows;
}

/* POST /api/v1/jobs/:id/retry: a failed job runs again from the start (attempts reset), audited. */
void h_api_job_retry(req *r)
{
	long owner = 0;
	json_object *j = job_get(r, &owner);
	if (!j || !may_see(r, owner)) { json_object_put(j); res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	json_object_put(j);
	PGresult *res = DB_EXEC("UPDATE jobs SET state = 'queued', attempts = 0, progress = 0, error = NULL, started_at = NULL, "
				"finished_at = NULL, cancel_requested = false, run_after = now(), locked_by = NULL "
				"WHERE id = $1::bigint AND state = 'failed' RETURNING kind", req_param(r, "id"));
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		res_error(r, 409, "not_failed", tr(r, "ui_jobs_retry_not_failed"), NULL);
		return;
	}
	DB_CMD("SELECT pg_notify('rstream_jobs', $1)", PQgetvalue(res, 0, 0));
	PQclear(res);
	audit_record(r, NULL, "job.retry", arena_printf(r->a, "job:%s", req_param(r, "id")), NULL, 200, 1);
	j = job_get(r, NULL);
	job_labels(r, j);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "job", j);
	if (r->nform == 0) res_json(r, 200, o);
	else { json_object_put(o); res_redirect(r, arena_printf(r->a, "/admin/jobs/%s", req_param(r, "id"))); }
}

/* Filter choices for the list: every state and every registered kind, in the page language. */
static json_object *filter_options(req *r, const char *prefix, const char *const *values, int n, const char *selected)
{
	json_object *a = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "value", json_object_new_string(values[i]));
		json_object_object_add(o, "label", json_object_new_string(tr_code(r, prefix, values[i])));
		json_object_object_add(o, "selected", json_object_new_boolean(selected && !strcmp(selected, values[i])));
		json_object_array_add(a, o);
	}
	return a;
}

void h_jobs_list(req *r)
{
	int bad = 0;
	json_object *a = jobs_list(r, &bad);
	if (!a) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "jobs_title")));
	size_t n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++) job_labels(r, json_object_array_get_idx(a, i));
	json_object_object_add(ctx, "jobs", a);
	static const char *const states[] = {"queued", "running", "done", "failed", "cancelled"};
	const char *kinds[32];
	int nk = 0;
	for (int i = 0; i < njob_kinds && nk < 32; i++) kinds[nk++] = job_kinds[i].kind;
	const char *state = req_query(r, "state"), *kind = req_query(r, "kind");
	json_object_object_add(ctx, "states", filter_options(r, "job_state_", states, 5, state));
	json_object_object_add(ctx, "kinds", filter_options(r, "job_kind_", kinds, nk, kind));
	time_localize(r, a, TIME_LIST, job_times);
	if (n == 50) {
		json_object *last = json_object_array_get_idx(a, n - 1), *id;
		json_object_object_get_ex(last, "id", &id);
		json_object_object_add(ctx, "next_url", json_object_new_string(arena_printf(r->a, "/admin/jobs?before=%lld&state=%s&kind=%s",
			(long long)json_object_get_int64(id), url_encode(r->a, state ? state : ""), url_encode(r->a, kind ? kind : ""))));
	}
	res_html(r, 200, "jobs/list", ctx);
	json_object_put(ctx);
}

void h_job_show(req *r)
{
	long owner = 0;
	json_object *j = job_get(r, &owner);
	if (!j || !may_see(r, owner)) { json_object_put(j); res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "jobs_detail")));
	job_labels(r, j);
	time_localize(r, j, TIME_LIST, job_times);
	json_object *stats;
	if (json_object_object_get_ex(j, "stats", &stats) && stats) {
		json_object *rows = stats_rows(r, stats);
		json_object_object_add(ctx, "has_stats", json_object_new_boolean(json_object_array_length(rows) > 0));
		json_object_object_add(ctx, "stats", rows);
	}
	json_object_object_add(ctx, "job", j);
	res_html(r, 200, "jobs/show", ctx);
	json_object_put(ctx);
}
