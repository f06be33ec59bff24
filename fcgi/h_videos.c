/* Video catalog, upload and management: HTML pages and the JSON API under /api/v1/videos.
 * Uploads arrive as files written by nginx (RF_BODYFILE) and are moved or appended, never read into memory. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/sha.h>
#include "notify.h"
#include "audit.h"
#include "auth.h"
#include "cache.h"
#include "catalog_cache.h"
#include "config.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "router.h"
#include "search_index.h"
#include "upload_guard.h"
#include "video_access.h"
#include "video_probe.h"
#include "video_seed.h"
#include "video_sign.h"
#include "video_srt.h"
#include "video_store.h"
#include "h_videos.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define VIDEO_COLS \
	"v.id AS pk, v.public_id AS id, v.title, v.description, v.status, v.visibility, v.org_sourced_id, " \
	"to_jsonb(v.class_sourced_ids) AS class_sourced_ids, COALESCE(v.owner_id, 0) AS owner_id, " \
	"COALESCE(u.name, '') AS owner_name, v.duration, v.width, v.height, v.renditions, v.reject_reason, v.error_tail, " \
	"v.source_name, v.source_size, v.poster, v.storyboard, " TS("v.created_at") " AS created_at, " \
	TS("v.updated_at") " AS updated_at, " \
	"(SELECT COALESCE(jsonb_agg(t.name ORDER BY t.name), '[]') FROM video_tags vt JOIN tags t ON t.id = vt.tag_id " \
	" WHERE vt.video_id = v.id) AS tags, " \
	"(SELECT COALESCE(jsonb_agg(jsonb_build_object('slug', c.slug, 'name_ja', c.name_ja, 'name_en', c.name_en) " \
	" ORDER BY c.slug), '[]') FROM video_categories vc JOIN categories c ON c.id = vc.category_id " \
	" WHERE vc.video_id = v.id) AS categories, " \
	"COALESCE(v.job_id, 0) AS job_id, j.state AS job_state, COALESCE(j.progress, 0)::float8 AS progress, " \
	"COALESCE(j.message, '') AS job_message "
#define VIDEO_FROM " FROM videos v LEFT JOIN users u ON u.id = v.owner_id LEFT JOIN jobs j ON j.id = v.job_id "

/* ---- small helpers ---- */

static const char *uid_text(req *r) { return arena_printf(r->a, "%ld", r->user ? r->user->id : 0L); }
static const char *role_text(req *r) { return r->user ? r->user->role : "guest"; }

static int is_manager(req *r)
{
	return r->user && (!strcmp(r->user->role, "admin") || !strcmp(r->user->role, "creator"));
}

static long jlong(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? (long)json_object_get_int64(v) : 0;
}

static const char *jtext(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : NULL;
}

/* A title or description: valid UTF-8, no control characters except newlines/tabs in descriptions. */
static int text_ok(const char *s, size_t min, size_t max, int multiline)
{
	size_t n = strlen(s);
	if (n < min || n > max || !video_utf8_valid(s, n)) return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' || *p == '\t'))) return 0;
	return 1;
}

static char *trim_dup(arena *a, const char *s)
{
	while (*s && isspace((unsigned char)*s)) s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1])) n--;
	return arena_strndup(a, s, n);
}

/* The displayed name of an uploaded file: its last path component, printable, at most 200 bytes.
 * Only ever shown; the file on disk is named by id. */
const char *video_clean_filename(arena *a, const char *name)
{
	if (!name) return "";
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\') base = p + 1;
	buf b = {0};
	for (const unsigned char *p = (const unsigned char *)base; *p && b.len < 200; p++)
		if (*p >= 0x20 && *p != 0x7f) buf_append(&b, (const char *)p, 1);
	char *out = arena_strdup(a, b.p && video_utf8_valid(b.p, b.len) ? b.p : "");
	buf_free(&b);
	if (!strcmp(out, ".") || !strcmp(out, "..")) return "";
	return out;
}

/* A list field: JSON array, JSON string "a, b", or repeated/comma-separated form fields. */
static int field_list(req *r, const char *name, const char **out, int max, int *present)
{
	int n = 0;
	*present = 0;
	json_object *v;
	if (r->json && json_object_is_type(r->json, json_type_object) && json_object_object_get_ex(r->json, name, &v)) {
		*present = 1;
		if (json_object_is_type(v, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				if (n >= max) return -1;
				json_object *e = json_object_array_get_idx(v, i);
				if (!json_object_is_type(e, json_type_string)) return -1;
				char *t = trim_dup(r->a, json_object_get_string(e));
				if (*t) out[n++] = t;
			}
			return n;
		}
		if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_null)) return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		const char *src = NULL;
		for (int i = 0; i < (pass == 0 ? r->nform : 1); i++) {
			if (pass == 0) { if (strcmp(r->form[i].k, name)) continue; src = r->form[i].v; *present = 1; }
			else { if (!r->json || !json_object_object_get_ex(r->json, name, &v) || !json_object_is_type(v, json_type_string)) break; src = json_object_get_string(v); }
			char *copy = arena_strdup(r->a, src), *save = NULL;
			for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				char *t = trim_dup(r->a, tok);
				if (!*t) continue;
				if (n >= max) return -1;
				out[n++] = t;
			}
		}
	}
	/* a form that sends a marker field "<name>_present" clears the list when no box is ticked */
	if (!*present && req_form(r, arena_printf(r->a, "%s_present", name))) *present = 1;
	return n;
}

static const char *video_reason_text(req *r, const char *key) { return key ? tr(r, key) : ""; }

/* Fill derived fields: effective status (a job out of attempts means failed), labels, signed poster. */
void video_decorate(req *r, json_object *v, int manage)
{
	const char *status = jtext(v, "status"), *js = jtext(v, "job_state");
	if (status && js && (!strcmp(status, "queued") || !strcmp(status, "transcoding")) &&
	    (!strcmp(js, "failed") || !strcmp(js, "cancelled"))) {
		json_object_object_add(v, "status", json_object_new_string("failed"));
		status = "failed";
	}
	if (status) {
		json_object_object_add(v, "status_label", json_object_new_string(tr(r, arena_printf(r->a, "video_status_%s", status))));
		json_object_object_add(v, arena_printf(r->a, "is_%s", status), json_object_new_boolean(1));
	}
	const char *vis = jtext(v, "visibility");
	if (vis) json_object_object_add(v, "visibility_label", json_object_new_string(tr(r, arena_printf(r->a, "video_visibility_%s", vis))));
	const char *reason = jtext(v, "reject_reason");
	if (reason) json_object_object_add(v, "reject_message", json_object_new_string(video_reason_text(r, reason)));
	json_object_object_add(v, "can_manage", json_object_new_boolean(manage));
	if (video_is_demo(jtext(v, "id"))) json_object_object_add(v, "is_demo", json_object_new_boolean(1));
	if (!manage) {
		json_object_object_del(v, "error_tail");
		json_object_object_del(v, "source_name");
	}
	const char *pid = jtext(v, "id"), *poster = jtext(v, "poster");
	if (status && !strcmp(status, "ready") && pid && poster) {
		char url[512];
		long exp = (long)time(NULL) + config_get_int("hls_url_ttl", 14400);
		if (video_sign_url(video_sign_secret(), pid, poster, exp, url, sizeof url) == 0)
			json_object_object_add(v, "poster_url", json_object_new_string(url));
	}
	double d = 0;
	json_object *dv;
	if (json_object_object_get_ex(v, "duration", &dv) && !json_object_is_type(dv, json_type_null)) d = json_object_get_double(dv);
	if (d > 0) {
		long s = (long)(d + 0.5);
		json_object_object_add(v, "duration_text", json_object_new_string(
			s >= 3600 ? arena_printf(r->a, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60)
				  : arena_printf(r->a, "%ld:%02ld", s / 60, s % 60)));
	}
	json_object_object_del(v, "pk");
}

/* Load a video by public id. Returns its row as JSON (caller puts) with pk/owner filled, or NULL. */
json_object *video_fetch(req *r, const char *pid, char pk[24], long *owner)
{
	(void)r;
	if (!video_id_valid(pid)) return NULL;
	PGresult *res = DB_EXEC("SELECT " VIDEO_COLS VIDEO_FROM "WHERE v.public_id = $1", pid);
	if (!res || PQntuples(res) != 1) { PQclear(res); return NULL; }
	json_object *o = db_row_json(res, 0);
	PQclear(res);
	if (pk) snprintf(pk, 24, "%ld", jlong(o, "pk"));
	if (owner) *owner = jlong(o, "owner_id");
	return o;
}

static void api_not_found(req *r) { res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); }

/* ---- creating a video from an accepted file ---- */

static int video_insert(req *r, const char *title, const char *source_name, long size, char pid[17], char pk[24])
{
	char sz[24];
	snprintf(sz, sizeof sz, "%ld", size);
	for (int tries = 0; tries < 3; tries++) {
		random_hex(pid, 8);
		PGresult *res = DB_EXEC("INSERT INTO videos (public_id, title, owner_id, status, source_name, source_size) "
					"VALUES ($1, $2, $3::bigint, 'uploading', $4, $5::bigint) RETURNING id",
					pid, title, uid_text(r), source_name, sz);
		if (res && PQntuples(res) == 1) {
			snprintf(pk, 24, "%s", PQgetvalue(res, 0, 0));
			PQclear(res);
			return 0;
		}
		PQclear(res);
		if (strcmp(db_sqlstate(), "23505")) break;   /* only a public_id collision is worth another try */
	}
	log_error("video insert: %s", db_error());
	return -1;
}

/* The source is at its final path: probe it, then reject (with a reason) or queue the transcode.
 * Answers the request: 201 accepted, 422 rejected. */
static void video_accept(req *r, const char *pk, const char *pid, const char *src)
{
	struct video_probe p;
	double maxd = (double)config_get_int("video.max_duration_s", 4 * 3600);
	if (video_probe_file(src, maxd, &p) < 0) {
		res_error(r, 500, "probe_failed", "ffprobe could not be run", NULL);
		return;
	}
	json_object *pj = video_probe_json(&p);
	const char *pjs = json_object_to_json_string_ext(pj, JSON_C_TO_STRING_PLAIN);
	if (p.reason) {
		DB_CMD("UPDATE videos SET status = 'rejected', reject_reason = $2, probe = $3::jsonb, updated_at = now() "
		       "WHERE id = $1::bigint", pk, p.reason, pjs);
		json_object_put(pj);
		unlink(src);
		json_object *d = json_object_new_object();
		json_object_object_add(d, "reason", json_object_new_string(p.reason));
		json_object_object_add(d, "video_id", json_object_new_string(pid));
		audit_record(r, NULL, "video.reject", arena_printf(r->a, "video:%s", pid), d, 422, 0);
		res_error(r, 422, "video_rejected", tr(r, p.reason), d);
		return;
	}
	char dur[32], w[16], h[16];
	snprintf(dur, sizeof dur, "%.3f", p.duration);
	snprintf(w, sizeof w, "%d", p.width);
	snprintf(h, sizeof h, "%d", p.height);
	DB_CMD("UPDATE videos SET status = 'queued', probe = $2::jsonb, duration = $3::float8, width = $4::int, "
	       "height = $5::int, updated_at = now() WHERE id = $1::bigint", pk, pjs, dur, w, h);
	json_object_put(pj);
	json_object *payload = json_object_new_object();
	json_object_object_add(payload, "video_id", json_object_new_int64(strtoll(pk, NULL, 10)));
	long job = job_enqueue("transcode", payload, r->user ? r->user->id : 0);
	json_object_put(payload);
	if (job > 0) DB_CMD("UPDATE videos SET job_id = $2::bigint WHERE id = $1::bigint", pk, arena_printf(r->a, "%ld", job));
	audit_record(r, NULL, "video.upload", arena_printf(r->a, "video:%s", pid), NULL, 201, 1);
	json_object *v = video_fetch(r, pid, NULL, NULL);
	if (!v) { res_error(r, 500, "db", "video vanished", NULL); return; }
	video_decorate(r, v, 1);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "video", v);
	json_object_object_add(o, "job_id", json_object_new_int64(job));
	res_header(r, "Location", arena_printf(r->a, "/api/v1/videos/%s", pid));
	res_json(r, 201, o);
}

static long max_upload_bytes(void) { return config_get_int("video.max_upload_mb", 4096) * 1024L * 1024L; }

static const char *default_title(req *r, const char *filename)
{
	const char *t = filename && *filename ? filename : tr(r, "video_untitled");
	char *s = arena_strdup(r->a, t);
	char *dot = strrchr(s, '.');
	if (dot && dot != s) *dot = 0;
	if (strlen(s) > 200) s[200] = 0;
	while (!video_utf8_valid(s, strlen(s))) s[strlen(s) - 1] = 0;   /* cut inside a character */
	return *s ? s : tr(r, "video_untitled");
}

/* POST /api/v1/videos?title=…&filename=… — the body is the video file. */
void h_api_video_create(req *r)
{
	long max = max_upload_bytes();
	if (r->content_length > max) {
		res_error(r, 413, "payload_too_large", tr(r, "video_too_large"), NULL);
		return;
	}
	off_t size = r->body_file ? video_file_size(r->body_file) : 0;
	if (size <= 0) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "reason", json_object_new_string("video_reject_empty"));
		res_error(r, 422, "video_rejected", tr(r, "video_reject_empty"), d);
		return;
	}
	if (size > max) { res_error(r, 413, "payload_too_large", tr(r, "video_too_large"), NULL); return; }
	/* behind nginx this was asked before the body was stored; behind Apache it is asked here */
	if (upload_guard_check(r, (long)size, 1) != UG_OK) return;
	const char *fname = video_clean_filename(r->a, req_query(r, "filename"));
	const char *title = req_query(r, "title");
	title = title && *title ? trim_dup(r->a, title) : default_title(r, fname);
	if (!text_ok(title, 1, 200, 0)) { res_error(r, 400, "bad_title", tr(r, "video_bad_title"), NULL); return; }
	char pid[17], pk[24], src[4200];
	if (video_insert(r, title, fname, (long)size, pid, pk) < 0) { res_error(r, 500, "db", "could not create the video", NULL); return; }
	video_source_path(src, sizeof src, pid);
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/uploads/videos", cfg.data_dir);
	video_mkdirs(dir);
	if (video_move_file(r->body_file, src) < 0) {
		log_error("store upload %s: %s", src, strerror(errno));
		DB_CMD("DELETE FROM videos WHERE id = $1::bigint", pk);
		res_error(r, 500, "store_failed", "could not store the upload", NULL);
		return;
	}
	video_accept(r, pk, pid, src);
}

/* ---- resumable uploads ---- */

static int upload_id_valid(const char *id)
{
	if (!id || strlen(id) != 32) return 0;
	for (const char *p = id; *p; p++) if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p)) return 0;
	return 1;
}

static json_object *upload_json(PGresult *res, int row)
{
	json_object *o = db_row_json(res, row);
	return o;
}

#define UPLOAD_COLS "u.id, u.filename, u.size, u.received, u.state, COALESCE(v.public_id, '') AS video_id"

/* Uploads left open for a week are abandoned: drop their bytes and placeholder videos. Runs when a new upload
 * starts, so the cost falls on the rare write path and no scheduler is needed. */
static void uploads_sweep(void)
{
	PGresult *res = DB_EXEC0("UPDATE video_uploads SET state = 'cancelled', updated_at = now() "
				 "WHERE state = 'open' AND updated_at < now() - interval '7 days' RETURNING id, video_id");
	for (int i = 0; res && i < PQntuples(res); i++) {
		char part[4200];
		if (video_part_path(part, sizeof part, PQgetvalue(res, i, 0)) == 0) unlink(part);
		if (!PQgetisnull(res, i, 1))
			DB_CMD("DELETE FROM videos WHERE id = $1::bigint AND status = 'uploading'", PQgetvalue(res, i, 1));
	}
	PQclear(res);
}

/* POST /api/v1/videos/uploads {filename, size, title?} → {upload:{id,…}} */
void h_api_upload_create(req *r)
{
	uploads_sweep();
	const char *fname_in = req_form(r, "filename"), *size_s = req_form(r, "size"), *title = req_form(r, "title");
	char *end;
	errno = 0;
	long size = size_s ? strtol(size_s, &end, 10) : -1;
	if (!size_s || !*size_s || *end || errno || size < 0) { res_error(r, 400, "bad_size", tr(r, "video_bad_size"), NULL); return; }
	if (size == 0) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "reason", json_object_new_string("video_reject_empty"));
		res_error(r, 422, "video_rejected", tr(r, "video_reject_empty"), d);
		return;
	}
	if (size > max_upload_bytes()) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "max_bytes", json_object_new_int64(max_upload_bytes()));
		res_error(r, 413, "payload_too_large", tr(r, "video_too_large"), d);
		return;
	}
	/* the whole declared size counts against the quota and the disk floor before a chunk arrives */
	if (upload_guard_check(r, size, 1) != UG_OK) return;
	const char *fname = video_clean_filename(r->a, fname_in);
	title = title && *title ? trim_dup(r->a, title) : default_title(r, fname);
	if (!text_ok(title, 1, 200, 0)) { res_error(r, 400, "bad_title", tr(r, "video_bad_title"), NULL); return; }
	char pid[17], pk[24], id[33];
	if (video_insert(r, title, fname, size, pid, pk) < 0) { res_error(r, 500, "db", "could not create the video", NULL); return; }
	random_hex(id, 16);
	if (DB_CMD("INSERT INTO video_uploads (id, owner_id, filename, size, title, video_id) "
		   "VALUES ($1, $2::bigint, $3, $4::bigint, $5, $6::bigint)",
		   id, uid_text(r), fname, arena_printf(r->a, "%ld", size), title, pk) < 0) {
		res_error(r, 500, "db", "could not create the upload", NULL);
		return;
	}
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/uploads/parts", cfg.data_dir);
	video_mkdirs(dir);
	json_object *u = json_object_new_object();
	json_object_object_add(u, "id", json_object_new_string(id));
	json_object_object_add(u, "filename", json_object_new_string(fname));
	json_object_object_add(u, "size", json_object_new_int64(size));
	json_object_object_add(u, "received", json_object_new_int64(0));
	json_object_object_add(u, "state", json_object_new_string("open"));
	json_object_object_add(u, "video_id", json_object_new_string(pid));
	json_object_object_add(u, "chunk_bytes", json_object_new_int64(config_get_int("video.chunk_mb", 8) * 1024L * 1024L));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "upload", u);
	res_header(r, "Location", arena_printf(r->a, "/api/v1/videos/uploads/%s", id));
	res_json(r, 201, o);
}

/* the upload row if it belongs to the caller (admins see all) */
static PGresult *upload_load(req *r, const char *id, int lock)
{
	if (!upload_id_valid(id)) return NULL;
	PGresult *res = DB_EXEC(lock
		? "SELECT " UPLOAD_COLS ", v.id AS pk FROM video_uploads u LEFT JOIN videos v ON v.id = u.video_id "
		  "WHERE u.id = $1 AND (u.owner_id = $2::bigint OR $3 = 'admin') FOR UPDATE OF u"
		: "SELECT " UPLOAD_COLS ", v.id AS pk FROM video_uploads u LEFT JOIN videos v ON v.id = u.video_id "
		  "WHERE u.id = $1 AND (u.owner_id = $2::bigint OR $3 = 'admin')",
		id, uid_text(r), role_text(r));
	if (res && PQntuples(res) == 1) return res;
	PQclear(res);
	return NULL;
}

void h_api_upload_show(req *r)
{
	PGresult *res = upload_load(r, req_param(r, "id"), 0);
	if (!res) { res_error(r, 404, "not_found", tr(r, "video_upload_not_found"), NULL); return; }
	json_object *u = upload_json(res, 0);
	json_object_object_del(u, "pk");
	PQclear(res);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "upload", u);
	res_json(r, 200, o);
}

static void upload_offset_error(req *r, int status, const char *code, long expected)
{
	json_object *d = json_object_new_object();
	json_object_object_add(d, "expected_offset", json_object_new_int64(expected));
	res_header(r, "Upload-Offset", arena_printf(r->a, "%ld", expected));
	res_error(r, status, code, tr(r, "video_chunk_offset"), d);
}

/* PUT /api/v1/videos/uploads/:id?offset=N — the body is the next chunk. A chunk already received is accepted
 * again without change (a retry after a lost answer); a gap or an overlap is refused with the expected offset. */
void h_api_upload_chunk(req *r)
{
	const char *id = req_param(r, "id");
	int bad = 0;
	long offset = req_query_long(r, "offset", -1, 0, 1L << 50, &bad);
	if (bad || offset < 0) { res_error(r, 400, "bad_offset", tr(r, "video_chunk_offset"), NULL); return; }
	long len = r->body_file ? (long)video_file_size(r->body_file) : 0;
	if (len < 0) len = 0;
	if (db_begin() < 0) { res_error(r, 500, "db", "database unavailable", NULL); return; }
	PGresult *res = upload_load(r, id, 1);
	if (!res) { db_rollback(); res_error(r, 404, "not_found", tr(r, "video_upload_not_found"), NULL); return; }
	long size = strtol(PQgetvalue(res, 0, 2), NULL, 10), received = strtol(PQgetvalue(res, 0, 3), NULL, 10);
	int open_state = !strcmp(PQgetvalue(res, 0, 4), "open");
	PQclear(res);
	if (!open_state) { db_rollback(); res_error(r, 409, "upload_closed", tr(r, "video_upload_closed"), NULL); return; }
	if (offset + len > size) {
		db_rollback();
		json_object *d = json_object_new_object();
		json_object_object_add(d, "size", json_object_new_int64(size));
		res_error(r, 413, "payload_too_large", tr(r, "video_chunk_too_large"), d);
		return;
	}
	if (offset < received && offset + len <= received) {
		/* repeated chunk: already stored, nothing to do */
		db_rollback();
	} else if (offset != received) {
		db_rollback();
		upload_offset_error(r, 409, "offset_mismatch", received);
		return;
	} else if (len > 0) {
		char part[4200];
		video_part_path(part, sizeof part, id);
		/* a crash between append and commit leaves extra bytes: cut back to what the database recorded */
		int fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, received) < 0) {
			log_error("upload %s: open %s: %s", id, part, strerror(errno));
			if (fd >= 0) close(fd);
			db_rollback();
			res_error(r, 500, "store_failed", "could not store the chunk", NULL);
			return;
		}
		close(fd);
		off_t copied = 0;
		if (video_append_file(part, r->body_file, &copied) < 0 || copied != len) {
			log_error("upload %s: append %s (%lld of %ld bytes): %s", id, r->body_file ? r->body_file : "(no body file)",
				  (long long)copied, len, strerror(errno));
			db_rollback();
			res_error(r, 500, "store_failed", "could not store the chunk", NULL);
			return;
		}
		received += len;
		if (DB_CMD("UPDATE video_uploads SET received = $2::bigint, updated_at = now() WHERE id = $1", id,
			   arena_printf(r->a, "%ld", received)) < 0 || db_commit() < 0) {
			db_rollback();
			res_error(r, 500, "db", "could not record the chunk", NULL);
			return;
		}
	} else {
		db_rollback();
	}
	res = upload_load(r, id, 0);
	json_object *u = res ? upload_json(res, 0) : json_object_new_object();
	json_object_object_del(u, "pk");
	PQclear(res);
	res_header(r, "Upload-Offset", arena_printf(r->a, "%ld", received));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "upload", u);
	res_json(r, 200, o);
}

/* POST /api/v1/videos/uploads/:id/complete — all bytes are there: becomes the video's source, probed, queued. */
void h_api_upload_complete(req *r)
{
	const char *id = req_param(r, "id");
	if (db_begin() < 0) { res_error(r, 500, "db", "database unavailable", NULL); return; }
	PGresult *res = upload_load(r, id, 1);
	if (!res) { db_rollback(); res_error(r, 404, "not_found", tr(r, "video_upload_not_found"), NULL); return; }
	long size = strtol(PQgetvalue(res, 0, 2), NULL, 10), received = strtol(PQgetvalue(res, 0, 3), NULL, 10);
	int open_state = !strcmp(PQgetvalue(res, 0, 4), "open");
	char pid[20], pk[24];
	snprintf(pid, sizeof pid, "%s", PQgetvalue(res, 0, 5));
	snprintf(pk, sizeof pk, "%s", PQgetvalue(res, 0, 6));
	PQclear(res);
	if (!open_state) { db_rollback(); res_error(r, 409, "upload_closed", tr(r, "video_upload_closed"), NULL); return; }
	if (received != size) { db_rollback(); upload_offset_error(r, 409, "upload_incomplete", received); return; }
	if (!video_id_valid(pid)) { db_rollback(); res_error(r, 409, "upload_closed", tr(r, "video_upload_closed"), NULL); return; }
	char part[4200], src[4200], dir[4200];
	video_part_path(part, sizeof part, id);
	video_source_path(src, sizeof src, pid);
	snprintf(dir, sizeof dir, "%s/uploads/videos", cfg.data_dir);
	video_mkdirs(dir);
	/* the part may hold bytes past `received` from a crash: cut them before it becomes the source */
	if (truncate(part, received) < 0 || video_move_file(part, src) < 0) {
		db_rollback();
		log_error("complete upload %s: %s", id, strerror(errno));
		res_error(r, 500, "store_failed", "could not store the upload", NULL);
		return;
	}
	if (DB_CMD("UPDATE video_uploads SET state = 'complete', updated_at = now() WHERE id = $1", id) < 0 || db_commit() < 0) {
		db_rollback();
		video_move_file(src, part);   /* put it back so the client can retry */
		res_error(r, 500, "db", "could not complete the upload", NULL);
		return;
	}
	video_accept(r, pk, pid, src);
}

/* DELETE /api/v1/videos/uploads/:id — the user cancelled: drop the bytes and the placeholder video. */
void h_api_upload_cancel(req *r)
{
	const char *id = req_param(r, "id");
	PGresult *res = upload_load(r, id, 0);
	if (!res) { res_error(r, 404, "not_found", tr(r, "video_upload_not_found"), NULL); return; }
	int open_state = !strcmp(PQgetvalue(res, 0, 4), "open");
	char pk[24];
	snprintf(pk, sizeof pk, "%s", PQgetvalue(res, 0, 6));
	PQclear(res);
	if (!open_state) { res_error(r, 409, "upload_closed", tr(r, "video_upload_closed"), NULL); return; }
	char part[4200];
	video_part_path(part, sizeof part, id);
	/* still open once the row is ours: a complete may have taken it since the read above */
	res = DB_EXEC("UPDATE video_uploads SET state = 'cancelled', updated_at = now() WHERE id = $1 AND state = 'open' "
		      "RETURNING id", id);
	int cancelled = res && PQntuples(res) == 1;
	PQclear(res);
	if (!cancelled) { res_error(r, 409, "upload_closed", tr(r, "video_upload_closed"), NULL); return; }
	if (*pk) DB_CMD("DELETE FROM videos WHERE id = $1::bigint AND status = 'uploading'", pk);
	unlink(part);
	res_body(r, 204, NULL, NULL, 0);
}

/* ---- catalog ---- */

/* Pages are cut by keyset on (created_at, id), the catalog's order and index (videos_created_idx): ?after=CURSOR
 * is the page after a row, ?before=CURSOR the page before one, so a page costs its own rows however deep it is and
 * rows inserted meanwhile neither repeat nor skip one. A cursor is "<created_at in µs since 1970>_<id>". ?offset=N
 * is still read for old API clients. The total is counted once per viewer and filter and cached (catalog_count). */
struct list_q {
	const char *category, *tag, *owner, *status, *q;
	const char *after_us, *after_id, *before_us, *before_id;
	long limit, offset;
};

/* "<digits>_<digits>" into its two parts (arena copies); -1 for anything else */
static int cursor_parse(req *r, const char *c, const char **us, const char **id)
{
	const char *sep = c ? strchr(c, '_') : NULL;
	if (!sep || sep == c || sep - c > 17 || !sep[1] || strlen(sep + 1) > 18) return -1;
	for (const char *p = c; *p; p++)
		if (p != sep && (*p < '0' || *p > '9')) return -1;
	*us = arena_strndup(r->a, c, (size_t)(sep - c));
	*id = arena_strndup(r->a, sep + 1, strlen(sep + 1));
	return 0;
}

static int list_query(req *r, struct list_q *lq)
{
	int bad = 0;
	memset(lq, 0, sizeof *lq);
	lq->category = req_query(r, "category");
	lq->tag = req_query(r, "tag");
	lq->owner = req_query(r, "owner");
	lq->status = req_query(r, "status");
	lq->q = req_query(r, "q");
	lq->limit = req_query_long(r, "limit", 24, 1, 100, &bad);
	lq->offset = req_query_long(r, "offset", 0, 0, 1000000, &bad);
	const char *after = req_query(r, "after"), *before = req_query(r, "before");
	if (after && *after && cursor_parse(r, after, &lq->after_us, &lq->after_id) < 0) bad = 1;
	if (before && *before && cursor_parse(r, before, &lq->before_us, &lq->before_id) < 0) bad = 1;
	if (lq->after_us && lq->before_us) bad = 1;
	if (lq->category && !*lq->category) lq->category = NULL;
	if (lq->tag && !*lq->tag) lq->tag = NULL;
	if (lq->q && !*lq->q) lq->q = NULL;
	if (lq->owner && !*lq->owner) lq->owner = NULL;
	if (lq->status && !*lq->status) lq->status = NULL;
	if (lq->owner) {
		if (!strcmp(lq->owner, "me")) lq->owner = uid_text(r);
		/* range-checked here: a number past bigint would reach PostgreSQL and fail there (500) */
		if (!parse_id(lq->owner)) bad = 1;
	}
	if (lq->status && strcmp(lq->status, "uploading") && strcmp(lq->status, "queued") &&
	    strcmp(lq->status, "transcoding") && strcmp(lq->status, "ready") && strcmp(lq->status, "failed") &&
	    strcmp(lq->status, "rejected"))
		bad = 1;
	if ((lq->tag && strlen(lq->tag) > 50) || (lq->category && strlen(lq->category) > 63) || (lq->q && strlen(lq->q) > 200))
		bad = 1;
	return bad ? -1 : 0;
}

/* The rows the caller may see ($1 uid, $2 role, $3..$7 filters). Viewers see ready videos they may watch;
 * managers also see their own in any state. */
static void list_where(buf *where)
{
	buf_puts(where, " WHERE ");
	video_access_sql(where, 1, 2);
	buf_puts(where, " AND (v.status = 'ready' OR $2 = 'admin' OR v.owner_id = $1::bigint)"
		 " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM video_categories vc JOIN categories c ON c.id = vc.category_id "
		 "      WHERE vc.video_id = v.id AND c.slug = $3))"
		 " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM video_tags vt JOIN tags t ON t.id = vt.tag_id "
		 "      WHERE vt.video_id = v.id AND t.name = $4))"
		 " AND ($5::bigint IS NULL OR v.owner_id = $5::bigint)"
		 " AND ($6::text IS NULL OR v.status = $6)"
		 " AND ($7::text IS NULL OR strpos(lower(v.title), lower($7)) > 0 OR strpos(lower(v.description), lower($7)) > 0)");
}

/* How many rows the filters give this viewer: cached in Redis under the catalog generation (sql/093_recommend.sql
 * bumps it on every write that can change a list) for five minutes, the bound on a roster change (a new class
 * enrolment) showing in the count. -1 on a database error. */
static long catalog_count(req *r, const char *const *params)
{
	PGresult *res = db_exec_prepared("SELECT gen FROM catalog_gen", 0, NULL);
	const char *gen = res && PQntuples(res) ? arena_strndup(r->a, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0))) : NULL;
	PQclear(res);
	unsigned char md[SHA256_DIGEST_LENGTH];
	buf k = {0};
	for (int i = 0; i < 7; i++) buf_printf(&k, "%zu:%s|", params[i] ? strlen(params[i]) : 0, params[i] ? params[i] : "-");
	SHA256((const unsigned char *)k.p, k.len, md);
	buf_free(&k);
	char key[96];
	int n = snprintf(key, sizeof key, "catalog:count:%s:", gen ? gen : "0");
	for (int i = 0; i < 12; i++) n += snprintf(key + n, sizeof key - (size_t)n, "%02x", md[i]);
	long total = -1;
	redisReply *rep = gen ? cache_cmd("GET %s", key) : NULL;
	if (rep && rep->type == REDIS_REPLY_STRING) total = strtol(rep->str, NULL, 10);
	if (rep) freeReplyObject(rep);
	if (total >= 0) return total;
	buf sql = {0};
	buf_puts(&sql, "SELECT count(*) FROM videos v");
	list_where(&sql);
	res = db_exec(sql.p, 7, params);
	buf_free(&sql);
	if (!res) { log_error("video list count: %s", db_error()); return -1; }
	total = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (gen && (rep = cache_cmd("SET %s %ld EX 300", key, total))) freeReplyObject(rep);
	return total;
}

/* One page of the catalog, newest first, and the cursors around it (*prev, *next: NULL at either end). */
static json_object *list_run(req *r, const struct list_q *lq, long *total, const char **prev, const char **next)
{
	const char *params[11] = {uid_text(r), role_text(r), lq->category, lq->tag, lq->owner, lq->status, lq->q};
	*prev = *next = NULL;
	/* the page as this scope saw it in this catalog generation (catalog_cache.h) */
	const char *parts[] = {lq->category, lq->tag, lq->owner, lq->status, lq->q, lq->after_us, lq->after_id,
		lq->before_us, lq->before_id, arena_printf(r->a, "%ld/%ld", lq->limit, lq->offset)};
	const char *key = catalog_cache_key(r, "list", parts, (int)(sizeof parts / sizeof parts[0]));
	json_object *hit = catalog_cache_get_shared(key), *a, *tv, *cv;   /* shared: the list is only read after */
	if (hit && json_object_object_get_ex(hit, "videos", &a) && json_object_object_get_ex(hit, "total", &tv)) {
		*total = json_object_get_int64(tv);
		if (json_object_object_get_ex(hit, "prev", &cv) && cv) *prev = arena_strdup(r->a, json_object_get_string(cv));
		if (json_object_object_get_ex(hit, "next", &cv) && cv) *next = arena_strdup(r->a, json_object_get_string(cv));
		a = json_object_get(a);
		json_object_put(hit);
		return a;
	}
	json_object_put(hit);
	*total = catalog_count(r, params);
	if (*total < 0) return NULL;
	int backwards = lq->before_us != NULL;
	buf sql = {0};
	buf_puts(&sql, "SELECT " VIDEO_COLS ", (extract(epoch FROM v.created_at) * 1000000)::bigint || '_' || v.id AS cursor"
		 VIDEO_FROM);
	list_where(&sql);
	int np = 8;
	char lim[24], off[24];
	snprintf(lim, sizeof lim, "%ld", lq->limit + 1);   /* one more than a page: is there a next one? */
	params[7] = lim;
	if (lq->after_us || lq->before_us) {
		params[8] = backwards ? lq->before_us : lq->after_us;
		params[9] = backwards ? lq->before_id : lq->after_id;
		buf_printf(&sql, " AND (v.created_at, v.id) %s ('epoch'::timestamptz + $9::bigint * interval '1 microsecond', $10::bigint)",
			   backwards ? ">" : "<");
		np = 10;
	}
	buf_printf(&sql, " ORDER BY v.created_at %s, v.id %s LIMIT $8::int", backwards ? "ASC" : "DESC", backwards ? "ASC" : "DESC");
	if (lq->offset > 0 && np == 8) {
		snprintf(off, sizeof off, "%ld", lq->offset);
		params[8] = off;
		buf_puts(&sql, " OFFSET $9::int");
		np = 9;
	}
	PGresult *res = db_exec(sql.p, np, params);
	buf_free(&sql);
	if (!res) { log_error("video list: %s", db_error()); return NULL; }
	int rows = PQntuples(res), more = rows > lq->limit;
	if (more) rows = (int)lq->limit;
	a = json_object_new_array();
	for (int k = 0; k < rows; k++) {
		int i = backwards ? rows - 1 - k : k;   /* a page read backwards is shown newest first too */
		json_object *v = db_row_json(res, i);
		json_object_object_del(v, "cursor");
		int manage = r->user && (!strcmp(r->user->role, "admin") || (jlong(v, "owner_id") == r->user->id && is_manager(r)));
		video_decorate(r, v, manage);
		json_object_array_add(a, v);
	}
	if (rows > 0) {
		const char *first = PQgetvalue(res, backwards ? rows - 1 : 0, PQfnumber(res, "cursor"));
		const char *last = PQgetvalue(res, backwards ? 0 : rows - 1, PQfnumber(res, "cursor"));
		int older = backwards ? 1 : more, newer = backwards ? more : (lq->after_us != NULL || lq->offset > 0);
		if (older) *next = arena_strndup(r->a, last, strlen(last));
		if (newer) *prev = arena_strndup(r->a, first, strlen(first));
	} else if (lq->after_us || lq->before_us) {
		/* past either end (the rows around the cursor were deleted): offer the way back */
		if (lq->after_us) *prev = arena_printf(r->a, "%s_%s", lq->after_us, lq->after_id);
		else *next = arena_printf(r->a, "%s_%s", lq->before_us, lq->before_id);
	}
	PQclear(res);
	if (key) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "videos", json_object_get(a));
		json_object_object_add(c, "total", json_object_new_int64(*total));
		json_object_object_add(c, "prev", *prev ? json_object_new_string(*prev) : NULL);
		json_object_object_add(c, "next", *next ? json_object_new_string(*next) : NULL);
		catalog_cache_put(key, c);
		json_object_put(c);
	}
	return a;
}

void h_api_videos(req *r)
{
	struct list_q lq;
	if (list_query(r, &lq) < 0) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	long total = 0;
	const char *prev, *next;
	json_object *a = list_run(r, &lq, &total, &prev, &next);
	if (!a) { res_error(r, 500, "db", "could not list videos", NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "videos", a);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "limit", json_object_new_int64(lq.limit));
	json_object_object_add(o, "offset", json_object_new_int64(lq.offset));
	json_object_object_add(o, "next_cursor", next ? json_object_new_string(next) : NULL);
	json_object_object_add(o, "prev_cursor", prev ? json_object_new_string(prev) : NULL);
	res_header(r, "X-Total-Count", arena_printf(r->a, "%ld", total));
	res_json(r, 200, o);
}

static json_object *categories_all(req *r)
{
	PGresult *res = db_exec_prepared("SELECT id, slug, name_ja, name_en FROM categories ORDER BY slug", 0, NULL);
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *c = json_object_array_get_idx(a, i);
		const char *n = jtext(c, !strcmp(r->lang, "en") ? "name_en" : "name_ja");
		json_object_object_add(c, "name", json_object_new_string(n ? n : ""));
	}
	return a;
}

static json_object *tags_all(void)
{
	PGresult *res = DB_EXEC0("SELECT t.id, t.name, (SELECT count(*) FROM video_tags vt WHERE vt.tag_id = t.id) AS videos "
				 "FROM tags t ORDER BY t.name LIMIT 500");
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	return a;
}

static void add_styles(json_object *ctx, const char *script)
{
	json_object *st = json_object_new_array(), *sc = json_object_new_array();
	json_object_array_add(st, json_object_new_string("/static/css/video.css"));
	if (script) json_object_array_add(sc, json_object_new_string(script));
	json_object_object_add(ctx, "styles", st);
	json_object_object_add(ctx, "scripts", sc);
}

static void mark_selected(json_object *arr, const char *key, const char *value)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *v = jtext(e, key);
		if (value && v && !strcmp(v, value)) json_object_object_add(e, "selected", json_object_new_boolean(1));
	}
}

void h_videos_list(req *r)
{
	struct list_q lq;
	if (list_query(r, &lq) < 0) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	long total = 0;
	const char *prev, *next;
	json_object *a = list_run(r, &lq, &total, &prev, &next);
	if (!a) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "video_list_title")));
	json_object_object_add(ctx, "videos", a);
	json_object_object_add(ctx, "total", json_object_new_int64(total));
	/* the filter lists change with the catalog generation only */
	const char *fkey = catalog_cache_key(r, "facets", NULL, 0);
	json_object *facets = catalog_cache_get(fkey), *cats = NULL, *tags = NULL;
	if (facets && json_object_object_get_ex(facets, "categories", &cats) && json_object_object_get_ex(facets, "tags", &tags)) {
		cats = json_object_get(cats);
		tags = json_object_get(tags);
	} else {
		cats = categories_all(r);
		tags = tags_all();
		json_object *c = json_object_new_object();
		json_object_object_add(c, "categories", json_object_get(cats));
		json_object_object_add(c, "tags", json_object_get(tags));
		catalog_cache_put(fkey, c);
		json_object_put(c);
	}
	json_object_put(facets);
	mark_selected(cats, "slug", lq.category);
	mark_selected(tags, "name", lq.tag);
	json_object_object_add(ctx, "categories", cats);
	json_object_object_add(ctx, "tags", tags);
	json_object *sts = json_object_new_array();
	static const char *states[] = {"ready", "queued", "transcoding", "failed", "rejected", "uploading"};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "value", json_object_new_string(states[i]));
		json_object_object_add(s, "label", json_object_new_string(tr(r, arena_printf(r->a, "video_status_%s", states[i]))));
		if (lq.status && !strcmp(lq.status, states[i])) json_object_object_add(s, "selected", json_object_new_boolean(1));
		json_object_array_add(sts, s);
	}
	json_object_object_add(ctx, "statuses", sts);
	json_object_object_add(ctx, "can_upload", json_object_new_boolean(is_manager(r)));
	json_object_object_add(ctx, "mine", json_object_new_boolean(lq.owner && r->user && parse_id(lq.owner) == r->user->id));
	if (lq.q) json_object_object_add(ctx, "q", json_object_new_string(lq.q));
	/* one creator's or one category's videos: the follow button (templates/notify/subscribe.html) */
	if (lq.owner) notify_subscribe_ctx(r, ctx, "creator", lq.owner);
	else if (lq.category) notify_subscribe_ctx(r, ctx, "category", lq.category);
	/* pager links keep the filters */
	buf base = {0};
	buf_puts(&base, "/videos?");
	if (lq.category) buf_printf(&base, "category=%s&", url_encode(r->a, lq.category));
	if (lq.tag) buf_printf(&base, "tag=%s&", url_encode(r->a, lq.tag));
	if (lq.owner) buf_printf(&base, "owner=%s&", url_encode(r->a, lq.owner));
	if (lq.status) buf_printf(&base, "status=%s&", url_encode(r->a, lq.status));
	if (lq.q) buf_printf(&base, "q=%s&", url_encode(r->a, lq.q));
	if (lq.limit != 24) buf_printf(&base, "limit=%ld&", lq.limit);
	if (prev) json_object_object_add(ctx, "prev_url", json_object_new_string(arena_printf(r->a, "%sbefore=%s", base.p, prev)));
	if (next) json_object_object_add(ctx, "next_url", json_object_new_string(arena_printf(r->a, "%safter=%s", base.p, next)));
	buf_free(&base);
	/* bulk actions (h_bulk.c) for those who manage videos; ?done=N reports the last one */
	add_styles(ctx, is_manager(r) ? "/static/js/bulk.js" : NULL);
	json_object_object_add(ctx, "bulk", json_object_new_boolean(is_manager(r) && json_object_array_length(a) > 0));
	int dbad = 0;
	long done = req_query_long(r, "done", -1, 0, 100000, &dbad);
	if (done >= 0 && !dbad) json_object_object_add(ctx, "bulk_done", json_object_new_string(tr_n(r, "bulk_done", done)));
	res_html(r, 200, "videos/list", ctx);
	json_object_put(ctx);
}

void h_video_upload_page(req *r)
{
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "video_upload_title")));
	json_object_object_add(ctx, "max_bytes", json_object_new_int64(max_upload_bytes()));
	json_object_object_add(ctx, "max_mb", json_object_new_int64(config_get_int("video.max_upload_mb", 4096)));
	json_object_object_add(ctx, "chunk_bytes", json_object_new_int64(config_get_int("video.chunk_mb", 8) * 1024L * 1024L));
	add_styles(ctx, "/static/js/video-upload.js");
	res_html(r, 200, "videos/upload", ctx);
	json_object_put(ctx);
}

/* ---- one video: API ---- */

void h_api_video(req *r)
{
	char pk[24];
	long owner = 0;
	json_object *v = video_fetch(r, req_param(r, "id"), pk, &owner);
	if (!v) { api_not_found(r); return; }
	int manage = video_may_manage(r, owner);
	const char *status = jtext(v, "status");
	if (!manage && (video_may_watch(r, pk) != 1 || !status || strcmp(status, "ready"))) {
		json_object_put(v);
		/* the same answer as a missing video: no hint that it exists */
		api_not_found(r);
		return;
	}
	video_decorate(r, v, manage);
	PGresult *res = DB_EXEC("SELECT lang, label FROM captions WHERE video_id = $1::bigint ORDER BY lang", pk);
	json_object_object_add(v, "captions", res ? db_rows_json(res) : json_object_new_array());
	PQclear(res);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "video", v);
	res_json(r, 200, o);
}

/* Apply title/description/visibility/org/classes/tags/categories from a form or JSON body.
 * Returns 0, or -1 with *err a message key (and *field the field name). Runs in its own transaction. */
static int video_apply(req *r, const char *pk, const char **err, const char **field)
{
	const char *title = req_form(r, "title"), *desc = req_form(r, "description"), *vis = req_form(r, "visibility");
	const char *org = req_form(r, "org_sourced_id");
	const char *tags[20], *cats[20], *classes[50];
	int tp, cp, kp;
	int nt = field_list(r, "tags", tags, 20, &tp), nc = field_list(r, "categories", cats, 20, &cp),
	    nk = field_list(r, "class_sourced_ids", classes, 50, &kp);
	*err = "video_bad_input";
	if (title) { title = trim_dup(r->a, title); if (!text_ok(title, 1, 200, 0)) { *err = "video_bad_title"; *field = "title"; return -1; } }
	if (desc && !text_ok(desc, 0, 5000, 1)) { *err = "video_bad_description"; *field = "description"; return -1; }
	if (vis && strcmp(vis, "public") && strcmp(vis, "org") && strcmp(vis, "class") && strcmp(vis, "private")) {
		*err = "video_bad_visibility"; *field = "visibility"; return -1;
	}
	if (org) { org = trim_dup(r->a, org); if (!text_ok(org, 0, 255, 0)) { *field = "org_sourced_id"; return -1; } }
	if (nt < 0) { *err = "video_bad_tags"; *field = "tags"; return -1; }
	for (int i = 0; i < nt; i++)
		if (!text_ok(tags[i], 1, 50, 0)) { *err = "video_bad_tags"; *field = "tags"; return -1; }
	if (nc < 0) { *err = "video_bad_categories"; *field = "categories"; return -1; }
	if (nk < 0) { *field = "class_sourced_ids"; return -1; }
	for (int i = 0; i < nk; i++)
		if (!text_ok(classes[i], 1, 255, 0)) { *field = "class_sourced_ids"; return -1; }
	if (vis && !strcmp(vis, "org") && (!org || !*org)) {
		/* org visibility without an org: the owner's own org */
		PGresult *res = DB_EXEC("SELECT COALESCE(u.org_sourced_id, '') FROM videos v JOIN users u ON u.id = v.owner_id "
					"WHERE v.id = $1::bigint", pk);
		org = res && PQntuples(res) ? arena_strdup(r->a, PQgetvalue(res, 0, 0)) : "";
		PQclear(res);
		if (!*org) { *err = "video_org_required"; *field = "org_sourced_id"; return -1; }
	}
	if (vis && !strcmp(vis, "class") && kp && nk == 0) { *err = "video_class_required"; *field = "class_sourced_ids"; return -1; }
	if (db_begin() < 0) { *err = "video_db_error"; return -1; }
	if (DB_CMD("UPDATE videos SET title = COALESCE($2, title), description = COALESCE($3, description), "
		   "visibility = COALESCE($4, visibility), org_sourced_id = COALESCE(NULLIF($5, ''), CASE WHEN $5 = '' THEN NULL ELSE org_sourced_id END), "
		   "class_sourced_ids = COALESCE($6::text[], class_sourced_ids), updated_at = now() WHERE id = $1::bigint",
		   pk, title, desc, vis, org, kp ? db_text_array(r->a, classes, nk) : NULL) < 0)
		goto fail;
	if (tp) {
		const char *arr = db_text_array(r->a, tags, nt);
		if (DB_CMD("INSERT INTO tags (name) SELECT DISTINCT unnest($1::text[]) ON CONFLICT (name) DO NOTHING", arr) < 0 ||
		    DB_CMD("DELETE FROM video_tags WHERE video_id = $1::bigint", pk) < 0 ||
		    DB_CMD("INSERT INTO video_tags (video_id, tag_id) SELECT $1::bigint, id FROM tags WHERE name = ANY ($2::text[]) "
			   "ON CONFLICT DO NOTHING", pk, arr) < 0)
			goto fail;
	}
	if (cp) {
		const char *arr = db_text_array(r->a, cats, nc);
		PGresult *res = DB_EXEC("SELECT count(*) FROM categories WHERE slug = ANY ($1::text[])", arr);
		long found = res && PQntuples(res) ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
		PQclear(res);
		int distinct = 0;
		for (int i = 0; i < nc; i++) {
			int dup = 0;
			for (int k = 0; k < i; k++) if (!strcmp(cats[i], cats[k])) dup = 1;
			distinct += !dup;
		}
		if (found != distinct) { db_rollback(); *err = "video_bad_categories"; *field = "categories"; return -1; }
		if (DB_CMD("DELETE FROM video_categories WHERE video_id = $1::bigint", pk) < 0 ||
		    DB_CMD("INSERT INTO video_categories (video_id, category_id) SELECT $1::bigint, id FROM categories "
			   "WHERE slug = ANY ($2::text[])", pk, arr) < 0)
			goto fail;
	}
	if (db_commit() < 0) goto fail;
	search_reindex_video(r->a, pk);   /* searchable at once; on failure the worker's queue still has it */
	return 0;
fail:
	db_rollback();
	log_error("video update: %s", db_error());
	*err = "video_db_error";
	return -1;
}

void h_api_video_update(req *r)
{
	char pk[24];
	long owner = 0;
	const char *pid = req_param(r, "id");
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { api_not_found(r); return; }
	json_object_put(v);
	if (!video_may_manage(r, owner)) { res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	const char *err = NULL, *field = "";
	if (video_apply(r, pk, &err, &field) < 0) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "field", json_object_new_string(field));
		res_error(r, !strcmp(err, "video_db_error") ? 500 : 422, "invalid", tr(r, err), d);
		return;
	}
	audit_record(r, NULL, "video.update", arena_printf(r->a, "video:%s", pid), NULL, 200, 1);
	h_api_video(r);
}

/* Remove a video: row (cascades to tags, captions, positions), files, and any transcode still to run. */
static int video_remove(req *r, const char *pk, const char *pid)
{
	DB_CMD("UPDATE jobs SET cancel_requested = true, state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END "
	       "WHERE id = (SELECT job_id FROM videos WHERE id = $1::bigint)", pk);
	if (DB_CMD("DELETE FROM videos WHERE id = $1::bigint", pk) < 0) return -1;
	char p[4200];
	if (video_hls_dir(p, sizeof p, pid) == 0) video_rmtree(p);
	if (video_caption_dir(p, sizeof p, pid) == 0) video_rmtree(p);
	if (video_source_path(p, sizeof p, pid) == 0) unlink(p);
	audit_record(r, NULL, "video.delete", arena_printf(r->a, "video:%s", pid), NULL, 200, 1);
	return 0;
}

void h_api_video_delete(req *r)
{
	char pk[24];
	long owner = 0;
	const char *pid = req_param(r, "id");
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { api_not_found(r); return; }
	json_object_put(v);
	if (!video_may_manage(r, owner)) { res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	if (video_remove(r, pk, pid) < 0) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	res_body(r, 204, NULL, NULL, 0);
}

/* ---- captions and poster (small bodies, RF_RAWBODY) ---- */

static int lang_ok(const char *l)
{
	size_t n = l ? strlen(l) : 0;
	if (n < 2 || n > 12) return 0;
	size_t i = 0;
	while (i < n && islower((unsigned char)l[i])) i++;
	if (i < 2 || i > 3) return 0;
	if (i == n) return 1;
	if (l[i] != '-' || n - i - 1 < 2) return 0;
	for (i++; i < n; i++) if (!isalnum((unsigned char)l[i])) return 0;
	return 1;
}

/* Write data to dir/name through a temp file and rename, so nginx never serves half a file. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t n)
{
	char tmp[4400], fin[4400];
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	snprintf(fin, sizeof fin, "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) return -1;
	size_t w = 0;
	while (w < n) {
		ssize_t k = write(fd, data + w, n - w);
		if (k < 0) { if (errno == EINTR) continue; close(fd); unlink(tmp); return -1; }
		w += (size_t)k;
	}
	if (close(fd) < 0 || rename(tmp, fin) < 0) { unlink(tmp); return -1; }
	return 0;
}

/* PUT /api/v1/videos/:id/captions?lang=ja&label=日本語 — body: a .vtt or .srt file */
void h_api_caption_put(req *r)
{
	char pk[24];
	long owner = 0;
	const char *pid = req_param(r, "id");
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { api_not_found(r); return; }
	json_object_put(v);
	if (!video_may_manage(r, owner)) { res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	const char *lang = req_query(r, "lang"), *label = req_query(r, "label");
	if (!lang_ok(lang)) { res_error(r, 422, "bad_lang", tr(r, "video_caption_bad_lang"), NULL); return; }
	if (!label || !*label) label = !strcmp(lang, "ja") ? "日本語" : !strcmp(lang, "en") ? "English" : lang;
	label = trim_dup(r->a, label);
	if (!text_ok(label, 1, 60, 0)) { res_error(r, 422, "bad_label", tr(r, "video_caption_bad_label"), NULL); return; }
	buf vtt = {0};
	const char *err = NULL;
	if (video_caption_to_vtt(r->body ? r->body : "", r->body_len, &vtt, &err) < 0) {
		buf_free(&vtt);
		res_error(r, 422, "bad_caption", tr(r, err), NULL);
		return;
	}
	char *lower = arena_strdup(r->a, lang);
	for (char *p = lower; *p; p++) *p = (char)tolower((unsigned char)*p);
	const char *name = arena_printf(r->a, "captions-%s.vtt", lower);
	char dir[4200], hls[4200];
	video_caption_dir(dir, sizeof dir, pid);
	video_hls_dir(hls, sizeof hls, pid);
	struct stat st;
	int rc = video_mkdirs(dir) < 0 || write_atomic(dir, name, vtt.p, vtt.len) < 0 ? -1 : 0;
	if (rc == 0 && stat(hls, &st) == 0 && write_atomic(hls, name, vtt.p, vtt.len) < 0) rc = -1;
	if (rc < 0) { buf_free(&vtt); res_error(r, 500, "store_failed", "could not store the caption", NULL); return; }
	if (DB_CMD("INSERT INTO captions (video_id, lang, label, path) VALUES ($1::bigint, $2, $3, $4) "
		   "ON CONFLICT (video_id, lang) DO UPDATE SET label = EXCLUDED.label, path = EXCLUDED.path",
		   pk, lang, label, name) < 0) {
		buf_free(&vtt);
		res_error(r, 500, "db", tr(r, "video_db_error"), NULL);
		return;
	}
	/* the cues make the caption searchable, each with its time */
	int indexed = search_store_cues(r->a, pk, lang, vtt.p, vtt.len);
	buf_free(&vtt);
	if (indexed < 0) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	audit_record(r, NULL, "video.caption", arena_printf(r->a, "video:%s", pid), NULL, 200, 1);
	json_object *o = json_object_new_object(), *c = json_object_new_object();
	json_object_object_add(c, "lang", json_object_new_string(lang));
	json_object_object_add(c, "label", json_object_new_string(label));
	json_object_object_add(o, "caption", c);
	res_json(r, 200, o);
}

void h_api_caption_delete(req *r)
{
	char pk[24];
	long owner = 0;
	const char *pid = req_param(r, "id"), *lang = req_param(r, "lang");
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { api_not_found(r); return; }
	json_object_put(v);
	if (!video_may_manage(r, owner)) { res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	if (!lang_ok(lang)) { res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); return; }
	PGresult *res = DB_EXEC("DELETE FROM captions WHERE video_id = $1::bigint AND lang = $2 RETURNING path", pk, lang);
	if (!res || PQntuples(res) != 1) { PQclear(res); res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); return; }
	char dir[4200], p[4400];
	const char *name = arena_strdup(r->a, PQgetvalue(res, 0, 0));
	PQclear(res);
	video_caption_dir(dir, sizeof dir, pid);
	snprintf(p, sizeof p, "%s/%s", dir, name);
	unlink(p);
	video_hls_dir(dir, sizeof dir, pid);
	snprintf(p, sizeof p, "%s/%s", dir, name);
	unlink(p);
	search_drop_cues(r->a, pk, lang);
	audit_record(r, NULL, "video.caption_delete", arena_printf(r->a, "video:%s", pid), NULL, 200, 1);
	res_body(r, 204, NULL, NULL, 0);
}

/* PUT /api/v1/videos/:id/poster — body: an image. ffmpeg decides it is one and re-encodes it as poster.jpg. */
void h_api_poster_put(req *r)
{
	char pk[24];
	long owner = 0;
	const char *pid = req_param(r, "id");
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { api_not_found(r); return; }
	const char *status = jtext(v, "status");
	int ready = status && !strcmp(status, "ready");
	json_object_put(v);
	if (!video_may_manage(r, owner)) { res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	if (!ready) { res_error(r, 409, "not_ready", tr(r, "video_poster_not_ready"), NULL); return; }
	if (!r->body || !r->body_len) { res_error(r, 422, "bad_image", tr(r, "video_poster_bad"), NULL); return; }
	char dir[4200], in[4400], out[4400], fin[4400];
	snprintf(dir, sizeof dir, "%s/tmp", cfg.data_dir);
	video_mkdirs(dir);
	snprintf(in, sizeof in, "%s/poster-XXXXXX", dir);
	int fd = mkstemp(in);
	if (fd < 0) { res_error(r, 500, "store_failed", "could not store the image", NULL); return; }
	int wok = write(fd, r->body, r->body_len) == (ssize_t)r->body_len;
	close(fd);
	video_hls_dir(dir, sizeof dir, pid);
	snprintf(out, sizeof out, "%s/.poster-new.jpg", dir);
	snprintf(fin, sizeof fin, "%s/poster.jpg", dir);
	/* an image demuxer must accept it, and exactly one picture comes out */
	char *probe[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
			 "-of", "csv=p=0", in, NULL};
	buf po = {0};
	int prc = wok ? video_run_capture(probe, &po, NULL, 4096, 20) : -1;
	int image = prc == 0 && po.p && (strstr(po.p, "png") || strstr(po.p, "mjpeg") || strstr(po.p, "webp") || strstr(po.p, "bmp"));
	buf_free(&po);
	char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-i", in, "-frames:v", "1", "-vf",
			"scale='min(1280,iw)':-2,format=yuvj420p", "-f", "image2", "-c:v", "mjpeg", "-q:v", "3", out, NULL};
	int rc = image ? video_run_capture(argv, NULL, NULL, 0, 30) : -1;
	unlink(in);
	if (rc != 0 || video_file_size(out) <= 0 || rename(out, fin) < 0) {
		unlink(out);
		res_error(r, 422, "bad_image", tr(r, "video_poster_bad"), NULL);
		return;
	}
	DB_CMD("UPDATE videos SET poster = 'poster.jpg', updated_at = now() WHERE id = $1::bigint", pk);
	audit_record(r, NULL, "video.poster", arena_printf(r->a, "video:%s", pid), NULL, 200, 1);
	res_body(r, 204, NULL, NULL, 0);
}

/* ---- edit page ---- */

static void edit_page(req *r, int status, const char *pid, const char *error)
{
	char pk[24];
	long owner = 0;
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); return; }
	if (!video_may_manage(r, owner)) { json_object_put(v); res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	video_decorate(r, v, 1);
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "video_edit_title")));
	/* categories with the video's own ticked */
	json_object *cats = categories_all(r), *vc;
	if (json_object_object_get_ex(v, "categories", &vc))
		for (size_t i = 0; i < json_object_array_length(vc); i++)
			mark_selected(cats, "slug", jtext(json_object_array_get_idx(vc, i), "slug"));
	json_object_object_add(ctx, "categories", cats);
	json_object *tags;
	buf tl = {0};
	if (json_object_object_get_ex(v, "tags", &tags))
		for (size_t i = 0; i < json_object_array_length(tags); i++)
			buf_printf(&tl, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(tags, i)));
	json_object_object_add(ctx, "tags_text", json_object_new_string(tl.p ? tl.p : ""));
	buf_free(&tl);
	json_object *cl;
	buf cs = {0};
	if (json_object_object_get_ex(v, "class_sourced_ids", &cl) && json_object_is_type(cl, json_type_array))
		for (size_t i = 0; i < json_object_array_length(cl); i++)
			buf_printf(&cs, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(cl, i)));
	json_object_object_add(ctx, "classes_text", json_object_new_string(cs.p ? cs.p : ""));
	buf_free(&cs);
	json_object *vis = json_object_new_array();
	static const char *visibilities[] = {"public", "org", "class", "private"};
	const char *cur = jtext(v, "visibility");
	for (size_t i = 0; i < 4; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "value", json_object_new_string(visibilities[i]));
		json_object_object_add(e, "label", json_object_new_string(tr(r, arena_printf(r->a, "video_visibility_%s", visibilities[i]))));
		if (cur && !strcmp(cur, visibilities[i])) json_object_object_add(e, "selected", json_object_new_boolean(1));
		json_object_array_add(vis, e);
	}
	json_object_object_add(ctx, "visibilities", vis);
	PGresult *res = DB_EXEC("SELECT lang, label FROM captions WHERE video_id = $1::bigint ORDER BY lang", pk);
	json_object_object_add(ctx, "captions", res ? db_rows_json(res) : json_object_new_array());
	PQclear(res);
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	if (req_query(r, "saved")) json_object_object_add(ctx, "saved", json_object_new_boolean(1));
	/* the percentage as video-status.js writes it while it polls: whole, and 100 once ready */
	json_object *pv;
	double pr = json_object_object_get_ex(v, "progress", &pv) ? json_object_get_double(pv) : 0;
	const char *st = jtext(v, "status");
	json_object_object_add(ctx, "progress_pct", json_object_new_int(st && !strcmp(st, "ready") ? 100 : (int)(pr + 0.5)));
	json_object_object_add(ctx, "video", v);
	add_styles(ctx, "/static/js/video-status.js");
	res_html(r, status, "videos/edit", ctx);
	json_object_put(ctx);
}

void h_video_edit(req *r) { edit_page(r, 200, req_param(r, "id"), NULL); }

void h_video_update(req *r)
{
	char pk[24];
	long owner = 0;
	const char *pid = req_param(r, "id");
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); return; }
	json_object_put(v);
	if (!video_may_manage(r, owner)) { res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	const char *err = NULL, *field = "";
	if (video_apply(r, pk, &err, &field) < 0) { edit_page(r, 422, pid, tr(r, err)); return; }
	audit_record(r, NULL, "video.update", arena_printf(r->a, "video:%s", pid), NULL, 200, 1);
	res_redirect(r, arena_printf(r->a, "/videos/%s/edit?saved=1", pid));
}

void h_video_delete(req *r)
{
	char pk[24];
	long owner = 0;
	const char *pid = req_param(r, "id");
	json_object *v = video_fetch(r, pid, pk, &owner);
	if (!v) { res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); return; }
	json_object_put(v);
	if (!video_may_manage(r, owner)) { res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL); return; }
	if (video_remove(r, pk, pid) < 0) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	res_redirect(r, "/videos");
}

/* ---- categories and tags (admin) ---- */

static void categories_page(req *r, int status, const char *error)
{
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "video_categories_title")));
	json_object_object_add(ctx, "categories", categories_all(r));
	json_object_object_add(ctx, "tags", tags_all());
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	add_styles(ctx, NULL);
	res_html(r, status, "videos/categories", ctx);
	json_object_put(ctx);
}

void h_categories_page(req *r) { categories_page(r, 200, NULL); }

static int slug_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 63 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0]))) return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-')) return 0;
	return 1;
}

void h_category_create(req *r)
{
	const char *slug = req_form(r, "slug"), *ja = req_form(r, "name_ja"), *en = req_form(r, "name_en");
	slug = slug ? trim_dup(r->a, slug) : NULL;
	ja = ja ? trim_dup(r->a, ja) : NULL;
	en = en ? trim_dup(r->a, en) : NULL;
	if (!slug_ok(slug)) { categories_page(r, 422, tr(r, "video_category_bad_slug")); return; }
	if (!ja || !text_ok(ja, 1, 100, 0) || !en || !text_ok(en, 1, 100, 0)) {
		categories_page(r, 422, tr(r, "video_category_bad_name"));
		return;
	}
	if (DB_CMD("INSERT INTO categories (slug, name_ja, name_en) VALUES ($1, $2, $3)", slug, ja, en) < 0) {
		categories_page(r, 422, tr(r, !strcmp(db_sqlstate(), "23505") ? "video_category_exists" : "video_db_error"));
		return;
	}
	audit_record(r, NULL, "category.create", arena_printf(r->a, "category:%s", slug), NULL, 201, 1);
	res_redirect(r, "/admin/categories");
}

void h_category_delete(req *r)
{
	const char *id = req_param(r, "id");
	if (!req_param_id(r, "id")) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	DB_CMD("DELETE FROM categories WHERE id = $1::bigint", id);
	audit_record(r, NULL, "category.delete", arena_printf(r->a, "category:%s", id), NULL, 200, 1);
	res_redirect(r, "/admin/categories");
}

void h_tag_create(req *r)
{
	const char *name = req_form(r, "name");
	name = name ? trim_dup(r->a, name) : NULL;
	if (!name || !text_ok(name, 1, 50, 0) || strchr(name, ',')) { categories_page(r, 422, tr(r, "video_bad_tags")); return; }
	if (DB_CMD("INSERT INTO tags (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", name) < 0) {
		categories_page(r, 500, tr(r, "video_db_error"));
		return;
	}
	audit_record(r, NULL, "tag.create", arena_printf(r->a, "tag:%s", name), NULL, 201, 1);
	res_redirect(r, "/admin/categories");
}

void h_tag_delete(req *r)
{
	const char *id = req_param(r, "id");
	if (!req_param_id(r, "id")) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	DB_CMD("DELETE FROM tags WHERE id = $1::bigint", id);
	audit_record(r, NULL, "tag.delete", arena_printf(r->a, "tag:%s", id), NULL, 200, 1);
	res_redirect(r, "/admin/categories");
}

void h_api_categories(req *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "categories", categories_all(r));
	json_object_object_add(o, "tags", tags_all());
	res_json(r, 200, o);
}
