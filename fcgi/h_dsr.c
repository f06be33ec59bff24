/* Data-subject request pages and API (admin): what is held about one person, its export as a zip, and the
 * erasure. Both are audited (dsr.export, dsr.erase); a missing or already erased person gets a clear error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "db.h"
#include "dsr.h"
#include "http.h"
#include "log.h"
#include "roster_api.h"
#include "session.h"
#include "timefmt.h"

static void add_str(json_object *o, const char *k, const char *v) { json_object_object_add(o, k, json_object_new_string(v ? v : "")); }

/* the person's state, or answered: 404 when there is no such account, 409 when `live_only` and already erased */
static int dsr_subject(req *r, long *uid, int live_only)
{
	*uid = req_param_id(r, "id");
	int st = *uid > 0 ? dsr_state(*uid) : DSR_NO_USER;
	if (st < 0) { res_unavailable(r); return -1; }
	if (st == DSR_NO_USER) { res_error(r, 404, "no_user", tr(r, "dsr_err_no_user"), NULL); return -1; }
	if (st == DSR_ERASED && live_only) { res_error(r, 409, "already_erased", tr(r, "dsr_err_erased"), NULL); return -1; }
	return st;
}

void h_dsr_page(req *r)
{
	long uid;
	int st = dsr_subject(r, &uid, 0);
	if (st < 0) return;
	char id[24];
	snprintf(id, sizeof id, "%ld", uid);
	PGresult *res = DB_EXEC(
		"SELECT u.id, u.name, u.email, u.sourced_id, " 
		" to_char(u.erased_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS erased_at, "
		" (SELECT count(*) FROM roster_enrollments e WHERE e.user_sourced_id = u.sourced_id) AS enrollments, "
		" (SELECT count(*) FROM view_progress p WHERE p.user_id = u.id) AS viewing, "
		" (SELECT count(*) FROM notifications n WHERE n.user_id = u.id) AS notifications, "
		" (SELECT count(*) FROM audit_log a WHERE a.actor = 'user:' || u.id OR a.target = 'user:' || u.id) AS audit "
		"FROM users u WHERE u.id = $1::bigint", id);
	if (!res || PQntuples(res) != 1) { PQclear(res); res_unavailable(r); return; }
	json_object *u = db_row_json(res, 0);
	PQclear(res);
	time_localize(r, u, TIME_LIST, (const char *const[]){"erased_at", NULL});
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", tr(r, "dsr_title"));
	json_object_object_add(ctx, "u", u);
	json_object_object_add(ctx, "erased", json_object_new_boolean(st == DSR_ERASED));
	json_object_object_add(ctx, "self", json_object_new_boolean(uid == r->user->id));
	if (req_query(r, "erased")) add_str(ctx, "notice", tr(r, "dsr_erased_done"));
	res_html(r, 200, "dsr/page", ctx);
	json_object_put(ctx);
}

static int http_sink(void *ud, const void *data, size_t len)
{
	res_write(ud, data, len);
	return 0;
}

/* GET /admin/users/:id/export.zip and /api/v1/users/:id/export */
void h_dsr_export(req *r)
{
	long uid;
	if (dsr_subject(r, &uid, 1) < 0) return;
	res_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"user-%ld-data.zip\"", uid));
	res_header(r, "Cache-Control", "no-store");
	res_stream_begin(r, 200, "application/zip");
	char err[256];
	int files = dsr_export(uid, http_sink, r, err, sizeof err);
	/* headers are gone: a failed export ends as a truncated zip (unreadable, never silently partial) */
	if (files < 0) log_error("dsr export of user %ld: %s", uid, err);
	audit_record(r, NULL, "dsr.export", arena_printf(r->a, "user:%ld", uid), NULL, files < 0 ? 500 : 200, files);
}

/* 0 erased (pseudonym set), or answered */
static int erase(req *r, long uid, char pseudonym[32])
{
	if (uid == r->user->id) { res_error(r, 422, "self", tr(r, "dsr_err_self"), NULL); return -1; }
	int rc = dsr_erase(uid, pseudonym);
	if (rc == DSR_NO_USER + 1) { res_error(r, 404, "no_user", tr(r, "dsr_err_no_user"), NULL); return -1; }
	if (rc == DSR_ERASED + 1) { res_error(r, 409, "already_erased", tr(r, "dsr_err_erased"), NULL); return -1; }
	if (rc < 0) { res_unavailable(r); return -1; }
	/* sessions: the account is disabled and its token generation moved; drop every worker's cached copy now,
	 * and the roster API's cached pages, which may still show the person */
	session_invalidate_all();
	roster_cache_changed();
	json_object *d = json_object_new_object();
	add_str(d, "pseudonym", pseudonym);
	audit_record(r, NULL, "dsr.erase", arena_printf(r->a, "user:%ld", uid), d, 200, 1);
	json_object_put(d);
	return 0;
}

void h_dsr_erase(req *r)
{
	long uid = req_param_id(r, "id");
	char pseudonym[32];
	const char *confirm = req_form(r, "confirm");
	if (!confirm || strcmp(confirm, "erase")) { res_error(r, 400, "not_confirmed", tr(r, "dsr_err_confirm"), NULL); return; }
	if (erase(r, uid, pseudonym) < 0) return;
	res_redirect(r, arena_printf(r->a, "/admin/users/%ld/privacy?erased=1", uid));
}

void h_api_dsr_erase(req *r)
{
	long uid = req_param_id(r, "id");
	char pseudonym[32];
	if (erase(r, uid, pseudonym) < 0) return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "erased", json_object_new_boolean(1));
	add_str(o, "pseudonym", pseudonym);
	res_json(r, 200, o);
}
