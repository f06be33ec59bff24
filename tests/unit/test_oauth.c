/* Unit tests for the pure parts of the OAuth2 client module: scopes, HTTP Basic credentials, secrets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "oauth.h"

static arena *A;
static void setup(void) { A = arena_new(0); }
static void teardown(void) { arena_free(A); }
TestSuite(oauth, .init = setup, .fini = teardown);

Test(oauth, knows_the_three_oneroster_scopes_by_short_and_full_name)
{
	cr_assert_eq(oauth_scope_bit("roster-core.readonly"), SC_CORE);
	cr_assert_eq(oauth_scope_bit("https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"), SC_ROSTER);
	cr_assert_eq(oauth_scope_bit("roster-demographics.readonly"), SC_DEMOGRAPHICS);
	cr_assert_eq(oauth_scope_bit("roster.write"), 0);
	cr_assert_eq(oauth_scope_bit("https://evil.example/roster.readonly"), 0);
}

Test(oauth, parses_a_space_separated_scope_list)
{
	int bits;
	char bad[64];
	cr_assert_eq(oauth_scopes_parse("roster.readonly  https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
					&bits, bad, sizeof bad), 0);
	cr_assert_eq(bits, SC_CORE | SC_ROSTER);
	cr_assert_eq(oauth_scopes_parse("roster.readonly admin", &bits, bad, sizeof bad), -1);
	cr_assert_str_eq(bad, "admin");
	cr_assert_eq(oauth_scopes_parse("", &bits, bad, sizeof bad), 0);
	cr_assert_eq(bits, 0);
}

Test(oauth, formats_scopes_as_full_urls_or_short_names)
{
	char out[512];
	oauth_scopes_format(SC_CORE | SC_DEMOGRAPHICS, 0, out, sizeof out);
	cr_assert_str_eq(out, "roster-core.readonly roster-demographics.readonly");
	oauth_scopes_format(SC_ROSTER, 1, out, sizeof out);
	cr_assert_str_eq(out, "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly");
}

Test(oauth, parses_http_basic_credentials)
{
	const char *id, *secret;
	/* "client-1:s3cr%3At" */
	cr_assert_eq(oauth_basic_parse(A, "Basic Y2xpZW50LTE6czNjciUzQXQ=", &id, &secret), 0);
	cr_assert_str_eq(id, "client-1");
	cr_assert_str_eq(secret, "s3cr:t", "the halves are form-url-decoded (RFC 6749 2.3.1)");
}

Test(oauth, rejects_malformed_basic_credentials)
{
	const char *id, *secret;
	cr_assert_eq(oauth_basic_parse(A, "Bearer abc", &id, &secret), -1);
	cr_assert_eq(oauth_basic_parse(A, "Basic", &id, &secret), -1);
	cr_assert_eq(oauth_basic_parse(A, "Basic !!!!", &id, &secret), -1);
	cr_assert_eq(oauth_basic_parse(A, "Basic bm9jb2xvbg==", &id, &secret), -1, "no colon");
	cr_assert_eq(oauth_basic_parse(A, "Basic OnNlY3JldA==", &id, &secret), -1, "empty id");
}

Test(oauth, new_secrets_are_random_and_checked_by_hash)
{
	char a[65], b[65], h[65];
	oauth_secret_new(a);
	oauth_secret_new(b);
	cr_assert_eq(strlen(a), 64);
	cr_assert_str_neq(a, b);
	oauth_secret_hash(a, h);
	cr_assert_str_neq(h, a);
	cr_assert(oauth_secret_check(a, h));
	cr_assert_not(oauth_secret_check(b, h));
	cr_assert_not(oauth_secret_check(NULL, h));
	char id[32];
	oauth_client_id_new(id);
	cr_assert_eq(strncmp(id, "rsc_", 4), 0);
	cr_assert_eq(strlen(id), 28);
}

Test(oauth, an_empty_allowlist_allows_any_address_and_a_list_only_its_members)
{
	struct oauth_client c;
	memset(&c, 0, sizeof c);
	cr_assert(oauth_ip_allowed(&c, "203.0.113.9"));
	snprintf(c.allowlist, sizeof c.allowlist, "10.0.0.0/8,2001:db8::/32");
	cr_assert(oauth_ip_allowed(&c, "10.2.3.4"));
	cr_assert(oauth_ip_allowed(&c, "2001:db8::1"));
	cr_assert_not(oauth_ip_allowed(&c, "11.0.0.1"));
	cr_assert_not(oauth_ip_allowed(&c, NULL));
}
