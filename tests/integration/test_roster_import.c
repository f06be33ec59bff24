/* Roster import and export over the real stack: bundles generated at test time by scripts/gen_roster_bundle.py,
 * uploaded to POST /api/v1/roster/imports, run by the worker. Clean, re-import, delta after bulk, dry run, every
 * kind of bad input (refused with a finding naming the problem and no data change), findings CSV, export and
 * the formula-protection round trip. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include "harness.h"

static char *auth(void)
{
	static char h[2048];
	const char *tok = t_admin_token();
	cr_assert_not_null(tok, "admin login failed");
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok);
	return h;
}

/* generate a bundle into /tmp; returns a malloc'd path */
static char *gen(const char *variant, int users, int seed, const char *single)
{
	char *path = NULL, cmd[2048];
	if (asprintf(&path, "/tmp/rs_roster_%d_%s_%d_%d%s", getpid(), variant, users, seed,
		     single ? ".csv" : ".zip") < 0)
		abort();
	snprintf(cmd, sizeof cmd, "python3 '%s/scripts/gen_roster_bundle.py' --users %d --seed %d --variant %s %s%s --out '%s'",
		 t_env("RSTREAM_ROOT"), users, seed, variant, single ? "--single " : "", single ? single : "", path);
	cr_assert_eq(system(cmd), 0, "generator failed: %s", cmd);
	return path;
}

static json_object *jget(json_object *o, const char *dotted)
{
	char key[128];
	const char *p = dotted;
	while (o && *p) {
		size_t n = strcspn(p, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, p);
		json_object *next = NULL;
		if (!json_object_object_get_ex(o, key, &next))
			return NULL;
		o = next;
		p += n;
		if (*p == '.')
			p++;
	}
	return o;
}

static long jlong(json_object *o, const char *dotted)
{
	json_object *v = jget(o, dotted);
	return v ? json_object_get_int64(v) : -1;
}

static const char *jstr(json_object *o, const char *dotted)
{
	json_object *v = jget(o, dotted);
	return v ? json_object_get_string(v) : "";
}

/* upload, wait for the job, return the import object ({"import":{…}}) */
static json_object *import_file(const char *file, const char *query)
{
	struct http_res r;
	char path[512];
	const char *base = strrchr(file, '/') + 1;
	snprintf(path, sizeof path, "/api/v1/roster/imports?filename=%s%s", strstr(base, ".csv") ? "users.csv" : base,
		 query ? query : "");
	cr_assert_eq(http_do_file("POST", path, auth(), file, &r), 0);
	cr_assert_eq(r.status, 202, "upload answered %d: %s", r.status, r.body);
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	long id = jlong(o, "import.id"), job = jlong(o, "import.job_id");
	json_object_put(o);
	cr_assert_gt(job, 0);
	const char *st = t_wait_job(job, 300);
	cr_assert_str_eq(st, "done", "job %ld ended %s", job, st);
	char p2[64];
	snprintf(p2, sizeof p2, "/api/v1/roster/imports/%ld", id);
	cr_assert_eq(http_do("GET", p2, auth(), NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	o = json_tokener_parse(r.body);
	http_free(&r);
	return o;
}

static char *sql1(const char *sql)
{
	char *v = t_db_value(sql, 0, NULL);
	cr_assert_not_null(v, "query failed: %s", sql);
	return v;
}

/* a fingerprint of all roster and platform-account data: equal before and after = nothing changed */
static char *snapshot(void)
{
	return sql1("SELECT md5(string_agg(x, '|' ORDER BY x)) FROM ("
		    "SELECT 'u' || sourced_id || status || date_last_modified::text || given_name || metadata::text AS x FROM roster_users "
		    "UNION ALL SELECT 'e' || sourced_id || status || date_last_modified::text FROM roster_enrollments "
		    "UNION ALL SELECT 'c' || sourced_id || status || date_last_modified::text FROM roster_classes "
		    "UNION ALL SELECT 'o' || sourced_id || status || date_last_modified::text FROM roster_orgs "
		    "UNION ALL SELECT 'a' || COALESCE(sourced_id, '') || role || disabled::text || name FROM users "
		    "WHERE sourced_id IS NOT NULL) s");
}

static int has_finding(long id, const char *rule, const char *needle)
{
	char path[128];
	struct http_res r;
	snprintf(path, sizeof path, "/api/v1/roster/imports/%ld/findings?rule=%s&per_page=100", id, rule);
	cr_assert_eq(http_do("GET", path, auth(), NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	json_object *a = jget(o, "findings");
	int found = 0;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		json_object *f = json_object_array_get_idx(a, i);
		if (!needle || strstr(jstr(f, "message.en"), needle))
			found = 1;
	}
	json_object_put(o);
	return found;
}

static void baseline(int seed)
{
	char *f = gen("clean", 30, seed, NULL);
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "baseline import: %s", jstr(o, "import.error"));
	json_object_put(o);
	unlink(f);
	free(f);
}

Test(roster_import, a_clean_bundle_is_imported_with_platform_accounts)
{
	char *f = gen("clean", 40, 101, NULL);
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	cr_assert_eq(jlong(o, "import.counts.errors"), 0);
	cr_assert_eq(jlong(o, "import.counts.users.rows"), 40);
	cr_assert_eq(jlong(o, "import.counts.enrollments.rows"), 200);
	json_object_put(o);
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_users WHERE status = 'active'"), "40");
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_enrollments WHERE status = 'active'"), "200");
	/* Japan Profile columns land in metadata under their header names without the prefix */
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_users WHERE metadata ? 'jp.kanaGivenName' AND status = 'active'"), "40");
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_enrollments WHERE metadata ? 'jp.PublicFlg' AND status = 'active'"), "200");
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_enrollments WHERE metadata ? 'jp.ShussekiNo' AND status = 'active' "
			      "AND role = 'student' AND class_sourced_id IN (SELECT sourced_id FROM roster_classes WHERE class_type = 'homeroom')"), "38");
	/* accounts: teachers become creators, students viewers, nobody gets a password */
	cr_assert_str_eq(sql1("SELECT count(*) FROM users u JOIN roster_users r USING (sourced_id) WHERE r.status = 'active'"), "40");
	cr_assert_str_eq(sql1("SELECT count(*) FROM users u JOIN roster_users r USING (sourced_id) WHERE r.status = 'active' "
			      "AND r.username LIKE 't%' AND u.role = 'creator'"), "2");
	cr_assert_str_eq(sql1("SELECT count(*) FROM users u JOIN roster_users r USING (sourced_id) WHERE r.status = 'active' "
			      "AND r.username LIKE 's%' AND u.role = 'viewer'"), "38");
	/* the bundle's (active) users: test_roster_hrefs links a password account to a roster user the bulk tombstones */
	cr_assert_str_eq(sql1("SELECT count(*) FROM users u JOIN roster_users r USING (sourced_id) WHERE r.status = 'active' "
			      "AND u.password_hash IS NOT NULL"), "0");
	unlink(f);
	free(f);
}

Test(roster_import, importing_the_same_bundle_again_changes_nothing)
{
	char *f = gen("clean", 30, 102, NULL);
	json_object *o = import_file(f, NULL);
	json_object_put(o);
	char *before = snapshot();
	o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done");
	cr_assert_eq(jlong(o, "import.counts.users.unchanged"), 30);
	cr_assert_eq(jlong(o, "import.counts.users.updated"), 0);
	cr_assert_eq(jlong(o, "import.counts.enrollments.inserted"), 0);
	json_object_put(o);
	char *after = snapshot();
	cr_assert_str_eq(before, after, "a repeated bulk import must not touch dateLastModified");
	free(before);
	free(after);
	unlink(f);
	free(f);
}

Test(roster_import, a_delta_after_a_bulk_changes_only_the_listed_users)
{
	baseline(103);
	char *stamp = sql1("SELECT max(date_last_modified) FROM roster_users");
	char *f = gen("delta", 30, 103, NULL);
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	cr_assert_eq(jlong(o, "import.counts.users.inserted"), 2);
	cr_assert_eq(jlong(o, "import.counts.users.updated"), 3);
	cr_assert_eq(jlong(o, "import.counts.users.deleted"), 2);
	json_object_put(o);
	char q[512];
	snprintf(q, sizeof q, "SELECT count(*) FROM roster_users WHERE date_last_modified > '%s'", stamp);
	cr_assert_str_eq(sql1(q), "7", "only the delta's rows get a new dateLastModified");
	snprintf(q, sizeof q, "SELECT count(*) FROM roster_users WHERE status = 'tobedeleted' AND date_last_modified > '%s'", stamp);
	cr_assert_str_eq(sql1(q), "2");
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_users WHERE given_name LIKE '%（改）'"), "3");
	/* the deleted users' accounts are disabled, not removed */
	snprintf(q, sizeof q, "SELECT count(*) FROM users u JOIN roster_users r USING (sourced_id) WHERE r.status = "
		 "'tobedeleted' AND u.disabled AND r.date_last_modified > '%s'", stamp);
	cr_assert_str_eq(sql1(q), "2");
	/* a bulk file drops what it no longer lists: back to the bulk bundle marks the two new users tobedeleted */
	free(stamp);
	unlink(f);
	free(f);
}

Test(roster_import, a_dry_run_reports_but_changes_nothing)
{
	baseline(104);
	char *before = snapshot();
	char *f = gen("clean", 35, 105, NULL);
	json_object *o = import_file(f, "&dry_run=1");
	cr_assert_str_eq(jstr(o, "import.state"), "done");
	cr_assert(json_object_get_boolean(jget(o, "import.dry_run")));
	cr_assert_eq(jlong(o, "import.counts.users.inserted"), 35);
	json_object_put(o);
	char *after = snapshot();
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	unlink(f);
	free(f);
}

/* bad input: the import fails with the expected rule (and text), and the data is exactly as before */
static void refused(const char *variant, const char *rule, const char *needle)
{
	baseline(106);
	char *before = snapshot();
	char *f = gen(variant, 30, 106, NULL);
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "failed", "%s should fail", variant);
	cr_assert_gt(jlong(o, "import.counts.errors"), 0);
	long id = jlong(o, "import.id");
	json_object_put(o);
	cr_assert(has_finding(id, rule, needle), "%s: no %s finding mentioning '%s'", variant, rule, needle ? needle : "");
	char *after = snapshot();
	cr_assert_str_eq(before, after, "%s changed data", variant);
	free(before);
	free(after);
	unlink(f);
	free(f);
}

Test(roster_import, a_truncated_zip_is_refused) { refused("truncated", "ZIP-001", "truncated"); }
Test(roster_import, a_zip_bomb_is_refused) { refused("bomb", "ZIP-001", "zip bomb"); }
Test(roster_import, a_path_traversal_name_is_refused) { refused("traversal", "ZIP-001", "unsafe zip entry name"); }
Test(roster_import, an_absolute_entry_name_is_refused) { refused("absolute", "ZIP-001", "unsafe zip entry name"); }
Test(roster_import, shift_jis_is_refused_naming_the_encoding) { refused("sjis", "CSV-ENC-001", "Shift_JIS"); }
Test(roster_import, an_unterminated_quote_is_refused) { refused("unterminated", "CSV-QUOTE-002", "unterminated"); }
Test(roster_import, a_10_mb_field_is_refused) { refused("bigfield", "CSV-SIZE-001", "larger than the limit"); }
Test(roster_import, a_nul_byte_in_a_sourced_id_is_refused) { refused("nul", "CSV-ENC-003", "NUL"); }
Test(roster_import, duplicate_headers_are_refused) { refused("dupheader", "OR-HDR-002", "metadata.jp.kanaGivenName"); }
Test(roster_import, a_header_out_of_order_is_refused) { refused("order", "OR-HDR-003", "name"); }
Test(roster_import, an_unknown_file_in_the_manifest_is_refused) { refused("unknownfile", "OR-MAN-002", "file.pets"); }
Test(roster_import, a_missing_listed_file_is_refused) { refused("missingfile", "OR-MAN-004", "enrollments.csv"); }
Test(roster_import, row_errors_block_the_whole_import) { refused("rows", "OR-REF-001", "no-such-org"); }

Test(roster_import, row_errors_are_reported_with_line_column_and_rule)
{
	refused("rows", "JP-GRADE-001", "G9");
	long id = atol(sql1("SELECT max(id) FROM roster_imports"));
	cr_assert(has_finding(id, "OR-REQ-001", "givenName"));
	cr_assert(has_finding(id, "OR-DUP-001", "lines 2,"));
	char q[200];
	snprintf(q, sizeof q, "SELECT line || ':' || col FROM roster_import_findings WHERE import_id = %ld AND rule = 'JP-GRADE-001'", id);
	cr_assert_str_eq(sql1(q), "33:grades");
}

Test(roster_import, findings_download_as_csv_with_both_languages)
{
	refused("rows", "OR-REQ-001", NULL);
	long id = atol(sql1("SELECT max(id) FROM roster_imports"));
	char path[128];
	struct http_res r;
	snprintf(path, sizeof path, "/api/v1/roster/imports/%ld/findings?format=csv", id);
	cr_assert_eq(http_do("GET", path, auth(), NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(http_header(&r, "Content-Type"), "text/csv"));
	cr_assert(strstr(r.body, "file,line,column,rule,severity,message_ja,message_en\r\n"));
	cr_assert(strstr(r.body, "users.csv,33,grades,JP-GRADE-001,error,"), "%s", r.body);
	cr_assert(strstr(r.body, "必須項目が空です"));
	http_free(&r);
}

Test(roster_import, warnings_and_extra_metadata_columns_do_not_block)
{
	char *f = gen("warnings", 30, 107, NULL);
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	cr_assert_gt(jlong(o, "import.counts.warnings"), 0);
	long id = jlong(o, "import.id");
	json_object_put(o);
	cr_assert(has_finding(id, "OR-BULK-001", NULL));
	unlink(f);
	free(f);
	f = gen("extrameta", 30, 107, NULL);
	o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	json_object_put(o);
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_users WHERE status = 'active' AND metadata ->> 'vendor.club' = 'サッカー部'"), "30");
	unlink(f);
	free(f);
}

Test(roster_import, a_single_csv_is_imported_and_an_unknown_name_is_refused)
{
	baseline(108);
	char *f = gen("clean", 30, 108, "users");
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	cr_assert_str_eq(jstr(o, "import.mode"), "csv");
	cr_assert_eq(jlong(o, "import.counts.users.unchanged"), 30);
	json_object_put(o);
	struct http_res r;
	cr_assert_eq(http_do_file("POST", "/api/v1/roster/imports?filename=pets.csv", auth(), f, &r), 0);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "unknown_file"));
	http_free(&r);
	unlink(f);
	free(f);
}

Test(roster_import, only_admins_may_import)
{
	t_make_user("roster-viewer@example.jp", "viewer", "viewer-password-123");
	char *tok = t_login("roster-viewer@example.jp", "viewer-password-123");
	cr_assert_not_null(tok);
	char h[1024];
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/roster/imports?filename=users.csv", h, "sourcedId\n", 10, &r), 0);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	free(tok);
}

static char *export_and_download(const char *body)
{
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/roster/exports", auth(), body, body ? strlen(body) : 0, &r), 0);
	cr_assert_eq(r.status, 202, "%s", r.body);
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	long id = jlong(o, "export.id"), job = jlong(o, "export.job_id");
	json_object_put(o);
	cr_assert_str_eq(t_wait_job(job, 300), "done");
	char path[128];
	snprintf(path, sizeof path, "/api/v1/roster/exports/%ld/download", id);
	cr_assert_eq(http_do("GET", path, auth(), NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(r.body_len > 22 && r.body[0] == 'P' && r.body[1] == 'K');
	char *file = NULL;
	if (asprintf(&file, "/tmp/rs_roster_export_%d_%ld.zip", getpid(), id) < 0)
		abort();
	FILE *fp = fopen(file, "wb");
	fwrite(r.body, 1, r.body_len, fp);
	fclose(fp);
	http_free(&r);
	return file;
}

static char *unzip_text(const char *zip, const char *member)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "unzip -p '%s' %s", zip, member);
	FILE *p = popen(cmd, "r");
	size_t cap = 1 << 20, n = 0;
	char *s = malloc(cap);
	size_t got;
	while ((got = fread(s + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (n + 1 >= cap)
			s = realloc(s, cap *= 2);
	}
	pclose(p);
	s[n] = 0;
	return s;
}

Test(roster_import, an_export_protects_formulas_and_imports_back_unchanged)
{
	char *f = gen("formula", 30, 109, NULL);
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	json_object_put(o);
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_users WHERE given_name IN ('=1+2', '+81', '-x', '@SUM(A1)')"), "4");
	char *before = snapshot();
	char *zip = export_and_download(NULL);
	char *users = unzip_text(zip, "users.csv");
	cr_assert(strstr(users, ",'=1+2,"), "formula cell protected in the export");
	cr_assert_null(strstr(users, ",=1+2,"));
	char *manifest = unzip_text(zip, "manifest.csv");
	cr_assert(strstr(manifest, "file.users,bulk"));
	o = import_file(zip, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	cr_assert_eq(jlong(o, "import.counts.users.unchanged"), 30);
	json_object_put(o);
	char *after = snapshot();
	cr_assert_str_eq(before, after, "our export imports back without a change");
	free(users);
	free(manifest);
	free(before);
	free(after);
	unlink(zip);
	free(zip);
	unlink(f);
	free(f);
}

Test(roster_import, a_delta_export_carries_changes_and_tombstones_only)
{
	baseline(110);
	char *stamp = sql1("SELECT to_char(max(date_last_modified) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM roster_users");
	char *f = gen("delta", 30, 110, NULL);
	json_object *o = import_file(f, NULL);
	json_object_put(o);
	char body[128];
	snprintf(body, sizeof body, "{\"since\":\"%s\"}", stamp);
	char *zip = export_and_download(body);
	char *users = unzip_text(zip, "users.csv");
	int lines = 0;
	for (char *p = users; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 1 + 7, "header + 7 changed users:\n%s", users);
	cr_assert(strstr(users, ",tobedeleted,"));
	char *manifest = unzip_text(zip, "manifest.csv");
	cr_assert(strstr(manifest, "file.users,delta"));
	free(users);
	free(manifest);
	unlink(zip);
	free(zip);
	free(stamp);
	unlink(f);
	free(f);
}

Test(roster_import, a_cancelled_import_rolls_back_everything)
{
	baseline(111);
	char *before = snapshot();
	char *f = gen("clean", 60000, 112, NULL);
	struct http_res r;
	cr_assert_eq(http_do_file("POST", "/api/v1/roster/imports?filename=big.zip", auth(), f, &r), 0);
	cr_assert_eq(r.status, 202, "%s", r.body);
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	long id = jlong(o, "import.id"), job = jlong(o, "import.job_id");
	json_object_put(o);
	/* wait until rows are flowing, then cancel in the middle of the transaction */
	char q[160], path[96];
	snprintf(q, sizeof q, "SELECT COALESCE((stats ->> 'rows')::bigint, 0) > 0 FROM jobs WHERE id = %ld", job);
	for (int i = 0; i < 600; i++) {
		char *v = t_db_value(q, 0, NULL);
		int go = v && !strcmp(v, "t");
		free(v);
		if (go)
			break;
		usleep(50000);
	}
	snprintf(path, sizeof path, "/api/v1/jobs/%ld/cancel", job);
	cr_assert_eq(http_do("POST", path, auth(), NULL, 0, &r), 0);
	cr_assert_lt(r.status, 300, "cancel answered %d: %s", r.status, r.body);
	http_free(&r);
	const char *st = t_wait_job(job, 300);
	cr_assert(!strcmp(st, "cancelled") || !strcmp(st, "failed"), "job ended %s", st);
	snprintf(q, sizeof q, "SELECT state FROM roster_imports WHERE id = %ld", id);
	char *ist = sql1(q);
	cr_assert_str_neq(ist, "done");
	free(ist);
	char *after = snapshot();
	cr_assert_str_eq(before, after, "a cancelled import must leave the previous data as it was");
	free(before);
	free(after);
	unlink(f);
	free(f);
}

Test(roster_import, the_admin_pages_render_and_start_an_export)
{
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	char h[4096];
	snprintf(h, sizeof h, "Cookie: %s\r\n", cookie);
	struct http_res r;
	cr_assert_eq(http_do("GET", "/admin/roster/imports", h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "data-testid=\"roster-imports\""));
	http_free(&r);
	cr_assert_eq(http_do("GET", "/admin/roster/imports/new", h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "roster-import.js"));
	http_free(&r);
	cr_assert_eq(http_do("GET", "/admin/roster/exports", h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	http_free(&r);
	char *n0 = sql1("SELECT count(*) FROM roster_exports");
	/* without the CSRF token the form post is refused */
	char h2[4200];
	snprintf(h2, sizeof h2, "%sContent-Type: application/x-www-form-urlencoded\r\n", h);
	cr_assert_eq(http_do("POST", "/admin/roster/exports", h2, "mode=bulk", 9, &r), 0);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	char body[200];
	int n = snprintf(body, sizeof body, "_csrf=%s&mode=bulk", csrf);
	cr_assert_eq(http_do("POST", "/admin/roster/exports", h2, body, (size_t)n, &r), 0);
	cr_assert_eq(r.status, 303, "%d %s", r.status, r.body);
	http_free(&r);
	/* a delta export without a valid time goes back with an error, nothing queued */
	n = snprintf(body, sizeof body, "_csrf=%s&mode=delta&since=yesterday", csrf);
	cr_assert_eq(http_do("POST", "/admin/roster/exports", h2, body, (size_t)n, &r), 0);
	cr_assert_eq(r.status, 303);
	cr_assert(strstr(http_header(&r, "Location"), "error=since"));
	http_free(&r);
	char *n1 = sql1("SELECT count(*) FROM roster_exports");
	cr_assert_eq(atol(n1), atol(n0) + 1);
	free(n0);
	free(n1);
	free(cookie);
}

Test(roster_import, a_killed_import_process_changes_nothing_and_the_retry_completes)
{
	baseline(113);
	char *before = snapshot();
	char *f = gen("clean", 60000, 114, NULL);
	struct http_res r;
	cr_assert_eq(http_do_file("POST", "/api/v1/roster/imports?filename=big.zip", auth(), f, &r), 0);
	cr_assert_eq(r.status, 202, "%s", r.body);
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	long id = jlong(o, "import.id"), job = jlong(o, "import.job_id");
	json_object_put(o);
	/* the job process names itself in pg_stat_activity; kill it once rows are flowing into its transaction */
	char q[256];
	snprintf(q, sizeof q, "SELECT substring(a.application_name from 'pid=([0-9]+)') FROM pg_stat_activity a, jobs j "
		 "WHERE a.application_name LIKE 'rstream roster_import pid=%% id=%ld' AND j.id = %ld "
		 "AND COALESCE((j.stats ->> 'rows')::bigint, 0) > 0", id, job);
	long pid = 0;
	for (int i = 0; i < 1200 && pid <= 0; i++) {
		char *v = t_db_value(q, 0, NULL);
		pid = v ? atol(v) : 0;
		free(v);
		if (pid <= 0)
			usleep(25000);
	}
	cr_assert_gt(pid, 1, "the import never showed up in pg_stat_activity");
	cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
	/* nothing of the killed attempt is visible */
	char *mid = snapshot();
	cr_assert_str_eq(before, mid);
	free(mid);
	/* the job system runs it again and this time it completes */
	cr_assert_str_eq(t_wait_job(job, 600), "done");
	snprintf(q, sizeof q, "SELECT attempts FROM jobs WHERE id = %ld", job);
	char *attempts = sql1(q);
	cr_assert_geq(atol(attempts), 2, "the job ran again");
	free(attempts);
	snprintf(q, sizeof q, "SELECT state FROM roster_imports WHERE id = %ld", id);
	char *st = sql1(q);
	cr_assert_str_eq(st, "done");
	free(st);
	cr_assert_str_eq(sql1("SELECT count(*) FROM roster_users WHERE status = 'active'"), "60000");
	free(before);
	unlink(f);
	free(f);
}

/* Every stored active record whose reference misses a live target (the importer's OR-REF-001/002 checks, run on
 * the stored roster). Empty = consistent. */
static char *dangling(void)
{
	return sql1("SELECT COALESCE(string_agg(x, '; '), '') FROM (SELECT x FROM ("
		"SELECT 'course ' || d.sourced_id AS x FROM roster_courses d WHERE d.status = 'active' AND NOT EXISTS "
		" (SELECT 1 FROM roster_orgs t WHERE t.sourced_id = d.org_sourced_id AND t.status = 'active') "
		"UNION ALL SELECT 'course year ' || d.sourced_id FROM roster_courses d WHERE d.status = 'active' AND "
		" d.school_year_sourced_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM roster_academic_sessions t WHERE "
		" t.sourced_id = d.school_year_sourced_id AND t.status = 'active' AND t.type = 'schoolYear') "
		"UNION ALL SELECT 'class ' || d.sourced_id FROM roster_classes d WHERE d.status = 'active' AND (NOT EXISTS "
		" (SELECT 1 FROM roster_courses t WHERE t.sourced_id = d.course_sourced_id AND t.status = 'active') OR NOT EXISTS "
		" (SELECT 1 FROM roster_orgs t WHERE t.sourced_id = d.school_sourced_id AND t.status = 'active' AND t.type = "
		" 'school') OR EXISTS (SELECT 1 FROM unnest(d.term_sourced_ids) u(x) WHERE NOT EXISTS (SELECT 1 FROM "
		" roster_academic_sessions t WHERE t.sourced_id = u.x AND t.status = 'active'))) "
		"UNION ALL SELECT 'org parent ' || d.sourced_id FROM roster_orgs d WHERE d.status = 'active' AND "
		" d.parent_sourced_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM roster_orgs t WHERE t.sourced_id = "
		" d.parent_sourced_id AND t.status = 'active') "
		"UNION ALL SELECT 'user ' || d.sourced_id FROM roster_users d WHERE d.status = 'active' AND ((d.primary_org_sourced_id "
		" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM roster_orgs t WHERE t.sourced_id = d.primary_org_sourced_id AND "
		" t.status = 'active')) OR (d.metadata ? 'jp.homeClass' AND NOT EXISTS (SELECT 1 FROM roster_classes t WHERE "
		" t.sourced_id = d.metadata ->> 'jp.homeClass' AND t.status = 'active')) OR EXISTS (SELECT 1 FROM "
		" unnest(d.agent_sourced_ids) u(x) WHERE NOT EXISTS (SELECT 1 FROM roster_users t WHERE t.sourced_id = u.x "
		" AND t.status = 'active'))) "
		"UNION ALL SELECT 'role ' || d.sourced_id FROM roster_roles d WHERE d.status = 'active' AND (NOT EXISTS (SELECT 1 "
		" FROM roster_users t WHERE t.sourced_id = d.user_sourced_id AND t.status = 'active') OR NOT EXISTS (SELECT 1 "
		" FROM roster_orgs t WHERE t.sourced_id = d.org_sourced_id AND t.status = 'active')) "
		"UNION ALL SELECT 'enrollment ' || d.sourced_id FROM roster_enrollments d WHERE d.status = 'active' AND (NOT "
		" EXISTS (SELECT 1 FROM roster_users t WHERE t.sourced_id = d.user_sourced_id AND t.status = 'active') OR NOT "
		" EXISTS (SELECT 1 FROM roster_classes t WHERE t.sourced_id = d.class_sourced_id AND t.status = 'active') OR "
		" NOT EXISTS (SELECT 1 FROM roster_orgs t WHERE t.sourced_id = d.school_sourced_id AND t.status = 'active' AND "
		" t.type = 'school')) "
		"UNION ALL SELECT 'demographics ' || d.sourced_id FROM roster_demographics d WHERE d.status = 'active' AND NOT "
		" EXISTS (SELECT 1 FROM roster_users t WHERE t.sourced_id = d.sourced_id AND t.status = 'active') "
		"UNION ALL SELECT 'profile ' || d.sourced_id FROM roster_user_profiles d WHERE d.status = 'active' AND NOT "
		" EXISTS (SELECT 1 FROM roster_users t WHERE t.sourced_id = d.user_sourced_id AND t.status = 'active') "
		") a LIMIT 20) b");
}

/* the hub's own bulk export of what it stores imports back (dry run) without one error */
static void export_reimports_cleanly(const char *when)
{
	char *zip = export_and_download(NULL);
	json_object *o = import_file(zip, "&dry_run=1");
	cr_assert_eq(jlong(o, "import.counts.errors"), 0, "%s: the export of the stored roster has %ld errors (%s)", when,
		     jlong(o, "import.counts.errors"), jstr(o, "import.error"));
	json_object_put(o);
	unlink(zip);
	free(zip);
}

/* Defect 1, property style: seeded random bulk / partial bulk / delta imports over two merged bundles (two
 * districts, two schools); after every step, accepted or refused, no stored active record points at a missing
 * or deleted one, and the export of the result imports back cleanly. */
Test(roster_import, random_bulk_and_delta_sequences_keep_the_roster_consistent, .timeout = 900)
{
	char da[128], db[128], cmd[1024], zip[160];
	snprintf(da, sizeof da, "/tmp/rs_roster_prop_%d_a", getpid());
	snprintf(db, sizeof db, "/tmp/rs_roster_prop_%d_b", getpid());
	snprintf(cmd, sizeof cmd, "python3 '%1$s/scripts/gen_roster_bundle.py' --users 15 --seed 301 --dir %2$s --out %2$s.zip "
		 "&& python3 '%1$s/scripts/gen_roster_bundle.py' --users 15 --seed 302 --dir %3$s --out %3$s.zip",
		 t_env("RSTREAM_ROOT"), da, db);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	int accepted = 0, cascaded = 0;
	for (int step = 0; step < 20; step++) {
		snprintf(zip, sizeof zip, "/tmp/rs_roster_prop_%d_%d.zip", getpid(), step);
		snprintf(cmd, sizeof cmd, "python3 '%s/tests/support/roster_random.py' --base %s,%s --seed 7 --step %d --out %s "
			 ">/dev/null", t_env("RSTREAM_ROOT"), da, db, step, zip);
		cr_assert_eq(system(cmd), 0, "%s", cmd);
		json_object *o = import_file(zip, NULL);
		const char *st = jstr(o, "import.state");
		cr_assert(strcmp(st, "done") == 0 || strcmp(st, "failed") == 0, "step %d: %s", step, jstr(o, "import.error"));
		if (step == 0)
			cr_assert_str_eq(st, "done", "the full bulk set is accepted: %s", jstr(o, "import.error"));
		accepted += strcmp(st, "done") == 0;
		cascaded += has_finding(jlong(o, "import.id"), "OR-CASCADE-001", NULL);
		json_object_put(o);
		unlink(zip);
		char *bad = dangling();
		cr_assert_str_eq(bad, "", "after step %d the stored roster has dangling references: %s", step, bad);
		free(bad);
		if (step == 10)
			export_reimports_cleanly("step 10");
	}
	export_reimports_cleanly("step 19");
	cr_assert_gt(accepted, 3, "the sequence exercised accepted imports");
	cr_assert_gt(cascaded, 0, "the sequence exercised a cascade");
	snprintf(cmd, sizeof cmd, "rm -rf %1$s %1$s.zip %2$s %2$s.zip", da, db);
	cr_assert_eq(system(cmd), 0);
}

/* Defect 10: vendors hand bundles out unzipped; the CLI takes the directory as it takes the zip */
Test(roster_import, the_cli_imports_an_unpacked_bundle_directory)
{
	char dir[128], cmd[1024];
	snprintf(dir, sizeof dir, "/tmp/rs_roster_dir_%d", getpid());
	snprintf(cmd, sizeof cmd, "python3 '%1$s/scripts/gen_roster_bundle.py' --users 12 --seed 131 --dir %2$s --out %2$s.zip "
		 "&& unzip -p %2$s.zip manifest.csv > %2$s/manifest.csv", t_env("RSTREAM_ROOT"), dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(cmd, sizeof cmd, "'%s' import %s --dry-run 2>&1", t_env("RSTREAM_BIN"), dir);
	FILE *p = popen(cmd, "r");
	char out[16384];
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	int st = pclose(p);
	cr_assert_eq(WEXITSTATUS(st), 0, "rstream import DIR failed:\n%s", out);
	cr_assert(strstr(out, "0 errors") && strstr(out, "dry run"), "%s", out);
	cr_assert(strstr(out, "\"inserted\":12") || strstr(out, "\"unchanged\":12") || strstr(out, "\"updated\":12") ||
		  strstr(out, "\"inserted\": 12") || strstr(out, "\"unchanged\": 12") || strstr(out, "\"updated\": 12"),
		  "the 12 users were read from the directory:\n%s", out);
	/* a directory without a manifest is refused, naming what is missing */
	snprintf(cmd, sizeof cmd, "rm %1$s/manifest.csv && '%2$s' import %1$s --dry-run 2>&1", dir, t_env("RSTREAM_BIN"));
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	st = pclose(p);
	cr_assert_neq(WEXITSTATUS(st), 0);
	cr_assert(strstr(out, "OR-MAN-001"), "%s", out);
	snprintf(cmd, sizeof cmd, "rm -rf %1$s %1$s.zip", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Defect 5: extension columns beyond the Japan Profile's come back out of the export, and a round trip keeps them */
Test(roster_import, an_export_carries_the_extension_columns_it_imported)
{
	char *f = gen("extrameta", 30, 132, NULL);
	json_object *o = import_file(f, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	json_object_put(o);
	char *before = snapshot();
	char *zip = export_and_download(NULL);
	char *users = unzip_text(zip, "users.csv");
	char *eol = strstr(users, "\r\n");
	cr_assert_not_null(eol);
	*eol = 0;
	cr_assert(strstr(users, ",metadata.vendor.club,metadata.vendor.note"), "header: %s", users);
	*eol = '\r';
	cr_assert(strstr(users, ",サッカー部,メモ\r\n"), "the values are exported");
	o = import_file(zip, NULL);
	cr_assert_str_eq(jstr(o, "import.state"), "done", "%s", jstr(o, "import.error"));
	cr_assert_eq(jlong(o, "import.counts.users.unchanged"), 30, "nothing lost on the way round");
	json_object_put(o);
	char *after = snapshot();
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	free(users);
	unlink(zip);
	free(zip);
	unlink(f);
	free(f);
}
