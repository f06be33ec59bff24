/* Courses: ordered lists of videos. JSON API /api/v1/courses[/:id] and the pages /courses, /courses/new,
 * /courses/:id, /courses/:id/edit (reordering by drag and drop or keyboard in static/js/learn-course-edit.js). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "learn.h"
#include "log.h"
#include "router.h"
#include "video_access.h"

#define COURSE_MAX_VIDEOS 500
#define COURSE_MAX_CLASSES 100

struct course_in {
	const char *title, *desc, *vis, *org;
	const char *classes_json;      /* validated JSON array of class sourcedIds, or NULL (keep) */
	const char *videos;            /* text[] literal of public ids, or NULL (keep) */
	int nvideos;
	int org_set;                   /* org_sourced_id given (maybe null) */
};

static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int is_pid(const char *s)
{
	if (!s || strlen(s) != 16) return 0;
	for (int i = 0; i < 16; i++) if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
	return 1;
}

/* Parse a course body; create requires a title. 0 ok, or -1 with the error response sent. */
static int course_parse(req *r, struct course_in *c, int create)
{
	memset(c, 0, sizeof *c);
	json_object *j = r->json, *v;
	if (!j || !json_object_is_type(j, json_type_object)) { learn_fail(r, 400, "json_object"); return -1; }
	if ((v = learn_field(j, "title")) || create) {
		c->title = learn_str(j, "title");
		if (!c->title || !utf8_len(c->title) || utf8_len(c->title) > 200) { learn_fail(r, 422, "course_title"); return -1; }
	}
	if ((v = learn_field(j, "description"))) {
		c->desc = learn_str(j, "description");
		if (!c->desc || utf8_len(c->desc) > 5000) { learn_fail(r, 422, "course_description"); return -1; }
	}
	if ((v = learn_field(j, "visibility"))) {
		c->vis = learn_str(j, "visibility");
		if (!c->vis || (strcmp(c->vis, "public") && strcmp(c->vis, "org") && strcmp(c->vis, "class") && strcmp(c->vis, "private"))) {
			learn_fail(r, 422, "course_visibility");
			return -1;
		}
	}
	if (json_object_object_get_ex(j, "org_sourced_id", &v)) {
		c->org_set = 1;
		c->org = learn_str(j, "org_sourced_id");
		if ((v && !c->org) || (c->org && (strlen(c->org) > 255 || !*c->org))) { learn_fail(r, 422, "course_org"); return -1; }
	}
	if ((v = learn_field(j, "class_sourced_ids"))) {
		size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : (size_t)-1;
		if (n > COURSE_MAX_CLASSES) { learn_fail(r, 422, "course_classes"); return -1; }
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_string) || !json_object_get_string_len(e) || json_object_get_string_len(e) > 255) {
				learn_fail(r, 422, "course_classes");
				return -1;
			}
		}
		c->classes_json = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	}
	if ((v = learn_field(j, "videos")) || create) {
		size_t n = v && json_object_is_type(v, json_type_array) ? json_object_array_length(v) : (size_t)-1;
		if (!v) n = 0;
		if (n > COURSE_MAX_VIDEOS) { learn_fail(r, 422, "course_videos"); return -1; }
		buf b = {0};
		buf_puts(&b, "{");
		for (size_t i = 0; i < n; i++) {
			const char *pid = json_object_get_string(json_object_array_get_idx(v, i));
			int dup = 0;
			for (size_t k = 0; k < i && !dup; k++) dup = !strcmp(pid ? pid : "", json_object_get_string(json_object_array_get_idx(v, k)));
			if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string) || !is_pid(pid) || dup) {
				buf_free(&b);
				learn_fail(r, 422, "course_videos");
				return -1;
			}
			buf_printf(&b, "%s%s", i ? "," : "", pid);
		}
		buf_puts(&b, "}");
		c->videos = arena_strdup(r->a, b.p);
		c->nvideos = (int)n;
		buf_free(&b);
	}
	return 0;
}

/* Every listed video must exist (422 with the missing ids) and be watchable by the editor (403). */
static int course_check_videos(req *r, const struct course_in *c)
{
	if (!c->videos || !c->nvideos) return 0;
	buf q = {0};
	buf_puts(&q, "SELECT p.pid, v.id IS NOT NULL, v.id IS NOT NULL AND ");
	video_access_sql(&q, 2, 3);
	buf_puts(&q, " FROM unnest($1::text[]) AS p(pid) LEFT JOIN videos v ON v.public_id = p.pid");
	const char *params[3] = {c->videos, learn_uid(r), learn_role(r)};
	PGresult *res = db_exec(q.p, 3, params);
	buf_free(&q);
	if (!res) { log_error("course videos: %s", db_error()); learn_fail(r, 500, "db"); return -1; }
	json_object *missing = json_object_new_array(), *denied = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetvalue(res, i, 1)[0] != 't') json_object_array_add(missing, json_object_new_string(PQgetvalue(res, i, 0)));
		else if (PQgetvalue(res, i, 2)[0] != 't') json_object_array_add(denied, json_object_new_string(PQgetvalue(res, i, 0)));
	}
	PQclear(res);
	int nm = (int)json_object_array_length(missing), nd = (int)json_object_array_length(denied);
	if (nm || nd) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "videos", nm ? missing : denied);
		if (nm) json_object_put(denied); else json_object_put(missing);
		const char *code = nm ? "course_video_missing" : "course_video_forbidden";
		res_error(r, nm ? 422 : 403, code, tr(r, arena_printf(r->a, "learn_err_%s", code)), d);
		return -1;
	}
	json_object_put(missing);
	json_object_put(denied);
	return 0;
}

/* in the open transaction: the course's video list becomes c->videos, in that order */
static int course_set_videos(const char *cid, const struct course_in *c)
{
	if (!c->videos) return 0;
	if (DB_CMD("DELETE FROM course_videos WHERE course_id = $1::bigint", cid) < 0) return -1;
	PGresult *res = DB_EXEC("INSERT INTO course_videos (course_id, video_id, position) "
				"SELECT $1::bigint, v.id, (o.n - 1)::int FROM unnest($2::text[]) WITH ORDINALITY AS o(pid, n) "
				"JOIN videos v ON v.public_id = o.pid", cid, c->videos);
	if (!res) return -1;
	int n = atoi(PQcmdTuples(res));
	PQclear(res);
	return n == c->nvideos ? 0 : -2;   /* -2: a video was deleted meanwhile */
}

/* The course as JSON with its videos and the caller's progress; NULL when it does not exist or is hidden
 * (*status 404), or on a database error (*status 500). */
static json_object *course_load(req *r, long id, int *status)
{
	char cid[24];
	snprintf(cid, sizeof cid, "%ld", id);
	buf q = {0};
	buf_puts(&q, "SELECT v.id, v.title, v.description, v.owner_id, COALESCE(u.name, '') AS owner_name, v.visibility, "
		 "v.org_sourced_id, to_jsonb(v.class_sourced_ids) AS class_sourced_ids, ");
	learn_course_access_sql(&q, 2, 3);
	buf_puts(&q, " AS may_view FROM courses v LEFT JOIN users u ON u.id = v.owner_id WHERE v.id = $1::bigint");
	const char *params[3] = {cid, learn_uid(r), learn_role(r)};
	PGresult *res = db_exec(q.p, 3, params);
	buf_free(&q);
	if (!res) { *status = 500; log_error("course: %s", db_error()); return NULL; }
	if (!PQntuples(res) || PQgetvalue(res, 0, 8)[0] != 't') { PQclear(res); *status = 404; return NULL; }
	json_object *c = db_row_json(res, 0);
	PQclear(res);
	json_object_object_del(c, "may_view");
	long owner = 0;
	json_object *ov;
	if (json_object_object_get_ex(c, "owner_id", &ov)) owner = (long)json_object_get_int64(ov);
	int edit = r->user && (!strcmp(r->user->role, "admin") || (!strcmp(r->user->role, "creator") && owner == r->user->id));
	json_object_object_add(c, "can_edit", json_object_new_boolean(edit));
	buf_puts(&q, "SELECT v.public_id AS id, v.title, v.duration::float8 AS duration, v.status, cv.position, "
		 "COALESCE(p.watched_ms, 0)::int8 / 1000.0 AS watched_seconds, "
		 "COALESCE(LEAST(100, floor(100.0 * COALESCE(p.watched_ms, 0) / NULLIF(v.duration * 1000, 0))), 0)::int AS percent, "
		 "p.completed_at IS NOT NULL AS completed, ");
	video_access_sql(&q, 2, 3);
	buf_puts(&q, " AS may_watch FROM course_videos cv JOIN videos v ON v.id = cv.video_id "
		 "LEFT JOIN view_progress p ON p.video_id = v.id AND p.user_id = $2::bigint "
		 "WHERE cv.course_id = $1::bigint ORDER BY cv.position");
	res = db_exec(q.p, 3, params);
	buf_free(&q);
	if (!res) { *status = 500; log_error("course videos: %s", db_error()); json_object_put(c); return NULL; }
	json_object *vids = db_rows_json(res);
	int done = 0, n = PQntuples(res);
	for (int i = 0; i < n; i++) done += PQgetvalue(res, i, 7)[0] == 't';
	PQclear(res);
	json_object_object_add(c, "videos", vids);
	json_object *pr = json_object_new_object();
	json_object_object_add(pr, "completed", json_object_new_int(done));
	json_object_object_add(pr, "total", json_object_new_int(n));
	json_object_object_add(pr, "percent", json_object_new_int(n ? done * 100 / n : 0));
	json_object_object_add(pr, "complete", json_object_new_boolean(n > 0 && done == n));
	json_object_object_add(c, "progress", pr);
	*status = 200;
	return c;
}

static json_object *course_list(req *r, int mine)
{
	buf q = {0};
	buf_puts(&q, "SELECT v.id, v.title, v.description, v.visibility, v.owner_id, COALESCE(u.name, '') AS owner_name, "
		 "(SELECT count(*) FROM course_videos cv WHERE cv.course_id = v.id)::int AS video_count, "
		 "(SELECT count(*) FROM course_videos cv JOIN view_progress p ON p.video_id = cv.video_id "
		 " AND p.user_id = $1::bigint AND p.completed_at IS NOT NULL WHERE cv.course_id = v.id)::int AS completed_count "
		 "FROM courses v LEFT JOIN users u ON u.id = v.owner_id WHERE ");
	learn_course_access_sql(&q, 1, 2);
	if (mine) buf_puts(&q, " AND v.owner_id = $1::bigint");
	buf_puts(&q, " ORDER BY v.updated_at DESC, v.id DESC LIMIT 500");
	const char *params[2] = {learn_uid(r), learn_role(r)};
	PGresult *res = db_exec(q.p, 2, params);
	buf_free(&q);
	if (!res) { log_error("courses: %s", db_error()); return NULL; }
	json_object *a = db_rows_json(res);
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *c = json_object_array_get_idx(a, i), *x;
		int total = json_object_object_get_ex(c, "video_count", &x) ? json_object_get_int(x) : 0;
		int done = json_object_object_get_ex(c, "completed_count", &x) ? json_object_get_int(x) : 0;
		json_object_object_add(c, "percent", json_object_new_int(total ? done * 100 / total : 0));
	}
	return a;
}

/* GET /api/v1/courses[?mine=1] */
void h_api_courses(req *r)
{
	const char *m = req_query(r, "mine");
	json_object *a = course_list(r, m && !strcmp(m, "1") && r->user);
	if (!a) { learn_fail(r, 500, "db"); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "courses", a);
	res_json(r, 200, o);
}

/* GET /api/v1/courses/:id */
void h_api_course(req *r)
{
	long id = req_param_id(r, "id");
	int st = 404;
	json_object *c = id ? course_load(r, id, &st) : NULL;
	if (!c) { learn_fail(r, st, st == 404 ? "course_not_found" : "db"); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "course", c);
	res_json(r, 200, o);
}

/* POST /api/v1/courses */
void h_api_course_create(req *r)
{
	struct course_in c;
	if (course_parse(r, &c, 1) < 0 || course_check_videos(r, &c) < 0) return;
	if (db_begin() < 0) { learn_fail(r, 500, "db"); return; }
	const char *classes = c.classes_json ? c.classes_json : "[]";
	PGresult *res = DB_EXEC("INSERT INTO courses (title, description, owner_id, visibility, org_sourced_id, class_sourced_ids) "
				"VALUES ($1, COALESCE($2, ''), $3::bigint, COALESCE($4, 'private'), $5, "
				"ARRAY(SELECT jsonb_array_elements_text($6::jsonb))) RETURNING id",
				c.title, c.desc, learn_uid(r), c.vis, c.org, classes);
	if (!res) { db_rollback(); log_error("course create: %s", db_error()); learn_fail(r, 500, "db"); return; }
	char cid[24];
	snprintf(cid, sizeof cid, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	int rc = course_set_videos(cid, &c);
	if (rc < 0 || db_commit() < 0) {
		db_rollback();
		learn_fail(r, rc == -2 ? 422 : 500, rc == -2 ? "course_video_missing" : "db");
		return;
	}
	int st;
	json_object *o = json_object_new_object(), *co = course_load(r, strtol(cid, NULL, 10), &st);
	json_object_object_add(o, "course", co);
	res_header(r, "Location", arena_printf(r->a, "/api/v1/courses/%s", cid));
	res_json(r, 201, o);
}

/* the course row's owner, for edit rights: 1 may edit, 0 may not (403 sent), -1 missing (404 sent) */
static int course_may_edit(req *r, const char *cid)
{
	PGresult *res = DB_EXEC("SELECT COALESCE(owner_id, 0) FROM courses WHERE id = $1::bigint", cid);
	if (!res || !PQntuples(res)) { PQclear(res); learn_fail(r, 404, "course_not_found"); return -1; }
	long owner = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (!strcmp(r->user->role, "admin") || owner == r->user->id) return 1;
	learn_fail(r, 403, "course_forbidden");
	return 0;
}

/* PUT /api/v1/courses/:id: members given replace, members left out stay */
void h_api_course_update(req *r)
{
	long id = req_param_id(r, "id");
	if (!id) { learn_fail(r, 404, "course_not_found"); return; }
	char cid[24];
	snprintf(cid, sizeof cid, "%ld", id);
	if (course_may_edit(r, cid) != 1) return;
	struct course_in c;
	if (course_parse(r, &c, 0) < 0 || course_check_videos(r, &c) < 0) return;
	if (db_begin() < 0) { learn_fail(r, 500, "db"); return; }
	int rc = DB_CMD("UPDATE courses SET title = COALESCE($2, title), description = COALESCE($3, description), "
			"visibility = COALESCE($4, visibility), org_sourced_id = CASE WHEN $5::int = 1 THEN $6 ELSE org_sourced_id END, "
			"class_sourced_ids = CASE WHEN $7::jsonb IS NULL THEN class_sourced_ids "
			"ELSE ARRAY(SELECT jsonb_array_elements_text($7::jsonb)) END, updated_at = now() WHERE id = $1::bigint",
			cid, c.title, c.desc, c.vis, c.org_set ? "1" : "0", c.org, c.classes_json);
	if (rc == 0) rc = course_set_videos(cid, &c);
	if (rc < 0 || db_commit() < 0) {
		db_rollback();
		if (rc != -2) log_error("course update: %s", db_error());
		learn_fail(r, rc == -2 ? 422 : 500, rc == -2 ? "course_video_missing" : "db");
		return;
	}
	int st;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "course", course_load(r, id, &st));
	res_json(r, 200, o);
}

/* DELETE /api/v1/courses/:id (its assignments go with it) */
void h_api_course_delete(req *r)
{
	long id = req_param_id(r, "id");
	if (!id) { learn_fail(r, 404, "course_not_found"); return; }
	char cid[24];
	snprintf(cid, sizeof cid, "%ld", id);
	if (course_may_edit(r, cid) != 1) return;
	if (DB_CMD("DELETE FROM courses WHERE id = $1::bigint", cid) < 0) { learn_fail(r, 500, "db"); return; }
	res_body(r, 204, NULL, NULL, 0);
}

/* ---- pages ---- */

/* GET /courses */
void h_courses_page(req *r)
{
	json_object *a = course_list(r, 0);
	if (!a) { learn_fail(r, 500, "db"); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "courses", a);
	json_object_object_add(ctx, "empty", json_object_new_boolean(json_object_array_length(a) == 0));
	json_object_object_add(ctx, "can_create", json_object_new_boolean(r->user && strcmp(r->user->role, "viewer") && strcmp(r->user->role, "guest")));
	learn_page(r, 200, "courses", ctx, "learn_courses_title", NULL);
	json_object_put(ctx);
}

/* GET /courses/:id */
void h_course_page(req *r)
{
	long id = req_param_id(r, "id");
	int st = 404;
	json_object *c = id ? course_load(r, id, &st) : NULL;
	if (!c) { learn_fail(r, st, st == 404 ? "course_not_found" : "db"); return; }
	json_object *ctx = json_object_new_object(), *t;
	json_object_object_get_ex(c, "title", &t);
	json_object_object_add(ctx, "title", json_object_get(t));
	json_object_object_add(ctx, "course", c);
	learn_page(r, 200, "course", ctx, NULL, NULL);
	json_object_put(ctx);
}

/* the editor's choice of videos: ready ones they may watch, newest first */
static json_object *pickable_videos(req *r)
{
	buf q = {0};
	buf_puts(&q, "SELECT v.public_id AS id, v.title, v.duration::float8 AS duration FROM videos v WHERE v.status = 'ready' AND ");
	video_access_sql(&q, 1, 2);
	buf_puts(&q, " ORDER BY (v.owner_id = $1::bigint) DESC, v.created_at DESC LIMIT 1000");
	const char *params[2] = {learn_uid(r), learn_role(r)};
	PGresult *res = db_exec(q.p, 2, params);
	buf_free(&q);
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	return a;
}

static void edit_page(req *r, json_object *course)
{
	json_object *ctx = json_object_new_object();
	if (course) json_object_object_add(ctx, "course", course);
	json_object_object_add(ctx, "is_new", json_object_new_boolean(course == NULL));
	json_object_object_add(ctx, "pickable", pickable_videos(r));
	learn_page(r, 200, "course_edit", ctx, course ? "learn_course_edit_title" : "learn_course_new_title",
		   "/static/js/learn-course-edit.js", NULL);
	json_object_put(ctx);
}

/* GET /courses/new */
void h_course_new_page(req *r) { edit_page(r, NULL); }

/* GET /courses/:id/edit */
void h_course_edit_page(req *r)
{
	long id = req_param_id(r, "id");
	int st = 404;
	json_object *c = id ? course_load(r, id, &st) : NULL;
	if (!c) { learn_fail(r, st, st == 404 ? "course_not_found" : "db"); return; }
	json_object *e;
	if (!json_object_object_get_ex(c, "can_edit", &e) || !json_object_get_boolean(e)) {
		json_object_put(c);
		learn_fail(r, 403, "course_forbidden");
		return;
	}
	json_object *vis;
	if (json_object_object_get_ex(c, "visibility", &vis)) {
		const char *v = json_object_get_string(vis);
		json_object_object_add(c, arena_printf(r->a, "vis_%s", v), json_object_new_boolean(1));
	}
	edit_page(r, c);
}
