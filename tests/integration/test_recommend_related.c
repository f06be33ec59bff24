/* Recommendations over the real stack: a co-viewing fixture gives the expected "watched together" order, a
 * private video is never recommended to someone who may not watch it (related list, personal list, watch page),
 * a new user's list is not empty, the next video of a course comes first. Views are written into view_progress
 * directly (as the heartbeat flusher would); the worker counts them from its queue, and the test waits for that.
 * Every test makes its own owner, videos and viewers, so other tests' data do not matter. */
#include "video_helpers.h"

/* a fresh user of role; its id, bearer header in *h */
static long user(const char *role, char **h)
{
	char email[128];
	snprintf(email, sizeof email, "rec.%s%ld@test.example", role, vh_uniq());
	long id = t_make_user(email, role, "recommend-password-1");
	char *tok = t_login(email, "recommend-password-1");
	cr_assert_not_null(tok);
	*h = vh_bearer(tok);
	free(tok);
	return id;
}

/* a ready video of owner; its public id (malloc'd) and numeric key in pk */
static char *video(long owner, const char *title, const char *vis, char pk[24])
{
	char pid[17], own[24];
	snprintf(pid, sizeof pid, "%016lx", (unsigned long)vh_uniq() * 2654435761UL);
	snprintf(own, sizeof own, "%ld", owner);
	const char *p[] = {pid, title, own, vis};
	char *k = t_db_value("INSERT INTO videos (public_id, title, owner_id, status, visibility, duration) "
			     "VALUES ($1, $2, $3::bigint, 'ready', $4, 120) RETURNING id", 4, p);
	cr_assert_not_null(k, "insert video");
	snprintf(pk, 24, "%s", k);
	free(k);
	return strdup(pid);
}

/* user uid watched videos.id = pk (a view_progress row, as the heartbeat flush writes it) */
static void viewed(long uid, const char *pk, int completed)
{
	char u[24];
	snprintf(u, sizeof u, "%ld", uid);
	const char *p[] = {u, pk, completed ? "t" : "f"};
	char *r = t_db_value("INSERT INTO view_progress (user_id, video_id, watched_ms, duration_ms, first_at, last_at, completed_at) "
			     "VALUES ($1::bigint, $2::bigint, 1000, 120000, now(), now(), CASE WHEN $3::bool THEN now() END) "
			     "RETURNING video_id", 3, p);
	cr_assert_not_null(r, "insert view");
	free(r);
}

/* wait until the worker has counted every queued view of videos.id = pk */
static void counted(const char *pk)
{
	const char *p[] = {pk};
	for (int i = 0; i < 600; i++) {
		char *n = t_db_value("SELECT count(*) FROM recommend_queue WHERE video_id = $1::bigint", 1, p);
		int done = n && !strcmp(n, "0");
		free(n);
		if (done) return;
		usleep(100 * 1000);
	}
	cr_assert_fail("the worker did not count the views of video %s", pk);
}

static json_object *get(const char *h, const char *path, int status)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, status, "%s: %d %.300s", path, r.status, r.body);
	json_object *o = json_tokener_parse(r.body ? r.body : "");
	http_free(&r);
	return o;
}

/* position of public id in {"videos":[…]} (-1 if absent); its reason into reason (may be NULL) */
static int pos(json_object *o, const char *id, const char **reason)
{
	json_object *a, *x;
	cr_assert(json_object_object_get_ex(o, "videos", &a));
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *v = json_object_array_get_idx(a, i);
		if (json_object_object_get_ex(v, "id", &x) && !strcmp(json_object_get_string(x), id)) {
			if (reason && json_object_object_get_ex(v, "reason", &x)) *reason = json_object_get_string(x);
			return (int)i;
		}
	}
	return -1;
}

static json_object *related(const char *h, const char *id)
{
	char path[160];
	snprintf(path, sizeof path, "/api/v1/videos/%s/related?limit=20", id);
	return get(h, path, 200);
}

Test(recommend_related, co_viewing_orders_neighbours_and_never_shows_a_private_video)
{
	char *ch, *vh[4], pa[24], pb[24], pc[24], pd[24], pp[24];
	long owner = user("creator", &ch);
	char *a = video(owner, "Fractions 1", "public", pa), *b = video(owner, "Fractions 2", "public", pb),
	     *c = video(owner, "Decimals", "public", pc), *d = video(owner, "Unrelated", "public", pd),
	     *p = video(owner, "Teacher notes", "private", pp);
	long u[4];
	for (int i = 0; i < 4; i++) u[i] = user("viewer", &vh[i]);
	/* A+B twice, A+C once, A+P by everybody (P was public once): P is A's strongest neighbour */
	viewed(u[0], pa, 1); viewed(u[0], pb, 1); viewed(u[0], pp, 1);
	viewed(u[1], pa, 1); viewed(u[1], pb, 1); viewed(u[1], pp, 1);
	viewed(u[2], pa, 1); viewed(u[2], pc, 1); viewed(u[2], pp, 1);
	counted(pa);

	json_object *o = related(vh[3], a);
	const char *rb = "", *rc = "", *rd = "";
	int ib = pos(o, b, &rb), ic = pos(o, c, &rc), id = pos(o, d, &rd);
	cr_assert(ib >= 0 && ic > ib, "B (2 co-views) before C (1): %s", json_object_to_json_string(o));
	cr_assert_str_eq(rb, "watched_together");
	cr_assert_str_eq(rc, "watched_together");
	cr_assert(id > ic, "D has no co-views: after them, by its shared owner");
	cr_assert_str_eq(rd, "similar");
	cr_assert_eq(pos(o, p, NULL), -1, "a private video is never recommended to a viewer");
	cr_assert_eq(pos(o, a, NULL), -1, "not the video itself");
	json_object_put(o);

	/* the owner may watch P: it is their strongest neighbour */
	o = related(ch, a);
	cr_assert_eq(pos(o, p, NULL), 0, "%s", json_object_to_json_string(o));
	json_object_put(o);

	/* a viewer who watched A gets B and C from it, never P */
	viewed(u[3], pa, 0);
	counted(pa);
	o = get(vh[3], "/api/v1/me/recommendations?limit=50", 200);
	const char *why = "";
	cr_assert(pos(o, b, &why) >= 0, "%s", json_object_to_json_string(o));
	cr_assert_str_eq(why, "because_you_watched");
	cr_assert_eq(pos(o, p, NULL), -1);
	cr_assert_eq(pos(o, a, NULL), -1, "what they already started is in 'continue watching', not here");
	json_object_put(o);

	/* the watch page's "next up" says the same */
	char path[64];
	snprintf(path, sizeof path, "/watch/%s", a);
	struct http_res r;
	cr_assert_eq(http_do("GET", path, vh[3], NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "data-testid=\"next-up\""));
	cr_assert(strstr(r.body, b), "B is listed");
	cr_assert_null(strstr(r.body, p), "P is not");
	http_free(&r);
	free(a); free(b); free(c); free(d); free(p); free(ch);
	for (int i = 0; i < 4; i++) free(vh[i]);
}

Test(recommend_related, a_new_user_gets_a_list_that_is_not_empty)
{
	char *ch, *vh, pk[24];
	long owner = user("creator", &ch);
	char *v = video(owner, "Brand new lesson", "public", pk);
	user("viewer", &vh);
	json_object *o = get(vh, "/api/v1/me/recommendations", 200), *a;
	cr_assert(json_object_object_get_ex(o, "videos", &a));
	cr_assert_gt(json_object_array_length(a), 0, "cold start: popular and new videos");
	json_object_put(o);
	/* and the home page shows the row */
	struct http_res r;
	cr_assert_eq(http_do("GET", "/", vh, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "data-testid=\"home-recommended\""));
	cr_assert(strstr(r.body, "/watch/"));
	http_free(&r);
	free(v); free(ch); free(vh);
}

Test(recommend_related, next_video_of_a_course_comes_first_and_others_are_refused)
{
	char *ch, *vh, p1[24], p2[24], p3[24], pp[24];
	long owner = user("creator", &ch);
	char *v1 = video(owner, "Course part 1", "public", p1), *v2 = video(owner, "Course part 2", "public", p2),
	     *v3 = video(owner, "Course part 3", "public", p3), *pv = video(owner, "Private part", "private", pp);
	char own[24];
	snprintf(own, sizeof own, "%ld", owner);
	const char *cp[] = {own};
	char *course = t_db_value("INSERT INTO courses (title, owner_id, visibility) VALUES ('Rec course', $1::bigint, 'public') "
				  "RETURNING id", 1, cp);
	cr_assert_not_null(course);
	const char *lp[] = {course, p1, p2, p3};
	free(t_db_value("INSERT INTO course_videos (course_id, video_id, position) VALUES ($1::bigint, $2::bigint, 0), "
			"($1::bigint, $4::bigint, 2), ($1::bigint, $3::bigint, 1) RETURNING 1", 4, lp));
	user("viewer", &vh);
	json_object *o = related(vh, v1);
	const char *why = "";
	cr_assert_eq(pos(o, v2, &why), 0, "%s", json_object_to_json_string(o));
	cr_assert_str_eq(why, "next_in_course");
	cr_assert(pos(o, v3, NULL) > 0);
	json_object_put(o);
	/* the related list of a video the viewer may not watch is refused like the video itself */
	char path[160];
	snprintf(path, sizeof path, "/api/v1/videos/%s/related", pv);
	json_object_put(get(vh, path, 403));
	json_object_put(get(vh, "/api/v1/videos/0000000000000000/related", 404));
	snprintf(path, sizeof path, "/api/v1/videos/%s/related?limit=999", v1);
	json_object_put(get(vh, path, 400));
	json_object_put(get(NULL, "/api/v1/me/recommendations", 401));
	free(course); free(v1); free(v2); free(v3); free(pv); free(ch); free(vh);
}
