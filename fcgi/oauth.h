/* OAuth2 client credentials for the OneRoster API: scopes, client secrets, HTTP Basic parsing, client tokens,
 * and the per-request check of a client (token, revocation, IP allowlist, rate limit, scope). */
#ifndef RS_OAUTH_H
#define RS_OAUTH_H
#include <stddef.h>
#include "arena.h"

#define OAUTH_SCOPE_PREFIX "https://purl.imsglobal.org/spec/or/v1p2/scope/"
enum oauth_scope { SC_CORE = 1, SC_ROSTER = 2, SC_DEMOGRAPHICS = 4, SC_ALL = 7 };

/* "roster.readonly" or its full URL → bit; 0 unknown. */
int oauth_scope_bit(const char *name);
/* Space (or comma) separated list → bits. 0 ok; -1 on an unknown name (copied to bad). */
int oauth_scopes_parse(const char *s, int *bits, char *bad, size_t badlen);
/* Bits → space separated full scope URLs (full=1) or short names (full=0). */
void oauth_scopes_format(int bits, int full, char *out, size_t outlen);
const char *oauth_scope_short(int bit);   /* SC_CORE → "roster-core.readonly" */

/* "Basic base64(id:secret)" → id and secret (each form-url-decoded, RFC 6749 §2.3.1). 0 ok, -1 malformed. */
int oauth_basic_parse(arena *a, const char *header, const char **id, const char **secret);

void oauth_client_id_new(char out[32]);        /* "rsc_" + 24 hex */
void oauth_secret_new(char out[65]);           /* 64 hex chars (256 bits) */
void oauth_secret_hash(const char *secret, char out[65]);
int oauth_secret_check(const char *secret, const char *hash);   /* 1 match */

struct oauth_client {
	long id;
	char client_id[40];
	char name[201];
	int scopes;              /* bits */
	char allowlist[2048];    /* CIDRs, comma separated; "" = any */
	long rate_limit;         /* requests per minute */
	int revoked;
	char secret_hash[65];
};
/* Load by client_id: 1 found, 0 unknown, -1 database error. */
int oauth_client_load(const char *client_id, struct oauth_client *c);
/* 1 if ip may use the client (empty allowlist allows every address). */
int oauth_ip_allowed(const struct oauth_client *c, const char *ip);
/* Count one request in the client's per-minute window. 0 ok; -1 over the limit (*retry_after seconds).
 * Redis down: allowed (counted nowhere), so losing Redis never blocks the API. */
int oauth_rate_check(const struct oauth_client *c, long *retry_after);
/* Issue an access token for the client (kind "client", sub "client:<id>", scope claim). malloc'd JWT. */
char *oauth_token_issue(const struct oauth_client *c, int scopes, int ttl, long *exp);

/* The caller of an API request, after oauth_authenticate. */
struct api_caller {
	int is_admin;            /* an admin user's own bearer token (kind "api"): every scope, writes allowed */
	long user_id;
	struct oauth_client client;
	int scopes;              /* granted by the token */
	char actor[64];          /* "client:<id>" or "user:<id>" for the audit log */
};
struct req;
/* Check Authorization for a /ims request: admin user bearer, or client token (signature, kind, expiry,
 * client exists and is not revoked, client IP allowed, rate limit). 0 ok; else the HTTP status to answer
 * (401, 403, 429, 503) with code_minor/msg set and *retry_after for 429. Scopes are checked by the caller. */
int oauth_authenticate(struct req *r, struct api_caller *c, const char **code_minor, char *msg, size_t msglen,
		       long *retry_after);
#endif
