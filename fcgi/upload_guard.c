/* Upload guard: disk-free floor and per-user video quota, plus the endpoint nginx asks (auth_request) before
 * it stores an upload body, so an anonymous or over-quota upload never reaches the disk. */
#include "upload_guard.h"
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include "config.h"
#include "db.h"
#include "log.h"
#include "router.h"

static long mb(const char *key, long def) { return config_get_int(key, def) * 1024L * 1024L; }

enum upload_verdict upload_guard_disk(long incoming)
{
	struct statvfs st;
	if (statvfs(cfg.data_dir, &st) < 0) return UG_OK;   /* the write itself will report a missing volume */
	long double avail = (long double)st.f_bavail * (long double)st.f_frsize;
	return avail - (long double)(incoming > 0 ? incoming : 0) < (long double)mb("upload.min_free_mb", 1024)
		? UG_DISK : UG_OK;
}

/* Bytes of video the user keeps: sources of videos they own (rejected ones are deleted by the transcoder). */
static long quota_used(long uid, int *err)
{
	char id[24];
	snprintf(id, sizeof id, "%ld", uid);
	PGresult *res = DB_EXEC("SELECT coalesce(sum(source_size), 0) FROM videos WHERE owner_id = $1::bigint "
				"AND status <> 'rejected'", id);
	if (!res || PQntuples(res) != 1) { PQclear(res); *err = 1; return 0; }
	long used = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return used;
}

enum upload_verdict upload_guard_verdict(const struct user *u, long incoming, int video, long *quota, long *used)
{
	*quota = mb("upload.quota_mb", 0);
	*used = 0;
	if (upload_guard_disk(incoming) != UG_OK) return UG_DISK;
	if (!video || *quota <= 0 || !u || !strcmp(u->role, "admin")) return UG_OK;
	int err = 0;
	*used = quota_used(u->id, &err);
	if (err) { log_error("upload quota: %s", db_error()); return UG_ERROR; }
	return *used + (incoming > 0 ? incoming : 0) > *quota ? UG_QUOTA : UG_OK;
}

enum upload_verdict upload_guard_check(req *r, long incoming, int video)
{
	long quota, used;
	enum upload_verdict v = upload_guard_verdict(r->user, incoming, video, &quota, &used);
	json_object *d = NULL;
	switch (v) {
	case UG_OK: break;
	case UG_DISK:
		d = json_object_new_object();
		json_object_object_add(d, "min_free_mb", json_object_new_int64(config_get_int("upload.min_free_mb", 1024)));
		res_error(r, 507, "insufficient_storage", tr(r, "upload_insufficient_storage"), d);
		break;
	case UG_QUOTA:
		d = json_object_new_object();
		json_object_object_add(d, "quota_bytes", json_object_new_int64(quota));
		json_object_object_add(d, "used_bytes", json_object_new_int64(used));
		res_error(r, 413, "quota_exceeded", tr(r, "upload_quota_exceeded"), d);
		break;
	case UG_ERROR:
		res_error(r, 503, "unavailable", tr(r, "upload_unavailable"), NULL);
		res_header(r, "Retry-After", "5");   /* after res_error, which starts the headers afresh */
		break;
	}
	return v;
}

/* auth_request passes only 401/403 on; the reason rides in a header nginx maps to the client's answer */
static void deny(req *r, const char *why)
{
	res_body(r, 403, NULL, NULL, 0);
	res_header(r, "X-Rstream-Deny", why);
}

/* GET /_rstream/upload-auth (nginx auth_request, internal): may the original request store its body?
 * nginx passes the original method, URI and Content-Length. 2xx = go on; 401/403 = refuse, with
 * X-Rstream-Deny naming why, which nginx turns into the JSON envelope (507, 413, 401, 403). */
void h_upload_auth(req *r)
{
	const char *method = req_env(r, "RSTREAM_AUTH_METHOD"), *uri = req_env(r, "RSTREAM_AUTH_URI");
	const char *cl = req_env(r, "RSTREAM_AUTH_LENGTH");
	long len = cl && *cl ? strtol(cl, NULL, 10) : 0;
	if (!method || !uri) { res_error(r, 403, "forbidden", "not an upload check", NULL); return; }
	/* the original route, matched in a scratch request so this one keeps its own params */
	req o = {.a = r->a, .fcgx = r->fcgx};
	int mismatch;
	const struct route *rt = route_match(routes, nroutes, &o, method, arena_strndup(r->a, uri, strcspn(uri, "?")),
					     &mismatch);
	if (!rt) {
		/* no such route: the app answers 404/405 itself, but without storing a body first */
		if (len > 0) { deny(r, mismatch ? "no_method" : "no_route"); return; }
		res_body(r, 204, NULL, NULL, 0);
		return;
	}
	if (!perm_allows(rt->perm, r->user)) {
		if (r->user) deny(r, "forbidden");
		else res_error(r, 401, "unauthorized", tr(r, "error_unauthorized"), NULL);
		return;
	}
	if (rt->flags & RF_BODYFILE) {
		long quota, used;
		enum upload_verdict v = upload_guard_verdict(r->user, len, !strncmp(rt->pattern, "/api/v1/videos", 14),
							     &quota, &used);
		if (v != UG_OK) {
			deny(r, v == UG_DISK ? "insufficient_storage" : v == UG_QUOTA ? "quota_exceeded" : "unavailable");
			return;
		}
	}
	res_body(r, 204, NULL, NULL, 0);
}
