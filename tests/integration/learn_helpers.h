/* Helpers for the learn integration tests (header-only, static): roster fixtures made with SQL, ready videos
 * as rows (heartbeats need no media), playback sessions, heartbeats, and waiting for the worker's flush. */
#ifndef RS_LEARN_HELPERS_H
#define RS_LEARN_HELPERS_H
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define LH_PASSWORD "Learn-Test-Passw0rd!"

__attribute__((unused)) static char *lh_sql(const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return t_db_value(sql, 0, NULL);
}

/* a unique tag per test process and call, for ids and e-mails */
__attribute__((unused)) static const char *lh_tag(void)
{
	static char tag[40];
	static int n;
	snprintf(tag, sizeof tag, "%d%ld%d", (int)getpid(), (long)time(NULL) % 100000, n++);
	return tag;
}

/* a user with a role and a roster sourcedId (= its e-mail's local part); returns the bearer header block */
__attribute__((unused)) static char *lh_user(const char *role, const char *sourced, long *id)
{
	char email[128];
	snprintf(email, sizeof email, "%s@learn.test", sourced);
	long uid = t_make_user(email, role, LH_PASSWORD);
	cr_assert_gt(uid, 0);
	free(lh_sql("UPDATE users SET sourced_id = '%s' WHERE id = %ld RETURNING id", sourced, uid));
	if (id) *id = uid;
	char *tok = t_login(email, LH_PASSWORD);
	cr_assert_not_null(tok);
	char *h;
	cr_assert(asprintf(&h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	free(tok);
	return h;
}

/* an active class with a teacher and students (sourcedIds) */
__attribute__((unused)) static void lh_class(const char *cls, const char *title, const char *teacher, const char **students, int n)
{
	free(lh_sql("INSERT INTO roster_classes (sourced_id, title, course_sourced_id, class_type, school_sourced_id) "
		    "VALUES ('%s', '%s', 'lc-course', 'homeroom', 'lc-school') ON CONFLICT DO NOTHING RETURNING 1", cls, title));
	if (teacher)
		free(lh_sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) "
			    "VALUES ('e-%s-%s', '%s', 'lc-school', '%s', 'teacher') RETURNING 1", cls, teacher, cls, teacher));
	for (int i = 0; i < n; i++)
		free(lh_sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) "
			    "VALUES ('e-%s-%s', '%s', 'lc-school', '%s', 'student') RETURNING 1", cls, students[i], cls, students[i]));
}

/* a ready video row (no media: heartbeats and progress need only its duration); returns its public id */
__attribute__((unused)) static char *lh_video(long owner, const char *visibility, double duration, const char *title)
{
	char pid[17];
	snprintf(pid, sizeof pid, "%016lx", ((unsigned long)getpid() << 32) ^ (unsigned long)random() ^ (unsigned long)time(NULL));
	for (int i = 0; pid[i]; i++) if (pid[i] == ' ') pid[i] = '0';
	free(lh_sql("INSERT INTO videos (public_id, title, status, visibility, duration, owner_id) "
		    "VALUES ('%s', '%s', 'ready', '%s', %g, %ld) RETURNING id", pid, title, visibility, duration, owner));
	return strdup(pid);
}

__attribute__((unused)) static json_object *lh_json(const char *method, const char *path, const char *h, const char *body, int want)
{
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do(method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
	cr_assert_eq(r.status, want, "%s %s: %d %.400s", method, path, r.status, r.body);
	json_object *o = r.body_len ? json_tokener_parse(r.body) : NULL;
	http_free(&r);
	return o;
}

__attribute__((unused)) static const char *lh_get(json_object *o, const char *path)
{
	char buf[256], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	json_object *cur = o;
	for (char *p = strtok_r(buf, ".", &save); p && cur; p = strtok_r(NULL, ".", &save)) {
		json_object *n = NULL;
		if (json_object_is_type(cur, json_type_array)) n = json_object_array_get_idx(cur, (size_t)atoi(p));
		else json_object_object_get_ex(cur, p, &n);
		cur = n;
	}
	return cur ? json_object_get_string(cur) : NULL;
}

/* the playback session for video pid (malloc'd) */
__attribute__((unused)) static char *lh_session(const char *h, const char *pid)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", pid);
	json_object *o = lh_json("GET", path, h, NULL, 200);
	const char *s = lh_get(o, "playback.session");
	cr_assert_not_null(s, "the playback answer carries a session");
	char *out = strdup(s);
	json_object_put(o);
	return out;
}

/* POST a heartbeat; returns the status (-1 on a connection error) */
__attribute__((unused)) static int lh_beat(const char *h, const char *session, const char *pid, double pos, const char *ranges)
{
	char body[8192], hdr[4096];
	snprintf(body, sizeof body, "{\"session\":\"%s\",\"video\":\"%s\",\"position\":%g,\"rate\":1,\"ranges\":%s}",
		 session, pid, pos, ranges);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	if (http_do("POST", "/api/v1/views/heartbeat", hdr, body, strlen(body), &r) < 0) return -1;
	int st = r.status;
	http_free(&r);
	return st;
}

/* Wait (bounded) until the merged milliseconds of user × video equal want; returns what was there last. */
__attribute__((unused)) static long lh_wait_watched(long uid, const char *pid, long want, int seconds)
{
	long got = -1;
	for (int i = 0; i < seconds * 10; i++) {
		char *v = lh_sql("SELECT p.watched_ms FROM view_progress p JOIN videos v ON v.id = p.video_id "
				 "WHERE p.user_id = %ld AND v.public_id = '%s'", uid, pid);
		got = v ? atol(v) : -1;
		free(v);
		if (got == want) break;
		usleep(100000);
	}
	return got;
}
#endif
