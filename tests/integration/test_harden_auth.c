/* Hardening (issue 7): a password change ends the account's sessions and tokens (finding 4); login throttling
 * by account and address with backoff, the same for unknown and known e-mails, lifted by an admin (finding 5);
 * token-bearing login answers are not cacheable (finding 11). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include "config.h"
#include "db.h"
#include "harness.h"
#include "login_throttle.h"

static const char *JSONH = "Content-Type: application/json\r\nAccept: application/json\r\n";

/* POST /api/v1/auth/login; returns the status, fills body (static copy) and Retry-After */
static int api_login(const char *email, const char *password, char *body, size_t bodylen, long *retry_after)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password", json_object_new_string(password));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", JSONH, s, strlen(s), &r), 0);
	json_object_put(o);
	if (body) snprintf(body, bodylen, "%s", r.body);
	if (retry_after) {
		const char *ra = http_header(&r, "Retry-After");
		*retry_after = ra ? atol(ra) : -1;
	}
	int st = r.status;
	http_free(&r);
	return st;
}

static int status_with(const char *method, const char *path, const char *hdr, const char *body, char *location, size_t loclen)
{
	struct http_res r;
	cr_assert_eq(http_do(method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
	if (location) {
		const char *l = http_header(&r, "Location");
		snprintf(location, loclen, "%s", l ? l : "");
	}
	int st = r.status;
	http_free(&r);
	return st;
}

static int me_with_token(const char *tok)
{
	char hdr[1200];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok);
	return status_with("GET", "/api/v1/me", hdr, NULL, NULL, 0);
}

static int home_with_cookie(const char *jar, char *location, size_t loclen)
{
	char hdr[2048];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", jar);
	return status_with("GET", "/", hdr, NULL, location, loclen);
}

/* every test starts from no throttle state: the suite logs in from one address (127.0.0.1) */
static void reset_throttle(void) { free(t_db_value("DELETE FROM login_throttle RETURNING 1", 0, NULL)); }

static void lib_init(void)
{
	static int done;
	if (done) return;
	cfg.login_max_failures = 5;
	cfg.login_lockout_seconds = 900;
	cr_assert_eq(db_connect(t_env("DATABASE_URL")), 0);
	done = 1;
}

/* Admin form post to /admin/users/:id as the given browser session. */
static int post_user_form(const char *jar, const char *csrf, long id, const char *name, const char *role,
			  const char *password, char *set_cookie, size_t sclen)
{
	char path[64], hdr[2048], body[512];
	snprintf(path, sizeof path, "/admin/users/%ld", id);
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", jar);
	snprintf(body, sizeof body, "name=%s&role=%s&lang=ja&password=%s&_csrf=%s", name, role, password, csrf);
	struct http_res r;
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	if (set_cookie) {
		const char *c = http_header(&r, "Set-Cookie");
		snprintf(set_cookie, sclen, "%s", c ? c : "");
	}
	int st = r.status;
	http_free(&r);
	return st;
}

Test(harden_auth, the_login_answer_carrying_a_bearer_token_is_not_cacheable)
{
	reset_throttle();
	cr_assert(t_make_user("harden.cache@test.example", "viewer", "Harden-pass-1234") > 0);
	const char *body = "{\"email\":\"harden.cache@test.example\",\"password\":\"Harden-pass-1234\"}";
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", JSONH, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	const char *cc = http_header(&r, "Cache-Control");
	cr_assert(cc && strstr(cc, "no-store"), "Cache-Control: %s", cc ? cc : "(none)");
	http_free(&r);
}

Test(harden_auth, an_admin_password_change_ends_every_session_and_token_of_the_user, .timeout = 60)
{
	reset_throttle();
	long id = t_make_user("harden.pw@test.example", "creator", "Harden-pass-1234");
	cr_assert(id > 0);
	char *tok = t_login("harden.pw@test.example", "Harden-pass-1234");
	char ucsrf[65], acsrf[65], loc[256];
	char *jar = t_browser_login("harden.pw@test.example", "Harden-pass-1234", ucsrf);
	cr_assert(tok && jar);
	cr_assert_eq(me_with_token(tok), 200);
	cr_assert_eq(home_with_cookie(jar, loc, sizeof loc), 200);

	char *ajar = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), acsrf);
	cr_assert(ajar);
	cr_assert_eq(post_user_form(ajar, acsrf, id, "Harden", "creator", "Harden-new-5678", NULL, 0), 303);

	cr_assert_eq(me_with_token(tok), 401, "the old bearer token still works after the password change");
	cr_assert_eq(home_with_cookie(jar, loc, sizeof loc), 303, "the old browser session still works");
	cr_assert(strstr(loc, "/login"), "sent to %s", loc);
	cr_assert_eq(api_login("harden.pw@test.example", "Harden-pass-1234", NULL, 0, NULL), 401);
	char *tok2 = t_login("harden.pw@test.example", "Harden-new-5678");
	cr_assert(tok2, "the new password logs in");
	cr_assert_eq(me_with_token(tok2), 200);
	/* the admin's own session was not touched */
	cr_assert_eq(home_with_cookie(ajar, loc, sizeof loc), 200);
	free(tok); free(tok2); free(jar); free(ajar);
}

Test(harden_auth, an_admin_changing_their_own_password_keeps_working_in_a_fresh_session, .timeout = 60)
{
	reset_throttle();
	long id = t_make_user("harden.selfadmin@test.example", "admin", "Harden-pass-1234");
	cr_assert(id > 0);
	char *tok = t_login("harden.selfadmin@test.example", "Harden-pass-1234");
	char csrf[65], loc[256], setc[1200];
	char *jar = t_browser_login("harden.selfadmin@test.example", "Harden-pass-1234", csrf);
	cr_assert(tok && jar);
	cr_assert_eq(post_user_form(jar, csrf, id, "Self", "admin", "Harden-new-5678", setc, sizeof setc), 303);
	cr_assert(!strncmp(setc, "rs_session=", 11) && setc[11] != ';', "a new session cookie: %s", setc);
	cr_assert_eq(me_with_token(tok), 401, "the admin's other tokens end too");
	cr_assert_eq(home_with_cookie(jar, loc, sizeof loc), 303, "the old cookie ends");
	*strchr(setc, ';') = 0;
	cr_assert_eq(home_with_cookie(setc, loc, sizeof loc), 200, "the new cookie works");
	free(tok); free(jar);
}

Test(harden_auth, a_password_reset_from_the_command_line_ends_the_sessions_too, .timeout = 60)
{
	reset_throttle();
	cr_assert(t_make_user("harden.cli@test.example", "viewer", "Harden-pass-1234") > 0);
	char *tok = t_login("harden.cli@test.example", "Harden-pass-1234");
	cr_assert(tok);
	cr_assert_eq(me_with_token(tok), 200);
	/* t_make_user on an existing account runs `rstream user passwd` */
	cr_assert(t_make_user("harden.cli@test.example", "viewer", "Harden-new-5678") > 0);
	/* another process cannot bump the workers' epoch: their one-second session cache runs out first */
	usleep(1200 * 1000);
	cr_assert_eq(me_with_token(tok), 401);
	free(tok);
}

/* Wrong passwords until `want` have been counted (401), sitting out any backoff (429) on the way. */
static void fail_logins(const char *const *variants, int nvariants, int want, char *last_body, size_t lbl)
{
	int counted = 0;
	for (int i = 0; i < 40 && counted < want; i++) {
		long ra;
		int st = api_login(variants[counted % nvariants], "Wrong-password-0", last_body, lbl, &ra);
		if (st == 401) { counted++; continue; }
		cr_assert_eq(st, 429, "unexpected %d", st);
		cr_assert(ra >= 1 && ra <= 900, "Retry-After %ld", ra);
		sleep((unsigned)ra);
	}
	cr_assert_eq(counted, want, "only %d failures counted", counted);
}

Test(harden_auth, case_and_spaces_count_as_one_account_and_unknown_emails_answer_alike, .timeout = 120)
{
	reset_throttle();
	cr_assert(t_make_user("harden.case@test.example", "viewer", "Harden-pass-1234") > 0);
	static const char *known[] = {"Harden.Case@test.example", " harden.case@TEST.example ", "HARDEN.CASE@TEST.EXAMPLE",
				      "harden.case@test.example\t", "hArden.case@test.example"};
	static const char *unknown[] = {"Harden.Nobody@test.example", " harden.nobody@TEST.example ",
					"HARDEN.NOBODY@TEST.EXAMPLE", "harden.nobody@test.example\t", "hArden.nobody@test.example"};
	char kb[512], ub[512], kt[512], ut[512];
	fail_logins(known, 5, 7, kb, sizeof kb);
	long kra, ura;
	int ks = api_login("harden.case@test.example", "Harden-pass-1234", kt, sizeof kt, &kra);
	fail_logins(unknown, 5, 7, ub, sizeof ub);
	int us = api_login("harden.nobody@test.example", "Harden-pass-1234", ut, sizeof ut, &ura);
	cr_assert_str_eq(kb, ub, "a wrong password reads the same for known and unknown e-mails");
	cr_assert_eq(ks, 429, "seven failures in five spellings throttle the account, even with the right password: %s", kt);
	cr_assert_eq(us, 429, "an unknown e-mail is throttled the same way: %s", ut);
	cr_assert_str_eq(kt, ut);
	cr_assert(kra >= 1 && ura >= 1, "Retry-After on both");
	/* one account-wide counter under the normalised e-mail, not five */
	char *n = t_db_value("SELECT fails FROM login_throttle WHERE key = 'a:' || "
			     "encode(sha256(convert_to('harden.case@test.example', 'UTF8')), 'hex')", 0, NULL);
	cr_assert(n && atoi(n) == 7, "account-wide failures: %s", n ? n : "(none)");
	free(n);
}

Test(harden_auth, the_wait_ends_by_itself_instead_of_a_long_lock, .timeout = 60)
{
	reset_throttle();
	cr_assert(t_make_user("harden.wait@test.example", "viewer", "Harden-pass-1234") > 0);
	static const char *v[] = {"harden.wait@test.example"};
	fail_logins(v, 1, 5, NULL, 0);
	char *w = t_db_value("SELECT ceil(extract(epoch FROM max(wait_until) - now()))::int FROM login_throttle", 0, NULL);
	cr_assert(w && atoi(w) <= 2, "after five failures the wait is a second, not a lockout: %s s", w ? w : "?");
	free(w);
	sleep(2);
	cr_assert_eq(api_login("harden.wait@test.example", "Harden-pass-1234", NULL, 0, NULL), 200);
}

Test(harden_auth, failures_from_one_address_do_not_slow_down_another, .timeout = 60)
{
	reset_throttle();
	lib_init();
	long ra;
	for (int i = 0; i < 5; i++) cr_assert_eq(login_throttle_failed("harden.addr@test.example", "203.0.113.7"), 0);
	cr_assert_eq(login_throttle_check("Harden.Addr@test.example", "203.0.113.7", &ra), 1);
	cr_assert(ra >= 1);
	cr_assert_eq(login_throttle_check("harden.addr@test.example", "198.51.100.9", &ra), 0,
		     "the owner on another address is not locked out by an attacker");
	/* an attack spread over many addresses slows the account down (loosely) */
	char ip[32];
	for (int i = 0; i < 50; i++) {
		snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
		cr_assert_eq(login_throttle_failed("harden.spread@test.example", ip), 0);
	}
	cr_assert_eq(login_throttle_check("harden.spread@test.example", "198.51.100.9", &ra), 1);
	/* one address spraying many accounts is slowed down on every account */
	char email[64];
	for (int i = 0; i < 50; i++) {
		snprintf(email, sizeof email, "harden.spray%d@test.example", i);
		cr_assert_eq(login_throttle_failed(email, "203.0.113.99"), 0);
	}
	cr_assert_eq(login_throttle_check("harden.fresh@test.example", "203.0.113.99", &ra), 1);
	cr_assert_eq(login_throttle_check("harden.fresh@test.example", "203.0.113.98", &ra), 0);
	reset_throttle();
}

/* Throttle an account as seen from the test client (nginx gives the app 127.0.0.1) for about eight seconds. */
static void throttle_from_here(const char *email)
{
	lib_init();
	for (int i = 0; i < 8; i++) cr_assert_eq(login_throttle_failed(email, "127.0.0.1"), 0);
}

Test(harden_auth, an_admin_lifts_the_throttle_through_the_api_and_it_is_audited, .timeout = 60)
{
	reset_throttle();
	long id = t_make_user("harden.unlock@test.example", "viewer", "Harden-pass-1234");
	cr_assert(id > 0);
	throttle_from_here("harden.unlock@test.example");
	cr_assert_eq(api_login("harden.unlock@test.example", "Harden-pass-1234", NULL, 0, NULL), 429);
	char path[64], hdr[1200];
	snprintf(path, sizeof path, "/api/v1/users/%ld/unlock", id);
	char *vt = t_login("harden.cache@test.example", "Harden-pass-1234");
	if (!vt) { cr_assert(t_make_user("harden.cache@test.example", "viewer", "Harden-pass-1234") > 0); vt = t_login("harden.cache@test.example", "Harden-pass-1234"); }
	cr_assert(vt);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", vt);
	cr_assert_eq(status_with("POST", path, hdr, NULL, NULL, 0), 403, "a viewer may not unlock");
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", t_admin_token());
	cr_assert_eq(status_with("POST", path, hdr, NULL, NULL, 0), 200);
	cr_assert_eq(api_login("harden.unlock@test.example", "Harden-pass-1234", NULL, 0, NULL), 200);
	char target[48];
	snprintf(target, sizeof target, "user:%ld", id);
	const char *p[1] = {target};
	char *n = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'user.unlock' AND target = $1 AND status = 200", 1, p);
	cr_assert(n && atoi(n) >= 1, "audited: %s", n ? n : "(none)");
	free(n);
	free(vt);
}

Test(harden_auth, the_user_page_has_an_unlock_button_that_works, .timeout = 60)
{
	reset_throttle();
	long id = t_make_user("harden.button@test.example", "viewer", "Harden-pass-1234");
	cr_assert(id > 0);
	throttle_from_here("harden.button@test.example");
	char csrf[65], path[64], action[96], hdr[2048], body[128];
	char *jar = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert(jar);
	snprintf(path, sizeof path, "/admin/users/%ld", id);
	snprintf(action, sizeof action, "action=\"/admin/users/%ld/unlock\"", id);
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", jar);
	struct http_res r;
	cr_assert_eq(http_do("GET", path, hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, action), "no unlock form on the user page");
	cr_assert(strstr(r.body, "ログイン制限を解除"), "the button speaks Japanese");
	http_free(&r);
	snprintf(path, sizeof path, "/admin/users/%ld/unlock", id);
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", jar);
	snprintf(body, sizeof body, "_csrf=%s", csrf);
	cr_assert_eq(status_with("POST", path, hdr, body, NULL, 0), 303);
	cr_assert_eq(api_login("harden.button@test.example", "Harden-pass-1234", NULL, 0, NULL), 200);
	free(jar);
}

/* scripts/run.sh asks this instead of scanning `rstream user list` (SIGPIPE under pipefail on big rosters) */
static int cli_exists(const char *email)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s' user exists --email '%s' >/dev/null 2>&1", t_env("RSTREAM_BIN"), email);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(harden_auth, rstream_user_exists_answers_with_its_exit_status)
{
	cr_assert(t_make_user("harden.exists@test.example", "viewer", "Harden-pass-1234") > 0);
	cr_assert_eq(cli_exists("harden.exists@test.example"), 0);
	cr_assert_eq(cli_exists("HARDEN.Exists@test.example"), 0, "e-mails compare case-insensitively");
	cr_assert_eq(cli_exists("harden.missing@test.example"), 1);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "DATABASE_URL=postgresql://nobody@127.0.0.1:1/none '%s' user exists --email x@y.z >/dev/null 2>&1",
		 t_env("RSTREAM_BIN"));
	int st = system(cmd);
	cr_assert_eq(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 2, "a database error is neither yes nor no");
	cr_assert(system("grep -q 'user list |' \"$RSTREAM_ROOT/scripts/run.sh\"") != 0, "run.sh still pipes the user list");
}
