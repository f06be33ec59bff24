/* TOTP second factor over the real stack: enrolment with a QR code and recovery codes, the code step after the
 * password (nothing is granted before it), replay and wrong codes refused alike and counted for lockout, recovery
 * codes good once, the JSON login, forced enrolment of admins and the audited admin reset. */
#include "protect_helpers.h"
#include <unistd.h>

static char *uniq(const char *prefix)
{
	char *s = malloc(128);
	snprintf(s, 128, "%s-%ld-%d@protect.example", prefix, (long)time(NULL), getpid());
	return s;
}

static long user_id_of(const char *email)
{
	const char *p[1] = {email};
	char *v = t_db_value("SELECT id FROM users WHERE email = $1", 1, p);
	cr_assert_not_null(v);
	long id = atol(v);
	free(v);
	return id;
}

static long count(const char *sql, const char *arg)
{
	const char *p[1] = {arg};
	char *v = t_db_value(sql, arg ? 1 : 0, p);
	cr_assert_not_null(v, "%s", sql);
	long n = atol(v);
	free(v);
	return n;
}

/* signed in: enrol and return the secret; codes gets the recovery page */
static void enrol(CURL *c, unsigned char key[TOTP_SECRET_LEN], struct page *recovery)
{
	struct page p;
	pb_go(c, "/account/mfa/enrol", NULL, &p);
	cr_assert_eq(p.status, 200, "enrol page: %ld", p.status);
	cr_assert_not_null(strstr(p.body, "<svg"), "no QR code");
	cr_assert_eq(pb_secret(p.body, key), TOTP_SECRET_LEN);
	free(p.body);
	/* a wrong code first: refused, nothing enabled */
	pb_post(c, "/account/mfa/enrol", "/account/mfa/enrol", "code=000000", &p);
	cr_assert_eq(p.status, 401);
	free(p.body);
	char code[8], f[32];
	pb_code(key, 0, code);
	snprintf(f, sizeof f, "code=%s", code);
	pb_post(c, "/account/mfa/enrol", "/account/mfa/enrol", f, recovery);
	cr_assert_eq(recovery->status, 200, "confirm: %ld %s", recovery->status, recovery->body);
}

static CURL *signed_in(const char *email, const char *pw)
{
	CURL *c = pb_new();
	struct page p;
	pb_password(c, email, pw, &p);
	cr_assert_eq(p.status, 303);
	cr_assert(strstr(p.location, "/login") == NULL, "no MFA yet, but sent to %s", p.location);
	free(p.body);
	return c;
}

Test(protect_mfa, enrolment_then_every_login_needs_a_fresh_code_and_a_replay_is_refused)
{
	char *email = uniq("mfa1");
	const char *pw = "mfa-password-123";
	cr_assert_gt(t_make_user(email, "creator", pw), 0);
	long uid = user_id_of(email);
	CURL *c = signed_in(email, pw);
	unsigned char key[TOTP_SECRET_LEN];
	struct page rec;
	enrol(c, key, &rec);
	int ncodes = 0;
	for (const char *q = rec.body; (q = strstr(q, "<li><code>")); q++) ncodes++;
	cr_assert_eq(ncodes, 10, "ten recovery codes shown");
	char recovery[16];
	const char *q = strstr(rec.body, "<li><code>") + strlen("<li><code>");
	snprintf(recovery, sizeof recovery, "%.9s", q);
	free(rec.body);
	curl_easy_cleanup(c);

	char ids[24];
	snprintf(ids, sizeof ids, "%ld", uid);
	cr_assert_eq(count("SELECT count(*) FROM mfa_totp WHERE user_id = $1::bigint AND confirmed_at IS NOT NULL", ids), 1);
	cr_assert_eq(count("SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1::bigint AND used_at IS NULL", ids), 10);
	/* the secret is stored sealed: neither its base32 nor its hex appear in the row */
	char b32[64], hex[41];
	base32_encode(key, TOTP_SECRET_LEN, b32, sizeof b32);
	for (int i = 0; i < TOTP_SECRET_LEN; i++) sprintf(hex + 2 * i, "%02x", key[i]);
	const char *pp[3] = {ids, b32, hex};
	char *leak = t_db_value("SELECT count(*) FROM mfa_totp WHERE user_id = $1::bigint AND (strpos(secret_sealed, $2) > 0 "
				"OR strpos(secret_sealed, $3) > 0)", 3, pp);
	cr_assert_str_eq(leak, "0", "secret stored in clear");
	free(leak);

	/* password alone: only the half-signed-in cookie, which grants nothing */
	c = pb_new();
	struct page p;
	pb_password(c, email, pw, &p);
	cr_assert_eq(p.status, 303);
	cr_assert(strstr(p.location, "/login/mfa"), "sent to %s", p.location);
	free(p.body);
	pb_go(c, "/api/v1/me", NULL, &p);
	cr_assert_eq(p.status, 401, "the password alone opened /api/v1/me");
	free(p.body);
	pb_go(c, "/account/mfa", NULL, &p);
	cr_assert_neq(p.status, 200, "the password alone opened the account page");
	free(p.body);
	pb_go(c, "/login/mfa", NULL, &p);
	cr_assert_eq(p.status, 200);
	free(p.body);
	char code[8], f[32];
	pb_code(key, 1, code);   /* the enrolment used the current step: the next one is still in the window */
	snprintf(f, sizeof f, "code=%s", code);
	pb_post(c, "/login/mfa", "/login/mfa", f, &p);
	cr_assert_eq(p.status, 303, "code step: %ld %s", p.status, p.body);
	free(p.body);
	pb_go(c, "/api/v1/me", NULL, &p);
	cr_assert_eq(p.status, 200, "signed in after the code");
	free(p.body);
	curl_easy_cleanup(c);

	/* the same code again (a replay within its window): refused with the wrong-code answer */
	c = pb_new();
	pb_password(c, email, pw, &p);
	free(p.body);
	pb_post(c, "/login/mfa", "/login/mfa", f, &p);
	cr_assert_eq(p.status, 401, "replayed code accepted: %ld", p.status);
	struct page w;
	pb_post(c, "/login/mfa", "/login/mfa", "code=12345x", &w);
	cr_assert_eq(w.status, 401);
	/* one message for replayed, malformed and wrong codes */
	const char *m1 = strstr(p.body, "role=\"alert\">"), *m2 = strstr(w.body, "role=\"alert\">");
	cr_assert(m1 && m2);
	cr_assert_eq(strncmp(m1, m2, strcspn(m1, "<")), 0, "different errors for a replayed and a wrong code");
	free(p.body);
	free(w.body);

	/* a recovery code works once */
	snprintf(f, sizeof f, "code=%s", recovery);
	pb_post(c, "/login/mfa", "/login/mfa", f, &p);
	cr_assert_eq(p.status, 303, "recovery code refused: %ld", p.status);
	free(p.body);
	curl_easy_cleanup(c);
	c = pb_new();
	pb_password(c, email, pw, &p);
	free(p.body);
	pb_post(c, "/login/mfa", "/login/mfa", f, &p);
	cr_assert_eq(p.status, 401, "a used recovery code worked twice");
	free(p.body);
	curl_easy_cleanup(c);

	cr_assert_eq(count("SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1::bigint AND used_at IS NULL", ids), 9);
	const char *actor = "SELECT count(*) FROM audit_log WHERE actor = 'user:' || $1 AND action = ";
	char sqlq[256];
	snprintf(sqlq, sizeof sqlq, "%s'mfa.enrol' AND status = 200", actor);
	cr_assert_eq(count(sqlq, ids), 1);
	snprintf(sqlq, sizeof sqlq, "%s'mfa.success'", actor);
	cr_assert_eq(count(sqlq, ids), 2);
	snprintf(sqlq, sizeof sqlq, "%s'mfa.failure'", actor);
	cr_assert_geq(count(sqlq, ids), 3);
	free(email);
}

Test(protect_mfa, a_wrong_code_counts_for_lockout_and_a_dead_pending_cookie_restarts_at_the_password)
{
	char *email = uniq("mfa2");
	const char *pw = "mfa-password-456";
	cr_assert_gt(t_make_user(email, "viewer", pw), 0);
	CURL *c = signed_in(email, pw);
	unsigned char key[TOTP_SECRET_LEN];
	struct page p;
	enrol(c, key, &p);
	free(p.body);
	curl_easy_cleanup(c);

	const char *fails_sql = "SELECT COALESCE(max(fails), 0) FROM login_throttle WHERE key = 'a:' || encode(sha256(convert_to($1, 'UTF8')), 'hex')";
	long before = count(fails_sql, email);
	c = pb_new();
	pb_password(c, email, pw, &p);
	cr_assert(strstr(p.location, "/login/mfa"));
	free(p.body);
	pb_post(c, "/login/mfa", "/login/mfa", "code=000000", &p);
	cr_assert(p.status == 401 || p.status == 429, "wrong code: %ld", p.status);
	free(p.body);
	cr_assert_eq(count(fails_sql, email), before + 1, "a wrong code was not counted");
	/* the password step does not clear the count for an account with a second factor */
	curl_easy_cleanup(c);
	c = pb_new();
	pb_password(c, email, pw, &p);
	free(p.body);
	cr_assert_eq(count(fails_sql, email), before + 1, "the password alone cleared the failures");
	curl_easy_cleanup(c);

	/* no pending cookie (or a forged one): back to the password */
	c = pb_new();
	pb_go(c, "/login/mfa", NULL, &p);
	cr_assert_eq(p.status, 303);
	cr_assert(strstr(p.location, "/login?mfa=expired"), "%s", p.location);
	free(p.body);
	curl_easy_setopt(c, CURLOPT_COOKIE, "rs_mfa=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.");
	pb_go(c, "/login/mfa", NULL, &p);
	cr_assert_eq(p.status, 303, "a forged pending token was taken");
	free(p.body);
	curl_easy_cleanup(c);
	free(email);
}

Test(protect_mfa, the_json_login_asks_for_the_code_and_refuses_a_wrong_one)
{
	char *email = uniq("mfa3");
	const char *pw = "mfa-password-789";
	cr_assert_gt(t_make_user(email, "creator", pw), 0);
	CURL *c = signed_in(email, pw);
	unsigned char key[TOTP_SECRET_LEN];
	struct page p;
	enrol(c, key, &p);
	free(p.body);
	curl_easy_cleanup(c);
	char body[512];
	struct http_res r;
	snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert_not_null(strstr(r.body, "mfa_required"), "%s", r.body);
	cr_assert_null(strstr(r.body, "token\""), "a token without the code");
	http_free(&r);
	snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"code\":\"000000\"}", email, pw);
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert_not_null(strstr(r.body, "invalid_credentials"), "%s", r.body);
	http_free(&r);
	char code[8];
	pb_code(key, 1, code);
	snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"code\":\"%s\"}", email, pw, code);
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_free(&r);
	free(email);
}

static void set_required(int on)
{
	char *tok = t_admin_token(), hdr[600], body[64];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", tok);
	snprintf(body, sizeof body, "{\"mfa.required_admins\": %s}", on ? "true" : "false");
	struct http_res r;
	cr_assert_eq(http_do("PUT", "/api/v1/settings", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 200, "settings: %d %s", r.status, r.body);
	http_free(&r);
}

/* whatever happens in the test, the rule is off again for the tests that follow */
static void required_off(void) { set_required(0); }

Test(protect_mfa, admins_must_enrol_at_the_next_login_when_required_and_an_admin_reset_is_audited, .fini = required_off)
{
	char *email = uniq("mfa4");
	const char *pw = "mfa-admin-password-1";
	cr_assert_gt(t_make_user(email, "admin", pw), 0);
	long uid = user_id_of(email);
	(void)t_admin_token();   /* the harness admin signs in before the rule applies to it too */
	set_required(1);
	CURL *c = pb_new();
	struct page p;
	pb_password(c, email, pw, &p);
	cr_assert_eq(p.status, 303);
	cr_assert(strstr(p.location, "/login/mfa/enrol"), "required admin sent to %s", p.location);
	free(p.body);
	pb_go(c, "/api/v1/me", NULL, &p);
	cr_assert_eq(p.status, 401, "not signed in before enrolling");
	free(p.body);
	pb_go(c, "/login/mfa/enrol", NULL, &p);
	cr_assert_eq(p.status, 200);
	unsigned char key[TOTP_SECRET_LEN];
	cr_assert_eq(pb_secret(p.body, key), TOTP_SECRET_LEN);
	free(p.body);
	char code[8], f[32];
	pb_code(key, 0, code);
	snprintf(f, sizeof f, "code=%s", code);
	pb_post(c, "/login/mfa/enrol", "/login/mfa/enrol", f, &p);
	cr_assert_eq(p.status, 200, "forced enrolment: %ld", p.status);
	free(p.body);
	pb_go(c, "/api/v1/me", NULL, &p);
	cr_assert_eq(p.status, 200, "signed in once enrolled");
	free(p.body);
	curl_easy_cleanup(c);

	/* the JSON login of a required admin without a factor is refused, not let through */
	char *other = uniq("mfa5");
	cr_assert_gt(t_make_user(other, "admin", pw), 0);
	char body[512];
	struct http_res r;
	snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", other, pw);
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
	int st = r.status;
	http_free(&r);
	set_required(0);
	cr_assert_eq(st, 403, "required admin without MFA got %d", st);

	/* reset by an admin: audited, and the next login needs no code */
	char hdr[600], path[64];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", t_admin_token());
	snprintf(path, sizeof path, "/api/v1/users/%ld/mfa", uid);
	cr_assert_eq(http_do("DELETE", path, hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "true"));
	http_free(&r);
	char t[32];
	snprintf(t, sizeof t, "user:%ld", uid);
	cr_assert_eq(count("SELECT count(*) FROM audit_log WHERE action = 'mfa.reset' AND target = $1", t), 1);
	c = signed_in(email, pw);
	curl_easy_cleanup(c);
	cr_assert_eq(http_do("DELETE", "/api/v1/users/999999999/mfa", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 404);
	http_free(&r);
	free(email);
	free(other);
}

/* Turning it off oneself takes a code, as a sign-in would; a wrong code changes nothing; afterwards the password
 * alone signs in; an admin who must keep it cannot turn it off. */
Test(protect_mfa, a_user_turns_it_off_with_a_code_and_an_admin_who_must_keep_it_cannot, .fini = required_off)
{
	char *email = uniq("mfa5");
	const char *pw = "mfa-password-555";
	cr_assert_gt(t_make_user(email, "viewer", pw), 0);
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", user_id_of(email));
	CURL *c = signed_in(email, pw);
	unsigned char key[TOTP_SECRET_LEN];
	struct page p;
	enrol(c, key, &p);
	free(p.body);
	pb_go(c, "/account/mfa", NULL, &p);
	cr_assert(strstr(p.body, "data-testid=\"mfa-off-form\"") && strstr(p.body, "2段階認証をオフにする"), "the form is offered");
	free(p.body);
	pb_post(c, "/account/mfa", "/account/mfa/disable", "code=000000", &p);
	cr_assert_eq(p.status, 400);
	cr_assert(strstr(p.body, "2段階認証は有効のまま"), "%.300s", p.body);
	free(p.body);
	pb_post(c, "/account/mfa", "/account/mfa/disable", "code=", &p);
	cr_assert_eq(p.status, 400, "no code, no change");
	free(p.body);
	cr_assert_eq(count("SELECT count(*) FROM mfa_totp WHERE user_id = $1::bigint AND confirmed_at IS NOT NULL", ids), 1);
	char code[8], f[32];
	pb_code(key, 1, code);
	snprintf(f, sizeof f, "code=%s", code);
	pb_post(c, "/account/mfa", "/account/mfa/disable", f, &p);
	cr_assert_eq(p.status, 303, "%ld %s", p.status, p.body);
	cr_assert(strstr(p.location, "/account/mfa?off=1"), "%s", p.location);
	free(p.body);
	pb_go(c, "/account/mfa?off=1", NULL, &p);
	cr_assert(strstr(p.body, "data-testid=\"mfa-off-done\"") && strstr(p.body, "data-testid=\"mfa-start\""), "off, and offered again");
	free(p.body);
	curl_easy_cleanup(c);
	cr_assert_eq(count("SELECT count(*) FROM mfa_totp WHERE user_id = $1::bigint", ids), 0);
	char actor[40];
	snprintf(actor, sizeof actor, "user:%s", ids);
	cr_assert_eq(count("SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'mfa.disable'", actor), 1);
	c = signed_in(email, pw);   /* the password alone again */
	curl_easy_cleanup(c);

	char *admin = uniq("mfa6");
	cr_assert_gt(t_make_user(admin, "admin", pw), 0);
	c = signed_in(admin, pw);
	enrol(c, key, &p);
	free(p.body);
	set_required(1);
	pb_go(c, "/account/mfa", NULL, &p);
	cr_assert_null(strstr(p.body, "mfa-off-form"), "no form for an account that must keep it");
	free(p.body);
	pb_code(key, 1, code);
	snprintf(f, sizeof f, "code=%s", code);
	pb_post(c, "/account/mfa", "/account/mfa/disable", f, &p);
	cr_assert_eq(p.status, 403);
	free(p.body);
	snprintf(ids, sizeof ids, "%ld", user_id_of(admin));
	cr_assert_eq(count("SELECT count(*) FROM mfa_totp WHERE user_id = $1::bigint AND confirmed_at IS NOT NULL", ids), 1);
	curl_easy_cleanup(c);
	free(email);
	free(admin);
}
