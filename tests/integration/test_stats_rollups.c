/* Statistics through the whole stack: heartbeats → Redis → worker flush (marks dirty) → stats refresh → API, pages
 * and CSV. Rollups must equal a direct computation over view_sessions; permissions 403; bad ranges 400. */
#include "learn_helpers.h"

static char *name(const char *prefix)
{
	char *s;
	cr_assert(asprintf(&s, "%s-%s", prefix, lh_tag()) > 0);
	return s;
}

static struct http_res get(const char *path, const char *h)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	return r;
}

/* the API's retention viewers as "n,n,…" (100 buckets) */
static char *retention_text(json_object *o)
{
	json_object *ret = NULL;
	json_object_object_get_ex(o, "retention", &ret);
	size_t n = ret ? json_object_array_length(ret) : 0;
	char *out = calloc(1, 1200);
	for (size_t i = 0; i < n; i++) {
		json_object *v;
		json_object_object_get_ex(json_object_array_get_idx(ret, i), "viewers", &v);
		snprintf(out + strlen(out), 1200 - strlen(out), "%s%d", i ? "," : "", json_object_get_int(v));
	}
	return out;
}

/* the same computed directly from the raw playback sessions: per person the union of all their sessions */
static char *retention_direct(const char *pid)
{
	return lh_sql("SELECT string_agg(c::text, ',' ORDER BY b) FROM (SELECT b, (SELECT count(*) FROM ("
		      " SELECT vs.user_id, range_agg(r) AS m FROM view_sessions vs JOIN videos v ON v.id = vs.video_id, unnest(vs.watched) r"
		      " WHERE v.public_id = '%s' GROUP BY vs.user_id) u"
		      " WHERE u.m && int8range(b * 1000, (b + 1) * 1000)) AS c FROM generate_series(0, 99) b) x", pid);
}

/* views, distinct viewers, watched ms of the sessions started today (deployment zone), from raw sessions */
static char *daily_direct(const char *pid)
{
	return lh_sql("SELECT count(*) || ',' || count(DISTINCT vs.user_id) || ',' || COALESCE(sum(vs.watched_ms), 0) "
		      "FROM view_sessions vs JOIN videos v ON v.id = vs.video_id WHERE v.public_id = '%s' "
		      "AND (vs.started_at AT TIME ZONE 'Asia/Tokyo')::date = (now() AT TIME ZONE 'Asia/Tokyo')::date", pid);
}

static char *daily_api(json_object *o)
{
	json_object *daily = NULL, *d, *v;
	json_object_object_get_ex(o, "daily", &daily);
	cr_assert(daily && json_object_array_length(daily) == 30, "30 days by default");
	d = json_object_array_get_idx(daily, 29);   /* the range ends today */
	long views, viewers;
	double ws;
	json_object_object_get_ex(d, "views", &v); views = json_object_get_int64(v);
	json_object_object_get_ex(d, "viewers", &v); viewers = json_object_get_int64(v);
	json_object_object_get_ex(d, "watch_seconds", &v); ws = json_object_get_double(v);
	char *s;
	cr_assert(asprintf(&s, "%ld,%ld,%.0f", views, viewers, ws * 1000) > 0);
	return s;
}

struct fixture { char *th, *s1h, *s2h, *pid, *cls, *s1name; long tid, s1, s2; };

/* a teacher, two pupils in a class, a 100 s video assigned to the class, and viewing:
 * pupil 1: [0,50] then [40,95] in a second session (complete); pupil 2: [10,20] + [60,70] */
static void setup(struct fixture *f)
{
	char *tn = name("stt"), *s1n = name("sts1"), *s2n = name("sts2");
	f->th = lh_user("creator", tn, &f->tid);
	f->s1h = lh_user("viewer", s1n, &f->s1);
	f->s2h = lh_user("viewer", s2n, &f->s2);
	f->s1name = s1n;
	const char *students[] = {s1n, s2n};
	f->cls = name("stc");
	lh_class(f->cls, "統計テスト組", tn, students, 2);
	f->pid = lh_video(f->tid, "public", 100, "統計の動画");
	char body[512];
	snprintf(body, sizeof body, "{\"video\":\"%s\",\"classes\":[\"%s\"]}", f->pid, f->cls);
	json_object_put(lh_json("POST", "/api/v1/assignments", f->th, body, 201));
	char *a = lh_session(f->s1h, f->pid), *b = lh_session(f->s1h, f->pid), *c = lh_session(f->s2h, f->pid);
	cr_assert_eq(lh_beat(f->s1h, a, f->pid, 30, "[[0,30]]"), 202);
	cr_assert_eq(lh_beat(f->s1h, a, f->pid, 50, "[[0,50]]"), 202);
	cr_assert_eq(lh_beat(f->s2h, c, f->pid, 70, "[[10,20],[60,70]]"), 202);
	cr_assert_eq(lh_beat(f->s1h, b, f->pid, 95, "[[40,95]]"), 202);
	cr_assert_eq(lh_wait_watched(f->s1, f->pid, 95000, 30), 95000);
	cr_assert_eq(lh_wait_watched(f->s2, f->pid, 20000, 30), 20000);
	free(a); free(b); free(c); free(tn); free(s2n);
}

/* poll the video stats API until the rollup matches the raw data (the worker refreshes about once a second) */
static json_object *settled_video_stats(struct fixture *f)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/videos/%s/stats", f->pid);
	json_object *o = NULL;
	for (int i = 0; i < 300; i++) {
		if (o) json_object_put(o);
		o = lh_json("GET", path, f->th, NULL, 200);
		char *rt = retention_text(o), *rd = retention_direct(f->pid), *da = daily_api(o), *dd = daily_direct(f->pid);
		int same = !strcmp(rt, rd ? rd : "") && !strcmp(da, dd ? dd : "");
		free(rt); free(rd); free(da); free(dd);
		if (same) break;
		usleep(100000);
	}
	return o;
}

Test(stats_rollups, video_rollups_equal_a_direct_computation_over_the_raw_sessions)
{
	struct fixture f;
	setup(&f);
	json_object *o = settled_video_stats(&f);
	char *rt = retention_text(o), *rd = retention_direct(f.pid), *da = daily_api(o), *dd = daily_direct(f.pid);
	cr_assert_str_eq(rt, rd, "retention: rollup %s, direct %s", rt, rd);
	cr_assert_str_eq(da, dd, "today's views,viewers,watched ms: rollup %s, direct %s", da, dd);
	/* and the numbers the scenario implies */
	cr_assert_str_eq(da, "3,2,125000", "3 sessions, 2 people, 50+55+20 s");
	cr_assert_eq(atoi(lh_get(o, "views")), 3);
	cr_assert_eq(atoi(lh_get(o, "unique_viewers")), 2);
	cr_assert_eq(atoi(lh_get(o, "completed_viewers")), 1);
	cr_assert_eq(atof(lh_get(o, "completion_rate")), 0.5);
	cr_assert_eq(atoi(lh_get(o, "completions")), 1);
	cr_assert_eq(atoi(lh_get(o, "retention.15.viewers")), 2, "both watched second 15");
	cr_assert_eq(atoi(lh_get(o, "retention.45.viewers")), 1);
	cr_assert_eq(atoi(lh_get(o, "retention.65.viewers")), 2);
	cr_assert_eq(atoi(lh_get(o, "retention.97.viewers")), 0, "nobody reached the end");
	cr_assert_eq(atof(lh_get(o, "retention.15.percent")), 100);
	cr_assert_float_eq(atof(lh_get(o, "avg_watch_seconds")), 125.0 / 3, 0.01, "watch time per view");
	free(rt); free(rd); free(da); free(dd);
	json_object_put(o);

	/* the class view: completion per student and per video */
	char path[256];
	snprintf(path, sizeof path, "/api/v1/classes/%s/stats", f.cls);
	o = lh_json("GET", path, f.th, NULL, 200);
	cr_assert_str_eq(lh_get(o, "class.sourcedId"), f.cls);
	cr_assert_eq(atoi(lh_get(o, "videos.0.completed")), 1);
	cr_assert_eq(atoi(lh_get(o, "videos.0.students")), 2);
	int first_is_s1 = !strcmp(lh_get(o, "students.0.login"), "") ? 0 : strstr(lh_get(o, "students.0.login"), f.s1name) != NULL;
	const char *p1 = first_is_s1 ? "students.0" : "students.1", *p2 = first_is_s1 ? "students.1" : "students.0";
	char k[64];
	snprintf(k, sizeof k, "%s.cells.0.percent", p1);
	cr_assert_eq(atoi(lh_get(o, k)), 95);
	snprintf(k, sizeof k, "%s.cells.0.completed", p1);
	cr_assert_str_eq(lh_get(o, k), "true");
	snprintf(k, sizeof k, "%s.cells.0.percent", p2);
	cr_assert_eq(atoi(lh_get(o, k)), 20);
	cr_assert_eq(atoi(lh_get(o, "assignments.0.finished")), 1);
	json_object_put(o);
}

Test(stats_rollups, csv_exports_start_with_a_bom_and_hold_the_drawn_data)
{
	struct fixture f;
	setup(&f);
	json_object_put(settled_video_stats(&f));
	char path[256];
	snprintf(path, sizeof path, "/stats/videos/%s/daily.csv", f.pid);
	struct http_res r = get(path, f.th);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(http_header(&r, "Content-Type"), "text/csv"));
	cr_assert(r.body_len > 3 && !memcmp(r.body, "\xEF\xBB\xBF", 3), "UTF-8 BOM first");
	int lines = 0;
	for (char *p = r.body; (p = strstr(p, "\r\n")); p += 2) lines++;
	cr_assert_eq(lines, 31, "a header and 30 days");
	char *today = lh_sql("SELECT to_char(now() AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD')");
	char want[64];
	snprintf(want, sizeof want, "\r\n%s,3,2,125.0,1\r\n", today);
	cr_assert(strstr(r.body, want), "today's line %s in %s", want, r.body);
	http_free(&r);
	snprintf(path, sizeof path, "/stats/videos/%s/retention.csv", f.pid);
	r = get(path, f.th);
	cr_assert_eq(r.status, 200);
	cr_assert(!memcmp(r.body, "\xEF\xBB\xBF", 3));
	cr_assert(strstr(r.body, "\r\n15,15.0,2,100.0\r\n"), "%s", r.body);
	http_free(&r);
	/* the class CSV: one line per (pupil, video), ISO 8601 times */
	snprintf(path, sizeof path, "/stats/classes/%s/export.csv", f.cls);
	r = get(path, f.th);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(!memcmp(r.body, "\xEF\xBB\xBF", 3));
	char *line = strstr(r.body, f.s1name);
	cr_assert_not_null(line, "pupil 1 is in the CSV");
	cr_assert(strstr(line, f.pid) && strstr(line, ",95,"), "%.200s", line);
	cr_assert(strstr(line, "T") && strstr(line, "Z"), "ISO 8601 completion time: %.200s", line);
	http_free(&r);
	/* the pages render with their charts */
	snprintf(path, sizeof path, "/stats/videos/%s", f.pid);
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "%.*s", (int)(strstr(f.th, "Accept:") - f.th), f.th);
	r = get(path, hdr);
	cr_assert_eq(r.status, 200, "%.300s", r.body);
	cr_assert(strstr(r.body, "<svg class=\"chart stats-line\""));
	cr_assert(strstr(r.body, "<details>"));
	http_free(&r);
	/* the class page: completion bars per video and the pupils × videos heat map, each with its table */
	snprintf(path, sizeof path, "/stats/classes/%s", f.cls);
	r = get(path, hdr);
	cr_assert_eq(r.status, 200, "%.300s", r.body);
	cr_assert(strstr(r.body, "<rect class=\"bar\""), "completion bars");
	cr_assert(strstr(r.body, "<svg class=\"chart stats-heat\""), "heat map");
	cr_assert(strstr(r.body, "cell h10"), "pupil 1's completed cell is in the top band");
	cr_assert(strstr(r.body, "cell h2"), "pupil 2's 20 %% cell");
	http_free(&r);
	free(today);
}

/* every rollup row of the video as one text: daily rows, totals, retention */
static char *rollup_text(const char *pid)
{
	return lh_sql("SELECT (SELECT string_agg(concat_ws(',', d.day, d.views, d.viewers, d.watch_ms, d.completions), ';' ORDER BY d.day) "
		      "FROM stats_video_daily d WHERE d.video_id = v.id) || '|' || "
		      "(SELECT concat_ws(',', t.viewers, t.completions) FROM stats_video_totals t WHERE t.video_id = v.id) || '|' || "
		      "(SELECT string_agg(r.viewers::text, ',' ORDER BY r.bucket) FROM stats_video_retention r WHERE r.video_id = v.id) "
		      "FROM videos v WHERE v.public_id = '%s'", pid);
}

/* the views tile of the video stats page, fetched n times (each FastCGI process keeps its own rendered bodies) */
static void page_views_are(struct fixture *f, const char *hdr, int views, int n)
{
	char path[128], want[64];
	snprintf(path, sizeof path, "/stats/videos/%s", f->pid);
	snprintf(want, sizeof want, "data-testid=\"views\">%d<", views);
	for (int i = 0; i < n; i++) {
		struct http_res r = get(path, hdr);
		cr_assert_eq(r.status, 200, "%.300s", r.body);
		cr_assert(strstr(r.body, want), "request %d: the page shows %d views", i, views);
		http_free(&r);
	}
}

Test(stats_rollups, rebuild_equals_the_workers_refresh_and_the_page_follows_new_views)
{
	struct fixture f;
	setup(&f);
	json_object_put(settled_video_stats(&f));
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "%.*s", (int)(strstr(f.th, "Accept:") - f.th), f.th);
	page_views_are(&f, hdr, 3, 8);
	/* the set-based rebuild (bulk loads, repairs) writes exactly the rows the worker's refresh wrote */
	char *by_refresh = rollup_text(f.pid);
	free(lh_sql("SELECT stats_rebuild(ARRAY[id], 'Asia/Tokyo') FROM videos WHERE public_id = '%s'", f.pid));
	char *by_rebuild = rollup_text(f.pid);
	cr_assert_not_null(by_refresh);
	cr_assert_str_eq(by_rebuild, by_refresh);
	/* a new view: once the worker refreshed the rollups, no process serves the body it rendered before */
	char *d = lh_session(f.s2h, f.pid);
	cr_assert_eq(lh_beat(f.s2h, d, f.pid, 30, "[[0,30]]"), 202);
	cr_assert_eq(lh_wait_watched(f.s2, f.pid, 40000, 30), 40000);
	json_object *o = settled_video_stats(&f);
	cr_assert_eq(atoi(lh_get(o, "views")), 4);
	json_object_put(o);
	page_views_are(&f, hdr, 4, 8);
	free(by_refresh); free(by_rebuild); free(d);
}

Test(stats_rollups, people_who_may_not_see_the_stats_get_403)
{
	struct fixture f;
	setup(&f);
	long oid;
	char *on = name("sto");
	char *other = lh_user("creator", on, &oid);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/%s/stats", f.pid);
	json_object_put(lh_json("GET", path, other, NULL, 403));
	json_object_put(lh_json("GET", path, f.s1h, NULL, 403));
	snprintf(path, sizeof path, "/api/v1/classes/%s/stats", f.cls);
	json_object *o = lh_json("GET", path, other, NULL, 403);
	cr_assert_str_eq(lh_get(o, "error.code"), "class_forbidden");
	json_object_put(o);
	json_object_put(lh_json("GET", path, f.s1h, NULL, 403));
	snprintf(path, sizeof path, "/stats/classes/%s/export.csv", f.cls);
	struct http_res r = get(path, other);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	json_object_put(lh_json("GET", "/api/v1/classes/no-such-class-x/stats", f.th, NULL, 404));
	json_object_put(lh_json("GET", "/api/v1/videos/0123456789abcdef/stats", f.th, NULL, 404));
	json_object_put(lh_json("GET", "/api/v1/stats/kpis", f.th, NULL, 403));
	/* an admin sees any class */
	char *adm;
	char *tok = t_admin_token();
	cr_assert(asprintf(&adm, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	snprintf(path, sizeof path, "/api/v1/classes/%s/stats", f.cls);
	json_object_put(lh_json("GET", path, adm, NULL, 200));
	free(adm); free(other); free(on);
}

Test(stats_rollups, reversed_or_absurd_ranges_are_400)
{
	struct fixture f = {0};
	long tid;
	char *tn = name("str");
	f.th = lh_user("creator", tn, &tid);
	f.pid = lh_video(tid, "public", 60, "範囲");
	static const char *bad[][2] = {
		{"from=2026-03-02&to=2026-03-01", "reversed_range"},
		{"from=2026-02-30", "bad_date"},
		{"from=yesterday", "bad_date"},
		{"from=2020-01-01&to=2026-01-01", "range_too_long"},
		{"from=1900-01-01&to=1900-01-02", "range_out_of_bounds"},
		{"from=2999-01-01&to=2999-01-02", "range_out_of_bounds"},
	};
	char *adm, *tok = t_admin_token();
	cr_assert(asprintf(&adm, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[256];
		snprintf(path, sizeof path, "/api/v1/videos/%s/stats?%s", f.pid, bad[i][0]);
		json_object *o = lh_json("GET", path, f.th, NULL, 400);
		cr_assert_str_eq(lh_get(o, "error.code"), bad[i][1], "%s", bad[i][0]);
		json_object_put(o);
		snprintf(path, sizeof path, "/api/v1/stats/kpis?%s", bad[i][0]);
		json_object_put(lh_json("GET", path, adm, NULL, 400));
		snprintf(path, sizeof path, "/stats/videos/%s/daily.csv?%s", f.pid, bad[i][0]);
		struct http_res r = get(path, f.th);
		cr_assert_eq(r.status, 400, "%s", path);
		http_free(&r);
	}
	/* a good range answers exactly its days */
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/%s/stats?from=2025-01-01&to=2025-01-07", f.pid);
	json_object *o = lh_json("GET", path, f.th, NULL, 200);
	json_object *daily;
	json_object_object_get_ex(o, "daily", &daily);
	cr_assert_eq(json_object_array_length(daily), 7);
	cr_assert_str_eq(lh_get(o, "daily.0.date"), "2025-01-01");
	json_object_put(o);
	free(adm); free(tn);
}

/* The storage figures follow the videos at the next KPI refresh (15 s), not only at the disk walk every
 * stats_storage_interval (10 min): a fresh upload must not read "0 B" for minutes. */
Test(stats_rollups, storage_follows_a_changed_video_at_the_next_kpi_refresh)
{
	char *adm, *tok = t_admin_token();
	cr_assert(asprintf(&adm, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	long owner;
	char src[64];
	snprintf(src, sizeof src, "stor-%s", lh_tag());
	free(lh_user("creator", src, &owner));
	char *pid = lh_video(owner, "public", 60, "storage");
	free(lh_sql("UPDATE videos SET source_size = 7654321 WHERE public_id = '%s' RETURNING id", pid));
	char *want = lh_sql("SELECT COALESCE(sum(source_size), 0) FROM videos");
	json_object *o = NULL;
	for (int i = 0; i < 600; i++) {
		if (o) json_object_put(o);
		o = lh_json("GET", "/api/v1/stats/kpis", adm, NULL, 200);
		const char *b = lh_get(o, "storage.source_bytes");
		if (b && !strcmp(b, want)) break;
		usleep(100000);
	}
	cr_assert_str_eq(lh_get(o, "storage.source_bytes"), want, "the source bytes count the changed video");
	json_object_put(o);
	free(want); free(pid); free(adm);
}

Test(stats_rollups, admin_kpis_count_todays_active_people)
{
	struct fixture f;
	setup(&f);
	char *adm, *tok = t_admin_token();
	cr_assert(asprintf(&adm, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	/* the worker refreshes the KPI row every stats_kpi_interval (15 s): wait for one that counts our pupils */
	char *want = lh_sql("SELECT count(*) FROM users u LEFT JOIN stats_user_last l ON l.user_id = u.id "
			    "WHERE l.last_day = (now() AT TIME ZONE 'Asia/Tokyo')::date "
			    "OR (u.last_login_at AT TIME ZONE 'Asia/Tokyo')::date = (now() AT TIME ZONE 'Asia/Tokyo')::date");
	json_object *o = NULL;
	for (int i = 0; i < 600; i++) {
		if (o) json_object_put(o);
		o = lh_json("GET", "/api/v1/stats/kpis", adm, NULL, 200);
		const char *d = lh_get(o, "current.dau");
		if (d && atol(d) >= atol(want)) break;
		usleep(100000);
	}
	cr_assert_geq(atol(lh_get(o, "current.dau")), atol(want), "DAU counts everyone active today");
	cr_assert_geq(atol(lh_get(o, "current.mau")), atol(lh_get(o, "current.wau")));
	cr_assert_geq(atol(lh_get(o, "current.wau")), atol(lh_get(o, "current.dau")));
	cr_assert_not_null(lh_get(o, "storage.source_bytes"));
	cr_assert_not_null(lh_get(o, "imports"));
	json_object_put(o);
	struct http_res r = get("/admin/stats/daily.csv", adm);
	cr_assert_eq(r.status, 200);
	cr_assert(!memcmp(r.body, "\xEF\xBB\xBF", 3));
	http_free(&r);
	free(want); free(adm);
}

/* the calls counted for cid after a refresh that takes every committed row (settle 0: these are ours, committed) */
static long client_calls(const char *cid)
{
	free(lh_sql("SELECT stats_client_calls_add('Asia/Tokyo', interval '0 seconds')"));
	char *v = lh_sql("SELECT COALESCE(sum(calls), 0) FROM stats_client_calls WHERE client_id = '%s'", cid);
	long n = atol(v);
	free(v);
	return n;
}

Test(stats_rollups, client_calls_are_counted_once_each_from_the_audit_log)
{
	char cid[64];
	snprintf(cid, sizeof cid, "calls-%s", lh_tag());
	const char *ins = "INSERT INTO audit_log (actor, action, target) SELECT 'client:%s', '%s', 'users' "
			  "FROM generate_series(1, %d) RETURNING 1";
	free(lh_sql(ins, cid, "roster.read", 3));
	free(lh_sql(ins, cid, "oauth.token", 1));   /* a real action, so the audit page has its label */
	free(lh_sql("INSERT INTO audit_log (actor, action) VALUES ('user:%s', 'roster.read') RETURNING 1", cid));
	/* rows that began under 30 s ago may still have uncommitted neighbours: the worker's refresh leaves them */
	free(lh_sql("SELECT stats_client_calls_add('Asia/Tokyo')"));
	char *v = lh_sql("SELECT count(*) FROM stats_client_calls WHERE client_id = '%s'", cid);
	cr_assert_str_eq(v, "0", "rows younger than the settle time wait for a later refresh");
	free(v);
	cr_assert_eq(client_calls(cid), 3, "three reads counted, the token request and the person's read not");
	/* a later refresh adds only what came since: no row is counted twice */
	free(lh_sql(ins, cid, "roster.write", 2));
	cr_assert_eq(client_calls(cid), 5);
	cr_assert_eq(client_calls(cid), 5);
	/* the KPI snapshot reads the counters */
	free(lh_sql("SELECT stats_kpi_refresh('Asia/Tokyo')"));
	v = lh_sql("SELECT e->>'calls_30d' || '/' || (e->>'calls_today') FROM stats_kpi_snapshot s, "
		   "jsonb_array_elements(s.data) e WHERE s.key = 'clients' AND e->>'client_id' = '%s'", cid);
	cr_assert_str_eq(v, "5/5");
	free(v);
}
