/* Review findings in the core, driven over HTTP: each test fails on the code before its fix. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* POST /lang with next=… as a logged-in browser; returns the Location header (static) or NULL */
static const char *lang_redirect(const char *next_encoded)
{
	static char loc[1024];
	char csrf[65];
	char *cookie = t_browser_login("review.redirect@example.jp", "review-password-1", csrf);
	cr_assert_not_null(cookie, "browser login");
	char *hdr, *body;
	cr_assert(asprintf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nCookie: %s\r\n", cookie) > 0);
	cr_assert(asprintf(&body, "lang=ja&_csrf=%s&next=%s", csrf, next_encoded) > 0);
	struct http_res r = {0};
	cr_assert_eq(http_do("POST", "/lang", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303, "HTTP %d: %.300s", r.status, r.body ? r.body : "");
	const char *l = http_header(&r, "Location");
	snprintf(loc, sizeof loc, "%s", l ? l : "");
	http_free(&r);
	free(hdr);
	free(body);
	free(cookie);
	return l ? loc : NULL;
}

Test(review_core, next_with_a_tab_before_the_second_slash_does_not_redirect_off_site)
{
	cr_assert_gt(t_make_user("review.redirect@example.jp", "viewer", "review-password-1"), 0);
	/* browsers strip tabs and newlines from URLs: "/\t/evil.example" would be "//evil.example" */
	const char *l = lang_redirect("%2F%09%2Fevil.example%2Fx");
	cr_assert_not_null(l);
	cr_assert_str_eq(l, "/", "Location: %s", l);
	l = lang_redirect("%2F%0B%2Fevil.example");
	cr_assert_str_eq(l, "/", "Location: %s", l);
	/* a plain local path still works */
	l = lang_redirect("%2Fvideos%3Fq%3Dx");
	cr_assert_str_eq(l, "/videos?q=x");
}
