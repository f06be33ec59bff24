/* Request parsing: query strings, urlencoded forms, cookies, JSON bodies with limits,
 * and the accessors handlers use. Parsers are pure so they can be unit-tested. */
#include "http.h"
#include <ctype.h>
#include <errno.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "video_srt.h"   /* video_utf8_valid: the one UTF-8 check (it refuses NUL too) */

#define MAX_PAIRS 512

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static char *url_decode_n(arena *a, const char *s, size_t len, size_t *n)
{
	char *out = arena_alloc(a, len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') *o++ = ' ';
		else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else *o++ = s[i];
	}
	*o = 0;
	*n = (size_t)(o - out);
	return out;
}

char *url_decode(arena *a, const char *s, size_t len)
{
	size_t n;
	return url_decode_n(a, s, len, &n);
}

char *url_encode(arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = arena_alloc(a, n * 3 + 1), *o = out;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') *o++ = (char)c;
		else { *o++ = '%'; *o++ = hex[c >> 4]; *o++ = hex[c & 15]; }
	}
	*o = 0;
	return out;
}

int parse_urlencoded(arena *a, const char *s, size_t len, kv **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (!s || !len) return 0;
	int cap = 1;
	for (size_t i = 0; i < len; i++) if (s[i] == '&') cap++;
	if (cap > MAX_PAIRS) return -1;
	kv *pairs = arena_alloc(a, sizeof(kv) * (size_t)cap);
	int k = 0;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && s[j] != '&') j++;
		if (j > i) {
			const char *eq = memchr(s + i, '=', j - i);
			size_t kl = eq ? (size_t)(eq - (s + i)) : j - i, dk, dv = 0;
			pairs[k].k = url_decode_n(a, s + i, kl, &dk);
			pairs[k].v = eq ? url_decode_n(a, eq + 1, j - i - kl - 1, &dv) : arena_strdup(a, "");
			/* %00 would cut the value short where C reads it; bad UTF-8 would fail later in PostgreSQL */
			if (!video_utf8_valid(pairs[k].k, dk) || !video_utf8_valid(pairs[k].v, dv)) return -2;
			k++;
		}
		i = j + 1;
	}
	*out = pairs;
	*n = k;
	return 0;
}

int parse_cookies(arena *a, const char *s, kv **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (!s) return 0;
	int cap = 1;
	for (const char *p = s; *p; p++) if (*p == ';') cap++;
	if (cap > MAX_PAIRS) return -1;
	kv *pairs = arena_alloc(a, sizeof(kv) * (size_t)cap);
	int k = 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ' || *p == ';') p++;
		if (!*p) break;
		size_t l = strcspn(p, ";");
		const char *eq = memchr(p, '=', l);
		if (eq) {
			size_t kl = (size_t)(eq - p);
			while (kl && p[kl - 1] == ' ') kl--;
			const char *v = eq + 1;
			size_t vl = l - (size_t)(v - p);
			while (vl && v[vl - 1] == ' ') vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') { v++; vl -= 2; }
			pairs[k].k = arena_strndup(a, p, kl);
			pairs[k].v = arena_strndup(a, v, vl);
			k++;
		}
		p += l;
	}
	*out = pairs;
	*n = k;
	return 0;
}

/* Count what json-c would build before it builds anything: every value but the first follows one of
 * '{' '[' ',' ':' outside a string, so those bytes bound the number of objects. A 1 MB body of "{}," is
 * 349,000 objects (about 280 MB in json-c); the scan refuses it holding nothing but the body itself.
 * \u0000 is refused too: json-c would keep it and every C string after it would silently end there. */
int json_prescan(const char *s, size_t len, int max_values, int max_depth, char *err, int errlen)
{
	long values = 1;
	int depth = 0, in_str = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0) { snprintf(err, (size_t)errlen, "NUL byte in JSON"); return JSON_NUL; }
		if (in_str) {
			if (c == '"') in_str = 0;
			else if (c == '\\' && i + 1 < len) {
				if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4)) {
					snprintf(err, (size_t)errlen, "\\u0000 (NUL) in a JSON string");
					return JSON_NUL;
				}
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': in_str = 1; break;
		case '{': case '[':
			if (++depth > max_depth) {
				snprintf(err, (size_t)errlen, "JSON nested deeper than %d levels", max_depth);
				return JSON_TOO_BIG;
			}
			/* fall through */
		case ',': case ':':
			if (++values > max_values) {
				snprintf(err, (size_t)errlen, "JSON has more than %d values", max_values);
				return JSON_TOO_BIG;
			}
			break;
		case '}': case ']': if (depth) depth--; break;
		default: break;
		}
	}
	return 0;
}

json_object *json_parse_bounded(const char *s, size_t len, int max_values, int max_depth, int *why, char *err,
				int errlen)
{
	*why = json_prescan(s, len, max_values, max_depth, err, errlen);
	if (*why) return NULL;
	*why = JSON_MALFORMED;
	json_tokener *tok = json_tokener_new_ex(max_depth + 1);
	if (!tok) { snprintf(err, (size_t)errlen, "out of memory"); return NULL; }
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *o = json_tokener_parse_ex(tok, s, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	if (!o || e != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		if (e == json_tokener_success || e == json_tokener_continue)
			snprintf(err, (size_t)errlen, "malformed JSON: %s", e == json_tokener_continue ? "unexpected end of input" : "trailing data");
		else
			snprintf(err, (size_t)errlen, "malformed JSON: %s", json_tokener_error_desc(e));
		json_object_put(o);
		o = NULL;
	} else {
		*why = 0;
	}
	json_tokener_free(tok);
	return o;
}

json_object *json_parse_limited(const char *s, size_t len, char *err, int errlen)
{
	int why;
	if (len > (size_t)1 << 30) { snprintf(err, (size_t)errlen, "JSON body too large"); return NULL; }
	return json_parse_bounded(s, len, JSON_MAX_VALUES, JSON_MAX_DEPTH, &why, err, errlen);
}

long parse_id(const char *v)
{
	if (!v || !*v || strlen(v) > 19) return 0;
	for (const char *p = v; *p; p++) if (*p < '0' || *p > '9') return 0;
	errno = 0;
	long n = strtol(v, NULL, 10);
	return errno ? 0 : n;
}

static const char *kv_get(kv *pairs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(pairs[i].k, name)) return pairs[i].v;
	return NULL;
}

const char *req_query(req *r, const char *name) { return kv_get(r->query, r->nquery, name); }
const char *req_form(req *r, const char *name)
{
	const char *v = kv_get(r->form, r->nform, name);
	if (!v && r->json && json_object_is_type(r->json, json_type_object)) {
		json_object *o;
		if (json_object_object_get_ex(r->json, name, &o) && !json_object_is_type(o, json_type_null))
			return arena_strdup(r->a, json_object_get_string(o));
	}
	return v;
}
/* The body was an urlencoded form. A form whose absent checkboxes mean "off" checks this first: a JSON body or
 * one of another content type is not that form, and must not count as "everything unticked". */
int req_form_posted(req *r) { return r->nform > 0; }
const char *req_cookie(req *r, const char *name) { return kv_get(r->cookies, r->ncookies, name); }

const char *req_param(req *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (!strcmp(r->pnames[i], name)) return r->pvals[i];
	return NULL;
}

const char *req_env(req *r, const char *cgi_name)
{
	if (!r->fcgx) return NULL;
	return FCGX_GetParam(cgi_name, ((FCGX_Request *)r->fcgx)->envp);
}

const char *req_header(req *r, const char *name)
{
	char env[128] = "HTTP_";
	size_t i = 5;
	for (const char *p = name; *p && i < sizeof env - 1; p++)
		env[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	env[i] = 0;
	if (!strcasecmp(name, "Content-Type")) return r->content_type;
	return req_env(r, env);
}

/* Accept-Encoding takes gzip: named without q=0, or not named and * without q=0 (RFC 9110 §12.5.3) */
int http_accepts_gzip(const char *accept_encoding)
{
	int star = 0;
	for (const char *p = accept_encoding; p && *p;) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, " \t;,");
		int gzip = (n == 4 && !strncasecmp(p, "gzip", 4)) || (n == 6 && !strncasecmp(p, "x-gzip", 6));
		int any = n == 1 && *p == '*';
		p += n;
		size_t params = strcspn(p, ",");
		int refused = 0;
		for (const char *q = p; q < p + params; q++)   /* q=0, q=0., q=0.0 … q=0.000 */
			if ((*q == 'q' || *q == 'Q') && q[1] == '=') {
				const char *v = q + 2;
				size_t vl = strcspn(v, " \t;,");
				refused = vl >= 1 && v[0] == '0' && (vl == 1 || (v[1] == '.' && strspn(v + 2, "0") == vl - 2));
			}
		if (gzip) return !refused;
		if (any) star = !refused;
		p += params;
	}
	return star;
}

int req_wants_json(req *r)
{
	const char *p = r->path ? r->path : "";
	if (!strncmp(p, "/api/", 5) || !strncmp(p, "/ims/", 5) || !strncmp(p, "/oauth/", 7)) return 1;
	const char *acc = req_header(r, "Accept");
	return acc && strstr(acc, "application/json") && !strstr(acc, "text/html");
}

long req_query_long(req *r, const char *name, long def, long min, long max, int *bad)
{
	const char *v = req_query(r, name);
	if (!v || !*v) return def;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max) { if (bad) *bad = 1; return def; }
	return n;
}

long req_param_id(req *r, const char *name) { return parse_id(req_param(r, name)); }

void req_defer_redis(req *r, int n, const int *argc, const char **const *argv,
		     void (*done)(req *r, struct redisReply **replies))
{
	if (n > REQ_DEFER_MAX) n = REQ_DEFER_MAX;
	for (int i = 0; i < n; i++) {
		r->deferred_argc[i] = argc[i];
		r->deferred_argv[i] = (const char **)argv[i];
	}
	r->ndeferred = n;
	r->deferred_done = done;
}
