/* The protect tests' browser steps (on the sign-in tests' mini browser) and TOTP codes computed here
 * from the secret the enrolment page shows, as an authenticator app would. */
#ifndef RS_PROTECT_HELPERS_H
#define RS_PROTECT_HELPERS_H
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "harness.h"
#include "signin_helpers.h"
#include "totp.h"

/* the page fetch and the CSRF meta are the sign-in tests' mini browser (signin_helpers.h), on this test's handle */
static CURL *pb_new(void)
{
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	return c;
}

/* GET (form NULL) or urlencoded POST of a path on the stack; the caller frees p->body */
static void pb_go(CURL *c, const char *path, const char *form, struct page *p)
{
	struct browser b = {c};
	b_go(&b, path, form, NULL, p);
}

/* POST a form to path after reading the CSRF token from csrf_page; fields "k=v&…" (already encoded) */
static void pb_post(CURL *c, const char *csrf_page, const char *path, const char *fields, struct page *p)
{
	struct browser b = {c};
	b_submit(&b, csrf_page, path, fields, p, NULL);
}

/* password step through the form; returns the answer (303 to "/" or to the MFA step) */
static void pb_password(CURL *c, const char *email, const char *password, struct page *p)
{
	char fields[600];
	char *e = curl_easy_escape(c, email, 0), *pw = curl_easy_escape(c, password, 0);
	snprintf(fields, sizeof fields, "email=%s&password=%s&next=%%2F", e, pw);
	curl_free(e);
	curl_free(pw);
	pb_post(c, "/login", "/login", fields, p);
}

/* the secret shown on the enrolment page (grouped base32 in data-testid="mfa-secret") */
static int pb_secret(const char *html, unsigned char key[TOTP_SECRET_LEN])
{
	const char *m = strstr(html, "data-testid=\"mfa-secret\">");
	cr_assert_not_null(m, "no secret on the enrolment page");
	m += strlen("data-testid=\"mfa-secret\">");
	char b32[80];
	snprintf(b32, sizeof b32, "%.*s", (int)strcspn(m, "<"), m);
	return base32_decode(b32, key, TOTP_SECRET_LEN);
}

/* the code of the step `offset` steps from now */
static void pb_code(const unsigned char *key, int offset, char out[8])
{
	long s = totp_step(time(NULL)) + offset;
	snprintf(out, 8, "%06u", totp_hotp(key, TOTP_SECRET_LEN, (uint64_t)s, TOTP_DIGITS));
}
#endif
