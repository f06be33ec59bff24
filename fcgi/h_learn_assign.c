/* Assignments: a creator gives a course or a video to OneRoster classes they teach, with optional start and due
 * dates. Students see theirs (/my/assignments, /api/v1/me/assignments); the creator sees a students × videos
 * table (/assignments/:id) and exports it as CSV. Class membership is read from the roster at query time. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "learn.h"
#include "log.h"
#include "notify.h"
#include "router.h"
#include "video_access.h"

#define ASSIGN_MAX_CLASSES 50

static int is_admin(req *r) { return r->user && !strcmp(r->user->role, "admin"); }

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" with an optional Z or ±HH:MM; the calendar is checked by PostgreSQL */
static int date_shape(const char *s)
{
	static const char *pat[] = {"dddd-dd-dd", "dddd-dd-ddTdd:dd", "dddd-dd-ddTdd:dd:dd"};
	size_t n = strlen(s);
	if (n >= 1 && s[n - 1] == 'Z') n--;
	else if (n >= 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':' && isdigit((unsigned char)s[n - 5])) n -= 6;
	for (size_t k = 0; k < 3; k++) {
		const char *p = pat[k];
		if (strlen(p) != n) continue;
		size_t i;
		for (i = 0; i < n; i++) {
			char c = s[i];
			if (p[i] == 'd' ? !isdigit((unsigned char)c) : (p[i] == 'T' ? (c != 'T' && c != ' ') : c != p[i])) break;
		}
		if (i == n) return 1;
	}
	return 0;
}

/* the date members as timestamptz text (NULL when absent). 0 ok, -1 with the error sent. */
static int parse_dates(req *r, json_object *j, const char **start, const char **due)
{
	const char *in[2] = {learn_str(j, "start_at"), learn_str(j, "due_at")};
	const char *names[2] = {"start_at", "due_at"};
	for (int i = 0; i < 2; i++) {
		json_object *v = learn_field(j, names[i]);
		if (v && !in[i]) { learn_fail(r, 422, "bad_date"); return -1; }
		if (in[i] && !*in[i]) in[i] = NULL;
		if (in[i] && (strlen(in[i]) > 40 || !date_shape(in[i]))) { learn_fail(r, 422, "bad_date"); return -1; }
	}
	PGresult *res = DB_EXEC("SELECT to_char(s, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), to_char(d, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), "
				"s IS NOT NULL AND d IS NOT NULL AND d < s FROM (SELECT "
				"CASE WHEN $1 ~ '(Z|[+-]\\d\\d:\\d\\d)$' THEN $1::timestamptz ELSE $1::timestamp AT TIME ZONE $3 END AS s, "
				"CASE WHEN $2 ~ '(Z|[+-]\\d\\d:\\d\\d)$' THEN $2::timestamptz ELSE $2::timestamp AT TIME ZONE $3 END AS d) x",
				in[0], in[1], learn_tz());
	if (!res) { learn_fail(r, 422, "bad_date"); return -1; }
	*start = PQgetisnull(res, 0, 0) ? NULL : arena_strdup(r->a, PQgetvalue(res, 0, 0));
	*due = PQgetisnull(res, 0, 1) ? NULL : arena_strdup(r->a, PQgetvalue(res, 0, 1));
	int reversed = PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);
	if (reversed) { learn_fail(r, 422, "due_before_start"); return -1; }
	return 0;
}

/* One class sourcedId: 1..255 bytes, no control characters (an unknown id is refused later, by name). */
static int class_id_ok(const char *s, size_t n)
{
	if (n == 0 || n > 255) return 0;
	for (size_t i = 0; i < n; i++) if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
	return 1;
}

/* The class list as a validated JSON array text, or NULL with the error sent. "classes" is what the form's
 * picker posts, one comma-separated string ("a,b"; blanks around ids are dropped), or a JSON array of ids. */
static const char *parse_classes(req *r, json_object *j)
{
	json_object *v = learn_field(j, "classes"), *out = json_object_new_array();
	const char *res = NULL;
	if (v && json_object_is_type(v, json_type_string)) {
		const char *p = json_object_get_string(v);
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			const char *b = p;
			while (n && (*b == ' ' || *b == '\t')) b++, n--;
			while (n && (b[n - 1] == ' ' || b[n - 1] == '\t')) n--;
			if (n) {
				if (!class_id_ok(b, n) || json_object_array_length(out) >= ASSIGN_MAX_CLASSES) goto out;
				json_object_array_add(out, json_object_new_string_len(b, (int)n));
			}
			p += (e ? (size_t)(e - p) + 1 : strlen(p));
		}
	} else if (v && json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		if (n > ASSIGN_MAX_CLASSES) goto out;
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_string) ||
			    !class_id_ok(json_object_get_string(e), (size_t)json_object_get_string_len(e))) goto out;
			json_object_array_add(out, json_object_get(e));
		}
	}
	if (json_object_array_length(out) > 0)
		res = arena_strdup(r->a, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(out);
	if (!res) learn_fail(r, 422, "assignment_classes");
	return res;
}

/* Each class must exist and be active (422), and the creator must teach it unless admin (403). */
static int check_classes(req *r, const char *classes)
{
	PGresult *res = DB_EXEC("SELECT x.cid, c.sourced_id IS NOT NULL AND c.status = 'active', "
				"EXISTS (SELECT 1 FROM roster_enrollments e JOIN users u ON u.sourced_id = e.user_sourced_id "
				"        WHERE u.id = $2::bigint AND e.class_sourced_id = x.cid AND e.role = 'teacher' AND e.status = 'active') "
				"FROM (SELECT DISTINCT jsonb_array_elements_text($1::jsonb) AS cid) x "
				"LEFT JOIN roster_classes c ON c.sourced_id = x.cid", classes, learn_uid(r));
	if (!res) { log_error("assignment classes: %s", db_error()); learn_fail(r, 500, "db"); return -1; }
	json_object *unknown = json_object_new_array(), *foreign = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetvalue(res, i, 1)[0] != 't') json_object_array_add(unknown, json_object_new_string(PQgetvalue(res, i, 0)));
		else if (PQgetvalue(res, i, 2)[0] != 't' && !is_admin(r))
			json_object_array_add(foreign, json_object_new_string(PQgetvalue(res, i, 0)));
	}
	PQclear(res);
	int nu = (int)json_object_array_length(unknown), nf = (int)json_object_array_length(foreign);
	if (!nu && !nf) { json_object_put(unknown); json_object_put(foreign); return 0; }
	json_object *d = json_object_new_object();
	json_object_object_add(d, "classes", nu ? unknown : foreign);
	json_object_put(nu ? foreign : unknown);
	const char *code = nu ? "assignment_class_unknown" : "assignment_not_teacher";
	/* the message names the refused ids, so a teacher who typed them sees which */
	json_object *bad = nu ? unknown : foreign;
	buf ids = {0};
	for (size_t i = 0; i < json_object_array_length(bad); i++)
		buf_printf(&ids, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(bad, i)));
	res_error(r, nu ? 422 : 403, code, arena_printf(r->a, "%s (%s)", tr(r, arena_printf(r->a, "learn_err_%s", code)), ids.p), d);
	buf_free(&ids);
	return -1;
}

/* The target: {"course": id} or {"video": public id}, which the creator must be able to see. Fills course_id or
 * video_id (text). 0 ok, -1 with the error sent. */
static int parse_target(req *r, json_object *j, const char **course_id, const char **video_id)
{
	json_object *c = learn_field(j, "course");
	const char *vid = learn_str(j, "video");
	*course_id = *video_id = NULL;
	if ((c != NULL) == (vid != NULL) || (learn_field(j, "video") && !vid)) { learn_fail(r, 422, "assignment_target"); return -1; }
	buf q = {0};
	PGresult *res;
	if (c) {
		long id = json_object_is_type(c, json_type_int) ? (long)json_object_get_int64(c) : 0;
		if (id <= 0) { learn_fail(r, 422, "assignment_target"); return -1; }
		*course_id = arena_printf(r->a, "%ld", id);
		buf_puts(&q, "SELECT v.id::text, ");
		learn_course_access_sql(&q, 2, 3);
		buf_puts(&q, " FROM courses v WHERE v.id = $1::bigint");
		const char *p[3] = {*course_id, learn_uid(r), learn_role(r)};
		res = db_exec(q.p, 3, p);
	} else {
		buf_puts(&q, "SELECT v.id::text, ");
		video_access_sql(&q, 2, 3);
		buf_puts(&q, " FROM videos v WHERE v.public_id = $1");
		const char *p[3] = {vid, learn_uid(r), learn_role(r)};
		res = db_exec(q.p, 3, p);
	}
	buf_free(&q);
	if (!res) { log_error("assignment target: %s", db_error()); learn_fail(r, 500, "db"); return -1; }
	if (!PQntuples(res)) { PQclear(res); learn_fail(r, 404, c ? "course_not_found" : "video_not_found"); return -1; }
	int ok = PQgetvalue(res, 0, 1)[0] == 't';
	if (!c) *video_id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!ok) { learn_fail(r, 403, "assignment_target_forbidden"); return -1; }
	return 0;
}

#define ASSIGN_COLS(tz) \
	"a.id, COALESCE(co.title, v.title) AS title, a.course_id, v.public_id AS video, " \
	"to_char(a.start_at AT TIME ZONE " tz ", 'YYYY-MM-DD HH24:MI') AS start_at, " \
	"to_char(a.due_at AT TIME ZONE " tz ", 'YYYY-MM-DD HH24:MI') AS due_at, " \
	"COALESCE(a.due_at < now(), false) AS past_due, COALESCE(a.start_at > now(), false) AS not_started, " \
	"(SELECT count(*) FROM assignment_videos av WHERE av.assignment_id = a.id)::int AS total, " \
	"(SELECT string_agg(c.title, '、' ORDER BY c.title) FROM assignment_classes ac " \
	" JOIN roster_classes c ON c.sourced_id = ac.class_sourced_id WHERE ac.assignment_id = a.id) AS class_titles, " \
	"(SELECT jsonb_agg(ac.class_sourced_id ORDER BY ac.class_sourced_id) FROM assignment_classes ac " \
	" WHERE ac.assignment_id = a.id) AS classes "
#define ASSIGN_FROM " FROM assignments a LEFT JOIN courses co ON co.id = a.course_id LEFT JOIN videos v ON v.id = a.video_id "

static void add_link(json_object *a)
{
	json_object *c, *v;
	char h[64] = "";
	if (json_object_object_get_ex(a, "course_id", &c) && json_object_is_type(c, json_type_int))
		snprintf(h, sizeof h, "/courses/%lld", (long long)json_object_get_int64(c));
	else if (json_object_object_get_ex(a, "video", &v) && json_object_is_type(v, json_type_string))
		snprintf(h, sizeof h, "/watch/%s", json_object_get_string(v));
	if (h[0]) json_object_object_add(a, "href", json_object_new_string(h));
}

/* The signed-in student's assignments with their progress. */
static json_object *my_assignments(req *r)
{
	PGresult *res = DB_EXEC("SELECT " ASSIGN_COLS("$2") ", "
				"(SELECT count(*) FROM assignment_videos av JOIN view_progress p ON p.video_id = av.video_id "
				" AND p.user_id = $1::bigint AND p.completed_at IS NOT NULL WHERE av.assignment_id = a.id)::int AS done "
				ASSIGN_FROM "WHERE a.id IN (SELECT s.assignment_id FROM assignment_students s WHERE s.user_id = $1::bigint) "
				"ORDER BY a.due_at IS NULL, a.due_at, a.id DESC LIMIT 500", learn_uid(r), learn_tz());
	if (!res) { log_error("my assignments: %s", db_error()); return NULL; }
	json_object *a = db_rows_json(res);
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *x = json_object_array_get_idx(a, i), *f;
		int total = json_object_object_get_ex(x, "total", &f) ? json_object_get_int(f) : 0;
		int done = json_object_object_get_ex(x, "done", &f) ? json_object_get_int(f) : 0;
		int past = json_object_object_get_ex(x, "past_due", &f) && json_object_get_boolean(f);
		int complete = total > 0 && done >= total;
		json_object_object_add(x, "percent", json_object_new_int(total ? done * 100 / total : 0));
		json_object_object_add(x, "complete", json_object_new_boolean(complete));
		json_object_object_add(x, "overdue", json_object_new_boolean(past && !complete));
		add_link(x);
	}
	return a;
}

/* GET /api/v1/me/assignments */
void h_api_my_assignments(req *r)
{
	json_object *a = my_assignments(r);
	if (!a) { learn_fail(r, 500, "db"); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "assignments", a);
	res_json(r, 200, o);
}

/* GET /my/assignments: the page; templates/learn/my_assignments_list.html is the partial a home page includes
 * with the same context member "my_assignments". */
void h_my_assignments(req *r)
{
	json_object *a = my_assignments(r);
	if (!a) { learn_fail(r, 500, "db"); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "my_assignments", a);
	learn_page(r, 200, "my_assignments", ctx, "learn_my_assignments_title", NULL);
	json_object_put(ctx);
}

/* Context for a home page that includes {{> learn/my_assignments_list}}: adds "my_assignments". */
void learn_home_context(req *r, json_object *ctx)
{
	json_object *a = r->user ? my_assignments(r) : NULL;
	if (a) json_object_object_add(ctx, "my_assignments", a);
}

/* Assignments the creator made (admins: all), newest first, with how many students finished. */
static json_object *assignments_list(req *r, int limit)
{
	char lim[16];
	snprintf(lim, sizeof lim, "%d", limit);
	PGresult *res = DB_EXEC("SELECT " ASSIGN_COLS("$3") ", "
				"(SELECT count(*) FROM assignment_students s WHERE s.assignment_id = a.id)::int AS students, "
				"(SELECT count(*) FROM assignment_students s WHERE s.assignment_id = a.id AND NOT EXISTS ("
				"  SELECT 1 FROM assignment_videos av LEFT JOIN view_progress p ON p.video_id = av.video_id "
				"  AND p.user_id = s.user_id WHERE av.assignment_id = a.id AND p.completed_at IS NULL))::int AS finished "
				ASSIGN_FROM "WHERE $2 = 'admin' OR a.created_by = $1::bigint ORDER BY a.id DESC LIMIT $4::int",
				learn_uid(r), learn_role(r), learn_tz(), lim);
	if (!res) { log_error("assignments: %s", db_error()); return NULL; }
	json_object *a = db_rows_json(res);
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++) add_link(json_object_array_get_idx(a, i));
	return a;
}

/* Context for the teacher home ({{> learn/given_assignments_list}}): the latest assignments this teacher gave,
 * each with the share of its students who finished, as "given_assignments". */
void learn_teacher_home_context(req *r, json_object *ctx)
{
	json_object *a = r->user ? assignments_list(r, 5) : NULL;
	if (!a) return;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *x = json_object_array_get_idx(a, i), *v;
		int students = json_object_object_get_ex(x, "students", &v) ? json_object_get_int(v) : 0;
		int finished = json_object_object_get_ex(x, "finished", &v) ? json_object_get_int(v) : 0;
		json_object_object_add(x, "percent", json_object_new_int(students ? finished * 100 / students : 0));
	}
	json_object_object_add(ctx, "given_assignments", a);
}

/* GET /api/v1/assignments */
void h_api_assignments(req *r)
{
	json_object *a = assignments_list(r, 500);
	if (!a) { learn_fail(r, 500, "db"); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "assignments", a);
	res_json(r, 200, o);
}

/* POST /api/v1/assignments {"course": id | "video": public id, "classes": "id1,id2" | [sourcedId…], "start_at", "due_at"} */
void h_api_assignment_create(req *r)
{
	json_object *j = r->json;
	if (!j || !json_object_is_type(j, json_type_object)) { learn_fail(r, 400, "json_object"); return; }
	const char *course, *video, *start, *due, *classes;
	if (parse_target(r, j, &course, &video) < 0) return;
	if (!(classes = parse_classes(r, j))) return;
	if (parse_dates(r, j, &start, &due) < 0 || check_classes(r, classes) < 0) return;
	if (db_begin() < 0) { learn_fail(r, 500, "db"); return; }
	PGresult *res = DB_EXEC("INSERT INTO assignments (course_id, video_id, created_by, start_at, due_at) "
				"VALUES ($1::bigint, $2::bigint, $3::bigint, $4::timestamptz, $5::timestamptz) RETURNING id",
				course, video, learn_uid(r), start, due);
	char id[24] = "";
	if (res) { snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0)); PQclear(res); }
	if (!id[0] || DB_CMD("INSERT INTO assignment_classes (assignment_id, class_sourced_id) "
			     "SELECT DISTINCT $1::bigint, jsonb_array_elements_text($2::jsonb)", id, classes) < 0 || db_commit() < 0) {
		log_error("assignment create: %s", db_error());
		db_rollback();
		learn_fail(r, 500, "db");
		return;
	}
	notify_assignment_created(strtol(id, NULL, 10));   /* enqueues the fan-out to the classes' students */
	res = DB_EXEC("SELECT " ASSIGN_COLS("$2") ASSIGN_FROM "WHERE a.id = $1::bigint", id, learn_tz());
	json_object *o = json_object_new_object();
	if (res && PQntuples(res)) {
		json_object *a = db_row_json(res, 0);
		add_link(a);
		json_object_object_add(o, "assignment", a);
	}
	PQclear(res);
	res_header(r, "Location", arena_printf(r->a, "/api/v1/assignments/%s", id));
	res_json(r, 201, o);
}

/* May the caller see/manage assignment :id? Fills id text. 1 yes; 0 no (error sent). */
static int assignment_mine(req *r, char id[24])
{
	long n = req_param_id(r, "id");
	snprintf(id, 24, "%ld", n);
	PGresult *res = n ? DB_EXEC("SELECT COALESCE(created_by, 0) FROM assignments WHERE id = $1::bigint", id) : NULL;
	if (!res || !PQntuples(res)) { PQclear(res); learn_fail(r, 404, "assignment_not_found"); return 0; }
	long owner = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (is_admin(r) || owner == r->user->id) return 1;
	learn_fail(r, 403, "assignment_forbidden");
	return 0;
}

/* The teacher's table: the assignment, its videos in order, and each current student's progress per video. */
static json_object *assignment_report(req *r, const char *id)
{
	PGresult *res = DB_EXEC("SELECT " ASSIGN_COLS("$2") ASSIGN_FROM "WHERE a.id = $1::bigint", id, learn_tz());
	if (!res || !PQntuples(res)) { PQclear(res); return NULL; }
	json_object *o = json_object_new_object(), *a = db_row_json(res, 0);
	PQclear(res);
	add_link(a);
	json_object_object_add(o, "assignment", a);
	res = DB_EXEC("SELECT v.id, v.public_id, v.title FROM assignment_videos av JOIN videos v ON v.id = av.video_id "
		      "WHERE av.assignment_id = $1::bigint ORDER BY av.position, v.id", id);
	if (!res) { json_object_put(o); return NULL; }
	int nv = PQntuples(res);
	long *vids = arena_alloc(r->a, sizeof(long) * (size_t)(nv + 1));
	json_object *videos = json_object_new_array();
	for (int i = 0; i < nv; i++) {
		vids[i] = strtol(PQgetvalue(res, i, 0), NULL, 10);
		json_object *v = json_object_new_object();
		json_object_object_add(v, "id", json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_object_add(v, "title", json_object_new_string(PQgetvalue(res, i, 2)));
		json_object_array_add(videos, v);
	}
	PQclear(res);
	json_object_object_add(o, "videos", videos);
	/* one row per (student, video): students without any viewing still appear */
	res = DB_EXEC("SELECT u.id, u.name, COALESCE(u.email, u.username, '') AS login, av.video_id, "
		      "COALESCE(LEAST(100, floor(100.0 * COALESCE(p.watched_ms, 0) / NULLIF(v.duration * 1000, 0))), 0)::int, "
		      "p.completed_at IS NOT NULL, to_char(p.completed_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI') "
		      "FROM assignment_students s JOIN users u ON u.id = s.user_id "
		      "CROSS JOIN assignment_videos av JOIN videos v ON v.id = av.video_id "
		      "LEFT JOIN view_progress p ON p.user_id = u.id AND p.video_id = av.video_id "
		      "WHERE s.assignment_id = $1::bigint AND av.assignment_id = $1::bigint "
		      "ORDER BY u.name, u.id, av.position, av.video_id", id, learn_tz());
	if (!res) { log_error("assignment report: %s", db_error()); json_object_put(o); return NULL; }
	json_object *students = json_object_new_array(), *cur = NULL, *cells = NULL;
	long cur_id = 0;
	int done = 0, finished = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		long uid = strtol(PQgetvalue(res, i, 0), NULL, 10);
		if (!cur || uid != cur_id) {
			if (cur) { json_object_object_add(cur, "complete", json_object_new_boolean(nv && done == nv)); finished += nv && done == nv; }
			cur = json_object_new_object();
			cells = json_object_new_array();
			cur_id = uid;
			done = 0;
			json_object_object_add(cur, "name", json_object_new_string(PQgetvalue(res, i, 1)));
			json_object_object_add(cur, "login", json_object_new_string(PQgetvalue(res, i, 2)));
			json_object_object_add(cur, "cells", cells);
			json_object_array_add(students, cur);
		}
		int pct = atoi(PQgetvalue(res, i, 4)), complete = PQgetvalue(res, i, 5)[0] == 't';
		done += complete;
		json_object *c = json_object_new_object();
		json_object_object_add(c, "percent", json_object_new_int(pct));
		/* colour bucket 0..10 for the scale, "done" for completed */
		json_object_object_add(c, "band", json_object_new_int(pct / 10));
		json_object_object_add(c, "completed", json_object_new_boolean(complete));
		if (complete) json_object_object_add(c, "completed_at", json_object_new_string(PQgetvalue(res, i, 6)));
		json_object_array_add(cells, c);
	}
	if (cur) { json_object_object_add(cur, "complete", json_object_new_boolean(nv && done == nv)); finished += nv && done == nv; }
	PQclear(res);
	json_object_object_add(o, "students", students);
	json_object_object_add(o, "finished", json_object_new_int(finished));
	json_object_object_add(o, "student_count", json_object_new_int((int)json_object_array_length(students)));
	return o;
}

/* GET /api/v1/assignments/:id */
void h_api_assignment(req *r)
{
	char id[24];
	if (!assignment_mine(r, id)) return;
	json_object *o = assignment_report(r, id);
	if (!o) { learn_fail(r, 500, "db"); return; }
	res_json(r, 200, o);
}

/* DELETE /api/v1/assignments/:id */
void h_api_assignment_delete(req *r)
{
	char id[24];
	if (!assignment_mine(r, id)) return;
	if (DB_CMD("DELETE FROM assignments WHERE id = $1::bigint", id) < 0) { learn_fail(r, 500, "db"); return; }
	res_body(r, 204, NULL, NULL, 0);
}

/* GET /assignments/:id */
void h_assignment_page(req *r)
{
	char id[24];
	if (!assignment_mine(r, id)) return;
	json_object *o = assignment_report(r, id);
	if (!o) { learn_fail(r, 500, "db"); return; }
	json_object *a;
	if (json_object_object_get_ex(o, "assignment", &a)) {
		json_object *t;
		if (json_object_object_get_ex(a, "title", &t)) json_object_object_add(o, "title", json_object_get(t));
	}
	learn_page(r, 200, "assignment", o, NULL, NULL);
	json_object_put(o);
}

static void csv_cell(buf *b, const char *s)
{
	/* quoted always; a leading = + - @ would be a formula in a spreadsheet: prefix it with ' */
	buf_puts(b, "\"");
	if (strchr("=+-@\t\r", s[0]) && s[0]) buf_puts(b, "'");
	for (; *s; s++) {
		if (*s == '"') buf_puts(b, "\"\"");
		else buf_append(b, s, 1);
	}
	buf_puts(b, "\"");
}

/* GET /assignments/:id/export.csv: UTF-8 with a BOM, so Excel in Japanese opens it as UTF-8 */
void h_assignment_csv(req *r)
{
	char id[24];
	if (!assignment_mine(r, id)) return;
	json_object *o = assignment_report(r, id);
	if (!o) { learn_fail(r, 500, "db"); return; }
	buf b = {0};
	buf_puts(&b, "\xEF\xBB\xBF");
	csv_cell(&b, tr(r, "learn_col_student"));
	buf_puts(&b, ",");
	csv_cell(&b, tr(r, "learn_col_login"));
	json_object *videos, *students;
	json_object_object_get_ex(o, "videos", &videos);
	json_object_object_get_ex(o, "students", &students);
	for (size_t i = 0; i < json_object_array_length(videos); i++) {
		json_object *t;
		json_object_object_get_ex(json_object_array_get_idx(videos, i), "title", &t);
		buf_puts(&b, ",");
		csv_cell(&b, arena_printf(r->a, "%s (%%)", json_object_get_string(t)));
		buf_puts(&b, ",");
		csv_cell(&b, arena_printf(r->a, "%s (%s)", json_object_get_string(t), tr(r, "learn_col_completed")));
	}
	buf_puts(&b, ",");
	csv_cell(&b, tr(r, "learn_completed"));
	buf_puts(&b, "\r\n");
	for (size_t i = 0; i < json_object_array_length(students); i++) {
		json_object *s = json_object_array_get_idx(students, i), *f, *cells;
		json_object_object_get_ex(s, "name", &f);
		csv_cell(&b, json_object_get_string(f));
		buf_puts(&b, ",");
		json_object_object_get_ex(s, "login", &f);
		csv_cell(&b, json_object_get_string(f));
		json_object_object_get_ex(s, "cells", &cells);
		for (size_t k = 0; k < json_object_array_length(cells); k++) {
			json_object *c = json_object_array_get_idx(cells, k), *p, *at;
			json_object_object_get_ex(c, "percent", &p);
			buf_printf(&b, ",%d,", json_object_get_int(p));
			csv_cell(&b, json_object_object_get_ex(c, "completed_at", &at) ? json_object_get_string(at) : "");
		}
		json_object_object_get_ex(s, "complete", &f);
		buf_printf(&b, ",%d\r\n", json_object_get_boolean(f));
	}
	json_object_put(o);
	res_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"assignment-%s.csv\"", id));
	res_body(r, 200, "text/csv; charset=utf-8", b.p, b.len);
	buf_free(&b);
}

/* GET /assignments: the creator's assignments and the form to make one */
void h_assignments_page(req *r)
{
	json_object *a = assignments_list(r, 500);
	if (!a) { learn_fail(r, 500, "db"); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "assignments", a);
	json_object_object_add(ctx, "empty", json_object_new_boolean(json_object_array_length(a) == 0));
	/* the picker offers the classes the creator teaches (admins: every class); without any, say so */
	PGresult *res = DB_EXEC("SELECT $2 = 'admin' OR EXISTS (SELECT 1 FROM roster_enrollments e JOIN users u ON u.sourced_id = e.user_sourced_id "
				"JOIN roster_classes c ON c.sourced_id = e.class_sourced_id AND c.status = 'active' "
				"WHERE u.id = $1::bigint AND e.role = 'teacher' AND e.status = 'active')", learn_uid(r), learn_role(r));
	json_object_object_add(ctx, "has_classes", json_object_new_boolean(res && PQgetvalue(res, 0, 0)[0] == 't'));
	PQclear(res);
	buf q = {0};
	buf_puts(&q, "SELECT v.id, v.title FROM courses v WHERE ");
	learn_course_access_sql(&q, 1, 2);
	buf_puts(&q, " ORDER BY (v.owner_id = $1::bigint) DESC, v.updated_at DESC LIMIT 500");
	const char *p[2] = {learn_uid(r), learn_role(r)};
	res = db_exec(q.p, 2, p);
	json_object_object_add(ctx, "courses", res ? db_rows_json(res) : json_object_new_array());
	PQclear(res);
	buf_reset(&q);
	buf_puts(&q, "SELECT v.public_id AS id, v.title FROM videos v WHERE v.status = 'ready' AND ");
	video_access_sql(&q, 1, 2);
	buf_puts(&q, " ORDER BY (v.owner_id = $1::bigint) DESC, v.created_at DESC LIMIT 1000");
	res = db_exec(q.p, 2, p);
	buf_free(&q);
	json_object_object_add(ctx, "videos", res ? db_rows_json(res) : json_object_new_array());
	PQclear(res);
	learn_page(r, 200, "assignments", ctx, "learn_assignments_title", "/static/js/learn-assign.js", NULL);
	json_object_put(ctx);
}
