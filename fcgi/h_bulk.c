/* Bulk actions on lists: disable/enable many users, change the visibility of or delete many videos. One SQL
 * statement a request changes every row it may (the ids go in as one array parameter), one audit row names them. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audit.h"
#include "db.h"
#include "log.h"
#include "router.h"
#include "session.h"
#include "video_store.h"

#define BULK_MAX 500

/* The ids of a form (repeated "ids" fields, or one comma-separated field) or of a JSON body {"ids": [...]}.
 * numeric: user ids; else 16 hex characters (video public ids). Returns the count, 0 none, -1 bad or too many. */
static int bulk_ids(req *r, const char **out, int numeric)
{
	int n = 0;
	const char *vals[BULK_MAX + 1];
	int nv = 0;
	for (int i = 0; i < r->nform; i++) {
		if (strcmp(r->form[i].k, "ids")) continue;
		/* a comma list splits into more values */
		char *s = arena_strdup(r->a, r->form[i].v), *save = NULL;
		for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (nv == BULK_MAX + 1) return -1;
			vals[nv++] = t;
		}
	}
	json_object *a;
	if (r->json && json_object_is_type(r->json, json_type_object) && json_object_object_get_ex(r->json, "ids", &a)) {
		if (!json_object_is_type(a, json_type_array)) return -1;
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			json_object *e = json_object_array_get_idx(a, i);
			if (!e || !(json_object_is_type(e, json_type_string) || json_object_is_type(e, json_type_int))) return -1;
			if (nv == BULK_MAX + 1) return -1;
			vals[nv++] = arena_strdup(r->a, json_object_get_string(e));
		}
	}
	if (nv > BULK_MAX) return -1;
	for (int i = 0; i < nv; i++) {
		const char *v = vals[i];
		size_t len = strlen(v);
		if (numeric) {
			if (len < 1 || len > 18) return -1;
			for (size_t k = 0; k < len; k++) if (!isdigit((unsigned char)v[k])) return -1;
		} else {
			if (len != 16) return -1;
			for (size_t k = 0; k < len; k++) if (!isdigit((unsigned char)v[k]) && !(v[k] >= 'a' && v[k] <= 'f')) return -1;
		}
		out[n++] = v;
	}
	return n;
}

/* {a,b,c}: the ids were checked to be digits or hex, so no quoting is needed */
static const char *pg_array_of(req *r, const char **ids, int n)
{
	buf b = {0};
	buf_puts(&b, "{");
	for (int i = 0; i < n; i++) { if (i) buf_puts(&b, ","); buf_puts(&b, ids[i]); }
	buf_puts(&b, "}");
	const char *s = arena_strndup(r->a, b.p, b.len);
	buf_free(&b);
	return s;
}

static json_object *id_list(PGresult *res, int col)
{
	json_object *a = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) json_object_array_add(a, json_object_new_string(PQgetvalue(res, i, col)));
	return a;
}

/* 0 and the count changed, or -1 after answering: error is a catalog key */
static int bulk_fail(req *r, int status, const char *code, const char *key)
{
	res_error(r, status, code, tr(r, key), NULL);
	return -1;
}

/* ---- users ---- */

static int users_bulk(req *r, long *changed, long *asked)
{
	const char *ids[BULK_MAX];
	int n = bulk_ids(r, ids, 1);
	const char *action = req_form(r, "action");
	if (n < 0) return bulk_fail(r, 400, "bad_ids", "bulk_err_ids");
	if (n == 0) return bulk_fail(r, 400, "no_ids", "bulk_err_none");
	if (!action || (strcmp(action, "disable") && strcmp(action, "enable"))) return bulk_fail(r, 400, "bad_action", "bulk_err_action");
	int disable = !strcmp(action, "disable");
	char self[24];
	snprintf(self, sizeof self, "%ld", r->user->id);
	for (int i = 0; i < n; i++)
		if (disable && !strcmp(ids[i], self)) return bulk_fail(r, 422, "self", "users_cannot_disable_self");
	PGresult *res = DB_EXEC("UPDATE users SET disabled = $2::boolean WHERE id = ANY ($1::bigint[]) AND disabled <> $2::boolean "
				"RETURNING id", pg_array_of(r, ids, n), disable ? "true" : "false");
	if (!res) return bulk_fail(r, 500, "db", "users_err_internal");
	*changed = PQntuples(res);
	*asked = n;
	json_object *d = json_object_new_object();
	json_object_object_add(d, "ids", id_list(res, 0));
	json_object_object_add(d, "asked", json_object_new_int(n));
	PQclear(res);
	audit_record(r, NULL, disable ? "user.bulk_disable" : "user.bulk_enable", "users", d, 200, *changed);
	json_object_put(d);
	if (*changed) session_invalidate_all();   /* a disabled account's open sessions end at once */
	return 0;
}

void h_users_bulk(req *r)
{
	long changed, asked;
	if (users_bulk(r, &changed, &asked) == 0) res_redirect(r, arena_printf(r->a, "/admin/users?done=%ld", changed));
}

void h_api_users_bulk(req *r)
{
	long changed, asked;
	if (users_bulk(r, &changed, &asked) < 0) return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "changed", json_object_new_int64(changed));
	json_object_object_add(o, "unchanged", json_object_new_int64(asked - changed));
	res_json(r, 200, o);
}

/* ---- videos ---- */

/* Only videos the caller may manage are touched: an admin's all, a teacher's own (owner 0 = any). */
static int videos_bulk(req *r, long *changed, long *asked)
{
	const char *ids[BULK_MAX];
	int n = bulk_ids(r, ids, 0);
	const char *action = req_form(r, "action");
	if (n < 0) return bulk_fail(r, 400, "bad_ids", "bulk_err_ids");
	if (n == 0) return bulk_fail(r, 400, "no_ids", "bulk_err_none");
	const char *owner = !strcmp(r->user->role, "admin") ? "0" : arena_printf(r->a, "%ld", r->user->id);
	const char *arr = pg_array_of(r, ids, n), *audit_action;
	PGresult *res;
	if (action && !strcmp(action, "delete")) {
		/* one statement: the rows go, and their transcodes still waiting or running are told to stop */
		res = DB_EXEC("WITH d AS (DELETE FROM videos WHERE public_id = ANY ($1::text[]) AND ($2::bigint = 0 OR owner_id = $2::bigint) "
			      "RETURNING public_id, job_id), j AS (UPDATE jobs SET cancel_requested = true, state = CASE WHEN "
			      "state = 'queued' THEN 'cancelled' ELSE state END WHERE id IN (SELECT job_id FROM d)) "
			      "SELECT public_id FROM d", arr, owner);
		audit_action = "video.bulk_delete";
	} else if (action && (!strcmp(action, "public") || !strcmp(action, "private") || !strcmp(action, "org"))) {
		/* "org" shares with the owner's own organisation; a video whose owner has none (and that has none) stays */
		res = DB_EXEC("UPDATE videos v SET visibility = $3, org_sourced_id = CASE WHEN $3 = 'org' THEN "
			      "COALESCE(v.org_sourced_id, u.org_sourced_id) ELSE v.org_sourced_id END, updated_at = now() "
			      "FROM users u WHERE u.id = v.owner_id AND v.public_id = ANY ($1::text[]) AND "
			      "($2::bigint = 0 OR v.owner_id = $2::bigint) AND v.visibility <> $3 AND "
			      "($3 <> 'org' OR COALESCE(v.org_sourced_id, u.org_sourced_id) IS NOT NULL) RETURNING v.public_id",
			      arr, owner, action);
		audit_action = "video.bulk_visibility";
	} else
		return bulk_fail(r, 400, "bad_action", "bulk_err_action");
	if (!res) return bulk_fail(r, 500, "db", "video_db_error");
	*changed = PQntuples(res);
	*asked = n;
	if (!strcmp(audit_action, "video.bulk_delete"))
		for (int i = 0; i < PQntuples(res); i++) {
			/* the files after the rows: a crash between leaves orphan files, never a row without its files */
			char p[4200];
			const char *pid = PQgetvalue(res, i, 0);
			if (video_hls_dir(p, sizeof p, pid) == 0) video_rmtree(p);
			if (video_caption_dir(p, sizeof p, pid) == 0) video_rmtree(p);
			if (video_source_path(p, sizeof p, pid) == 0) unlink(p);
		}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "ids", id_list(res, 0));
	json_object_object_add(d, "asked", json_object_new_int(n));
	if (strcmp(action, "delete")) json_object_object_add(d, "visibility", json_object_new_string(action));
	PQclear(res);
	audit_record(r, NULL, audit_action, "videos", d, 200, *changed);
	json_object_put(d);
	return 0;
}

void h_videos_bulk(req *r)
{
	long changed, asked;
	if (videos_bulk(r, &changed, &asked) == 0) res_redirect(r, arena_printf(r->a, "/videos?owner=%s&done=%ld",
										  strcmp(r->user->role, "admin") ? "me" : "", changed));
}

void h_api_videos_bulk(req *r)
{
	long changed, asked;
	if (videos_bulk(r, &changed, &asked) < 0) return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "changed", json_object_new_int64(changed));
	json_object_object_add(o, "unchanged", json_object_new_int64(asked - changed));
	res_json(r, 200, o);
}
