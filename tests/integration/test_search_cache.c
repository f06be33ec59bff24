/* The list cache (fcgi/catalog_cache.c) never shows a video the viewer may no longer watch: a pupil sees a
 * class video in search results, suggestions and the catalog (which fills the cache), then loses the class
 * (enrolment no longer active), gets it back, then the video turns private — after each change the very same
 * requests answer from what is true now, not from the cached lists. A guest never sees it at all. Every test makes
 * its own pupil, class and video, so other tests' data do not matter. */
#include "video_helpers.h"

static void sql(const char *q, int n, const char *const *p)
{
	PGresult *res = PQexecParams(t_db(), q, n, NULL, p, NULL, NULL, 0);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", q,
		  PQerrorMessage(t_db()));
	PQclear(res);
}

static char *get(const char *h, const char *path)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%s: %d %.300s", path, r.status, r.body);
	char *body = strdup(r.body ? r.body : "");
	http_free(&r);
	return body;
}

/* does each of search, suggest and the catalog list the video (by public id, or title for suggest)? */
static void expect(const char *h, const char *word, const char *pid, const char *title, int shown)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/search?q=%s", word);
	char *b = get(h, path);
	cr_assert_eq(strstr(b, pid) != NULL, shown, "search %s: %s expected %s in %.400s", word, pid, shown ? "" : "not", b);
	free(b);
	snprintf(path, sizeof path, "/search?q=%s", word);
	b = get(h, path);
	cr_assert_eq(strstr(b, pid) != NULL, shown, "search page: %s expected %s", pid, shown ? "" : "not");
	free(b);
	snprintf(path, sizeof path, "/api/v1/search/suggest?q=%.*s", (int)strlen(word) - 2, word);
	b = get(h, path);
	cr_assert_eq(strstr(b, title) != NULL, shown, "suggest: %s expected %s in %.400s", title, shown ? "" : "not", b);
	free(b);
	snprintf(path, sizeof path, "/api/v1/videos?q=%s", word);
	b = get(h, path);
	cr_assert_eq(strstr(b, pid) != NULL, shown, "catalog: %s expected %s in %.400s", pid, shown ? "" : "not", b);
	free(b);
}

Test(search_cache, a_pupil_never_sees_from_the_cache_what_they_may_no_longer_watch, .timeout = 120)
{
	long u = vh_uniq();
	char email[96], sid[64], cls[64], word[64], title[128], pid[17], uid[24];
	snprintf(email, sizeof email, "cache.pupil%ld@test.example", u);
	snprintf(sid, sizeof sid, "cache-pupil-%ld", u);
	snprintf(cls, sizeof cls, "cache-class-%ld", u);
	snprintf(word, sizeof word, "cachecheck%ld", u);
	snprintf(title, sizeof title, "Lesson %s", word);
	snprintf(pid, sizeof pid, "%016lx", (unsigned long)u * 2654435761UL);
	long id = t_make_user(email, "viewer", "cache-password-1");
	cr_assert_gt(id, 0);
	snprintf(uid, sizeof uid, "%ld", id);
	const char *up[] = {sid, uid};
	sql("UPDATE users SET sourced_id = $1 WHERE id = $2::bigint", 2, up);
	sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) "
	    "VALUES ('enr-' || $1, $2, 'cache-school', $1, 'student')", 2, (const char *[]){sid, cls});
	const char *vp[] = {pid, title, cls};
	sql("INSERT INTO videos (public_id, title, status, visibility, class_sourced_ids, duration) "
	    "VALUES ($1, $2, 'ready', 'class', ARRAY[$3], 60)", 3, vp);
	/* the worker indexes it from search_dirty */
	int indexed = 0;
	for (int i = 0; i < 300 && !indexed; i++) {
		char *n = t_db_value("SELECT count(*) FROM search_docs d JOIN videos v ON v.id = d.video_id WHERE v.public_id = $1",
				     1, (const char *[]){pid});
		indexed = n && !strcmp(n, "1");
		free(n);
		if (!indexed) usleep(100 * 1000);
	}
	cr_assert(indexed, "the worker did not index the video");
	char *tok = t_login(email, "cache-password-1");
	cr_assert_not_null(tok);
	char *h = vh_bearer(tok);
	free(tok);

	expect(h, word, pid, title, 1);
	expect(h, word, pid, title, 1);   /* now from the cache */
	expect(NULL, word, pid, title, 0);

	/* the pupil leaves the class: nothing about the video changed, the viewer's scope did */
	sql("UPDATE roster_enrollments SET status = 'tobedeleted' WHERE sourced_id = 'enr-' || $1", 1, (const char *[]){sid});
	expect(h, word, pid, title, 0);
	sql("UPDATE roster_enrollments SET status = 'active' WHERE sourced_id = 'enr-' || $1", 1, (const char *[]){sid});
	expect(h, word, pid, title, 1);

	/* the video turns private: the catalog generation moves on */
	sql("UPDATE videos SET visibility = 'private' WHERE public_id = $1", 1, (const char *[]){pid});
	expect(h, word, pid, title, 0);
	free(h);
}
