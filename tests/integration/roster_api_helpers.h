/* Shared helpers of the OneRoster REST and OAuth integration tests: API clients made directly in the database,
 * token requests, authenticated GETs and JSON lookups. Included by test_roster_api.c and test_oauth.c only. */
#ifndef RS_ROSTER_API_HELPERS_H
#define RS_ROSTER_API_HELPERS_H
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auth.h"
#include "harness.h"

#define API "/ims/oneroster/rostering/v1p2"
#define SCOPE_CORE "roster-core.readonly"
#define SCOPE_ROSTER "roster.readonly"
#define SCOPE_DEMO "roster-demographics.readonly"
#define TEST_SECRET "0123456789abcdef-test-secret"

static inline void t_exec(const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(t_db(), sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "SQL failed: %s\n%s", PQresultErrorMessage(res), sql);
	PQclear(res);
}

/* A fresh client with a unique id; scopes "{a,b}", allowlist "{}" or "{10.0.0.0/8}". Returns a static id. */
static inline const char *make_client(const char *scopes, const char *allowlist, int rate)
{
	static char ids[16][40];
	static int next;
	char *id = ids[next++ % 16];
	char hex[17], hash[65], rl[16];
	random_hex(hex, 8);
	snprintf(id, 40, "rsc_t%s", hex);
	sha256_hex(TEST_SECRET, strlen(TEST_SECRET), hash);
	snprintf(rl, sizeof rl, "%d", rate);
	const char *p[5] = {id, hash, scopes, allowlist, rl};
	t_exec("INSERT INTO api_clients (name, client_id, secret_hash, scopes, ip_allowlist, rate_limit_per_min) "
	       "VALUES ('integration test', $1, $2, $3::text[], $4::text[], $5::int)", 5, p);
	return id;
}

static inline char *b64(const char *s)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = malloc(n * 2 + 8);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n) v |= (unsigned char)s[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}

/* POST /oauth/token with HTTP Basic; extra_form is appended ("&scope=..."). */
static inline int token_request_basic(const char *client_id, const char *secret, const char *extra_form, const char *xheaders,
			       struct http_res *res)
{
	char cred[256], hdr[1024], body[512];
	snprintf(cred, sizeof cred, "%s:%s", client_id, secret);
	char *enc = b64(cred);
	snprintf(hdr, sizeof hdr, "Authorization: Basic %s\r\nContent-Type: application/x-www-form-urlencoded\r\n%s", enc,
		 xheaders ? xheaders : "");
	free(enc);
	snprintf(body, sizeof body, "grant_type=client_credentials%s", extra_form ? extra_form : "");
	return http_do("POST", "/oauth/token", hdr, body, strlen(body), res);
}

static inline json_object *jparse(const struct http_res *r)
{
	json_object *o = json_tokener_parse(r->body ? r->body : "");
	cr_assert_not_null(o, "response is not JSON: HTTP %d %.300s", r->status, r->body ? r->body : "");
	return o;
}

/* "a/b/0/c" lookup; NULL when absent */
static inline json_object *jget(json_object *o, const char *path)
{
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s", path);
	json_object *cur = o;
	char *save = NULL;
	for (char *tok = strtok_r(tmp, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save)) {
		if (json_object_is_type(cur, json_type_array)) cur = json_object_array_get_idx(cur, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(cur, tok, &cur)) return NULL;
	}
	return cur;
}

static inline const char *jstr(json_object *o, const char *path)
{
	json_object *v = jget(o, path);
	return v ? json_object_get_string(v) : NULL;
}

/* A token for a client made with make_client (Basic auth). malloc'd. */
static inline char *client_token(const char *client_id, const char *scope_form)
{
	struct http_res r;
	cr_assert_eq(token_request_basic(client_id, TEST_SECRET, scope_form, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "token request: HTTP %d %s", r.status, r.body);
	json_object *o = jparse(&r);
	char *tok = strdup(jstr(o, "access_token"));
	json_object_put(o);
	http_free(&r);
	return tok;
}

static inline int api_get(const char *token, const char *path, struct http_res *r)
{
	char hdr[2048];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", token ? token : "");
	return http_do("GET", path, hdr, NULL, 0, r);
}

/* imsx codeMinor of an error body */
static inline const char *code_minor(json_object *o)
{
	return jstr(o, "imsx_StatusInfo/imsx_CodeMinor/imsx_codeMinorField/0/imsx_codeMinorFieldValue");
}

static inline char *urlenc(const char *s)
{
	char *o = malloc(strlen(s) * 3 + 1), *q = o;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.')
			*q++ = (char)*p;
		else q += sprintf(q, "%%%02X", *p);
	}
	*q = 0;
	return o;
}
#endif
