/* OAuth2 client credentials for the OneRoster API over the real stack: token by Basic and form, wrong secret,
 * scopes, IP allowlist (X-Forwarded-For from an untrusted peer ignored), rate limit, revocation. */
#include "roster_api_helpers.h"

static const char *const SCOPES_ALL = "{" SCOPE_CORE "," SCOPE_ROSTER "}";

static void seed(void)
{
	t_exec("INSERT INTO roster_orgs (sourced_id, name, type) VALUES ('oa-s1', 'OAuth School', 'school') "
	       "ON CONFLICT (sourced_id) DO UPDATE SET status = 'active'", 0, NULL);
	t_exec("INSERT INTO roster_demographics (sourced_id, sex) VALUES ('oa-u1', 'female') "
	       "ON CONFLICT (sourced_id) DO UPDATE SET status = 'active'", 0, NULL);
}
TestSuite(oauth, .init = seed, .timeout = 60);

Test(oauth, issues_a_bearer_token_with_http_basic)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	struct http_res r;
	cr_assert_eq(token_request_basic(id, TEST_SECRET, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "token_type"), "bearer");
	cr_assert(strlen(jstr(o, "access_token")) > 40);
	cr_assert_gt(json_object_get_int(jget(o, "expires_in")), 0);
	cr_assert(strstr(jstr(o, "scope"), "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"));
	cr_assert(strstr(http_header(&r, "Cache-Control"), "no-store"));
	json_object_put(o);
	http_free(&r);
}

Test(oauth, issues_a_token_with_form_credentials_and_the_token_reads_the_api)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	char body[256];
	snprintf(body, sizeof body, "grant_type=client_credentials&client_id=%s&client_secret=%s", id, TEST_SECRET);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/oauth/token", "Content-Type: application/x-www-form-urlencoded\r\n", body,
			     strlen(body), &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_object *o = jparse(&r);
	struct http_res a;
	api_get(jstr(o, "access_token"), API "/orgs/oa-s1", &a);
	cr_assert_eq(a.status, 200, "%s", a.body);
	json_object_put(o);
	http_free(&r);
	http_free(&a);
}

Test(oauth, rejects_a_wrong_secret_with_invalid_client)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	struct http_res r;
	token_request_basic(id, "not-the-secret", NULL, NULL, &r);
	cr_assert_eq(r.status, 401);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "error"), "invalid_client");
	cr_assert_not_null(http_header(&r, "WWW-Authenticate"));
	cr_assert_null(strstr(r.body, "access_token"));
	json_object_put(o);
	http_free(&r);
}

Test(oauth, rejects_an_unknown_client)
{
	struct http_res r;
	token_request_basic("rsc_nobody", TEST_SECRET, NULL, NULL, &r);
	cr_assert_eq(r.status, 401);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "error"), "invalid_client");
	json_object_put(o);
	http_free(&r);
}

Test(oauth, rejects_other_grant_types)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	char cred[128], hdr[512];
	snprintf(cred, sizeof cred, "%s:%s", id, TEST_SECRET);
	char *enc = b64(cred);
	snprintf(hdr, sizeof hdr, "Authorization: Basic %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", enc);
	free(enc);
	struct http_res r;
	const char *body = "grant_type=password&username=a&password=b";
	http_do("POST", "/oauth/token", hdr, body, strlen(body), &r);
	cr_assert_eq(r.status, 400);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "error"), "unsupported_grant_type");
	json_object_put(o);
	http_free(&r);
}

Test(oauth, rejects_a_json_token_request)
{
	struct http_res r;
	const char *body = "{\"grant_type\":\"client_credentials\"}";
	http_do("POST", "/oauth/token", "Content-Type: application/json\r\n", body, strlen(body), &r);
	cr_assert_eq(r.status, 400);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "error"), "invalid_request");
	json_object_put(o);
	http_free(&r);
}

Test(oauth, rejects_an_unknown_scope)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	struct http_res r;
	token_request_basic(id, TEST_SECRET, "&scope=roster-everything.write", NULL, &r);
	cr_assert_eq(r.status, 400);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "error"), "invalid_scope");
	json_object_put(o);
	http_free(&r);
}

Test(oauth, rejects_a_scope_the_client_was_not_granted)
{
	const char *id = make_client("{" SCOPE_CORE "}", "{}", 1000);
	struct http_res r;
	token_request_basic(id, TEST_SECRET, "&scope=https%3A%2F%2Fpurl.imsglobal.org%2Fspec%2For%2Fv1p2%2Fscope%2F"
			    SCOPE_DEMO, NULL, &r);
	cr_assert_eq(r.status, 400, "%s", r.body);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "error"), "invalid_scope");
	json_object_put(o);
	http_free(&r);
}

Test(oauth, a_token_for_a_subset_of_scopes_only_gets_that_subset)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	char *tok = client_token(id, "&scope=" SCOPE_CORE);
	struct http_res r;
	api_get(tok, API "/orgs/oa-s1", &r);
	cr_assert_eq(r.status, 200, "core scope reads orgs: %s", r.body);
	http_free(&r);
	api_get(tok, API "/schools/oa-s1/classes", &r);
	cr_assert_eq(r.status, 403, "nested endpoints need roster.readonly: %s", r.body);
	json_object *o = jparse(&r);
	cr_assert_str_eq(code_minor(o), "forbidden");
	json_object_put(o);
	http_free(&r);
	free(tok);
}

Test(oauth, demographics_need_the_demographics_scope)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	char *tok = client_token(id, NULL);
	struct http_res r;
	api_get(tok, API "/demographics/oa-u1", &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	http_free(&r);
	free(tok);

	id = make_client("{" SCOPE_DEMO "}", "{}", 1000);
	tok = client_token(id, NULL);
	api_get(tok, API "/demographics/oa-u1", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "demographics/sex"), "female");
	json_object_put(o);
	http_free(&r);
	api_get(tok, API "/users", &r);
	cr_assert_eq(r.status, 403, "the demographics scope alone does not read users");
	http_free(&r);
	free(tok);
}

Test(oauth, a_client_outside_its_ip_allowlist_gets_no_token)
{
	const char *id = make_client(SCOPES_ALL, "{10.1.2.3/32}", 1000);
	struct http_res r;
	token_request_basic(id, TEST_SECRET, NULL, NULL, &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	json_object *o = jparse(&r);
	cr_assert_str_eq(jstr(o, "error"), "unauthorized_client");
	json_object_put(o);
	http_free(&r);
}

Test(oauth, a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored)
{
	const char *id = make_client(SCOPES_ALL, "{10.1.2.3/32}", 1000);
	struct http_res r;
	token_request_basic(id, TEST_SECRET, NULL, "X-Forwarded-For: 10.1.2.3\r\n", &r);
	cr_assert_eq(r.status, 403, "the test client on loopback is not a trusted proxy: %s", r.body);
	http_free(&r);
}

Test(oauth, a_client_inside_its_ip_allowlist_works)
{
	const char *id = make_client(SCOPES_ALL, "{127.0.0.0/8,::1/128}", 1000);
	char *tok = client_token(id, NULL);
	struct http_res r;
	api_get(tok, API "/orgs/oa-s1", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_free(&r);
	free(tok);
}

Test(oauth, the_api_checks_the_allowlist_on_every_request)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	char *tok = client_token(id, NULL);
	const char *p[1] = {id};
	t_exec("UPDATE api_clients SET ip_allowlist = '{10.1.2.3/32}' WHERE client_id = $1", 1, p);
	struct http_res r;
	char hdr[2048];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nX-Forwarded-For: 10.1.2.3\r\n", tok);
	http_do("GET", API "/orgs/oa-s1", hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	json_object *o = jparse(&r);
	cr_assert_str_eq(code_minor(o), "forbidden");
	json_object_put(o);
	http_free(&r);
	free(tok);
}

Test(oauth, the_rate_limit_answers_429_with_retry_after)
{
	const char *id = make_client(SCOPES_ALL, "{}", 3);
	char *tok = client_token(id, NULL);   /* the token request counts as one */
	struct http_res r;
	int saw429 = 0;
	for (int i = 0; i < 5 && !saw429; i++) {
		api_get(tok, API "/orgs/oa-s1", &r);
		if (r.status == 429) {
			saw429 = 1;
			const char *ra = http_header(&r, "Retry-After");
			cr_assert_not_null(ra);
			cr_assert(atoi(ra) >= 1 && atoi(ra) <= 60, "Retry-After %s", ra);
			json_object *o = jparse(&r);
			cr_assert_str_eq(code_minor(o), "server_busy");
			json_object_put(o);
		} else cr_assert_eq(r.status, 200, "%s", r.body);
		http_free(&r);
	}
	cr_assert(saw429, "no 429 after the limit of 3 per minute");
	free(tok);
}

Test(oauth, a_revoked_client_gets_401_for_tokens_and_api_calls)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	char *tok = client_token(id, NULL);
	const char *p[1] = {id};
	t_exec("UPDATE api_clients SET revoked_at = now() WHERE client_id = $1", 1, p);
	struct http_res r;
	api_get(tok, API "/orgs/oa-s1", &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	json_object *o = jparse(&r);
	cr_assert_str_eq(code_minor(o), "unauthorisedrequest");
	json_object_put(o);
	http_free(&r);
	token_request_basic(id, TEST_SECRET, NULL, NULL, &r);
	cr_assert_eq(r.status, 401);
	http_free(&r);
	free(tok);
}

Test(oauth, api_calls_without_a_token_or_with_a_forged_one_get_401)
{
	struct http_res r;
	http_do("GET", API "/orgs", "Accept: application/json\r\n", NULL, 0, &r);
	cr_assert_eq(r.status, 401);
	json_object *o = jparse(&r);
	cr_assert_str_eq(code_minor(o), "unauthorisedrequest");
	json_object_put(o);
	http_free(&r);
	/* alg none */
	api_get("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJjbGllbnQ6eCIsImtpbmQiOiJjbGllbnQifQ.", API "/orgs", &r);
	cr_assert_eq(r.status, 401);
	http_free(&r);
}

Test(oauth, a_client_token_is_not_a_platform_session)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	char *tok = client_token(id, NULL);
	struct http_res r;
	api_get(tok, "/api/v1/me", &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	http_free(&r);
	free(tok);
}

Test(oauth, a_non_admin_user_token_cannot_read_the_roster_api)
{
	t_make_user("oauth-viewer@test.example", "viewer", "Viewer-pass-123456");
	char *tok = t_login("oauth-viewer@test.example", "Viewer-pass-123456");
	cr_assert_not_null(tok);
	struct http_res r;
	api_get(tok, API "/orgs", &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	http_free(&r);
	free(tok);
}

Test(oauth, an_admin_api_token_reads_everything)
{
	struct http_res r;
	api_get(t_admin_token(), API "/demographics/oa-u1", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_free(&r);
}

Test(oauth, token_requests_are_audited_without_the_secret)
{
	const char *id = make_client(SCOPES_ALL, "{}", 1000);
	free(client_token(id, NULL));
	char actor[64];
	snprintf(actor, sizeof actor, "client:%s", id);
	const char *p[1] = {actor};
	char *n = t_db_value("SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'oauth.token' AND status = 200",
			     1, p);
	cr_assert_str_eq(n, "1");
	free(n);
	char *leak = t_db_value("SELECT count(*) FROM audit_log WHERE detail::text LIKE '%" TEST_SECRET "%'", 0, NULL);
	cr_assert_str_eq(leak, "0");
	free(leak);
}
