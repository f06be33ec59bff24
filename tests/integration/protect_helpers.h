/* A small curl "browser" for the protect tests (cookie jar, no redirects followed) and TOTP codes computed here
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
#include "totp.h"

struct page { long status; char *body; char location[2048]; };
struct acc { char *p; size_t n; };

static size_t pb_on_body(char *d, size_t sz, size_t nm, void *ud)
{
	struct acc *a = ud;
	size_t n = sz * nm;
	a->p = realloc(a->p, a->n + n + 1);
	memcpy(a->p + a->n, d, n);
	a->n += n;
	a->p[a->n] = 0;
	return n;
}

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
	char full[4096];
	snprintf(full, sizeof full, "%s%s", t_env("RSTREAM_TEST_URL"), path);
	struct acc a = {calloc(1, 1), 0};
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, pb_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	if (form) curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	else curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "request to %s", full);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
	char *loc = NULL;
	curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
	snprintf(p->location, sizeof p->location, "%s", loc ? loc : "");
	p->body = a.p;
}

static void pb_csrf(const char *html, char out[65])
{
	const char *m = strstr(html, "name=\"csrf-token\" content=\"");
	cr_assert_not_null(m, "no csrf meta");
	snprintf(out, 65, "%.64s", m + strlen("name=\"csrf-token\" content=\""));
}

/* POST a form to path after reading the CSRF token from csrf_page; fields "k=v&…" (already encoded) */
static void pb_post(CURL *c, const char *csrf_page, const char *path, const char *fields, struct page *p)
{
	struct page g;
	char csrf[65], form[2048];
	pb_go(c, csrf_page, NULL, &g);
	pb_csrf(g.body, csrf);
	free(g.body);
	snprintf(form, sizeof form, "_csrf=%s&%s", csrf, fields);
	pb_go(c, path, form, p);
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
