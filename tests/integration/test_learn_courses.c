/* Courses and assignments: a teacher builds a course and assigns it to a roster class; a student of that class
 * sees it, may watch even a class-only video, and the teacher's table and CSV fill in. Bad input changes nothing;
 * roster changes are followed without any step. */
#include "learn_helpers.h"

struct world {
	long tid, sid, oid, xid;
	char *th, *sh, *oh, *xh;          /* teacher, student in class, student elsewhere, other teacher */
	char tname[64], sname[64], oname[64], xname[64], cls[64], cls2[64];
	char *v1, *v2, *v3;
};

static struct world world(void)
{
	struct world w;
	const char *tag = lh_tag();
	snprintf(w.tname, sizeof w.tname, "lct-%s", tag);
	snprintf(w.sname, sizeof w.sname, "lcs-%s", tag);
	snprintf(w.oname, sizeof w.oname, "lco-%s", tag);
	snprintf(w.xname, sizeof w.xname, "lcx-%s", tag);
	snprintf(w.cls, sizeof w.cls, "lcc-%s", tag);
	snprintf(w.cls2, sizeof w.cls2, "lcd-%s", tag);
	w.th = lh_user("creator", w.tname, &w.tid);
	w.sh = lh_user("viewer", w.sname, &w.sid);
	w.oh = lh_user("viewer", w.oname, &w.oid);
	w.xh = lh_user("creator", w.xname, &w.xid);
	const char *in[1] = {w.sname}, *out[1] = {w.oname};
	lh_class(w.cls, "2年1組", w.tname, in, 1);
	lh_class(w.cls2, "2年2組", w.xname, out, 1);
	w.v1 = lh_video(w.tid, "public", 100, "Lesson 1");
	w.v2 = lh_video(w.tid, "class", 50, "Lesson 2 (class only)");
	w.v3 = lh_video(w.tid, "private", 80, "Lesson 3");
	return w;
}

Test(learn_courses, course_crud_keeps_order_and_refuses_bad_input)
{
	struct world w = world();
	char body[1024];
	snprintf(body, sizeof body, "{\"title\":\"算数<b>1</b>\",\"description\":\"d\",\"visibility\":\"private\",\"videos\":[\"%s\",\"%s\",\"%s\"]}", w.v2, w.v1, w.v3);
	json_object *o = lh_json("POST", "/api/v1/courses", w.th, body, 201);
	char *cid = strdup(lh_get(o, "course.id"));
	cr_assert_str_eq(lh_get(o, "course.videos.0.id"), w.v2);
	cr_assert_str_eq(lh_get(o, "course.videos.2.id"), w.v3);
	json_object_put(o);
	/* reorder with PUT */
	char path[128];
	snprintf(path, sizeof path, "/api/v1/courses/%s", cid);
	snprintf(body, sizeof body, "{\"videos\":[\"%s\",\"%s\"]}", w.v1, w.v2);
	o = lh_json("PUT", path, w.th, body, 200);
	cr_assert_str_eq(lh_get(o, "course.videos.0.id"), w.v1);
	cr_assert_null(lh_get(o, "course.videos.2"));
	cr_assert_str_eq(lh_get(o, "course.title"), "算数<b>1</b>", "title kept when not sent");
	json_object_put(o);
	/* bad input: nothing changes */
	snprintf(body, sizeof body, "{\"videos\":[\"%s\",\"ffffffffffffff00\"]}", w.v3);
	o = lh_json("PUT", path, w.th, body, 422);
	cr_assert_str_eq(lh_get(o, "error.code"), "course_video_missing");
	cr_assert_str_eq(lh_get(o, "error.details.videos.0"), "ffffffffffffff00");
	json_object_put(o);
	snprintf(body, sizeof body, "{\"videos\":[\"%s\",\"%s\"]}", w.v1, w.v1);
	json_object_put(lh_json("PUT", path, w.th, body, 422));
	json_object_put(lh_json("PUT", path, w.th, "{\"title\":\"\"}", 422));
	json_object_put(lh_json("PUT", path, w.th, "{\"visibility\":\"everyone\"}", 422));
	json_object_put(lh_json("POST", "/api/v1/courses", w.th, "{\"videos\":[]}", 422));
	/* another creator may neither change it nor put someone's private video in a course */
	json_object_put(lh_json("PUT", path, w.xh, "{\"title\":\"mine now\"}", 403));
	snprintf(body, sizeof body, "{\"title\":\"steal\",\"videos\":[\"%s\"]}", w.v3);
	o = lh_json("POST", "/api/v1/courses", w.xh, body, 403);
	cr_assert_str_eq(lh_get(o, "error.code"), "course_video_forbidden");
	json_object_put(o);
	/* a student may not create courses, and cannot see the private course */
	json_object_put(lh_json("POST", "/api/v1/courses", w.sh, "{\"title\":\"x\"}", 403));
	json_object_put(lh_json("GET", path, w.sh, NULL, 404));
	o = lh_json("GET", path, w.th, NULL, 200);
	cr_assert_str_eq(lh_get(o, "course.videos.0.id"), w.v1);
	cr_assert_str_eq(lh_get(o, "course.videos.1.id"), w.v2);
	json_object_put(o);
	/* a deleted video leaves the course */
	free(lh_sql("DELETE FROM videos WHERE public_id = '%s' RETURNING 1", w.v1));
	o = lh_json("GET", path, w.th, NULL, 200);
	cr_assert_str_eq(lh_get(o, "course.videos.0.id"), w.v2);
	json_object_put(o);
	json_object_put(lh_json("DELETE", path, w.th, NULL, 204));
	json_object_put(lh_json("GET", path, w.th, NULL, 404));
	free(cid);
}

Test(learn_courses, assignment_reaches_the_class_and_the_teacher_table_fills_in)
{
	struct world w = world();
	char body[1024], path[160];
	snprintf(body, sizeof body, "{\"title\":\"国語\",\"videos\":[\"%s\",\"%s\"]}", w.v1, w.v2);
	json_object *o = lh_json("POST", "/api/v1/courses", w.th, body, 201);
	char *cid = strdup(lh_get(o, "course.id"));
	json_object_put(o);
	/* before the assignment the class-only video is closed to the student */
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", w.v2);
	json_object_put(lh_json("GET", path, w.sh, NULL, 403));

	/* bad assignments */
	snprintf(body, sizeof body, "{\"course\":%s,\"classes\":[\"%s\"]}", cid, w.cls2);
	o = lh_json("POST", "/api/v1/assignments", w.th, body, 403);
	cr_assert_str_eq(lh_get(o, "error.code"), "assignment_not_teacher");
	json_object_put(o);
	snprintf(body, sizeof body, "{\"course\":%s,\"classes\":[\"no-such-class\"]}", cid);
	json_object_put(lh_json("POST", "/api/v1/assignments", w.th, body, 422));
	snprintf(body, sizeof body, "{\"course\":%s,\"classes\":[\"%s\"],\"start_at\":\"2030-04-10T09:00\",\"due_at\":\"2030-04-01T09:00\"}", cid, w.cls);
	o = lh_json("POST", "/api/v1/assignments", w.th, body, 422);
	cr_assert_str_eq(lh_get(o, "error.code"), "due_before_start");
	json_object_put(o);
	snprintf(body, sizeof body, "{\"course\":%s,\"classes\":[\"%s\"],\"due_at\":\"2030-02-30T09:00\"}", cid, w.cls);
	json_object_put(lh_json("POST", "/api/v1/assignments", w.th, body, 422));
	snprintf(body, sizeof body, "{\"course\":%s,\"video\":\"%s\",\"classes\":[\"%s\"]}", cid, w.v1, w.cls);
	json_object_put(lh_json("POST", "/api/v1/assignments", w.th, body, 422));
	snprintf(body, sizeof body, "{\"course\":%s,\"classes\":[]}", cid);
	json_object_put(lh_json("POST", "/api/v1/assignments", w.th, body, 422));
	char *n = lh_sql("SELECT count(*) FROM assignments WHERE course_id = %s", cid);
	cr_assert_str_eq(n, "0", "no bad request made an assignment");
	free(n);

	snprintf(body, sizeof body, "{\"course\":%s,\"classes\":[\"%s\"],\"start_at\":\"2020-01-01\",\"due_at\":\"2020-01-31T17:00+09:00\"}", cid, w.cls);
	o = lh_json("POST", "/api/v1/assignments", w.th, body, 201);
	char *aid = strdup(lh_get(o, "assignment.id"));
	cr_assert_str_eq(lh_get(o, "assignment.due_at"), "2020-01-31 17:00");
	json_object_put(o);

	/* the student of the class sees it (overdue: its due date passed), the other student does not */
	o = lh_json("GET", "/api/v1/me/assignments", w.sh, NULL, 200);
	cr_assert_str_eq(lh_get(o, "assignments.0.id"), aid);
	cr_assert_str_eq(lh_get(o, "assignments.0.overdue"), "true");
	cr_assert_str_eq(lh_get(o, "assignments.0.percent"), "0");
	json_object_put(o);
	o = lh_json("GET", "/api/v1/me/assignments", w.oh, NULL, 200);
	cr_assert_null(lh_get(o, "assignments.0"));
	json_object_put(o);
	/* and on the pupil's home page */
	struct http_res hr;
	cr_assert_eq(http_do("GET", "/", w.sh, NULL, 0, &hr), 0);
	cr_assert_eq(hr.status, 200);
	const char *sec = strstr(hr.body, "data-testid=\"home-assignments\"");
	cr_assert_not_null(sec, "the home page has the assignments section");
	cr_assert(strstr(sec, "国語") && strstr(sec, "overdue"), "the assignment is listed there, marked overdue");
	http_free(&hr);
	/* and on the teacher's home, among the assignments they gave: overdue, nobody finished yet */
	cr_assert_eq(http_do("GET", "/", w.th, NULL, 0, &hr), 0);
	cr_assert_eq(hr.status, 200);
	sec = strstr(hr.body, "data-testid=\"given-assignments\"");
	cr_assert_not_null(sec, "the teacher home has the given-assignments section");
	char *end = strstr(sec, "</section>");
	cr_assert_not_null(end);
	*end = 0;
	cr_assert(strstr(sec, "国語") && strstr(sec, "overdue") && strstr(sec, " 0/"), "listed, overdue, none finished: %s", sec);
	http_free(&hr);
	/* assigned: the class-only video is watchable now, for the class's student only */
	json_object_put(lh_json("GET", path, w.oh, NULL, 403));
	char *s2 = lh_session(w.sh, w.v2), *s1 = lh_session(w.sh, w.v1);
	cr_assert_eq(lh_beat(w.sh, s2, w.v2, 50, "[[0,50]]"), 202);
	cr_assert_eq(lh_beat(w.sh, s1, w.v1, 30, "[[0,30]]"), 202);
	cr_assert_eq(lh_wait_watched(w.sid, w.v1, 30000, 20), 30000);
	cr_assert_eq(lh_wait_watched(w.sid, w.v2, 50000, 20), 50000);
	o = lh_json("GET", "/api/v1/me/assignments", w.sh, NULL, 200);
	cr_assert_str_eq(lh_get(o, "assignments.0.percent"), "50");
	cr_assert_str_eq(lh_get(o, "assignments.0.complete"), "false");
	json_object_put(o);

	/* the teacher's table: one student, v1 at 30 %, v2 complete with a date */
	char apath[128];
	snprintf(apath, sizeof apath, "/api/v1/assignments/%s", aid);
	o = lh_json("GET", apath, w.th, NULL, 200);
	cr_assert_str_eq(lh_get(o, "students.0.cells.0.percent"), "30");
	cr_assert_null(lh_get(o, "students.1"));
	cr_assert_str_eq(lh_get(o, "students.0.cells.1.completed"), "true");
	cr_assert_not_null(lh_get(o, "students.0.cells.1.completed_at"));
	json_object_put(o);
	json_object_put(lh_json("GET", apath, w.xh, NULL, 403));
	/* CSV with a BOM */
	char csv[160];
	snprintf(csv, sizeof csv, "/assignments/%s/export.csv", aid);
	struct http_res r;
	cr_assert_eq(http_do("GET", csv, w.th, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(r.body_len > 3 && !memcmp(r.body, "\xEF\xBB\xBF", 3), "UTF-8 BOM first");
	cr_assert(strstr(r.body, ",30,"), "%s", r.body);
	http_free(&r);

	/* the roster changes: a new student enrolls, then the class is marked tobedeleted; no step in between */
	long nid;
	char nname[64];
	snprintf(nname, sizeof nname, "lcn-%s", lh_tag());
	char *nh = lh_user("viewer", nname, &nid);
	const char *in[1] = {nname};
	lh_class(w.cls, "2年1組", NULL, in, 1);
	o = lh_json("GET", "/api/v1/me/assignments", nh, NULL, 200);
	cr_assert_str_eq(lh_get(o, "assignments.0.id"), aid);
	json_object_put(o);
	o = lh_json("GET", apath, w.th, NULL, 200);
	cr_assert_not_null(lh_get(o, "students.1"), "two students now");
	json_object_put(o);
	free(lh_sql("UPDATE roster_classes SET status = 'tobedeleted' WHERE sourced_id = '%s' RETURNING 1", w.cls));
	o = lh_json("GET", "/api/v1/me/assignments", nh, NULL, 200);
	cr_assert_null(lh_get(o, "assignments.0"));
	json_object_put(o);
	json_object_put(lh_json("GET", path, w.sh, NULL, 403));   /* the grant went with the class */
	/* HTML pages render */
	const char *pages[] = {"/my/assignments", "/courses", "/my/history"};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(http_do("GET", pages[i], w.sh, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 200, "%s", pages[i]);
		http_free(&r);
	}
	snprintf(csv, sizeof csv, "/assignments/%s", aid);
	cr_assert_eq(http_do("GET", csv, w.th, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "data-testid=\"assignment-table\""));
	http_free(&r);
	free(nh); free(s1); free(s2); free(aid); free(cid);
}

/* The assignment form's class picker posts one comma-separated string of sourcedIds; each is checked, and the
 * picker's ?mine=1 offers a teacher only the classes they teach (an admin every class). */
Test(learn_courses, assignment_takes_the_pickers_comma_separated_classes)
{
	struct world w = world();
	char body[1024], path[256], uniq[64], aname[64];
	snprintf(uniq, sizeof uniq, "lcp-%s", lh_tag());
	snprintf(aname, sizeof aname, "lca-%s", lh_tag());
	char *ah = lh_user("admin", aname, NULL);
	lh_class(uniq, uniq, w.xname, NULL, 0);   /* titled by its id, so a search finds exactly it */
	/* the picker: a teacher's ?mine=1 search skips classes they do not teach; without it, or as admin, it finds them */
	snprintf(path, sizeof path, "/api/v1/pickers/classes?mine=1&q=%s", uniq);
	json_object *o = lh_json("GET", path, w.th, NULL, 200);
	cr_assert_null(lh_get(o, "items.0"), "not the teacher's class: not offered");
	json_object_put(o);
	o = lh_json("GET", path, w.xh, NULL, 200);
	cr_assert_str_eq(lh_get(o, "items.0.id"), uniq, "the class's own teacher is offered it");
	json_object_put(o);
	o = lh_json("GET", path, ah, NULL, 200);
	cr_assert_str_eq(lh_get(o, "items.0.id"), uniq, "an admin is offered every class");
	json_object_put(o);
	snprintf(path, sizeof path, "/api/v1/pickers/classes?q=%s", uniq);
	o = lh_json("GET", path, w.th, NULL, 200);
	cr_assert_str_eq(lh_get(o, "items.0.id"), uniq, "without mine=1 the search is unchanged");
	json_object_put(o);
	snprintf(path, sizeof path, "/api/v1/pickers/classes?mine=1&q=2%%E5%%B9%%B41%%E7%%B5%%84");   /* 2年1組 */
	o = lh_json("GET", path, w.th, NULL, 200);
	cr_assert_str_eq(lh_get(o, "items.0.id"), w.cls);
	cr_assert_null(lh_get(o, "items.1"), "only the one class the teacher teaches");
	json_object_put(o);

	snprintf(body, sizeof body, "{\"video\":\"%s\",\"classes\":\"%s,no-such-%s\"}", w.v1, w.cls, uniq);
	o = lh_json("POST", "/api/v1/assignments", w.th, body, 422);
	cr_assert_str_eq(lh_get(o, "error.code"), "assignment_class_unknown");
	cr_assert_not_null(strstr(lh_get(o, "error.message"), "no-such-"), "the message names the unknown id");
	json_object_put(o);
	snprintf(body, sizeof body, "{\"video\":\"%s\",\"classes\":\"%s,%s\"}", w.v1, w.cls, w.cls2);
	o = lh_json("POST", "/api/v1/assignments", w.th, body, 403);
	cr_assert_str_eq(lh_get(o, "error.code"), "assignment_not_teacher");
	cr_assert_str_eq(lh_get(o, "error.details.classes.0"), w.cls2);
	json_object_put(o);
	const char *bad[] = {"\"\"", "\" , ,\"", "\"a\\u0001b\"", "42", "[\"\"]"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(body, sizeof body, "{\"video\":\"%s\",\"classes\":%s}", w.v1, bad[i]);
		o = lh_json("POST", "/api/v1/assignments", w.th, body, 422);
		cr_assert_str_eq(lh_get(o, "error.code"), "assignment_classes", "refused: %s", bad[i]);
		json_object_put(o);
	}
	char *n = lh_sql("SELECT count(*) FROM assignments a JOIN videos v ON v.id = a.video_id WHERE v.public_id = '%s'", w.v1);
	cr_assert_str_eq(n, "0", "no refused request made an assignment");
	free(n);
	/* blanks around ids and an empty tail are dropped */
	snprintf(body, sizeof body, "{\"video\":\"%s\",\"classes\":\" %s ,\"}", w.v1, w.cls);
	o = lh_json("POST", "/api/v1/assignments", w.th, body, 201);
	cr_assert_str_eq(lh_get(o, "assignment.classes.0"), w.cls);
	cr_assert_null(lh_get(o, "assignment.classes.1"));
	json_object_put(o);
	/* an admin assigns any class, several at once */
	snprintf(body, sizeof body, "{\"video\":\"%s\",\"classes\":\"%s,%s\"}", w.v1, w.cls2, uniq);
	o = lh_json("POST", "/api/v1/assignments", ah, body, 201);
	cr_assert_not_null(lh_get(o, "assignment.classes.1"));
	json_object_put(o);
	free(ah);
}
