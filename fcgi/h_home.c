/* "/" and /api/v1/me/home: each role lands on its own home. Pupils (viewer, guest): continue watching and recent
 * videos they may watch; teachers (creator): their classes from the roster with their pupils, their videos; admins:
 * the platform dashboard (h_core.c). One query per section; sections are separate partials so others can add one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "learn.h"
#include "log.h"
#include "router.h"
#include "video_access.h"
#include "h_videos.h"
#include "h_recommend.h"

void h_dashboard(req *r);   /* h_core.c: the admin home */

#define HOME_VIDEO_COLS \
	"v.id AS pk, v.public_id AS id, v.title, v.status, v.visibility, v.duration, v.poster, " \
	"COALESCE(u.name, '') AS owner_name, j.state AS job_state, COALESCE(j.progress, 0)::int AS progress, " \
	"to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
#define HOME_VIDEO_FROM " FROM videos v LEFT JOIN users u ON u.id = v.owner_id LEFT JOIN jobs j ON j.id = v.job_id "

static const char *uid_text(req *r) { return arena_printf(r->a, "%ld", r->user->id); }

/* Rows → decorated video objects; NULL on a database error (logged). */
static json_object *video_rows(req *r, PGresult *res, int manage, const char *what)
{
	if (!res) { log_error("home %s: %s", what, db_error()); return NULL; }
	json_object *a = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_object *v = db_row_json(res, i);
		video_decorate(r, v, manage);
		if (!manage) {   /* pupils never see the pipeline's internal states */
			json_object_object_del(v, "job_state");
			json_object_object_del(v, "progress");
			json_object_object_del(v, "status_label");
		}
		json_object_array_add(a, v);
	}
	PQclear(res);
	return a;
}

/* Started and not finished (resume point before the last 5 %), ready, and still watchable by this pupil. */
static json_object *pupil_continue(req *r)
{
	buf sql = {0};
	buf_puts(&sql, "SELECT " HOME_VIDEO_COLS ", round(wp.position)::int AS position, "
		 "CASE WHEN v.duration > 0 THEN least(100, round(100 * wp.position / v.duration))::int ELSE 0 END AS percent"
		 HOME_VIDEO_FROM "JOIN watch_positions wp ON wp.video_id = v.id AND wp.user_id = $1::bigint "
		 "WHERE v.status = 'ready' AND wp.position >= 5 AND (v.duration IS NULL OR wp.position < v.duration * 0.95) AND ");
	video_access_sql(&sql, 1, 2);
	buf_puts(&sql, " ORDER BY wp.updated_at DESC LIMIT 8");
	PGresult *res = DB_EXEC(sql.p, uid_text(r), r->user->role);
	buf_free(&sql);
	return video_rows(r, res, 0, "continue");
}

/* Newest ready videos this pupil may watch: those of their classes first, then the rest (org, public). */
static json_object *pupil_recent(req *r)
{
	buf sql = {0};
	buf_puts(&sql, "SELECT " HOME_VIDEO_COLS ", (v.visibility = 'class') AS in_my_class" HOME_VIDEO_FROM
		 "WHERE v.status = 'ready' AND ");
	video_access_sql(&sql, 1, 2);
	buf_puts(&sql, " ORDER BY (v.visibility = 'class') DESC, v.created_at DESC, v.id DESC LIMIT 12");
	PGresult *res = DB_EXEC(sql.p, uid_text(r), r->user->role);
	buf_free(&sql);
	return video_rows(r, res, 0, "recent");
}

/* Classes this teacher teaches (active teacher enrollment), each with its pupils (kanji and kana names). */
static json_object *teacher_classes(req *r)
{
	PGresult *res = DB_EXEC(
		"SELECT c.sourced_id, c.title, COALESCE(o.name, '') AS school, "
		" (SELECT COALESCE(jsonb_agg(jsonb_build_object('name', btrim(ru.family_name || ' ' || ru.given_name), "
		"   'kana', btrim(COALESCE(ru.metadata->>'jp.kanaFamilyName', '') || ' ' || COALESCE(ru.metadata->>'jp.kanaGivenName', '')), "
		"   'sourced_id', ru.sourced_id) ORDER BY ru.family_name, ru.given_name), '[]') "
		"  FROM roster_enrollments pe JOIN roster_users ru ON ru.sourced_id = pe.user_sourced_id AND ru.status = 'active' "
		"  WHERE pe.class_sourced_id = c.sourced_id AND pe.status = 'active' AND pe.role = 'student') AS pupils "
		"FROM users me JOIN roster_enrollments e ON e.user_sourced_id = me.sourced_id AND e.status = 'active' "
		" AND e.role IN ('teacher', 'aide') "
		"JOIN roster_classes c ON c.sourced_id = e.class_sourced_id AND c.status = 'active' "
		"LEFT JOIN roster_orgs o ON o.sourced_id = c.school_sourced_id "
		"WHERE me.id = $1::bigint ORDER BY c.title LIMIT 50", uid_text(r));
	if (!res) { log_error("home classes: %s", db_error()); return NULL; }
	json_object *a = db_rows_json(res);
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *c = json_object_array_get_idx(a, i), *p;
		if (json_object_object_get_ex(c, "pupils", &p))
			json_object_object_add(c, "pupil_count", json_object_new_int((int)json_object_array_length(p)));
	}
	return a;
}

static json_object *teacher_videos(req *r)
{
	PGresult *res = DB_EXEC("SELECT " HOME_VIDEO_COLS HOME_VIDEO_FROM "WHERE v.owner_id = $1::bigint "
				"ORDER BY v.created_at DESC, v.id DESC LIMIT 10", uid_text(r));
	return video_rows(r, res, 1, "videos");
}

static int is_teacher(req *r) { return !strcmp(r->user->role, "creator"); }
static int is_pupil(req *r) { return !strcmp(r->user->role, "viewer") || !strcmp(r->user->role, "guest"); }

/* The sections of this user's home, or NULL on a database error. */
static json_object *home_sections(req *r)
{
	json_object *o = json_object_new_object(), *a, *b;
	if (is_pupil(r)) {
		a = pupil_continue(r);
		b = a ? pupil_recent(r) : NULL;
		if (!b) { json_object_put(a); json_object_put(o); return NULL; }
		json_object_object_add(o, "continue_watching", a);
		json_object_object_add(o, "recent_videos", b);
		/* "recommended for you" (h_recommend.c): assignments first, then from recent views, never empty */
		if (recommend_home_context(r, o) < 0) { json_object_put(o); return NULL; }
		learn_home_context(r, o);   /* "my_assignments" for templates/learn/my_assignments_list.html */
	} else {
		a = teacher_classes(r);
		b = a ? teacher_videos(r) : NULL;
		if (!b) { json_object_put(a); json_object_put(o); return NULL; }
		json_object_object_add(o, "classes", a);
		json_object_object_add(o, "videos", b);
		learn_teacher_home_context(r, o);   /* the assignments this teacher gave, with progress */
	}
	return o;
}

void h_home(req *r)
{
	if (!strcmp(r->user->role, "admin")) { h_dashboard(r); return; }
	json_object *ctx = home_sections(r);
	if (!ctx) { res_error(r, 500, "db", tr(r, "home_db_error"), NULL); return; }
	/* the template engine has no index syntax: a list's non-emptiness as its own flag */
	static const char *lists[] = {"continue_watching", "recent_videos", "classes", "videos"};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		json_object *v;
		if (json_object_object_get_ex(ctx, lists[i], &v) && json_object_array_length(v) > 0)
			json_object_object_add(ctx, arena_printf(r->a, "has_%s", lists[i]), json_object_new_boolean(1));
	}
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, is_pupil(r) ? "home_pupil_title" : "home_teacher_title")));
	json_object *st = json_object_new_array();
	json_object_array_add(st, json_object_new_string("/static/css/video.css"));
	json_object_array_add(st, json_object_new_string("/static/css/home.css"));
	json_object_array_add(st, json_object_new_string("/static/css/learn.css"));
	json_object_object_add(ctx, "styles", st);
	res_html(r, 200, is_pupil(r) ? "home/pupil" : "home/teacher", ctx);
	json_object_put(ctx);
}

/* GET /api/v1/me/home: the same sections as JSON; admins get a pointer to the platform summary. */
void h_api_me_home(req *r)
{
	json_object *o;
	if (!strcmp(r->user->role, "admin")) {
		o = json_object_new_object();
		json_object_object_add(o, "summary_url", json_object_new_string("/api/v1/stats/summary"));
	} else if (!(o = home_sections(r))) {
		res_error(r, 500, "db", tr(r, "home_db_error"), NULL);
		return;
	}
	json_object_object_add(o, "role", json_object_new_string(r->user->role));
	json_object_object_add(o, "kind", json_object_new_string(!strcmp(r->user->role, "admin") ? "admin" : is_teacher(r) ? "teacher" : "pupil"));
	res_json(r, 200, o);
}
