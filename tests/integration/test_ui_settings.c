/* The admin settings page over the real stack: values checked, stored, audited, in effect on every worker without a
 * restart (also when another host changed them: the generation in PostgreSQL), password policy and sign-in methods
 * enforced, the logo refused unless its bytes are a PNG or JPEG. Every test puts the settings back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "harness.h"

static const unsigned char png2x1[] = {
	0x89,0x50,0x4e,0x47,0x0d,0x0a,0x1a,0x0a,0x00,0x00,0x00,0x0d,0x49,0x48,0x44,0x52,0x00,0x00,0x00,0x02,0x00,0x00,
	0x00,0x01,0x08,0x02,0x00,0x00,0x00,0x7b,0x40,0xe8,0xdd,0x00,0x00,0x00,0x0d,0x49,0x44,0x41,0x54,0x78,0x9c,0x63,
	0xf8,0xcf,0x00,0x04,0xff,0x01,0x07,0x00,0x01,0xff,0xe2,0x23,0x9e,0x59,0x00,0x00,0x00,0x00,0x49,0x45,0x4e,0x44,
	0xae,0x42,0x60,0x82};

static char *auth_hdr(const char *extra)
{
	char *h;
	cr_assert(asprintf(&h, "Authorization: Bearer %s\r\nAccept: application/json\r\n%s", t_admin_token(), extra ? extra : "") > 0);
	return h;
}

static int api(const char *method, const char *path, const char *body, struct http_res *out)
{
	char *h = auth_hdr(body ? "Content-Type: application/json\r\n" : NULL);
	cr_assert_eq(http_do(method, path, h, body, body ? strlen(body) : 0, out), 0);
	free(h);
	return out->status;
}

static void put_settings(const char *json, int want)
{
	struct http_res r = {0};
	int st = api("PUT", "/api/v1/settings", json, &r);
	cr_assert_eq(st, want, "PUT %s: HTTP %d %.300s", json, st, r.body ? r.body : "");
	http_free(&r);
}

/* back to the file's values: "" deletes each override */
static void reset_all(void)
{
	put_settings("{\"site.name\":\"\",\"default_lang\":\"\",\"timezone\":\"\",\"password.min_length\":\"\","
		     "\"password.require_mixed\":\"\",\"signin.password\":\"\",\"signin.oidc\":\"\",\"signin.cards\":\"\","
		     "\"upload.quota_mb\":\"\",\"video.max_upload_mb\":\"\"}", 200);
	struct http_res r = {0};
	api("DELETE", "/api/v1/settings/logo", NULL, &r);
	http_free(&r);
}

TestSuite(ui_settings, .fini = reset_all);

Test(ui_settings, api_lists_the_values_in_effect_and_is_admin_only)
{
	struct http_res r = {0};
	cr_assert_eq(api("GET", "/api/v1/settings", NULL, &r), 200);
	json_object *o = json_tokener_parse(r.body), *v;
	cr_assert(json_object_object_get_ex(o, "password.min_length", &v) && json_object_get_int(v) >= 8, "%s", r.body);
	cr_assert(json_object_object_get_ex(o, "signin.password", &v) && json_object_is_type(v, json_type_boolean));
	cr_assert(json_object_object_get_ex(o, "timezone", &v) && !strcmp(json_object_get_string(v), "Asia/Tokyo"), "%s", r.body);
	json_object_put(o);
	http_free(&r);
	char email[96];
	snprintf(email, sizeof email, "settings-viewer-%ld@example.jp", (long)time(NULL));
	t_make_user(email, "creator", "creator-password-1");
	char *tok = t_login(email, "creator-password-1");
	cr_assert(tok);
	char *h;
	cr_assert(asprintf(&h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	cr_assert_eq(http_do("GET", "/api/v1/settings", h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	cr_assert_eq(http_do("PUT", "/api/v1/settings", "Authorization: Bearer x\r\nContent-Type: application/json\r\n",
			     "{}", 2, &r), 0);
	cr_assert_eq(r.status, 401);
	http_free(&r);
	free(h);
	free(tok);
}

Test(ui_settings, bad_values_are_refused_with_the_key_and_nothing_changes)
{
	char *before = t_db_value("SELECT value FROM settings WHERE key = 'settings.generation'", 0, NULL);
	put_settings("{\"secret\":\"x\"}", 400);
	put_settings("{\"password.min_length\":7}", 422);
	put_settings("{\"password.min_length\":\"12abc\"}", 422);
	put_settings("{\"video.max_upload_mb\":5000}", 422);
	put_settings("{\"timezone\":\"../../etc/passwd\"}", 422);
	put_settings("{\"timezone\":\"Mars/Olympus\"}", 422);
	put_settings("{\"default_lang\":\"fr\"}", 422);
	put_settings("{\"signin.oidc\":\"yes\"}", 422);
	put_settings("{\"site.name\":\"line\\nbreak\"}", 422);
	put_settings("{\"site.name\":[1]}", 422);
	/* one bad key spoils the whole request: the good one next to it is not saved either */
	put_settings("{\"site.name\":\"Half saved\",\"upload.quota_mb\":-1}", 422);
	struct http_res r = {0};
	api("PUT", "/api/v1/settings", "[1,2]", &r);
	cr_assert_eq(r.status, 400);
	http_free(&r);
	char *after = t_db_value("SELECT value FROM settings WHERE key = 'settings.generation'", 0, NULL);
	cr_assert_str_eq(before, after);
	char *name = t_db_value("SELECT count(*) FROM settings WHERE key = 'site.name'", 0, NULL);
	cr_assert_str_eq(name, "0");
	free(before); free(after); free(name);
}

static int page_has(const char *path, const char *needle)
{
	struct http_res r = {0};
	cr_assert_eq(http_do("GET", path, NULL, NULL, 0, &r), 0);
	int has = r.body && strstr(r.body, needle) != NULL;
	http_free(&r);
	return has;
}

Test(ui_settings, a_new_site_name_is_on_every_page_of_every_worker_at_once_and_audited)
{
	char name[64], json[160];
	snprintf(name, sizeof name, "さくら市教育委員会 %ld", (long)time(NULL));
	snprintf(json, sizeof json, "{\"site.name\":\"%s\"}", name);
	put_settings(json, 200);
	/* the stack runs several workers; the change must be there on whichever one answers, without waiting */
	for (int i = 0; i < 24; i++) cr_assert(page_has("/login", name), "request %d still shows the old name", i);
	const char *p[] = {name};
	char *audit = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'settings.update' AND target = "
				 "'settings:site.name' AND detail->>'new' = $1 AND detail->>'old' <> ''", 1, p);
	cr_assert_str_eq(audit, "1");
	free(audit);
	/* saving the same value again changes nothing and writes no audit row */
	put_settings(json, 200);
	audit = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'settings.update' AND detail->>'new' = $1", 1, p);
	cr_assert_str_eq(audit, "1");
	free(audit);
}

Test(ui_settings, a_change_made_on_another_host_arrives_through_the_generation)
{
	char name[64];
	snprintf(name, sizeof name, "Other host %ld", (long)time(NULL));
	const char *p[] = {name};
	/* what another host's worker writes: the value and a new generation, no signal to this host's workers */
	PGresult *res = PQexecParams(t_db(), "WITH a AS (INSERT INTO settings (key, value) VALUES ('site.name', $1) "
				     "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value) UPDATE settings SET value = "
				     "(value::bigint + 1)::text WHERE key = 'settings.generation'", 1, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(t_db()));
	PQclear(res);
	/* each worker looks at the generation at most a second after its last look: poll, with a generous bound */
	int seen = 0;
	for (int i = 0; i < 100 && seen < 10; i++) {
		seen = page_has("/login", name) ? seen + 1 : 0;
		if (seen < 10) usleep(200 * 1000);
	}
	cr_assert_eq(seen, 10, "the workers did not pick up the new generation");
}

Test(ui_settings, the_password_policy_applies_where_passwords_are_set)
{
	put_settings("{\"password.min_length\":14,\"password.require_mixed\":true}", 200);
	char email[96];
	snprintf(email, sizeof email, "settings-pw-%ld@example.jp", (long)time(NULL));
	long id = t_make_user(email, "viewer", "first-password-12345");
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert(cookie);
	char hdr[1024], body[512], path[64];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
	snprintf(path, sizeof path, "/admin/users/%ld", id);
	const char *cases[][2] = {{"shortpass123", "422"}, {"onlyletterslongenough", "422"}, {"letters-and-digits-42", "303"}};
	for (int i = 0; i < 3; i++) {
		snprintf(body, sizeof body, "_csrf=%s&name=PW&role=viewer&lang=&time_zone=&password=%s", csrf, cases[i][0]);
		struct http_res r = {0};
		cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
		cr_assert_eq(r.status, atoi(cases[i][1]), "%s: HTTP %d", cases[i][0], r.status);
		if (i == 0) cr_assert(strstr(r.body, "14"), "the error names the policy's length");
		http_free(&r);
	}
	free(cookie);
}

Test(ui_settings, password_sign_in_switched_off_keeps_admins_in_and_others_out)
{
	char email[96];
	snprintf(email, sizeof email, "settings-signin-%ld@example.jp", (long)time(NULL));
	t_make_user(email, "creator", "creator-password-1");
	put_settings("{\"signin.password\":false}", 200);
	char body[256];
	snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"creator-password-1\"}", email);
	struct http_res r = {0};
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 403, "HTTP %d %.200s", r.status, r.body);
	cr_assert(strstr(r.body, "password_signin_off"));
	http_free(&r);
	char *admin = t_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	cr_assert(admin, "an admin still signs in with a password");
	free(admin);
	cr_assert(page_has("/login", "data-testid=\"password-admins-only\""));
	put_settings("{\"signin.password\":true,\"signin.cards\":false}", 200);
	char *tok = t_login(email, "creator-password-1");
	cr_assert(tok, "password sign-in is back");
	free(tok);
	cr_assert(!page_has("/login", "data-testid=\"code-link\""), "no card link while cards are off");
	cr_assert_eq(http_do("GET", "/login/code", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 403);
	http_free(&r);
}

Test(ui_settings, the_logo_must_be_a_small_png_or_jpeg_and_is_served_from_the_app)
{
	struct http_res r = {0};
	char *h = auth_hdr("Content-Type: image/png\r\n");
	const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
	cr_assert_eq(http_do("PUT", "/api/v1/settings/logo", h, svg, strlen(svg), &r), 0);
	cr_assert_eq(r.status, 422, "an SVG under a PNG label: HTTP %d", r.status);
	http_free(&r);
	/* a PNG cut short is not a PNG */
	cr_assert_eq(http_do("PUT", "/api/v1/settings/logo", h, (const char *)png2x1, sizeof png2x1 - 12, &r), 0);
	cr_assert_eq(r.status, 422);
	http_free(&r);
	size_t big = 300 * 1024;
	char *blob = calloc(1, big);
	memcpy(blob, png2x1, sizeof png2x1);
	cr_assert_eq(http_do("PUT", "/api/v1/settings/logo", h, blob, big, &r), 0);
	cr_assert_eq(r.status, 413);
	http_free(&r);
	free(blob);
	cr_assert_eq(http_do("PUT", "/api/v1/settings/logo", h, (const char *)png2x1, sizeof png2x1, &r), 0);
	cr_assert_eq(r.status, 200, "HTTP %d %.300s", r.status, r.body);
	json_object *o = json_tokener_parse(r.body), *v;
	cr_assert(json_object_object_get_ex(o, "site.logo", &v) && json_object_get_string(v));
	char url[96], shown[96];
	snprintf(url, sizeof url, "/site/logo?v=%s", json_object_get_string(v));
	snprintf(shown, sizeof shown, "/site/logo?v&#61;%s", json_object_get_string(v));   /* as the template escapes it */
	json_object_put(o);
	http_free(&r);
	cr_assert(page_has("/videos", shown), "the header shows the logo");
	cr_assert_eq(http_do("GET", url, NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(http_header(&r, "Content-Type"), "image/png");
	cr_assert_eq(r.body_len, sizeof png2x1);
	cr_assert_eq(memcmp(r.body, png2x1, sizeof png2x1), 0);
	http_free(&r);
	char *audit = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'settings.logo' AND status = 200", 0, NULL);
	cr_assert_neq(atoi(audit), 0);
	free(audit);
	cr_assert_eq(api("DELETE", "/api/v1/settings/logo", NULL, &r), 200);
	http_free(&r);
	cr_assert_eq(http_do("GET", "/site/logo", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 404);
	http_free(&r);
	free(h);
}
