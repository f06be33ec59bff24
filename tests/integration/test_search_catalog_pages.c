/* Catalog keyset pages over the real stack: walking ?after= cursors while new videos are inserted gives every
 * video that existed exactly once (no duplicate, no gap), ?before= walks back to the same first page, the cached
 * total follows writes, and malformed cursors are refused. Each test filters on its own fresh owner. */
#include "video_helpers.h"

/* a ready video of owner, created `age` seconds before the test's first video (distinct times, and some equal ones
 * to test the id tiebreak); one base instant per test, so a second that ends between two inserts moves nothing */
static char *video(long owner, int age)
{
	static char *base;   /* each Criterion test runs in its own process */
	if (!base) base = t_db_value("SELECT date_trunc('second', now())::text", 0, NULL);
	cr_assert_not_null(base);
	char pid[17], own[24], ag[16];
	snprintf(pid, sizeof pid, "%016lx", (unsigned long)vh_uniq() * 2654435761UL);
	snprintf(own, sizeof own, "%ld", owner);
	snprintf(ag, sizeof ag, "%d", age);
	const char *p[] = {pid, own, ag, base};
	char *pk = t_db_value("INSERT INTO videos (public_id, title, owner_id, status, visibility, created_at) "
			      "VALUES ($1, 'Paged video', $2::bigint, 'ready', 'public', "
			      "$4::timestamptz - $3::int * interval '1 second') RETURNING id", 4, p);
	cr_assert_not_null(pk);
	free(pk);
	return strdup(pid);
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

static const char *cursor(json_object *o, const char *k)
{
	json_object *c;
	if (!json_object_object_get_ex(o, k, &c) || json_object_is_type(c, json_type_null)) return NULL;
	return json_object_get_string(c);
}

Test(search_catalog_pages, cursors_give_every_row_once_while_rows_are_inserted)
{
	char *h;
	long me = vh_creator("pages.c", &h);
	enum { N = 8 };
	char *ids[N];
	/* two videos share each second: the id decides between them */
	for (int i = 0; i < N; i++) ids[i] = video(me, 100 + i / 2);
	int seen[N] = {0};
	char path[256], after[64] = "";
	int pages = 0;
	for (;;) {
		snprintf(path, sizeof path, "/api/v1/videos?owner=%ld&limit=3%s%s", me, *after ? "&after=" : "", after);
		json_object *o = get(h, path, 200), *a;
		cr_assert(json_object_object_get_ex(o, "videos", &a));
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			const char *id = vh_str(json_object_array_get_idx(a, i), "id");
			int k = 0;
			while (k < N && strcmp(ids[k], id)) k++;
			if (k < N) seen[k]++;   /* a newer video inserted meanwhile belongs before page one: never seen here */
		}
		/* a new video arrives between two page loads */
		free(video(me, 0));
		const char *next = cursor(o, "next_cursor");
		pages++;
		if (!next) { json_object_put(o); break; }
		snprintf(after, sizeof after, "%s", next);
		json_object_put(o);
		cr_assert_lt(pages, 10);
	}
	cr_assert_eq(pages, 3, "8 rows at 3 a page");
	for (int i = 0; i < N; i++) cr_assert_eq(seen[i], 1, "video %d seen %d times", i, seen[i]);
	for (int i = 0; i < N; i++) free(ids[i]);
	free(h);
}

Test(search_catalog_pages, before_walks_back_and_the_total_follows_writes)
{
	char *h;
	long me = vh_creator("pages.c", &h);
	char *ids[5];
	for (int i = 0; i < 5; i++) ids[i] = video(me, 50 + i);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos?owner=%ld&limit=2", me);
	json_object *p1 = get(h, path, 200);
	cr_assert_eq(atol(vh_str(p1, "total")), 5);
	cr_assert_null(cursor(p1, "prev_cursor"), "the first page has nothing before it");
	cr_assert_str_eq(vh_str(json_object_array_get_idx(json_object_object_get(p1, "videos"), 0), "id"), ids[0]);
	snprintf(path, sizeof path, "/api/v1/videos?owner=%ld&limit=2&after=%s", me, cursor(p1, "next_cursor"));
	json_object *p2 = get(h, path, 200);
	cr_assert_str_eq(vh_str(json_object_array_get_idx(json_object_object_get(p2, "videos"), 0), "id"), ids[2]);
	snprintf(path, sizeof path, "/api/v1/videos?owner=%ld&limit=2&before=%s", me, cursor(p2, "prev_cursor"));
	json_object *back = get(h, path, 200);
	cr_assert_str_eq(json_object_to_json_string(json_object_object_get(back, "videos")),
			 json_object_to_json_string(json_object_object_get(p1, "videos")), "before= gives page one again");
	cr_assert_null(cursor(back, "prev_cursor"));
	/* a write bumps the count's generation: the cached total is not served stale */
	free(video(me, 1));
	snprintf(path, sizeof path, "/api/v1/videos?owner=%ld&limit=2", me);
	json_object *again = get(h, path, 200);
	cr_assert_eq(atol(vh_str(again, "total")), 6);
	json_object_put(p1); json_object_put(p2); json_object_put(back); json_object_put(again);

	/* the page's links carry the cursors */
	snprintf(path, sizeof path, "/videos?owner=%ld&limit=2", me);
	struct http_res r;
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	/* the template escapes '=' in attributes */
	cr_assert(strstr(r.body, "limit&#61;2&amp;after&#61;"), "a next link by cursor, keeping the page size: %.2000s", r.body);
	cr_assert_null(strstr(r.body, "offset&#61;"), "no offset links");
	http_free(&r);

	static const char *bad[] = {"abc", "1_", "_1", "1_2_3", "12345678901234567890_1", "-5_1", "1_99999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(path, sizeof path, "/api/v1/videos?owner=%ld&after=%s", me, bad[i]);
		json_object_put(get(h, path, 400));
	}
	snprintf(path, sizeof path, "/api/v1/videos?owner=%ld&after=1_1&before=1_1", me);
	json_object_put(get(h, path, 400));
	for (int i = 0; i < 5; i++) free(ids[i]);
	free(h);
}
