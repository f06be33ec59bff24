/* Per-student stats (issue 10): history and completion for the student themself, their class's teacher and admins;
 * 403 for other teachers and pupils, 404 for nobody, 400 for a reversed range; the page draws its chart and the
 * CSV holds the same rows. Progress rows are written as the flush would leave them (view_progress). */
#include "learn_helpers.h"

static char *page_header(const char *api_header)
{
	/* the same bearer token without "Accept: application/json": the HTML page */
	char *h = strdup(api_header), *acc = strstr(h, "Accept: application/json\r\n");
	if (acc) *acc = 0;
	return h;
}

static struct http_res get(const char *path, const char *h)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	return r;
}

Test(stats_student, history_and_completion_for_the_student_their_teacher_and_admins_only, .timeout = 60)
{
	const char *tag = lh_tag();
	char tn[64], t2n[64], s1n[64], s2n[64], cls[64], path[160];
	snprintf(tn, sizeof tn, "sst-%s", tag);
	snprintf(t2n, sizeof t2n, "sst2-%s", tag);
	snprintf(s1n, sizeof s1n, "sss1-%s", tag);
	snprintf(s2n, sizeof s2n, "sss2-%s", tag);
	snprintf(cls, sizeof cls, "ssc-%s", tag);
	long tid, t2id, s1, s2;
	char *th = lh_user("creator", tn, &tid), *t2h = lh_user("creator", t2n, &t2id);
	char *s1h = lh_user("viewer", s1n, &s1), *s2h = lh_user("viewer", s2n, &s2);
	const char *students[] = {s1n, s2n};
	lh_class(cls, "4年2組", tn, students, 2);
	char *v1 = lh_video(tid, "public", 100, "てこのはたらき"), *v2 = lh_video(tid, "public", 200, "電気の通り道");
	char *aid = lh_sql("INSERT INTO assignments (video_id, created_by) SELECT id, %ld FROM videos WHERE public_id = '%s' RETURNING id", tid, v1);
	free(lh_sql("INSERT INTO assignment_classes (assignment_id, class_sourced_id) VALUES (%s, '%s') RETURNING 1", aid, cls));
	/* pupil 1 finished the assigned video just now and watched a quarter of the other an hour ago */
	free(lh_sql("INSERT INTO view_progress (user_id, video_id, watched_ms, duration_ms, completed_at, first_at, last_at) "
		    "SELECT %ld, id, 100000, 100000, now(), now() - interval '1 hour', now() FROM videos WHERE public_id = '%s' RETURNING 1", s1, v1));
	free(lh_sql("INSERT INTO view_progress (user_id, video_id, watched_ms, duration_ms, first_at, last_at) "
		    "SELECT %ld, id, 50000, 200000, now() - interval '2 hours', now() - interval '1 hour' FROM videos WHERE public_id = '%s' RETURNING 1", s1, v2));

	snprintf(path, sizeof path, "/api/v1/users/%ld/stats", s1);
	json_object *o = lh_json("GET", path, s1h, NULL, 200);
	cr_assert_str_eq(lh_get(o, "summary.videos"), "2");
	cr_assert_str_eq(lh_get(o, "summary.completed"), "1");
	cr_assert_str_eq(lh_get(o, "summary.watch_seconds"), "150");
	cr_assert_str_eq(lh_get(o, "summary.assignments"), "1");
	cr_assert_str_eq(lh_get(o, "summary.assignments_finished"), "1");
	cr_assert_str_eq(lh_get(o, "history.0.video"), v1, "newest first");
	cr_assert_str_eq(lh_get(o, "history.0.percent"), "100");
	cr_assert_str_eq(lh_get(o, "history.1.percent"), "25");
	cr_assert_str_eq(lh_get(o, "history.1.completed"), "false");
	cr_assert(strchr(lh_get(o, "history.0.last_at"), 'T') && strchr(lh_get(o, "history.0.last_at"), 'Z'), "ISO 8601");
	cr_assert_str_eq(lh_get(o, "assignments.0.finished"), "true");
	json_object_put(o);
	json_object_put(lh_json("GET", path, th, NULL, 200));                  /* their teacher */
	char *ah;
	cr_assert(asprintf(&ah, "Authorization: Bearer %s\r\nAccept: application/json\r\n", t_admin_token()) > 0);
	json_object_put(lh_json("GET", path, ah, NULL, 200));                  /* an admin */
	free(ah);
	json_object_put(lh_json("GET", path, t2h, NULL, 403));                 /* a teacher of other classes */
	json_object_put(lh_json("GET", path, s2h, NULL, 403));                 /* a classmate */
	json_object_put(lh_json("GET", "/api/v1/users/999999999/stats", th, NULL, 404));
	snprintf(path, sizeof path, "/api/v1/users/%ld/stats?from=2026-05-02&to=2026-05-01", s1);
	json_object_put(lh_json("GET", path, s1h, NULL, 400));
	snprintf(path, sizeof path, "/api/v1/users/%ld/stats?from=2000-01-01&to=2000-01-31", s1);
	o = lh_json("GET", path, s1h, NULL, 200);
	cr_assert_str_eq(lh_get(o, "summary.videos"), "0", "the range filters the history");
	json_object_put(o);

	/* the page: chart, tables, Japanese; "my learning" leads there */
	char *ph = page_header(th);
	snprintf(path, sizeof path, "/stats/students/%ld", s1);
	struct http_res r = get(path, ph);
	cr_assert_eq(r.status, 200, "%d", r.status);
	cr_assert(strstr(r.body, "data-testid=\"chart-student\"") && strstr(r.body, "<svg"), "a bar chart");
	cr_assert(strstr(r.body, "てこのはたらき") && strstr(r.body, "学習の記録"), "Japanese page with the history");
	http_free(&r);
	char *sh = page_header(s1h);
	r = get("/stats/me", sh);
	cr_assert_eq(r.status, 303);
	snprintf(path, sizeof path, "/stats/students/%ld", s1);
	cr_assert(http_header(&r, "Location") && strstr(http_header(&r, "Location"), path));
	http_free(&r);
	/* the class page links each student to theirs */
	snprintf(path, sizeof path, "/stats/classes/%s", cls);
	r = get(path, ph);
	char link[96];
	snprintf(link, sizeof link, "href=\"/stats/students/%ld\"", s1);
	cr_assert(strstr(r.body, link), "class stats link the student");
	http_free(&r);
	/* CSV: the rows drawn, with a BOM and ISO dates */
	snprintf(path, sizeof path, "/stats/students/%ld/history.csv", s1);
	r = get(path, sh);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(memcmp(r.body, "\xEF\xBB\xBF", 3), 0, "BOM");
	cr_assert(strstr(r.body, v1) && strstr(r.body, v2) && strstr(r.body, ",100,"), "%s", r.body);
	http_free(&r);
	char *s2p = page_header(s2h);
	r = get(path, s2p);
	cr_assert_eq(r.status, 403, "a classmate cannot download it");
	http_free(&r);
	free(s2p);
	free(ph); free(sh); free(aid); free(v1); free(v2);
	free(th); free(t2h); free(s1h); free(s2h);
}
