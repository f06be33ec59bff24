/* E-mailed sign-in links on the real stack (issue 8): "forgot password" mails a single-use link that the SMTP sink
 * receives (Japanese first), an unknown address gets the very same page, an admin e-mails a reset link, an
 * invitation is accepted once, resent, revoked; used and expired links get a clear page; no token reaches a log. */
#include <dirent.h>
#include "notify_helpers.h"
#include "signin_helpers.h"

/* the token after marker in a mail body (64 hex), or fail */
static void token_in(const char *body, const char *marker, char out[65])
{
	const char *h = strstr(body, marker);
	cr_assert_not_null(h, "the mail carries %s: %s", marker, body);
	snprintf(out, 65, "%.64s", h + strlen(marker));
	cr_assert_eq(strspn(out, "0123456789abcdef"), 64, "token %s", out);
}

/* post a password form (reset or invite) from a fresh browser; returns the status, body in *body if wanted */
static long set_password(struct browser *b, const char *path, const char *token, const char *pw, char **body)
{
	struct page p;
	char form[512];
	snprintf(form, sizeof form, "token=%s&password=%s&password2=%s", token, pw, pw);
	b_submit(b, path, path, form, &p, NULL);
	if (body) *body = p.body; else free(p.body);
	return p.status;
}

/* no file of the stack's logs holds the token */
static void not_logged(const char *token)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/log", t_env("STACK_DIR"));
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "log dir %s", dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f) continue;
		files++;
		fseek(f, 0, SEEK_END);
		long size = ftell(f);
		rewind(f);
		char *all = calloc(1, (size_t)size + 1);
		size_t n = fread(all, 1, (size_t)size, f);
		fclose(f);
		all[n] = 0;
		/* logs are text; a NUL would hide the rest from strstr, so search with memmem */
		cr_assert_null(memmem(all, n, token, strlen(token)), "the token is in %s", path);
		free(all);
	}
	closedir(d);
	cr_assert_gt(files, 0, "the stack writes logs");
}

static char *forgot(struct browser *b, const char *email, long *status)
{
	struct page p;
	char form[512];
	char *e = curl_easy_escape(b->c, email, 0);
	snprintf(form, sizeof form, "email=%s", e);
	curl_free(e);
	/* the Japanese page */
	b_submit(b, "/password/forgot", "/password/forgot", form, &p, "data-testid=\"forgot-form\"", "パスワードを忘れた", NULL);
	*status = p.status;
	return p.body;
}

Test(signin_mail, forgot_password_mails_a_single_use_link_and_an_unknown_address_gets_the_same_page, .timeout = 120)
{
	const char *tag = lh_tag();
	char email[128], nobody[128], pw[64];
	snprintf(email, sizeof email, "fg-%s@sig.example", tag);
	snprintf(nobody, sizeof nobody, "nobody-%s@sig.example", tag);
	long uid = t_make_user(email, "creator", "old-password-12");
	cr_assert_gt(uid, 0);

	struct page lp;
	struct browser *b = b_new();
	b_go(b, "/login", NULL, NULL, &lp);
	cr_assert(strstr(lp.body, "href=\"/password/forgot\""), "the login page links to forgot password");
	free(lp.body);
	long s1, s2;
	char *known = forgot(b, email, &s1), *unknown = forgot(b, nobody, &s2);
	cr_assert_eq(s1, 200);
	cr_assert_eq(s2, 200, "an unknown address is not told apart");
	cr_assert(strstr(known, "data-testid=\"forgot-sent\""));
	cr_assert_str_eq(known, unknown, "the same page whether or not the address exists");
	free(known);
	free(unknown);
	b_free(b);

	struct nh_mail *m = nh_mail_for(email, 60);
	cr_assert_not_null(m, "the sink received the reset mail");
	cr_assert(strstr(m->subject, "パスワード再設定"), "Japanese subject: %s", m->subject);
	cr_assert(strstr(m->body, "一度だけ") && strstr(m->body, "1時間"), "body: %s", m->body);
	cr_assert_null(strstr(m->raw, "List-Unsubscribe"), "a sign-in mail has no unsubscribe");
	char token[65];
	token_in(m->body, "/password/reset#", token);
	nh_mail_free(m);
	cr_assert_null(nh_mail_for(nobody, 3), "nothing is sent to an unknown address");
	const char *params[1] = {token};
	char *v = t_db_value("SELECT count(*) FROM password_resets WHERE token_hash = $1", 1, params);
	cr_assert_str_eq(v, "0", "only a hash is stored");
	free(v);
	v = lh_sql("SELECT count(*) FROM mail_outbox WHERE user_id = %ld AND mail_kind = 'reset' AND state = 'sent' AND sealed IS NULL", uid);
	cr_assert_str_eq(v, "1", "the sent row keeps no link");
	free(v);

	snprintf(pw, sizeof pw, "new-password-%s", tag);
	b = b_new();
	cr_assert_eq(set_password(b, "/password/reset", token, pw, NULL), 303, "the link works");
	b_free(b);
	char *tok = t_login(email, pw);
	cr_assert_not_null(tok, "the new password works");
	free(tok);
	b = b_new();
	char *body;
	cr_assert_eq(set_password(b, "/password/reset", token, "another-pass-99", &body), 400, "the link works once");
	cr_assert(strstr(body, "すでに使用されています"), "a used link says so: %.300s", body);
	free(body);
	b_free(b);
	not_logged(token);
}

/* a JSON API call, with a bearer token when token is not NULL; returns the status, body in *body if wanted */
static long api_call(const char *method, const char *path, const char *token, const char *json, char **body)
{
	struct http_res r;
	char hdr[1024];
	snprintf(hdr, sizeof hdr, "%s%s%sAccept-Language: ja\r\n%s", token ? "Authorization: Bearer " : "", token ? token : "",
		 token ? "\r\n" : "", json ? "Content-Type: application/json\r\n" : "");
	http_do(method, path, hdr, json, json ? strlen(json) : 0, &r);
	long status = r.status;
	if (body) *body = strdup(r.body ? r.body : "");
	http_free(&r);
	return status;
}

static long api_post(const char *path, const char *json, char **body) { return api_call("POST", path, NULL, json, body); }

/* The JSON API does what the pages do: 202 whatever the address, the mailed token sets the password once, a weak
 * password or a malformed body changes nothing. */
Test(signin_mail, apps_ask_for_a_reset_link_and_set_the_password_through_the_json_api, .timeout = 120)
{
	const char *tag = lh_tag();
	char email[128], nobody[128], json[512], pw[64];
	snprintf(email, sizeof email, "fga-%s@sig.example", tag);
	snprintf(nobody, sizeof nobody, "nobody-a-%s@sig.example", tag);
	cr_assert_gt(t_make_user(email, "viewer", "old-password-12"), 0);
	char *known, *unknown, *body;
	snprintf(json, sizeof json, "{\"email\":\"%s\"}", email);
	cr_assert_eq(api_post("/api/v1/auth/forgot", json, &known), 202);
	snprintf(json, sizeof json, "{\"email\":\"%s\"}", nobody);
	cr_assert_eq(api_post("/api/v1/auth/forgot", json, &unknown), 202);
	cr_assert_str_eq(known, unknown, "the same answer whether or not the address exists");
	free(known);
	free(unknown);
	cr_assert_eq(api_post("/api/v1/auth/forgot", "{\"email\":\"not an address\"}", &body), 400);
	cr_assert(strstr(body, "\"bad_email\""), "%s", body);
	free(body);
	cr_assert_eq(api_post("/api/v1/auth/forgot", "[1,2]", NULL), 400);

	struct nh_mail *m = nh_mail_for(email, 60);
	cr_assert_not_null(m, "the sink received the reset mail");
	char token[65];
	token_in(m->body, "/password/reset#", token);
	nh_mail_free(m);
	cr_assert_null(nh_mail_for(nobody, 3), "nothing is sent to an unknown address");

	snprintf(json, sizeof json, "{\"token\":\"%s\",\"password\":\"short\"}", token);
	cr_assert_eq(api_post("/api/v1/auth/reset", json, &body), 400);
	cr_assert(strstr(body, "\"weak_password\""), "%s", body);
	free(body);
	char *tok = t_login(email, "old-password-12");
	cr_assert_not_null(tok, "a refused reset changes nothing");
	free(tok);
	snprintf(pw, sizeof pw, "new-api-password-%s", tag);
	snprintf(json, sizeof json, "{\"token\":\"%s\",\"password\":\"%s\"}", token, pw);
	cr_assert_eq(api_post("/api/v1/auth/reset", json, &body), 200, "%s", body);
	free(body);
	tok = t_login(email, pw);
	cr_assert_not_null(tok, "the new password works");
	free(tok);
	cr_assert_null(t_login(email, "old-password-12"), "the old one does not");
	cr_assert_eq(api_post("/api/v1/auth/reset", json, &body), 400, "the token works once");
	cr_assert(strstr(body, "\"bad_link\"") && strstr(body, "すでに使用されています"), "%s", body);
	free(body);
	not_logged(token);
}

Test(signin_mail, an_expired_link_gets_a_clear_page_and_an_admin_can_mail_a_reset_link, .timeout = 120)
{
	const char *tag = lh_tag();
	char email[128];
	snprintf(email, sizeof email, "rm-%s@sig.example", tag);
	long uid = t_make_user(email, "viewer", "old-password-12");
	/* the admin's button on the user page */
	struct browser *a = b_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	struct page p;
	char path[96], action[96];
	snprintf(path, sizeof path, "/admin/users/%ld", uid);
	snprintf(action, sizeof action, "/admin/users/%ld/reset-mail", uid);
	b_submit(a, path, action, "", &p, "data-testid=\"send-reset-mail\"", NULL);
	cr_assert_eq(p.status, 200, "HTTP %ld %.300s", p.status, p.body);
	cr_assert(strstr(p.body, "data-testid=\"reset-mailed\""));
	cr_assert_null(strstr(p.body, "/password/reset#"), "the admin does not see the token");
	free(p.body);
	b_free(a);
	struct nh_mail *m = nh_mail_for(email, 60);
	cr_assert_not_null(m);
	char token[65];
	token_in(m->body, "/password/reset#", token);
	nh_mail_free(m);
	/* it expires: the page says so instead of a generic error */
	free(lh_sql("UPDATE password_resets SET expires_at = now() - interval '1 minute' WHERE user_id = %ld AND used_at IS NULL RETURNING 1", uid));
	struct browser *b = b_new();
	char *body;
	cr_assert_eq(set_password(b, "/password/reset", token, "brand-new-pass-1", &body), 400);
	cr_assert(strstr(body, "有効期限が切れています") && strstr(body, "/password/forgot"), "%.400s", body);
	free(body);
	b_free(b);
	char *tok = t_login(email, "old-password-12");
	cr_assert_not_null(tok, "the old password still works");
	free(tok);
}

/* post the invitation form as the admin; returns the status */
static long invite(struct browser *a, const char *email, const char *name, const char *role, const char *lang, char **body)
{
	struct page p;
	char form[1024];
	char *e = curl_easy_escape(a->c, email, 0), *n = curl_easy_escape(a->c, name, 0);
	snprintf(form, sizeof form, "email=%s&name=%s&role=%s&lang=%s", e, n, role, lang);
	curl_free(e);
	curl_free(n);
	b_submit(a, "/admin/invitations", "/admin/invitations", form, &p, NULL);
	if (body) *body = p.body; else free(p.body);
	return p.status;
}

Test(signin_mail, an_invitation_is_accepted_once_resent_links_replace_old_ones_and_revoked_ones_stop, .timeout = 180)
{
	const char *tag = lh_tag();
	char email[128], email2[128], other[128], name[128];
	snprintf(email, sizeof email, "inv-%s@sig.example", tag);
	snprintf(email2, sizeof email2, "inv2-%s@sig.example", tag);
	snprintf(other, sizeof other, "inv3-%s@sig.example", tag);
	snprintf(name, sizeof name, "招待 花子 %s", tag);
	struct browser *a = b_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	char *body;
	/* bad input: a clear error, nothing made */
	cr_assert_eq(invite(a, "not-an-address", name, "viewer", "ja", &body), 400);
	cr_assert(strstr(body, "data-testid=\"invite-error\""));
	free(body);
	cr_assert_eq(invite(a, email, name, "superuser", "ja", NULL), 400);
	cr_assert_eq(invite(a, t_env("RSTREAM_TEST_ADMIN_EMAIL"), "x", "viewer", "ja", &body), 400, "an account with a password");
	cr_assert(strstr(body, "すでにパスワード"), "%.300s", strstr(body, "invite-error") ? strstr(body, "invite-error") : body);
	free(body);

	cr_assert_eq(invite(a, email, name, "creator", "ja", NULL), 303);
	cr_assert_eq(invite(a, email, name, "creator", "ja", NULL), 400, "one open invitation per person");
	struct nh_mail *m = nh_mail_for(email, 60);
	cr_assert_not_null(m, "the invitation arrived");
	cr_assert(strstr(m->subject, "招待"), "Japanese subject: %s", m->subject);
	char token[65];
	token_in(m->body, "/invite#", token);
	nh_mail_free(m);
	char *v = lh_sql("SELECT role || ' ' || (password_hash IS NULL) FROM users WHERE email = '%s'", email);
	cr_assert_str_eq(v, "creator true", "the account waits without a password: %s", v);
	free(v);

	struct browser *b = b_new();
	char pw[64];
	snprintf(pw, sizeof pw, "invited-pass-%s", tag);
	cr_assert_eq(set_password(b, "/invite", token, pw, NULL), 303, "accepted");
	cr_assert(b_has_session(b), "signed in straight away");
	b_free(b);
	b = b_new();
	cr_assert_eq(set_password(b, "/invite", token, pw, &body), 400, "an invitation works once");
	cr_assert(strstr(body, "すでに使用されています"));
	free(body);
	b_free(b);
	char *tok = t_login(email, pw);
	cr_assert_not_null(tok);
	free(tok);
	not_logged(token);

	/* English invitation: the mail is in the recipient's language; a resend kills the first link */
	cr_assert_eq(invite(a, email2, "Ken Mori", "viewer", "en", NULL), 303);
	m = nh_mail_for(email2, 60);
	cr_assert_not_null(m);
	cr_assert(strstr(m->subject, "invited you"), "English subject: %s", m->subject);
	char first[65];
	token_in(m->body, "/invite#", first);
	nh_mail_free(m);
	char *iid = lh_sql("SELECT i.id FROM invitations i JOIN users u ON u.id = i.user_id WHERE u.email = '%s'", email2);
	struct page p;
	char path[96];
	snprintf(path, sizeof path, "/admin/invitations/%s/resend", iid);
	/* listed as waiting */
	b_submit(a, "/admin/invitations", path, "", &p, "Ken Mori", "承諾待ち", NULL);
	cr_assert_eq(p.status, 303);
	free(p.body);
	v = nh_wait("2", 60, "SELECT count(*) FROM mail_outbox o JOIN users u ON u.id = o.user_id WHERE u.email = '%s' AND o.state = 'sent'", email2);
	cr_assert_str_eq(v, "2", "the second mail went out");
	free(v);
	b = b_new();
	cr_assert_eq(set_password(b, "/invite", first, "some-password-1", &body), 400, "the first link was replaced");
	cr_assert(strstr(body, "置き換えられて"), "%.300s", body);
	free(body);
	b_free(b);

	/* revoke: the link stops and the account made for it is disabled */
	cr_assert_eq(invite(a, other, "取消 太郎", "viewer", "ja", NULL), 303);
	m = nh_mail_for(other, 60);
	cr_assert_not_null(m);
	token_in(m->body, "/invite#", token);
	nh_mail_free(m);
	free(iid);
	iid = lh_sql("SELECT i.id FROM invitations i JOIN users u ON u.id = i.user_id WHERE u.email = '%s'", other);
	snprintf(path, sizeof path, "/admin/invitations/%s/revoke", iid);
	b_submit(a, "/admin/invitations", path, "", &p, NULL);
	cr_assert_eq(p.status, 303);
	free(p.body);
	v = lh_sql("SELECT disabled FROM users WHERE email = '%s'", other);
	cr_assert_str_eq(v, "t");
	free(v);
	b = b_new();
	cr_assert_eq(set_password(b, "/invite", token, "some-password-1", &body), 400);
	cr_assert(strstr(body, "取り消されました"), "%.300s", body);
	free(body);
	b_free(b);
	free(iid);
	b_free(a);
}

/* Invitations through the JSON API: admins only, the same checks and mails as the page; a resend replaces the
 * link, a revoke stops it and disables the account made for it. */
Test(signin_mail, admins_invite_resend_list_and_revoke_through_the_json_api, .timeout = 180)
{
	const char *tag = lh_tag();
	char email[128], json[512], path[128], *body;
	snprintf(email, sizeof email, "inva-%s@sig.example", tag);
	const char *adm = t_admin_token();
	snprintf(json, sizeof json, "{\"email\":\"%s\",\"name\":\"API 招待 %s\",\"role\":\"superuser\"}", email, tag);
	cr_assert_eq(api_call("POST", "/api/v1/invitations", adm, json, &body), 400);
	cr_assert(strstr(body, "\"invalid_role\""), "%s", body);
	free(body);
	snprintf(json, sizeof json, "{\"email\":\"%s\",\"name\":\"x\",\"role\":\"viewer\"}", t_env("RSTREAM_TEST_ADMIN_EMAIL"));
	cr_assert_eq(api_call("POST", "/api/v1/invitations", adm, json, &body), 409);
	cr_assert(strstr(body, "\"has_password\""), "%s", body);
	free(body);
	char *v = lh_sql("SELECT count(*) FROM users WHERE email = '%s'", email);
	cr_assert_str_eq(v, "0", "refused invitations make no account");
	free(v);

	char vmail[128];
	snprintf(vmail, sizeof vmail, "inva-viewer-%s@sig.example", tag);
	cr_assert_gt(t_make_user(vmail, "viewer", "viewer-pass-123"), 0);
	char *vtok = t_login(vmail, "viewer-pass-123");
	cr_assert_not_null(vtok);
	snprintf(json, sizeof json, "{\"email\":\"%s\",\"name\":\"API 招待 %s\",\"role\":\"creator\",\"lang\":\"ja\"}", email, tag);
	cr_assert_eq(api_call("POST", "/api/v1/invitations", vtok, json, NULL), 403, "admins only");
	cr_assert_eq(api_call("GET", "/api/v1/invitations", vtok, NULL, NULL), 403);
	free(vtok);

	cr_assert_eq(api_call("POST", "/api/v1/invitations", adm, json, &body), 201, "%s", body);
	json_object *o = json_tokener_parse(body);
	free(body);
	json_object *inv, *idv;
	cr_assert(json_object_object_get_ex(o, "invitation", &inv) && json_object_object_get_ex(inv, "id", &idv));
	long id = json_object_get_int64(idv);
	json_object_put(o);
	cr_assert_eq(api_call("POST", "/api/v1/invitations", adm, json, &body), 409, "one open invitation per person");
	cr_assert(strstr(body, "\"already_invited\""), "%s", body);
	free(body);
	struct nh_mail *m = nh_mail_for(email, 60);
	cr_assert_not_null(m, "the invitation arrived");
	char first[65];
	token_in(m->body, "/invite#", first);
	nh_mail_free(m);

	cr_assert_eq(api_call("GET", "/api/v1/invitations", adm, NULL, &body), 200);
	char want[160];
	snprintf(want, sizeof want, "\"id\":%ld,", id);
	const char *row = strstr(body, want);
	cr_assert_not_null(row, "listed: %.400s", body);
	cr_assert(strstr(row, "\"state\":\"pending\"") && strstr(row, "+09:00"), "pending, times in the zone: %.300s", row);
	free(body);

	snprintf(path, sizeof path, "/api/v1/invitations/%ld/resend", id);
	cr_assert_eq(api_call("POST", path, adm, NULL, NULL), 200);
	v = nh_wait("2", 60, "SELECT count(*) FROM mail_outbox o JOIN users u ON u.id = o.user_id WHERE u.email = '%s' AND o.state = 'sent'", email);
	cr_assert_str_eq(v, "2", "the second mail went out");
	free(v);
	snprintf(path, sizeof path, "/api/v1/invitations/%ld", id);
	cr_assert_eq(api_call("DELETE", path, adm, NULL, NULL), 200);
	v = lh_sql("SELECT disabled FROM users WHERE email = '%s'", email);
	cr_assert_str_eq(v, "t", "the account made for the invitation is disabled");
	free(v);
	snprintf(path, sizeof path, "/api/v1/invitations/%ld/resend", id);
	cr_assert_eq(api_call("POST", path, adm, NULL, NULL), 404, "a revoked invitation is not resent");
	cr_assert_eq(api_call("DELETE", "/api/v1/invitations/999999999", adm, NULL, NULL), 404);
	not_logged(first);
}

/* ---- a whole class at once ---- */

/* a class of one teacher and six pupils, each a different case: invitable, no address, a password, disabled, an
 * enrolment being deleted; and a pupil of another class. Returns the class id (static). */
static const char *class_fixture(const char *tag)
{
	static char cls[64];
	snprintf(cls, sizeof cls, "ic-%s", tag);
	free(lh_sql("INSERT INTO roster_orgs (sourced_id, name, type) VALUES ('ic-s', '招待小学校', 'school') "
		    "ON CONFLICT DO NOTHING RETURNING 1"));
	free(lh_sql("INSERT INTO roster_classes (sourced_id, title, course_sourced_id, class_type, school_sourced_id) VALUES "
		    "('%s', '5年2組 %s', 'ic-course', 'homeroom', 'ic-s'), ('%s-other', '5年3組 %s', 'ic-course', 'homeroom', 'ic-s') "
		    "RETURNING 1", cls, tag, cls, tag));
	static const struct { const char *who, *role, *mail; } m[] = {
		{"t1", "teacher", "yes"}, {"p1", "student", "yes"}, {"p2", "student", NULL}, {"p3", "student", "yes"},
		{"p4", "student", "yes"}, {"p5", "student", "yes"}, {"p6", "student", "yes"},
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		char email[128] = "NULL";
		if (m[i].mail) snprintf(email, sizeof email, "'ic-%s-%s@sig.example'", m[i].who, tag);
		free(lh_sql("INSERT INTO roster_users (sourced_id, username, given_name, family_name, email, primary_org_sourced_id, "
			    "user_ids, metadata) VALUES ('ic-%s-%s', 'ic%s%s', '%s', '招待', %s, 'ic-s', '{}', '{}') RETURNING 1",
			    m[i].who, tag, m[i].who, tag, m[i].who, email));
		free(lh_sql("INSERT INTO users (email, name, role, sourced_id, org_sourced_id) VALUES (%s, '招待 %s %s', '%s', "
			    "'ic-%s-%s', 'ic-s') RETURNING 1", email, m[i].who, tag, !strcmp(m[i].role, "teacher") ? "creator" : "viewer",
			    m[i].who, tag));
		free(lh_sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role, status) "
			    "VALUES ('ic-e-%s-%s', '%s%s', 'ic-s', 'ic-%s-%s', '%s', '%s') RETURNING 1", m[i].who, tag, cls,
			    !strcmp(m[i].who, "p6") ? "-other" : "", m[i].who, tag, m[i].role,
			    !strcmp(m[i].who, "p5") ? "tobedeleted" : "active"));
	}
	free(lh_sql("UPDATE users SET password_hash = 'x' WHERE sourced_id = 'ic-p3-%s' RETURNING 1", tag));
	free(lh_sql("UPDATE users SET disabled = true WHERE sourced_id = 'ic-p4-%s' RETURNING 1", tag));
	return cls;
}

/* post the class form as the admin; the status, and the redirect target in loc */
static long invite_class(struct browser *a, const char *cls, const char *who, char loc[2048])
{
	struct page p;
	char form[512];
	snprintf(form, sizeof form, "class=%s&who=%s&lang=ja", cls, who);
	/* the class form */
	b_submit(a, "/admin/invitations", "/admin/invitations/class", form, &p, "data-testid=\"class-invite\"", "クラスをまとめて招待", NULL);
	snprintf(loc, 2048, "%s", p.location);
	free(p.body);
	return p.status;
}

Test(signin_mail, a_class_is_invited_at_once_and_each_member_who_cannot_be_is_counted_by_reason, .timeout = 180)
{
	const char *tag = lh_tag();
	const char *cls = class_fixture(tag);
	struct browser *a = b_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	char loc[2048];
	cr_assert_eq(invite_class(a, cls, "everyone", loc), 400, "an unknown choice of who");
	cr_assert_eq(invite_class(a, "no-such-class", "all", loc), 404);

	/* pupils only: p1 is invited; p2 (no address), p3 (a password) and p4 (disabled) are counted, p5 (enrolment being
	 * deleted), p6 (another class) and the teacher are not members of this choice */
	cr_assert_eq(invite_class(a, cls, "students", loc), 303);
	cr_assert(strstr(loc, "invited=1&has_password=1&no_email=1&open=0&disabled=1&failed=0"), "%s", loc);
	struct page p;
	b_go(a, loc, NULL, NULL, &p);
	cr_assert_eq(p.status, 200);
	char *res = strstr(p.body, "data-testid=\"class-invite-result\"");
	cr_assert_not_null(res, "the outcome is shown");
	cr_assert(strstr(res, "5年2組") && strstr(res, "招待メールを送った: <strong>1</strong>人") &&
		  strstr(res, "メールアドレスがない") && strstr(res, "/cards/ic-"), "%.1200s", res);
	cr_assert_null(strstr(res, "data-outcome=\"open\""), "outcomes that did not happen are not listed");
	free(p.body);
	char addr[128];
	snprintf(addr, sizeof addr, "ic-p1-%s@sig.example", tag);
	struct nh_mail *m = nh_mail_for(addr, 60);
	cr_assert_not_null(m, "the pupil's invitation arrived");
	cr_assert(strstr(m->subject, "招待") && strstr(m->body, "/invite#"), "%s", m->subject);
	nh_mail_free(m);
	char *v = lh_sql("SELECT count(*) || ' ' || bool_and(NOT i.new_account) FROM invitations i JOIN users u ON u.id = i.user_id "
			 "WHERE u.sourced_id LIKE 'ic-%%-%s'", tag);
	cr_assert_str_eq(v, "1 true", "the rostered account itself is invited, no second account: %s", v);
	free(v);
	v = lh_sql("SELECT count(*) FROM users WHERE email LIKE 'ic-%%-%s@sig.example'", tag);
	cr_assert_str_eq(v, "6");
	free(v);

	/* everyone: only the teacher is new; the pupil's open invitation is not sent twice */
	cr_assert_eq(invite_class(a, cls, "all", loc), 303);
	cr_assert(strstr(loc, "invited=1&has_password=1&no_email=1&open=1&disabled=1&failed=0"), "%s", loc);
	snprintf(addr, sizeof addr, "ic-t1-%s@sig.example", tag);
	m = nh_mail_for(addr, 60);
	cr_assert_not_null(m, "the teacher's invitation arrived");
	nh_mail_free(m);
	v = lh_sql("SELECT count(*) FROM mail_outbox o JOIN users u ON u.id = o.user_id WHERE u.sourced_id = 'ic-p1-%s'", tag);
	cr_assert_str_eq(v, "1", "one mail for the pupil, not two");
	free(v);
	b_free(a);
}

Test(signin_mail, apps_invite_a_class_through_the_json_api_and_read_what_was_skipped, .timeout = 180)
{
	const char *tag = lh_tag();
	const char *cls = class_fixture(tag);
	const char *adm = t_admin_token();
	char json[512], *body;
	cr_assert_eq(api_call("POST", "/api/v1/invitations/class", adm, "{\"who\":\"all\"}", &body), 400);
	cr_assert(strstr(body, "\"invalid_class\""), "%s", body);
	free(body);
	snprintf(json, sizeof json, "{\"class_sourced_id\":\"%s\",\"lang\":\"fr\"}", cls);
	cr_assert_eq(api_call("POST", "/api/v1/invitations/class", adm, json, &body), 400);
	cr_assert(strstr(body, "\"invalid_lang\""), "%s", body);
	free(body);
	cr_assert_eq(api_call("POST", "/api/v1/invitations/class", adm, "{\"class_sourced_id\":\"ic-none\"}", &body), 404);
	free(body);
	char vmail[128];
	snprintf(vmail, sizeof vmail, "ic-viewer-%s@sig.example", tag);
	cr_assert_gt(t_make_user(vmail, "creator", "creator-pass-123"), 0);
	char *ctok = t_login(vmail, "creator-pass-123");
	snprintf(json, sizeof json, "{\"class_sourced_id\":\"%s\",\"who\":\"teachers\",\"lang\":\"en\"}", cls);
	cr_assert_eq(api_call("POST", "/api/v1/invitations/class", ctok, json, NULL), 403, "admins only");
	free(ctok);
	cr_assert_eq(api_call("POST", "/api/v1/invitations/class", adm, json, &body), 200, "%s", body);
	json_object *o = json_tokener_parse(body);
	free(body);
	json_object *x, *sk;
	cr_assert(json_object_object_get_ex(o, "invited", &x) && json_object_get_int(x) == 1, "the teacher");
	cr_assert(json_object_object_get_ex(o, "skipped", &sk));
	cr_assert(json_object_object_get_ex(sk, "no_email", &x) && json_object_get_int(x) == 0, "teachers only: no pupil counted");
	cr_assert(json_object_object_get_ex(o, "class_title", &x) && strstr(json_object_get_string(x), "5年2組"));
	json_object_put(o);
	char addr[128];
	snprintf(addr, sizeof addr, "ic-t1-%s@sig.example", tag);
	struct nh_mail *m = nh_mail_for(addr, 60);
	cr_assert_not_null(m);
	cr_assert(strstr(m->subject, "invited you"), "in the language asked for: %s", m->subject);
	nh_mail_free(m);
	snprintf(json, sizeof json, "{\"class_sourced_id\":\"%s\"}", cls);
	cr_assert_eq(api_call("POST", "/api/v1/invitations/class", adm, json, &body), 200, "%s", body);
	o = json_tokener_parse(body);
	free(body);
	cr_assert(json_object_object_get_ex(o, "invited", &x) && json_object_get_int(x) == 1, "the pupil p1");
	cr_assert(json_object_object_get_ex(o, "skipped", &sk));
	cr_assert(json_object_object_get_ex(sk, "already_invited", &x) && json_object_get_int(x) == 1, "the teacher");
	cr_assert(json_object_object_get_ex(sk, "has_password", &x) && json_object_get_int(x) == 1);
	cr_assert(json_object_object_get_ex(sk, "account_disabled", &x) && json_object_get_int(x) == 1);
	cr_assert(json_object_object_get_ex(sk, "no_email", &x) && json_object_get_int(x) == 1);
	json_object_put(o);
}
