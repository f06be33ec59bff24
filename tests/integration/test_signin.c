/* Sign-in over the real stack: OpenID Connect against the loopback provider (tests/support/oidc_provider.py, started
 * by tests/run.sh), login cards, password-reset links, per-role homes and the logged-out header. A small curl
 * "browser" (cookie jar, no redirect following) drives each flow step by step. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include "harness.h"
#include "signin_helpers.h"

/* ---- fixture: a district, a school, two classes, a teacher and two pupils, rostered and with accounts ---- */
static void sql(const char *q)
{
	PGresult *r = PQexec(t_db(), q);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q, PQerrorMessage(t_db()));
	PQclear(r);
}

static const char *TEACHER = "sig.teacher@sig.example", *TEACHER_PW = "teacher-password-1";

static void roster(void)
{
	sql("INSERT INTO roster_orgs (sourced_id, name, type) VALUES ('sig-d', 'さくら市教育委員会', 'district'),"
	    " ('sig-s', 'さくら小学校', 'school') ON CONFLICT DO NOTHING");
	sql("UPDATE roster_orgs SET parent_sourced_id = 'sig-d' WHERE sourced_id = 'sig-s'");
	sql("INSERT INTO roster_classes (sourced_id, title, course_sourced_id, class_type, school_sourced_id) VALUES "
	    "('sig-c1', '3年1組', 'sig-course', 'homeroom', 'sig-s'), ('sig-c2', '3年2組', 'sig-course', 'homeroom', 'sig-s') "
	    "ON CONFLICT DO NOTHING");
	sql("INSERT INTO roster_users (sourced_id, username, given_name, family_name, email, primary_org_sourced_id, user_ids, metadata) VALUES "
	    "('sig-t1', 'sigt1', '花子', '佐藤', 'sig.teacher@sig.example', 'sig-s', '{}', '{}'),"
	    "('sig-p1', 'sigp1', '太郎', '田中', 'sig.pupil1@sig.example', 'sig-s', '{\"{Google:g-777}\"}', "
	    " '{\"jp.kanaFamilyName\":\"たなか\",\"jp.kanaGivenName\":\"たろう\"}'),"
	    "('sig-p2', 'sigp2', 'さくら', '高橋', NULL, 'sig-s', '{}', '{\"jp.kanaFamilyName\":\"たかはし\",\"jp.kanaGivenName\":\"さくら\"}') "
	    "ON CONFLICT DO NOTHING");
	sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) VALUES "
	    "('sig-e1', 'sig-c1', 'sig-s', 'sig-t1', 'teacher'), ('sig-e2', 'sig-c1', 'sig-s', 'sig-p1', 'student'),"
	    "('sig-e3', 'sig-c1', 'sig-s', 'sig-p2', 'student'), ('sig-e4', 'sig-c2', 'sig-s', 'sig-p2', 'student') ON CONFLICT DO NOTHING");
	cr_assert_gt(t_make_user(TEACHER, "creator", TEACHER_PW), 0);
	sql("UPDATE users SET sourced_id = 'sig-t1', org_sourced_id = 'sig-s', name = '佐藤 花子' WHERE email = 'sig.teacher@sig.example'");
	sql("INSERT INTO users (email, name, role, sourced_id, org_sourced_id) VALUES "
	    "('sig.pupil1@sig.example', '田中 太郎', 'viewer', 'sig-p1', 'sig-s'), (NULL, '高橋 さくら', 'viewer', 'sig-p2', 'sig-s') "
	    "ON CONFLICT DO NOTHING");
	sql("UPDATE users SET username = 'sigp2' WHERE sourced_id = 'sig-p2'");
}

/* a provider row for the loopback issuer; returns its id */
static long provider(const char *rule, const char *type)
{
	roster();
	const char *params[3] = {t_env("RSTREAM_TEST_OIDC_URL"), rule, type};
	char *id = t_db_value("SELECT id FROM oidc_providers WHERE issuer = $1 AND match_rule = $2", 2, params);
	if (!id) {
		/* through the admin form, so the client secret is sealed the way the app does it */
		struct browser *b = b_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
		struct page p;
		char csrf[65], form[1024];
		b_go(b, "/admin/sso/new", NULL, NULL, &p);
		cr_assert_eq(p.status, 200);
		cr_assert(strstr(p.body, "さくら市教育委員会"), "org picker lists the district");
		csrf_of(p.body, csrf);
		free(p.body);
		char *iss = curl_easy_escape(b->c, params[0], 0);
		snprintf(form, sizeof form, "_csrf=%s&name=Test+IdP+%s&org_sourced_id=sig-d&issuer=%s&client_id=rstream-test"
			 "&client_secret=test-client-secret&match_rule=%s&user_id_type=%s&enabled=1", csrf, rule, iss, rule, type ? type : "");
		curl_free(iss);
		b_go(b, "/admin/sso", form, NULL, &p);
		cr_assert_eq(p.status, 303, "create provider: HTTP %ld %s", p.status, p.body);
		free(p.body);
		b_free(b);
		id = t_db_value("SELECT id FROM oidc_providers WHERE issuer = $1 AND match_rule = $2", 2, params);
		cr_assert_not_null(id);
		char *enc = t_db_value("SELECT client_secret_enc FROM oidc_providers WHERE issuer = $1 AND match_rule = $2", 2, params);
		cr_assert(enc && !strstr(enc, "test-client-secret") && !strncmp(enc, "v1:", 3), "secret stored sealed");
		free(enc);
	}
	long v = atol(id);
	free(id);
	return v;
}

/* One OIDC login: start at the app, sign in at the provider as hint (with a misbehaviour mode), come back.
 * Returns the callback's status; callback (optional) gets the callback URL. */
static long oidc_login(struct browser *b, long pid, const char *hint, const char *mode, const char *sub, char *callback)
{
	struct page p;
	char path[64], url[4096];
	snprintf(path, sizeof path, "/oidc/start/%ld", pid);
	b_go(b, path, NULL, NULL, &p);
	cr_assert_eq(p.status, 303, "start: HTTP %ld %s", p.status, p.body);
	free(p.body);
	cr_assert(strstr(p.location, "code_challenge_method=S256") && strstr(p.location, "nonce=") && strstr(p.location, "state="),
		  "authorization request: %s", p.location);
	snprintf(url, sizeof url, "%s&login_hint=%s&test_mode=%s%s%s", p.location, hint, mode, sub ? "&sub=" : "", sub ? sub : "");
	b_go(b, url, NULL, NULL, &p);
	cr_assert_eq(p.status, 302, "provider: HTTP %ld %s", p.status, p.body);
	free(p.body);
	if (callback) snprintf(callback, 4096, "%s", p.location);
	char cb[4096];
	snprintf(cb, sizeof cb, "%s", p.location);
	b_go(b, cb, NULL, NULL, &p);
	long st = p.status;
	free(p.body);
	return st;
}

static long count_users(void)
{
	char *n = t_db_value("SELECT count(*) FROM users", 0, NULL);
	long v = atol(n);
	free(n);
	return v;
}

Test(signin, oidc_good_login_lands_a_rostered_pupil_on_the_pupil_home)
{
	long pid = provider("email", NULL);
	struct browser *b = b_new();
	cr_assert_eq(oidc_login(b, pid, "sig.pupil1%40sig.example", "", NULL, NULL), 303);
	cr_assert(b_has_session(b), "a session cookie was set");
	struct page p;
	b_go(b, "/", NULL, NULL, &p);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "data-testid=\"home-pupil\""), "pupil home: %.300s", p.body);
	cr_assert_null(strstr(p.body, "data-testid=\"dashboard\""), "no admin dashboard for pupils");
	free(p.body);
	b_go(b, "/api/v1/stats/summary", NULL, NULL, &p);
	cr_assert_eq(p.status, 403, "summary is admin-only");
	free(p.body);
	b_free(b);
}

Test(signin, logout_after_oidc_continues_at_the_providers_end_session_endpoint)
{
	long pid = provider("email", NULL);
	struct browser *b = b_new();
	cr_assert_eq(oidc_login(b, pid, "sig.pupil1%40sig.example", "", NULL, NULL), 303);
	struct page p;
	char csrf[65], form[128];
	b_go(b, "/", NULL, NULL, &p);
	cr_assert_eq(p.status, 200);
	csrf_of(p.body, csrf);
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s", csrf);
	b_go(b, "/logout", form, NULL, &p);
	free(p.body);
	cr_assert_eq(p.status, 303);
	char want[512];
	snprintf(want, sizeof want, "%s/logout?client_id=rstream-test&post_logout_redirect_uri=", t_env("RSTREAM_TEST_OIDC_URL"));
	cr_assert(!strncmp(p.location, want, strlen(want)), "logout goes on at the provider: %s", p.location);
	cr_assert(strstr(p.location, "%2Flogin"), "and asks to come back to /login: %s", p.location);
	char loc[2048];
	snprintf(loc, sizeof loc, "%s", p.location);
	b_go(b, loc, NULL, NULL, &p);
	free(p.body);
	cr_assert_eq(p.status, 302);
	cr_assert(strstr(p.location, "/login"), "the provider sends the browser back: %s", p.location);
	b_go(b, "/", NULL, NULL, &p);
	free(p.body);
	cr_assert_eq(p.status, 303, "the app's session is over");
	b_free(b);
	/* a password sign-in logs out at home, as before */
	b = b_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	b_go(b, "/", NULL, NULL, &p);
	csrf_of(p.body, csrf);
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s", csrf);
	b_go(b, "/logout", form, NULL, &p);
	free(p.body);
	cr_assert_eq(p.status, 303);
	cr_assert(!strcmp(p.location + strlen(p.location) - 6, "/login"), "%s", p.location);
	b_free(b);
}

Test(signin, oidc_refuses_wrong_audience_expired_bad_signature_and_foreign_algorithms)
{
	long pid = provider("email", NULL);
	static const char *modes[] = {"wrong_aud", "expired", "bad_sig", "alg_none", "hs256", "wrong_nonce", "wrong_iss"};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct browser *b = b_new();
		long st = oidc_login(b, pid, "sig.pupil1%40sig.example", modes[i], NULL, NULL);
		cr_assert_eq(st, 401, "%s: HTTP %ld", modes[i], st);
		cr_assert_not(b_has_session(b), "%s: no session", modes[i]);
		b_free(b);
	}
}

Test(signin, oidc_state_is_single_use_and_bound_to_the_browser)
{
	long pid = provider("email", NULL);
	struct browser *b = b_new();
	char cb[4096];
	cr_assert_eq(oidc_login(b, pid, "sig.pupil1%40sig.example", "", NULL, cb), 303);
	/* replaying the same callback, even with the state cookie put back, finds no state */
	const char *st = strstr(cb, "state=");
	cr_assert_not_null(st);
	char cookie[128];
	snprintf(cookie, sizeof cookie, "rs_oidc=%.64s", st + 6);
	struct browser *b2 = b_new();
	struct page p;
	b_go(b2, cb, NULL, cookie, &p);
	cr_assert_eq(p.status, 400, "replayed state: HTTP %ld", p.status);
	cr_assert(strstr(p.body, "すでに使われた") || strstr(p.body, "already used"), "clear message: %.300s", p.body);
	free(p.body);
	cr_assert_not(b_has_session(b2));
	/* a callback opened in another browser (no state cookie) is refused too */
	struct browser *b3 = b_new();
	char cb2[4096];
	struct page s;
	char path[64];
	snprintf(path, sizeof path, "/oidc/start/%ld", pid);
	b_go(b3, path, NULL, NULL, &s);
	free(s.body);
	char url[4096];
	snprintf(url, sizeof url, "%s&login_hint=sig.pupil1%%40sig.example", s.location);
	b_go(b3, url, NULL, NULL, &s);
	free(s.body);
	snprintf(cb2, sizeof cb2, "%s", s.location);
	struct browser *victim = b_new();
	b_go(victim, cb2, NULL, NULL, &p);
	cr_assert_eq(p.status, 400);
	free(p.body);
	b_free(b); b_free(b2); b_free(b3); b_free(victim);
}

Test(signin, oidc_never_creates_an_account_the_roster_does_not_know)
{
	long pid = provider("email", NULL);
	long before = count_users();
	struct browser *b = b_new();
	struct page p;
	cr_assert_eq(oidc_login(b, pid, "stranger%40sig.example", "", NULL, NULL), 403);
	cr_assert_not(b_has_session(b));
	cr_assert_eq(count_users(), before, "no account was created");
	/* an e-mail the provider has not verified does not match either */
	cr_assert_eq(oidc_login(b, pid, "sig.pupil1%40sig.example", "unverified_email", NULL, NULL), 403);
	/* a local account with the same e-mail but no roster entry is not an SSO account */
	cr_assert_gt(t_make_user("local.only@sig.example", "viewer", "local-password-1"), 0);
	cr_assert_eq(oidc_login(b, pid, "local.only%40sig.example", "", NULL, NULL), 403);
	b_go(b, "/", NULL, NULL, &p);
	cr_assert_eq(p.status, 303, "still logged out");
	free(p.body);
	b_free(b);
}

Test(signin, oidc_matches_a_oneroster_user_id_and_follows_key_rotation)
{
	long pid = provider("user_id", "Google");
	struct browser *b = b_new();
	cr_assert_eq(oidc_login(b, pid, "whatever%40gmail.example", "", "g-777", NULL), 303, "{Google:g-777} is pupil 1");
	b_free(b);
	b = b_new();
	cr_assert_eq(oidc_login(b, pid, "whatever%40gmail.example", "", "g-000", NULL), 403, "unknown sub");
	b_free(b);
	/* the provider rotates its signing key: the app refetches the JWKS on the unknown kid (at most every 5 s) */
	struct page p;
	b = b_new();
	char url[256];
	snprintf(url, sizeof url, "%s/_rotate", t_env("RSTREAM_TEST_OIDC_URL"));
	b_go(b, url, "x=1", NULL, &p);
	cr_assert_eq(p.status, 200);
	free(p.body);
	sleep(6);
	cr_assert_eq(oidc_login(b, pid, "whatever%40gmail.example", "", "g-777", NULL), 303, "new key accepted");
	b_free(b);
}

/* ---- login cards ---- */

/* issue cards for class as the browser; returns the sheet HTML (malloc'd) */
/* the answer to issuing cards (the sheet, or the PDF: its length in *len when len is not NULL) */
static char *issue_cards_n(struct browser *b, const char *cls, const char *extra, size_t *len)
{
	struct page p;
	char path[128], csrf[65], form[512];
	snprintf(path, sizeof path, "/cards/%s", cls);
	b_go(b, path, NULL, NULL, &p);
	cr_assert_eq(p.status, 200, "cards page: HTTP %ld", p.status);
	csrf_of(p.body, csrf);
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s&days=30%s", csrf, extra ? extra : "");
	b_go(b, path, form, NULL, &p);
	cr_assert_eq(p.status, 200, "issue: HTTP %ld %.300s", p.status, p.body);
	if (len) *len = p.len;
	return p.body;
}

static char *issue_cards(struct browser *b, const char *cls, const char *extra) { return issue_cards_n(b, cls, extra, NULL); }

/* the nth card code on a sheet */
static void nth_code(const char *html, int n, char out[10])
{
	const char *m = html;
	for (int i = 0; i <= n; i++) {
		m = strstr(m, "data-testid=\"card-code\">");
		cr_assert_not_null(m, "card %d", n);
		m += strlen("data-testid=\"card-code\">");
	}
	snprintf(out, 10, "%.9s", m);
}

static long code_login(const char *code, struct browser **out)
{
	struct browser *b = b_new();
	struct page p;
	char csrf[65], form[256];
	b_go(b, "/login/code", NULL, NULL, &p);
	cr_assert_eq(p.status, 200);
	csrf_of(p.body, csrf);
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s&code=%s", csrf, code);
	b_go(b, "/login/code", form, NULL, &p);
	free(p.body);
	if (out) *out = b;
	else b_free(b);
	return p.status;
}

Test(signin, a_teacher_prints_cards_for_their_class_and_a_pupil_signs_in_with_one)
{
	roster();
	struct browser *t = b_login(TEACHER, TEACHER_PW);
	struct page p;
	b_go(t, "/cards", NULL, NULL, &p);
	cr_assert(strstr(p.body, "3年1組") && !strstr(p.body, "3年2組"), "teachers see only the classes they teach");
	free(p.body);
	b_go(t, "/cards/sig-c2", NULL, NULL, &p);
	cr_assert_eq(p.status, 404, "another teacher's class");
	free(p.body);
	char *sheet = issue_cards(t, "sig-c1", NULL);
	cr_assert(strstr(sheet, "たなか たろう") && strstr(sheet, "田中 太郎"), "kana and kanji names on the card");
	cr_assert(strstr(sheet, "<svg") && strstr(sheet, "class=\"qr\""), "a QR code per card");
	cr_assert(strstr(sheet, "@media print") == NULL, "print styles live in the stylesheet, not inline");
	char code[10];
	nth_code(sheet, 0, code);
	free(sheet);
	/* stored hashed only */
	const char *params[1] = {code};
	char *hit = t_db_value("SELECT count(*) FROM login_codes WHERE code_hash = $1 OR code_hash LIKE '%' || $1 || '%'", 1, params);
	cr_assert_str_eq(hit, "0");
	free(hit);
	struct browser *pupil;
	cr_assert_eq(code_login(code, &pupil), 303, "code %s signs in", code);
	b_go(pupil, "/", NULL, NULL, &p);
	cr_assert(strstr(p.body, "data-testid=\"home-pupil\""));
	free(p.body);
	b_free(pupil);
	/* lower case and without the hyphen works as well, while the code is valid */
	char loose[10];
	snprintf(loose, sizeof loose, "%.4s%.4s", code, code + 5);
	for (char *c = loose; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	cr_assert_eq(code_login(loose, NULL), 303);
	/* reissue: the old code stops working */
	sheet = issue_cards(t, "sig-c1", NULL);
	char code2[10];
	nth_code(sheet, 0, code2);
	free(sheet);
	cr_assert_str_neq(code, code2);
	cr_assert_eq(code_login(code, NULL), 401, "the reissued card's old code is dead");
	cr_assert_eq(code_login(code2, NULL), 303);
	b_free(t);
	/* pupils cannot print cards */
	struct browser *pb;
	cr_assert_eq(code_login(code2, &pb), 303);
	b_go(pb, "/cards", NULL, NULL, &p);
	cr_assert_eq(p.status, 403);
	free(p.body);
	b_free(pb);
}

/* run a poppler tool on a file; its standard output (malloc'd) */
static char *poppler(const char *tool, const char *file)
{
	char cmd[1024];
	/* pdftotext writes to standard output when the output file is "-" */
	snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", tool, file, strncmp(tool, "pdftotext", 9) ? "" : "-");
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	char *out = calloc(1, 1 << 16);
	size_t n = fread(out, 1, (1 << 16) - 1, f);
	out[n] = 0;
	cr_assert_eq(pclose(f), 0, "%s: %s", tool, out);
	return out;
}

Test(signin, the_class_cards_come_as_an_a4_pdf_whose_codes_sign_in)
{
	roster();
	struct browser *t = b_login(TEACHER, TEACHER_PW);
	size_t pdf_len;
	char *pdf = issue_cards_n(t, "sig-c1", "&format=pdf", &pdf_len);
	b_free(t);
	cr_assert_eq(strncmp(pdf, "%PDF-", 5), 0, "a PDF: %.100s", pdf);
	char file[256];
	snprintf(file, sizeof file, "%s/cards-%d.pdf", t_env("STACK_DIR"), (int)getpid());
	FILE *f = fopen(file, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(pdf, 1, pdf_len, f), pdf_len);   /* binary: the embedded font is compressed */
	fclose(f);
	free(pdf);
	/* poppler parses it (the check a print shop's software would do) */
	char *info = poppler("pdfinfo", file);
	cr_assert(strstr(info, "Pages:           1") && strstr(info, "595.28 x 841.89 pts (A4)"), "%s", info);
	free(info);
	/* the Japanese font travels in the file (a subset): a printer without Japanese fonts prints the same faces */
	char *fonts = poppler("pdffonts", file);
	cr_assert(strstr(fonts, "+RStream-Gothic") && strstr(fonts, "CID TrueType") && strstr(fonts, "Identity-H       yes yes yes"),
		  "embedded, subset, with a ToUnicode map: %s", fonts);
	free(fonts);
	char *text = poppler("pdftotext -enc UTF-8 -layout", file);
	cr_assert(strstr(text, "田中 太郎") && strstr(text, "たなか たろう") && strstr(text, "高橋 さくら"), "names: %s", text);
	cr_assert(strstr(text, "3年1組") && strstr(text, "/login/code"), "class and address: %s", text);
	/* the codes on the paper are the live ones */
	char code[10] = "";
	for (const char *c = text; *c && !code[0]; c++)
		if (c[4] == '-' && strspn(c, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789") == 4 && strspn(c + 5, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789") == 4)
			snprintf(code, sizeof code, "%.9s", c);
	cr_assert(code[0], "a code in the text: %s", text);
	free(text);
	unlink(file);
	cr_assert_eq(code_login(code, NULL), 303, "the printed code %s signs in", code);
}

Test(signin, expired_codes_fail_and_guessing_is_throttled)
{
	roster();
	struct browser *t = b_login(TEACHER, TEACHER_PW);
	char *sheet = issue_cards(t, "sig-c1", NULL), code[10];
	nth_code(sheet, 1, code);
	free(sheet);
	b_free(t);
	sql("UPDATE login_codes SET expires_at = now() - interval '1 minute' WHERE revoked_at IS NULL");
	cr_assert_eq(code_login(code, NULL), 401, "expired");
	cr_assert_eq(code_login("not a code", NULL), 400, "malformed");
	/* the window is per client: after signin_max_guesses (30) failures the answer is 429 */
	long last = 0;
	for (int i = 0; i < 32; i++) last = code_login("ZZZZ-ZZZZ", NULL);
	cr_assert_eq(last, 429);
	/* clear the window so later tests from the same address are not throttled */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "redis-cli -u '%s' --scan --pattern 'signinfail:*' | xargs -r redis-cli -u '%s' DEL >/dev/null",
		 t_env("REDIS_URL"), t_env("REDIS_URL"));
	cr_assert_eq(system(cmd), 0);
}

Test(signin, a_card_printed_with_set_password_asks_for_one_and_then_works_no_more)
{
	roster();
	struct browser *t = b_login(TEACHER, TEACHER_PW);
	char *sheet = issue_cards(t, "sig-c1", "&set_password=1");
	b_free(t);
	char code[10];
	nth_code(sheet, 0, code);   /* たかはし comes first in kana order */
	cr_assert(strstr(sheet, "sigp2"), "the card names the user name to sign in with later");
	free(sheet);
	struct browser *b = b_new();
	struct page p;
	char csrf[65], form[512];
	b_go(b, "/login/code", NULL, NULL, &p);
	csrf_of(p.body, csrf);
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s&code=%s", csrf, code);
	b_go(b, "/login/code", form, NULL, &p);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "data-testid=\"code-set-password\""), "asks for a password: %.300s", p.body);
	free(p.body);
	cr_assert_not(b_has_session(b), "not signed in before the password is set");
	snprintf(form, sizeof form, "_csrf=%s&code=%s&password=pupil-password-1&password2=pupil-password-2", csrf, code);
	b_go(b, "/login/code", form, NULL, &p);
	cr_assert_eq(p.status, 400, "mismatch");
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s&code=%s&password=pupil-password-1&password2=pupil-password-1", csrf, code);
	b_go(b, "/login/code", form, NULL, &p);
	cr_assert_eq(p.status, 303, "HTTP %ld %.300s", p.status, p.body);
	free(p.body);
	cr_assert(b_has_session(b));
	b_free(b);
	cr_assert_eq(code_login(code, NULL), 401, "the card is used up");
	/* from now on: user name + password (the pupil has no e-mail) */
	char *tok = t_login("sigp2", "pupil-password-1");
	cr_assert_not_null(tok);
	free(tok);
}

/* ---- password reset ---- */

Test(signin, an_admin_reset_link_works_once)
{
	long uid = t_make_user("sig.reset@sig.example", "creator", "old-password-12");
	cr_assert_gt(uid, 0);
	char *before = t_login("sig.reset@sig.example", "old-password-12");   /* a session from before the reset */
	cr_assert_not_null(before);
	struct browser *a = b_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	struct page p;
	char path[64], csrf[65], form[512];
	snprintf(path, sizeof path, "/admin/users/%ld", uid);
	b_go(a, path, NULL, NULL, &p);
	cr_assert(strstr(p.body, "data-testid=\"make-reset-link\""));
	csrf_of(p.body, csrf);
	free(p.body);
	snprintf(path, sizeof path, "/admin/users/%ld/reset-link", uid);
	snprintf(form, sizeof form, "_csrf=%s", csrf);
	b_go(a, path, form, NULL, &p);
	cr_assert_eq(p.status, 200);
	const char *h = strstr(p.body, "/password/reset#");
	cr_assert_not_null(h, "the link is shown");
	char token[65];
	snprintf(token, sizeof token, "%.64s", h + strlen("/password/reset#"));
	free(p.body);
	b_free(a);
	const char *params[1] = {token};
	char *plain = t_db_value("SELECT count(*) FROM password_resets WHERE token_hash = $1", 1, params);
	cr_assert_str_eq(plain, "0", "only a hash is stored");
	free(plain);
	struct browser *u = b_new();
	b_go(u, "/password/reset", NULL, NULL, &p);
	csrf_of(p.body, csrf);
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s&token=%s&password=new-password-12&password2=other-password", csrf, token);
	b_go(u, "/password/reset", form, NULL, &p);
	cr_assert_eq(p.status, 400, "mismatch");
	free(p.body);
	snprintf(form, sizeof form, "_csrf=%s&token=%s&password=new-password-12&password2=new-password-12", csrf, token);
	b_go(u, "/password/reset", form, NULL, &p);
	cr_assert_eq(p.status, 303, "HTTP %ld %.300s", p.status, p.body);
	free(p.body);
	b_go(u, "/password/reset", form, NULL, &p);
	cr_assert_eq(p.status, 400, "a link works once");
	free(p.body);
	b_free(u);
	char *tok = t_login("sig.reset@sig.example", "new-password-12");
	cr_assert_not_null(tok, "the new password works");
	free(tok);
	char hdr[2048];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", before);
	struct http_res me;
	cr_assert_eq(http_do("GET", "/api/v1/me", hdr, NULL, 0, &me), 0);
	cr_assert_eq(me.status, 401, "the reset ended the session from before it");
	http_free(&me);
	free(before);
	cr_assert_null(t_login("sig.reset@sig.example", "old-password-12"));
}

/* ---- homes and the logged-out header ---- */

Test(signin, the_teacher_home_shows_their_classes_with_pupils_and_their_videos)
{
	roster();
	struct browser *t = b_login(TEACHER, TEACHER_PW);
	struct page p;
	b_go(t, "/", NULL, NULL, &p);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "data-testid=\"home-teacher\"") && strstr(p.body, "3年1組") && strstr(p.body, "高橋 さくら"),
		  "classes with pupils: %.400s", p.body);
	cr_assert_null(strstr(p.body, "3年2組"), "not a class they teach");
	cr_assert(strstr(p.body, "href=\"/videos/upload\""), "quick upload");
	free(p.body);
	b_go(t, "/api/v1/me/home", NULL, NULL, &p);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "\"kind\":\"teacher\"") && strstr(p.body, "\"pupil_count\":2"), "%s", p.body);
	free(p.body);
	b_free(t);
}

Test(signin, logged_out_visitors_get_the_header_with_sign_in_and_language)
{
	struct browser *b = b_new();
	struct page p;
	b_go(b, "/videos", NULL, NULL, &p);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "data-testid=\"signin-link\"") && strstr(p.body, "action=\"/lang\""), "%.500s", p.body);
	cr_assert_null(strstr(p.body, "公開準備完了"), "no internal state for visitors");
	free(p.body);
	b_free(b);
}
