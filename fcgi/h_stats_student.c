/* Per student (issue 10): history (what they watched, how far, when) and completion of their assignments, as a
 * page with a bar chart, a CSV and GET /api/v1/users/:id/stats. Seen by the student themself ("my learning"),
 * the teachers of a class the student is in, and admins. Reads view_progress by (user, last_at): an index range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chart.h"
#include "db.h"
#include "learn.h"
#include "log.h"
#include "router.h"
#include "stats_http.h"
#include "timefmt.h"


/* The student's history rows in the range (dates in the deployment's zone), newest first, at most 100: exactly what the chart,
 * the table and the CSV show. */
#define STUDENT_HISTORY_SQL \
	"SELECT v.public_id, v.title, COALESCE(LEAST(100, floor(100.0 * p.watched_ms / NULLIF(p.duration_ms, 0)))::int, 0), " \
	"round(p.watched_ms / 1000.0)::bigint, " \
	"COALESCE(to_char(p.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), " \
	"to_char(p.last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') " \
	"FROM view_progress p JOIN videos v ON v.id = p.video_id WHERE p.user_id = $1::bigint " \
	"AND p.last_at >= ($2::date::timestamp AT TIME ZONE $4) AND p.last_at < (($3::date + 1)::timestamp AT TIME ZONE $4) " \
	"ORDER BY p.last_at DESC, p.video_id LIMIT 100"

/* The student by id if the caller may see them; their name, or NULL with 404/403 sent. */
static const char *student_access(req *r, long *uid)
{
	*uid = req_param_id(r, "id");
	if (!*uid) { stats_fail(r, 404, "student_not_found"); return NULL; }
	char u[24], me[24];
	snprintf(u, sizeof u, "%ld", *uid);
	snprintf(me, sizeof me, "%ld", r->user->id);
	PGresult *res = DB_EXEC("SELECT u.name, EXISTS (SELECT 1 FROM roster_enrollments se "
				" JOIN roster_enrollments te ON te.class_sourced_id = se.class_sourced_id AND te.status = 'active' "
				"  AND te.role IN ('teacher', 'aide') "
				" JOIN users t ON t.sourced_id = te.user_sourced_id AND t.id = $2::bigint "
				" WHERE se.user_sourced_id = u.sourced_id AND se.role = 'student' AND se.status = 'active') "
				"FROM users u WHERE u.id = $1::bigint", u, me);
	if (!res) { log_error("stats student: %s", db_error()); stats_fail(r, 500, "db"); return NULL; }
	if (!PQntuples(res)) { PQclear(res); stats_fail(r, 404, "student_not_found"); return NULL; }
	const char *name = arena_strdup(r->a, PQgetvalue(res, 0, 0));
	int teaches = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (*uid != r->user->id && strcmp(r->user->role, "admin") && !teaches) { stats_fail(r, 403, "student_forbidden"); return NULL; }
	return name;
}

/* The student (access checked) and the query's range; NULL with an error sent. */
static const char *student_begin(req *r, long *uid, struct stats_range *rg)
{
	const char *name = student_access(r, uid), *today = name ? stats_today(r) : NULL;
	if (!name) return NULL;
	if (!today) { stats_fail(r, 500, "db"); return NULL; }
	return stats_read_range(r, today, rg) < 0 ? NULL : name;
}

static json_object *student_stats(long uid, const char *name, const struct stats_range *rg)
{
	char u[24];
	snprintf(u, sizeof u, "%ld", uid);
	PGresult *h = DB_EXEC(STUDENT_HISTORY_SQL, u, rg->from, rg->to, learn_tz());
	PGresult *a = h ? DB_EXEC("SELECT a.id, COALESCE(co.title, v.title), "
				  "COALESCE(to_char(a.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
				  "(SELECT count(*) FROM assignment_videos av WHERE av.assignment_id = a.id), "
				  "(SELECT count(*) FROM assignment_videos av JOIN view_progress p ON p.video_id = av.video_id "
				  "  AND p.user_id = $1::bigint AND p.completed_at IS NOT NULL WHERE av.assignment_id = a.id) "
				  "FROM assignment_students s JOIN assignments a ON a.id = s.assignment_id "
				  "LEFT JOIN courses co ON co.id = a.course_id LEFT JOIN videos v ON v.id = a.video_id "
				  "WHERE s.user_id = $1::bigint ORDER BY a.id DESC LIMIT 100", u) : NULL;
	if (!h || !a) { log_error("stats student: %s", db_error()); PQclear(h); return NULL; }
	json_object *o = json_object_new_object(), *who = json_object_new_object(), *hist = json_object_new_array();
	json_object_object_add(who, "id", json_object_new_int64(uid));
	json_object_object_add(who, "name", json_object_new_string(name));
	json_object_object_add(o, "user", who);
	long done = 0, secs = 0;
	for (int i = 0; i < PQntuples(h); i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "video", json_object_new_string(PQgetvalue(h, i, 0)));
		json_object_object_add(e, "title", json_object_new_string(PQgetvalue(h, i, 1)));
		json_object_object_add(e, "percent", json_object_new_int(atoi(PQgetvalue(h, i, 2))));
		json_object_object_add(e, "watch_seconds", json_object_new_int64(atol(PQgetvalue(h, i, 3))));
		int c = PQgetvalue(h, i, 4)[0] != 0;
		json_object_object_add(e, "completed", json_object_new_boolean(c));
		json_object_object_add(e, "completed_at", c ? json_object_new_string(PQgetvalue(h, i, 4)) : NULL);
		json_object_object_add(e, "last_at", json_object_new_string(PQgetvalue(h, i, 5)));
		json_object_array_add(hist, e);
		done += c;
		secs += atol(PQgetvalue(h, i, 3));
	}
	json_object *as = json_object_new_array();
	long finished = 0;
	for (int i = 0; i < PQntuples(a); i++) {
		json_object *e = json_object_new_object();
		long nv = atol(PQgetvalue(a, i, 3)), nc = atol(PQgetvalue(a, i, 4));
		json_object_object_add(e, "id", json_object_new_int64(atol(PQgetvalue(a, i, 0))));
		json_object_object_add(e, "title", json_object_new_string(PQgetvalue(a, i, 1)));
		json_object_object_add(e, "due_at", PQgetvalue(a, i, 2)[0] ? json_object_new_string(PQgetvalue(a, i, 2)) : NULL);
		json_object_object_add(e, "videos", json_object_new_int64(nv));
		json_object_object_add(e, "completed", json_object_new_int64(nc));
		json_object_object_add(e, "finished", json_object_new_boolean(nv > 0 && nc >= nv));
		finished += nv > 0 && nc >= nv;
		json_object_array_add(as, e);
	}
	json_object *sum = json_object_new_object();
	json_object_object_add(sum, "videos", json_object_new_int(PQntuples(h)));
	json_object_object_add(sum, "completed", json_object_new_int64(done));
	json_object_object_add(sum, "watch_seconds", json_object_new_int64(secs));
	json_object_object_add(sum, "assignments", json_object_new_int(PQntuples(a)));
	json_object_object_add(sum, "assignments_finished", json_object_new_int64(finished));
	json_object_object_add(o, "summary", sum);
	json_object_object_add(o, "history", hist);
	json_object_object_add(o, "assignments", as);
	PQclear(h);
	PQclear(a);
	return o;
}

/* GET /api/v1/users/:id/stats?from=&to= */
void h_api_student_stats(req *r)
{
	long uid;
	struct stats_range rg;
	const char *name = student_begin(r, &uid, &rg);
	if (!name) return;
	json_object *o = student_stats(uid, name, &rg);
	if (!o) { stats_fail(r, 500, "db"); return; }
	json_object *range = json_object_new_object();
	json_object_object_add(range, "from", json_object_new_string(rg.from));
	json_object_object_add(range, "to", json_object_new_string(rg.to));
	json_object_object_add(o, "range", range);
	res_json(r, 200, o);
}

/* GET /stats/me: "my learning" */
void h_stats_me(req *r) { res_redirect(r, arena_printf(r->a, "/stats/students/%ld", r->user->id)); }

/* GET /stats/students/:id */
void h_stats_student_page(req *r)
{
	static const char *const tf[] = {"completed_at", "last_at", "due_at", NULL};
	long uid;
	struct stats_range rg;
	const char *name = student_begin(r, &uid, &rg);
	if (!name) return;
	json_object *o = student_stats(uid, name, &rg);
	if (!o) { stats_fail(r, 500, "db"); return; }
	json_object *hist = json_object_object_get(o, "history"), *sum = json_object_object_get(o, "summary");
	int n = (int)json_object_array_length(hist);
	const char **labels = arena_alloc(r->a, sizeof *labels * (size_t)(n + 1));
	long *vals = arena_alloc(r->a, sizeof *vals * (size_t)(n + 1));
	char clip[96];
	/* oldest on the left, as a timeline reads */
	for (int i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(hist, n - 1 - i);
		chart_clip(json_object_get_string(json_object_object_get(e, "title")), 8, clip, sizeof clip);
		labels[i] = arena_strdup(r->a, clip);
		vals[i] = json_object_get_int(json_object_object_get(e, "percent"));
	}
	json_object *bars = chart_bars(labels, vals, n, n > 8 ? n * 48 : 400, 200);
	json_object_object_add(bars, "title", json_object_new_string(tr(r, "stats_student_chart")));
	json_object_object_add(o, "chart", bars);
	json_object_object_add(o, "has_history", json_object_new_boolean(n > 0));
	long secs = json_object_get_int64(json_object_object_get(sum, "watch_seconds"));
	json_object_object_add(sum, "watch_label", json_object_new_string(secs >= 3600
		? arena_printf(r->a, "%ld:%02ld:%02ld", secs / 3600, secs / 60 % 60, secs % 60)
		: arena_printf(r->a, "%ld:%02ld", secs / 60, secs % 60)));
	time_localize(r, hist, TIME_LIST, tf);
	time_localize(r, json_object_object_get(o, "assignments"), TIME_LIST, tf);
	stats_add_range(r, o, &rg);
	json_object_object_add(o, "self", json_object_new_boolean(uid == r->user->id));
	json_object_object_add(o, "base", json_object_new_string(arena_printf(r->a, "/stats/students/%ld", uid)));
	json_object_object_add(o, "title", json_object_new_string(uid == r->user->id ? tr(r, "stats_student_mine")
		: arena_printf(r->a, "%s: %s", tr(r, "stats_student_title"), name)));
	stats_render(r, "student", o, NULL);
	json_object_put(o);
}

/* GET /stats/students/:id/history.csv: the rows of the chart and the table */
void h_stats_student_csv(req *r)
{
	long uid;
	struct stats_range rg;
	const char *name = student_begin(r, &uid, &rg);
	if (!name) return;
	const char *head[] = {tr(r, "stats_col_video_id"), tr(r, "stats_col_video"), tr(r, "stats_col_percent"),
			      tr(r, "stats_col_watch_seconds"), tr(r, "stats_col_completed_at"), tr(r, "stats_col_last_at")};
	char u[24];
	snprintf(u, sizeof u, "%ld", uid);
	const char *p[] = {u, rg.from, rg.to, learn_tz()};
	stats_csv(r, arena_printf(r->a, "student-%ld-%s-%s.csv", uid, rg.from, rg.to), head, 6, STUDENT_HISTORY_SQL, 4, p);
}
