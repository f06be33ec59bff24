/* A minimal cookie-keeping browser over libcurl for the sign-in tests (test_signin*.c): forms with CSRF, redirects
 * left unfollowed so a test sees each 303. Header-only, static. */
#ifndef RS_SIGNIN_HELPERS_H
#define RS_SIGNIN_HELPERS_H
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "harness.h"

/* ---- a minimal browser ---- */
struct page { long status; char *body; size_t len; char location[2048]; };   /* len: the body may hold NULs (a PDF) */
struct browser { CURL *c; };
struct acc { char *p; size_t n; };

static size_t on_body(char *d, size_t sz, size_t nm, void *ud)
{
	struct acc *a = ud;
	size_t n = sz * nm;
	a->p = realloc(a->p, a->n + n + 1);
	memcpy(a->p + a->n, d, n);
	a->n += n;
	a->p[a->n] = 0;
	return n;
}

__attribute__((unused)) static struct browser *b_new(void)
{
	struct browser *b = calloc(1, sizeof *b);
	b->c = curl_easy_init();
	curl_easy_setopt(b->c, CURLOPT_COOKIEFILE, "");   /* in-memory cookie engine */
	curl_easy_setopt(b->c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(b->c, CURLOPT_TIMEOUT, 30L);
	return b;
}

__attribute__((unused)) static void b_free(struct browser *b) { curl_easy_cleanup(b->c); free(b); }

/* url: absolute, or a path on the stack. form: urlencoded POST body or NULL for GET. extra_cookie: sent as is. */
__attribute__((unused)) static void b_go(struct browser *b, const char *url, const char *form, const char *extra_cookie, struct page *p)
{
	char full[4096];
	if (url[0] == '/') snprintf(full, sizeof full, "%s%s", t_env("RSTREAM_TEST_URL"), url);
	else snprintf(full, sizeof full, "%s", url);
	struct acc a = {calloc(1, 1), 0};
	curl_easy_setopt(b->c, CURLOPT_URL, full);
	curl_easy_setopt(b->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(b->c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(b->c, CURLOPT_COOKIE, extra_cookie);
	if (form) curl_easy_setopt(b->c, CURLOPT_POSTFIELDS, form);
	else curl_easy_setopt(b->c, CURLOPT_HTTPGET, 1L);
	cr_assert_eq(curl_easy_perform(b->c), CURLE_OK, "request to %s", full);
	curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &p->status);
	char *loc = NULL;
	curl_easy_getinfo(b->c, CURLINFO_REDIRECT_URL, &loc);
	snprintf(p->location, sizeof p->location, "%s", loc ? loc : "");
	p->body = a.p;
	p->len = a.n;
}

/* the CSRF token a page embeds (<meta name="csrf-token" content="…">) */
__attribute__((unused)) static void csrf_of(const char *html, char out[65])
{
	const char *m = strstr(html, "name=\"csrf-token\" content=\"");
	cr_assert_not_null(m, "no csrf meta");
	m += strlen("name=\"csrf-token\" content=\"");
	snprintf(out, 65, "%.64s", m);
}

/* A form as a person sends it: GET page (200, holding each needle of the NULL-terminated list), then POST
 * "_csrf=<the page's token>&fields" to action; the answer in *out. */
__attribute__((unused, sentinel)) static void b_submit(struct browser *b, const char *page, const char *action,
							  const char *fields, struct page *out, ...)
{
	struct page g;
	char csrf[65];
	b_go(b, page, NULL, NULL, &g);
	cr_assert_eq(g.status, 200, "%s: HTTP %ld", page, g.status);
	va_list ap;
	va_start(ap, out);
	for (const char *needle; (needle = va_arg(ap, const char *));)
		cr_assert_not_null(strstr(g.body, needle), "%s holds %s", page, needle);
	va_end(ap);
	csrf_of(g.body, csrf);
	free(g.body);
	size_t n = strlen(fields) + 80;
	char *form = malloc(n);
	snprintf(form, n, "_csrf=%s%s%s", csrf, *fields ? "&" : "", fields);
	b_go(b, action, form, NULL, out);
	free(form);
}

__attribute__((unused)) static int b_has_session(struct browser *b)
{
	struct curl_slist *cookies = NULL, *c;
	int found = 0;
	curl_easy_getinfo(b->c, CURLINFO_COOKIELIST, &cookies);
	for (c = cookies; c; c = c->next)
		if (strstr(c->data, "\trs_session\t") && !strstr(c->data, "\trs_session\t\n") && c->data[strlen(c->data) - 1] != '\t') found = 1;
	curl_slist_free_all(cookies);
	return found;
}

/* log in with e-mail + password through the form */
__attribute__((unused)) static struct browser *b_login(const char *email, const char *password)
{
	struct browser *b = b_new();
	struct page p;
	char csrf[65], form[512];
	b_go(b, "/login", NULL, NULL, &p);
	csrf_of(p.body, csrf);
	free(p.body);
	char *e = curl_easy_escape(b->c, email, 0), *pw = curl_easy_escape(b->c, password, 0);
	snprintf(form, sizeof form, "_csrf=%s&email=%s&password=%s&next=%%2F", csrf, e, pw);
	curl_free(e);
	curl_free(pw);
	b_go(b, "/login", form, NULL, &p);
	cr_assert_eq(p.status, 303, "login %s: HTTP %ld %s", email, p.status, p.body);
	free(p.body);
	return b;
}

#endif
