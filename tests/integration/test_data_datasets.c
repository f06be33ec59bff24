/* Datasets and quality over the real stack: imports into a dataset become versions (file stored once, diff per
 * entity exact), quality checks (missing kana with its rows, a failing check holding the import as a draft until
 * an admin applies it), downloads with ETag and ranges, a tampered file refused with an alarm, names with HTML and
 * path characters, thresholds out of range, retention that keeps the current version, a scheduled check, exports
 * and statistics CSVs as versions. Bundles come from scripts/gen_roster_bundle.py + tests/support/data_bundle.py. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

static char *auth(void)
{
	static char h[2048];
	const char *tok = t_admin_token();
	cr_assert_not_null(tok, "admin login failed");
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok);
	return h;
}

static json_object *jget(json_object *o, const char *dotted)
{
	char key[128];
	const char *p = dotted;
	while (o && *p) {
		size_t n = strcspn(p, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, p);
		json_object *next = NULL;
		if (json_object_is_type(o, json_type_array)) next = json_object_array_get_idx(o, atoi(key));
		else if (!json_object_object_get_ex(o, key, &next)) return NULL;
		o = next;
		p += n;
		if (*p == '.') p++;
	}
	return o;
}
static long jlong(json_object *o, const char *k) { json_object *v = jget(o, k); return v ? json_object_get_int64(v) : -1; }
static const char *jstr(json_object *o, const char *k) { json_object *v = jget(o, k); return v ? json_object_get_string(v) : ""; }

/* request with JSON answer; asserts the status */
static json_object *api(const char *method, const char *path, const char *body, int want)
{
	struct http_res r;
	char h[2300];
	snprintf(h, sizeof h, "%s%s", auth(), body ? "Content-Type: application/json\r\n" : "");
	cr_assert_eq(http_do(method, path, h, body, body ? strlen(body) : 0, &r), 0);
	cr_assert_eq(r.status, want, "%s %s answered %d: %s", method, path, r.status, r.body);
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	return o;
}

static char *sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sql(const char *fmt, ...)
{
	char q[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	char *v = t_db_value(q, 0, NULL);
	cr_assert_not_null(v, "query failed: %s", q);
	return v;
}

/* a clean bundle, optionally turned by data_bundle.py (op "--tweak", "--blank-kana 1"); malloc'd path */
static char *bundle(int seed, const char *op)
{
	char *path, cmd[2048];
	if (asprintf(&path, "/tmp/rs_data_%d_%d_%s.zip", getpid(), seed, op ? (op[2] == 't' ? "tweak" : "kana") : "clean") < 0)
		abort();
	snprintf(cmd, sizeof cmd, "python3 '%s/scripts/gen_roster_bundle.py' --users 30 --seed %d --variant %s --out '%s.src'",
		 t_env("RSTREAM_ROOT"), seed, op && !strcmp(op, "rows") ? "rows" : "clean", path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	if (op && strcmp(op, "rows"))
		snprintf(cmd, sizeof cmd, "python3 '%s/tests/support/data_bundle.py' '%s.src' '%s' %s && rm -f '%s.src'",
			 t_env("RSTREAM_ROOT"), path, path, op, path);
	else
		snprintf(cmd, sizeof cmd, "mv '%s.src' '%s'", path, path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	return path;
}

static long new_dataset(const char *label)
{
	char body[300];
	snprintf(body, sizeof body, "{\"name\":\"%s %d-%ld\",\"description\":\"test\"}", label, getpid(), (long)time(NULL));
	json_object *o = api("POST", "/api/v1/datasets", body, 201);
	long id = jlong(o, "dataset.id");
	json_object_put(o);
	cr_assert_gt(id, 0);
	return id;
}

/* upload into a dataset (0 = the default one), wait for the job; returns the import id */
static long import_into(long dataset, const char *file)
{
	struct http_res r;
	char path[256];
	if (dataset) snprintf(path, sizeof path, "/api/v1/roster/imports?filename=bundle.zip&dataset_id=%ld", dataset);
	else snprintf(path, sizeof path, "/api/v1/roster/imports?filename=bundle.zip");
	cr_assert_eq(http_do_file("POST", path, auth(), file, &r), 0);
	cr_assert_eq(r.status, 202, "upload answered %d: %s", r.status, r.body);
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	long id = jlong(o, "import.id"), job = jlong(o, "import.job_id");
	json_object_put(o);
	const char *st = t_wait_job(job, 300);
	cr_assert_str_eq(st, "done", "import job %ld ended %s", job, st);
	return id;
}

static json_object *version(long ds, int n)
{
	char p[128];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/versions/%d", ds, n);
	return api("GET", p, NULL, 200);
}

/* the metric of a version's latest check: "result offending/total" */
static const char *metric(json_object *v, const char *name)
{
	static char out[64];
	json_object *m = jget(v, "version.quality.metrics");
	cr_assert_not_null(m, "the version has a quality check");
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		json_object *x = json_object_array_get_idx(m, i);
		if (!strcmp(jstr(x, "metric"), name)) {
			snprintf(out, sizeof out, "%s %ld/%ld", jstr(x, "result"), jlong(x, "offending"), jlong(x, "total"));
			return out;
		}
	}
	return "absent";
}

static char *file_sha(const char *path)
{
	char cmd[600], *out = calloc(1, 80);
	snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
	FILE *p = popen(cmd, "r");
	cr_assert(p && fscanf(p, "%64s", out) == 1);
	pclose(p);
	return out;
}

static char *roster_print(void)
{
	return sql("SELECT COALESCE(md5(string_agg(sourced_id || status || given_name || metadata::text, '|' "
		   "ORDER BY sourced_id)), 'empty') FROM roster_users");
}

Test(data_datasets, importing_twice_makes_two_versions_with_an_exact_diff, .timeout = 600)
{
	long ds = new_dataset("二回取り込み");
	int seed = getpid() % 10000 + 100;
	char *a = bundle(seed, NULL), *b = bundle(seed, "--tweak");
	long i1 = import_into(ds, a), i2 = import_into(ds, b);
	char p[160];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/versions", ds);
	json_object *o = api("GET", p, NULL, 200);
	cr_assert_eq(json_object_array_length(jget(o, "versions")), 2);
	cr_assert_eq(jlong(o, "versions.0.number"), 2, "newest first");
	cr_assert_str_eq(jstr(o, "versions.0.status"), "published");
	cr_assert_str_eq(jstr(o, "versions.1.status"), "archived", "publishing v2 archived v1");
	cr_assert_eq(jlong(o, "versions.1.import_id"), i1);
	cr_assert_eq(jlong(o, "versions.0.import_id"), i2);
	char *sha = file_sha(b);
	cr_assert_str_eq(jstr(o, "versions.0.sha256"), sha, "the version records the upload's sha256");
	cr_assert_eq(jlong(o, "versions.0.row_counts.users"), 30);
	json_object_put(o);
	/* the diff per entity, computed from the row fingerprints */
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/diff?from=1&to=2", ds);
	o = api("GET", p, NULL, 200);
	int seen = 0;
	for (size_t i = 0; i < json_object_array_length(jget(o, "entities")); i++) {
		json_object *e = json_object_array_get_idx(jget(o, "entities"), i);
		if (!strcmp(jstr(e, "entity"), "users")) {
			cr_assert_eq(jlong(e, "added"), 2);
			cr_assert_eq(jlong(e, "changed"), 3);
			cr_assert_eq(jlong(e, "removed"), 2);
			seen++;
		}
		if (!strcmp(jstr(e, "entity"), "roles")) {
			cr_assert_eq(jlong(e, "added"), 2);
			cr_assert_eq(jlong(e, "changed"), 0);
			cr_assert_eq(jlong(e, "removed"), 2);
			seen++;
		}
		if (!strcmp(jstr(e, "entity"), "orgs")) {
			cr_assert_eq(jlong(e, "added") + jlong(e, "changed") + jlong(e, "removed"), 0);
			seen++;
		}
	}
	cr_assert_eq(seen, 3, "users, roles and orgs are in the diff");
	json_object_put(o);
	/* the quality check saw the two removed users of thirty: a warning (> 5 %), not a failure (> 10 %) */
	o = version(ds, 2);
	cr_assert_str_eq(metric(o, "users_removed"), "warn 2/30");
	json_object_put(o);
	/* the same file again: a third version, the same object on disk */
	import_into(ds, b);
	char *n = sql("SELECT count(DISTINCT sha256) || '/' || count(*) FROM dataset_versions WHERE dataset_id = %ld "
		      "AND number IN (2, 3)", ds);
	cr_assert_str_eq(n, "1/2");
	char obj[700];
	snprintf(obj, sizeof obj, "%s/datasets/objects/%.2s/%s", t_env("RSTREAM_DATA_DIR"), sha, sha);
	cr_assert_eq(access(obj, R_OK), 0, "the object is stored under its hash: %s", obj);
	/* the diff page shows the same numbers in Japanese */
	struct http_res r;
	char pg[160], ck[2300], csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	snprintf(ck, sizeof ck, "Cookie: %s\r\n", cookie);
	snprintf(pg, sizeof pg, "/admin/datasets/%ld/diff?from=1&to=2", ds);
	cr_assert_eq(http_do("GET", pg, ck, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "ユーザー</span>: <span class=\"d-add\">+2</span>, <span class=\"d-chg\">~3</span>, "
				 "<span class=\"d-del\">−2</span>"), "%s", r.body);
	http_free(&r);
	unlink(a); unlink(b);
	free(a); free(b); free(sha); free(n); free(cookie);
}

Test(data_datasets, missing_kana_warns_with_the_rows_listed, .timeout = 300)
{
	long ds = new_dataset("ふりがな");
	char *f = bundle(getpid() % 10000 + 200, "--blank-kana 1");
	import_into(ds, f);
	json_object *v = version(ds, 1);
	cr_assert_str_eq(jstr(v, "version.status"), "published", "a warning does not hold the import");
	cr_assert_str_eq(metric(v, "missing_kana"), "warn 1/30");
	cr_assert_str_eq(jstr(v, "version.quality.result"), "warn");
	json_object_put(v);
	char *who = sql("SELECT sourced_id FROM roster_users WHERE status = 'active' AND "
			"COALESCE(metadata ->> 'jp.kanaGivenName', '') = ''");
	char p[200];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/quality?metric=missing_kana", ds);
	json_object *o = api("GET", p, NULL, 200);
	cr_assert_eq(jlong(o, "total"), 1);
	cr_assert_str_eq(jstr(o, "rows.0.sourced_id"), who);
	cr_assert_str_eq(jstr(o, "rows.0.entity"), "users");
	json_object_put(o);
	/* the quality page lists it, and the CSV carries it */
	struct http_res r;
	char ck[2300], csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	snprintf(ck, sizeof ck, "Cookie: %s\r\n", cookie);
	snprintf(p, sizeof p, "/admin/datasets/%ld/quality?metric=missing_kana", ds);
	cr_assert_eq(http_do("GET", p, ck, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, who), "the page lists the pupil without kana");
	cr_assert(strstr(r.body, "<svg class=\"chart stats-line\""), "the trend chart is drawn");
	http_free(&r);
	snprintf(p, sizeof p, "/admin/datasets/%ld/quality.csv?metric=missing_kana", ds);
	cr_assert_eq(http_do("GET", p, ck, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, who));
	cr_assert(strstr(r.body, "sourcedId"));
	http_free(&r);
	/* a bad metric is a 400 */
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/quality?metric=nope", ds);
	json_object_put(api("GET", p, NULL, 400));
	unlink(f);
	free(f); free(who); free(cookie);
}

Test(data_datasets, a_failing_check_holds_the_import_as_a_draft_until_applied, .timeout = 600)
{
	long ds = new_dataset("保留");
	char p[200];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld", ds);
	json_object_put(api("PUT", p, "{\"block_on_fail\":true,\"thresholds\":{\"missing_kana\":{\"warn\":0,\"fail\":1}}}", 200));
	char *f = bundle(getpid() % 10000 + 300, "--blank-kana 1");
	char *before = roster_print();
	long imp = import_into(ds, f);
	char *after = roster_print();
	cr_assert_str_eq(before, after, "a held import changes nothing");
	char *st = sql("SELECT state FROM roster_imports WHERE id = %ld", imp);
	cr_assert_str_eq(st, "held");
	json_object *v = version(ds, 1);
	cr_assert_str_eq(jstr(v, "version.status"), "draft");
	cr_assert_str_eq(metric(v, "missing_kana"), "fail 1/30");
	long check = jlong(v, "version.quality.id");
	json_object_put(v);
	/* the admins hear of it */
	char *n = NULL;
	for (int i = 0; i < 60; i++) {
		free(n);
		n = sql("SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.email = '%s' "
			"AND n.kind = 'quality_failed' AND n.event_key = 'quality:%ld'", t_env("RSTREAM_TEST_ADMIN_EMAIL"), check);
		if (!strcmp(n, "1")) break;
		sleep(1);
	}
	cr_assert_str_eq(n, "1", "the admin got a quality_failed notice");
	/* discard is refused for a version that is not held; apply runs the import without holding */
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/versions/1/apply", ds);
	json_object *o = api("POST", p, NULL, 202);
	const char *js = t_wait_job(jlong(o, "job_id"), 300);
	cr_assert_str_eq(js, "done");
	json_object_put(o);
	v = version(ds, 1);
	cr_assert_str_eq(jstr(v, "version.status"), "published");
	json_object_put(v);
	free(st);
	st = sql("SELECT state FROM roster_imports WHERE id = %ld", imp);
	cr_assert_str_eq(st, "done");
	free(after);
	after = roster_print();
	cr_assert_str_neq(before, after, "applied now");
	json_object_put(api("POST", p, NULL, 409));
	unlink(f);
	free(f); free(before); free(after); free(st); free(n);
}

Test(data_datasets, an_import_with_errors_is_a_draft_with_its_error_rate, .timeout = 300)
{
	long ds = new_dataset("エラー");
	char *f = bundle(getpid() % 10000 + 400, "rows");
	long imp = import_into(ds, f);
	char *st = sql("SELECT state FROM roster_imports WHERE id = %ld", imp);
	cr_assert_str_eq(st, "failed");
	json_object *v = version(ds, 1);
	cr_assert_str_eq(jstr(v, "version.status"), "draft");
	cr_assert(strncmp(metric(v, "error_rate"), "fail ", 5) == 0, "%s", metric(v, "error_rate"));
	cr_assert_gt(jlong(v, "version.findings.errors"), 0);
	json_object_put(v);
	char p[160];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/quality?metric=error_rate", ds);
	json_object *o = api("GET", p, NULL, 200);
	cr_assert_gt(jlong(o, "total"), 0, "the error findings are the offending rows");
	json_object_put(o);
	unlink(f);
	free(f); free(st);
}

Test(data_datasets, downloads_carry_the_sha256_as_etag_and_serve_byte_ranges, .timeout = 300)
{
	long ds = new_dataset("ダウンロード");
	char *f = bundle(getpid() % 10000 + 500, NULL);
	import_into(ds, f);
	char *sha = file_sha(f);
	FILE *fp = fopen(f, "rb");
	fseek(fp, 0, SEEK_END);
	long size = ftell(fp);
	unsigned char head[10];
	fseek(fp, 0, SEEK_SET);
	cr_assert_eq(fread(head, 1, 10, fp), 10);
	fclose(fp);
	char p[160], h[2600], etag[80];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/versions/1/file", ds);
	snprintf(etag, sizeof etag, "\"%s\"", sha);
	struct http_res r;
	cr_assert_eq(http_do("GET", p, auth(), NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq((long)r.body_len, size);
	cr_assert_str_eq(http_header(&r, "ETag"), etag);
	cr_assert_str_eq(http_header(&r, "Accept-Ranges"), "bytes");
	char cd[120];
	snprintf(cd, sizeof cd, "attachment; filename=\"dataset-%ld-v1.zip\"", ds);
	cr_assert_str_eq(http_header(&r, "Content-Disposition"), cd);
	http_free(&r);
	snprintf(h, sizeof h, "%sRange: bytes=0-9\r\n", auth());
	cr_assert_eq(http_do("GET", p, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 206);
	cr_assert_eq(r.body_len, 10);
	cr_assert_eq(memcmp(r.body, head, 10), 0);
	char cr[80];
	snprintf(cr, sizeof cr, "bytes 0-9/%ld", size);
	cr_assert_str_eq(http_header(&r, "Content-Range"), cr);
	http_free(&r);
	snprintf(h, sizeof h, "%sRange: bytes=-5\r\n", auth());
	cr_assert_eq(http_do("GET", p, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 206);
	cr_assert_eq(r.body_len, 5);
	http_free(&r);
	snprintf(h, sizeof h, "%sRange: bytes=%ld-\r\n", auth(), size);
	cr_assert_eq(http_do("GET", p, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 416);
	snprintf(cr, sizeof cr, "bytes */%ld", size);
	cr_assert_str_eq(http_header(&r, "Content-Range"), cr);
	http_free(&r);
	snprintf(h, sizeof h, "%sIf-None-Match: %s\r\n", auth(), etag);
	cr_assert_eq(http_do("GET", p, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 304);
	http_free(&r);
	/* an If-Range with another tag gets the whole file */
	snprintf(h, sizeof h, "%sRange: bytes=0-9\r\nIf-Range: \"other\"\r\n", auth());
	cr_assert_eq(http_do("GET", p, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq((long)r.body_len, size);
	http_free(&r);
	/* no such version */
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/versions/99/file", ds);
	json_object_put(api("GET", p, NULL, 404));
	unlink(f);
	free(f); free(sha);
}

Test(data_datasets, a_tampered_file_is_refused_with_an_alarm, .timeout = 300)
{
	long ds = new_dataset("改ざん");
	char *f = bundle(getpid() % 10000 + 600, NULL);
	import_into(ds, f);
	char *sha = file_sha(f), *vid = sql("SELECT id FROM dataset_versions WHERE dataset_id = %ld AND number = 1", ds);
	char obj[700];
	snprintf(obj, sizeof obj, "%s/datasets/objects/%.2s/%s", t_env("RSTREAM_DATA_DIR"), sha, sha);
	/* a new file in its place (the import's own copy, a hard link, stays as it was) */
	cr_assert_eq(unlink(obj), 0);
	FILE *w = fopen(obj, "wb");
	cr_assert_not_null(w);
	fputs("not the roster any more", w);
	fclose(w);
	char p[160];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/versions/1/file", ds);
	json_object *o = api("GET", p, NULL, 409);
	cr_assert_str_eq(jstr(o, "error.code"), "integrity");
	json_object_put(o);
	char *n = NULL;
	for (int i = 0; i < 60; i++) {
		free(n);
		n = sql("SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.email = '%s' "
			"AND n.kind = 'dataset_tampered' AND n.event_key = 'tampered:%s'", t_env("RSTREAM_TEST_ADMIN_EMAIL"), vid);
		if (!strcmp(n, "1")) break;
		sleep(1);
	}
	cr_assert_str_eq(n, "1", "the admin got a dataset_tampered notice");
	char *a = sql("SELECT count(*) FROM audit_log WHERE action = 'dataset.version.tampered' AND target = '%ld/1'", ds);
	cr_assert_str_eq(a, "1");
	/* a missing file is refused the same way */
	unlink(obj);
	json_object_put(api("GET", p, NULL, 409));
	unlink(f);
	free(f); free(sha); free(vid); free(n); free(a);
}

Test(data_datasets, names_with_html_or_path_characters_stay_text)
{
	const char *name = "<script>alert(1)</script>/../../etc/passwd \\\" & 名簿";
	char body[400];
	snprintf(body, sizeof body, "{\"name\":\"<script>alert(1)</script>/../../etc/passwd \\\\\\\" & 名簿 %d\"}", getpid());
	json_object *o = api("POST", "/api/v1/datasets", body, 201);
	long id = jlong(o, "dataset.id");
	cr_assert(strncmp(jstr(o, "dataset.name"), name, strlen(name)) == 0, "kept as sent: %s", jstr(o, "dataset.name"));
	json_object_put(o);
	struct http_res r;
	char ck[2300], csrf[65], p[100];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	snprintf(ck, sizeof ck, "Cookie: %s\r\n", cookie);
	snprintf(p, sizeof p, "/admin/datasets/%ld", id);
	cr_assert_eq(http_do("GET", p, ck, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, "<script>alert(1)"), "the name is escaped");
	cr_assert(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;/../../etc/passwd"));
	http_free(&r);
	cr_assert_eq(http_do("GET", "/admin/datasets?q=%3Cscript%3E", ck, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "&lt;script&gt;alert(1)"), "the search finds it");
	http_free(&r);
	/* refused: empty, blank, control characters, too long, not a string */
	const char *bad[] = {"{\"name\":\"\"}", "{\"name\":\"   \"}", "{\"name\":\"a\\nb\"}", "{\"name\":12}", "{}",
			     NULL, NULL};
	char longname[200] = "{\"name\":\"";
	memset(longname + 9, 'x', 121);
	strcpy(longname + 130, "\"}");
	bad[5] = longname;   /* 121 characters */
	for (int i = 0; bad[i]; i++) {
		o = api("POST", "/api/v1/datasets", bad[i], 400);
		cr_assert_str_eq(jstr(o, "error.code"), "invalid", "%s", bad[i]);
		json_object_put(o);
	}
	free(cookie);
}

Test(data_datasets, thresholds_and_settings_out_of_range_are_refused)
{
	long ds = new_dataset("しきい値");
	char p[100];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld", ds);
	const char *bad[] = {
		"{\"thresholds\":{\"missing_kana\":{\"warn\":-1,\"fail\":5}}}",
		"{\"thresholds\":{\"missing_kana\":{\"warn\":50,\"fail\":10}}}",
		"{\"thresholds\":{\"missing_kana\":{\"warn\":0,\"fail\":101}}}",
		"{\"thresholds\":{\"missing_kana\":{\"warn\":0}}}",
		"{\"thresholds\":{\"missing_kana\":{\"warn\":\"x\",\"fail\":5}}}",
		"{\"thresholds\":{\"no_such_metric\":{\"warn\":0,\"fail\":5}}}",
		"{\"thresholds\":[1]}",
		"{\"keep_versions\":0}",
		"{\"keep_versions\":2.5}",
		"{\"keep_days\":-1}",
		"{\"check_schedule\":\"every day\"}",
		"{\"check_schedule\":\"61 * * * *\"}",
		"{\"name\":\"\"}",
		NULL};
	for (int i = 0; bad[i]; i++) {
		json_object *o = api("PUT", p, bad[i], 400);
		cr_assert_str_eq(jstr(o, "error.code"), "invalid", "%s", bad[i]);
		json_object_put(o);
	}
	json_object *o = api("GET", p, NULL, 200);
	cr_assert_str_eq(json_object_to_json_string_ext(jget(o, "dataset.thresholds"), JSON_C_TO_STRING_PLAIN), "{}",
			 "nothing was saved");
	json_object_put(o);
	o = api("PUT", p, "{\"thresholds\":{\"missing_kana\":{\"warn\":1,\"fail\":2.5}},\"keep_versions\":5,\"keep_days\":0,"
		    "\"check_schedule\":\"0 3 * * 1-5\",\"block_on_fail\":true}", 200);
	cr_assert_eq(jlong(o, "dataset.keep_versions"), 5);
	cr_assert_str_eq(jstr(o, "dataset.check_schedule"), "0 3 * * 1-5");
	cr_assert(json_object_get_boolean(jget(o, "dataset.block_on_fail")));
	cr_assert(json_object_get_double(jget(o, "dataset.thresholds.missing_kana.fail")) == 2.5);
	json_object_put(o);
	/* the settings form answers 400 with the message in Japanese */
	struct http_res r;
	char ck[2300], csrf[65], form[300], pg[100];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	snprintf(ck, sizeof ck, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
	snprintf(form, sizeof form, "_csrf=%s&name=x&keep_versions=5&keep_days=0&warn_missing_kana=9&fail_missing_kana=3", csrf);
	snprintf(pg, sizeof pg, "/admin/datasets/%ld", ds);
	cr_assert_eq(http_do("POST", pg, ck, form, strlen(form), &r), 0);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "しきい値は 0〜100"));
	http_free(&r);
	free(cookie);
}

Test(data_datasets, retention_never_deletes_the_current_version, .timeout = 600)
{
	long ds = new_dataset("保持");
	char *f = bundle(getpid() % 10000 + 700, NULL), *bad = bundle(getpid() % 10000 + 701, "rows");
	import_into(ds, f);
	import_into(ds, f);
	import_into(ds, f);
	import_into(ds, bad);   /* v4: a draft (refused for errors), the newest */
	char p[160];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld", ds);
	json_object_put(api("PUT", p, "{\"keep_versions\":1,\"keep_days\":0}", 200));
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/retention", ds);
	json_object *o = api("POST", p, NULL, 200);
	cr_assert_eq(jlong(o, "deleted"), 2, "v1 and v2 go");
	json_object_put(o);
	char *left = sql("SELECT string_agg(number || ':' || status, ',' ORDER BY number) FROM dataset_versions "
			 "WHERE dataset_id = %ld", ds);
	cr_assert_str_eq(left, "3:published,4:draft", "the current version stays though it is not among the newest 1");
	/* the file is still there: v3 uses it */
	char *sha = file_sha(f), obj[700];
	snprintf(obj, sizeof obj, "%s/datasets/objects/%.2s/%s", t_env("RSTREAM_DATA_DIR"), sha, sha);
	cr_assert_eq(access(obj, R_OK), 0);
	unlink(f); unlink(bad);
	free(f); free(bad); free(left); free(sha);
}

Test(data_datasets, a_scheduled_check_runs_from_the_cron_line, .timeout = 300)
{
	long ds = new_dataset("定期");
	char *f = bundle(getpid() % 10000 + 800, NULL);
	import_into(ds, f);
	char p[160];
	snprintf(p, sizeof p, "/api/v1/datasets/%ld", ds);
	json_object_put(api("PUT", p, "{\"check_schedule\":\"* * * * *\"}", 200));
	char *n = NULL;
	/* the worker looks every 20 s and fires once a minute */
	for (int i = 0; i < 150; i++) {
		free(n);
		n = sql("SELECT count(*) FROM dataset_checks c JOIN dataset_versions v ON v.id = c.version_id "
			"WHERE v.dataset_id = %ld AND c.trigger = 'schedule'", ds);
		if (strcmp(n, "0")) break;
		sleep(1);
	}
	cr_assert_str_neq(n, "0", "a scheduled check ran");
	json_object_put(api("PUT", p, "{\"check_schedule\":\"\"}", 200));
	/* and one by hand */
	snprintf(p, sizeof p, "/api/v1/datasets/%ld/check", ds);
	json_object *o = api("POST", p, NULL, 202);
	cr_assert_str_eq(t_wait_job(jlong(o, "job_id"), 120), "done");
	json_object_put(o);
	free(n);
	n = sql("SELECT count(*) FROM dataset_checks c JOIN dataset_versions v ON v.id = c.version_id "
		"WHERE v.dataset_id = %ld AND c.trigger = 'manual'", ds);
	cr_assert_str_eq(n, "1");
	unlink(f);
	free(f); free(n);
}

Test(data_datasets, exports_and_statistics_csvs_become_versions, .timeout = 300)
{
	char *before = sql("SELECT count(*) FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id "
			   "WHERE d.kind = 'stats_export'");
	json_object *o = api("POST", "/api/v1/roster/exports", "{\"mode\":\"bulk\"}", 202);
	long ex = jlong(o, "export.id"), job = jlong(o, "export.job_id");
	json_object_put(o);
	cr_assert_str_eq(t_wait_job(job, 120), "done");
	char *v = sql("SELECT v.status || ' ' || d.kind || ' ' || (v.sha256 = e.sha256 OR e.sha256 IS NULL)::text "
		      "FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id JOIN roster_exports e ON e.id = v.export_id "
		      "WHERE v.export_id = %ld", ex);
	cr_assert_str_eq(v, "published roster_export true");
	struct http_res r;
	char ck[2300], csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	snprintf(ck, sizeof ck, "Cookie: %s\r\n", cookie);
	cr_assert_eq(http_do("GET", "/admin/stats/daily.csv", ck, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	http_free(&r);
	char *after = sql("SELECT count(*) FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id "
			  "WHERE d.kind = 'stats_export'");
	cr_assert_eq(atol(after), atol(before) + 1, "the CSV download is a version of the statistics dataset");
	free(before); free(after); free(v); free(cookie);
}
