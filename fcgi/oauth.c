/* OAuth2 client credentials: secrets are 256 random bits stored as sha256 (a slow KDF buys nothing for a
 * random secret and would make every token request expensive); tokens are short-lived HS256 JWTs of kind "client". */
#include "oauth.h"
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "netaddr.h"

static const char *const scope_names[] = {"roster-core.readonly", "roster.readonly", "roster-demographics.readonly"};

const char *oauth_scope_short(int bit)
{
	for (int i = 0; i < 3; i++)
		if (bit == 1 << i) return scope_names[i];
	return "";
}

int oauth_scope_bit(const char *name)
{
	size_t pl = strlen(OAUTH_SCOPE_PREFIX);
	if (!strncmp(name, OAUTH_SCOPE_PREFIX, pl)) name += pl;
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, scope_names[i])) return 1 << i;
	return 0;
}

int oauth_scopes_parse(const char *s, int *bits, char *bad, size_t badlen)
{
	*bits = 0;
	if (!s) return 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t' || *p == '+') p++;
		if (!*p) break;
		size_t n = strcspn(p, " ,\t+");
		char name[256];
		/* a name this long is no scope; show enough of it to recognise */
		if (n >= sizeof name) {
			snprintf(bad, badlen, "%.200s…", p);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = 0;
		int b = oauth_scope_bit(name);
		if (!b) {
			snprintf(bad, badlen, "%s", name);
			return -1;
		}
		*bits |= b;
		p += n;
	}
	return 0;
}

void oauth_scopes_format(int bits, int full, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = 0;
	for (int i = 0; i < 3; i++) {
		if (!(bits & (1 << i))) continue;
		int n = snprintf(out + used, outlen - used, "%s%s%s", used ? " " : "", full ? OAUTH_SCOPE_PREFIX : "",
				 scope_names[i]);
		if (n < 0 || (size_t)n >= outlen - used) break;
		used += (size_t)n;
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* application/x-www-form-urlencoded decoding of one Basic credential half */
static char *form_decode(arena *a, const char *s, size_t n)
{
	char *o = arena_alloc(a, n + 1), *q = o;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') *q++ = ' ';
		else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*q++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else *q++ = s[i];
	}
	*q = 0;
	return o;
}

int oauth_basic_parse(arena *a, const char *header, const char **id, const char **secret)
{
	if (!header || strncasecmp(header, "Basic ", 6)) return -1;
	const char *b64 = header + 6;
	while (*b64 == ' ') b64++;
	size_t n = strlen(b64);
	while (n && b64[n - 1] == ' ') n--;
	if (n == 0 || n > 1024 || n % 4) return -1;
	unsigned char *dec = arena_alloc(a, n + 4);
	int len = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)n);
	if (len < 0) return -1;
	/* EVP_DecodeBlock counts padding bytes as output: drop them */
	if (n >= 1 && b64[n - 1] == '=') len--;
	if (n >= 2 && b64[n - 2] == '=') len--;
	if (len <= 0) return -1;
	dec[len] = 0;
	if (memchr(dec, 0, (size_t)len)) return -1;
	char *colon = strchr((char *)dec, ':');
	if (!colon || colon == (char *)dec) return -1;
	*id = form_decode(a, (char *)dec, (size_t)(colon - (char *)dec));
	*secret = form_decode(a, colon + 1, strlen(colon + 1));
	return 0;
}

void oauth_client_id_new(char out[32])
{
	char hex[25];
	random_hex(hex, 12);
	snprintf(out, 32, "rsc_%s", hex);
}

void oauth_secret_new(char out[65]) { random_hex(out, 32); }

void oauth_secret_hash(const char *secret, char out[65]) { sha256_hex(secret, strlen(secret), out); }

int oauth_secret_check(const char *secret, const char *hash)
{
	char h[65];
	if (!secret || !hash) return 0;
	oauth_secret_hash(secret, h);
	return ct_streq(h, hash);
}

int oauth_client_load(const char *client_id, struct oauth_client *c)
{
	memset(c, 0, sizeof *c);
	if (!client_id || !*client_id || strlen(client_id) >= sizeof c->client_id) return 0;
	PGresult *res = DB_PREP("SELECT id, client_id, name, array_to_string(scopes, ' '), "   /* every API request */
				"array_to_string(ip_allowlist, ','), rate_limit_per_min, revoked_at IS NOT NULL, secret_hash "
				"FROM api_clients WHERE client_id = $1", client_id);
	if (!res) return -1;
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) { log_error("api client load: %s", db_error()); rc = -1; goto out; }
	if (PQntuples(res) != 1) goto out;
	c->id = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(c->client_id, sizeof c->client_id, "%s", PQgetvalue(res, 0, 1));
	snprintf(c->name, sizeof c->name, "%s", PQgetvalue(res, 0, 2));
	char bad[64];
	oauth_scopes_parse(PQgetvalue(res, 0, 3), &c->scopes, bad, sizeof bad);
	snprintf(c->allowlist, sizeof c->allowlist, "%s", PQgetvalue(res, 0, 4));
	c->rate_limit = strtol(PQgetvalue(res, 0, 5), NULL, 10);
	c->revoked = PQgetvalue(res, 0, 6)[0] == 't';
	snprintf(c->secret_hash, sizeof c->secret_hash, "%s", PQgetvalue(res, 0, 7));
	rc = 1;
out:
	PQclear(res);
	return rc;
}

int oauth_ip_allowed(const struct oauth_client *c, const char *ip)
{
	if (!c->allowlist[0]) return 1;
	return ip && cidr_list_match(ip, c->allowlist);
}

/* Clients allowed many requests (>= RL_BATCH_MIN a minute) are counted in Redis in small steps per worker:
 * one INCRBY per `step` requests, step = limit / 1000 (at most 20), so a worker admits at most step - 1 requests
 * the shared count has not seen yet (about 0.1 % of the limit per worker). Such clients use aligned one-minute
 * windows. Smaller limits are counted exactly, one INCR per request. */
#define RL_BATCH_MIN 6000
#define RL_LOCAL 16
static struct { char id[40]; long minute, pending, global; } rl_local[RL_LOCAL];

static int rate_check_batched(const struct oauth_client *c, long *retry_after)
{
	time_t now = time(NULL);
	long minute = (long)(now / 60);
	int k = -1, victim = 0;
	for (int i = 0; i < RL_LOCAL && k < 0; i++) {
		if (!strcmp(rl_local[i].id, c->client_id)) k = i;
		else if (rl_local[i].minute < rl_local[victim].minute) victim = i;
	}
	if (k < 0) {
		k = victim;
		snprintf(rl_local[k].id, sizeof rl_local[k].id, "%s", c->client_id);
		rl_local[k].minute = -1;
	}
	if (rl_local[k].minute != minute) {
		rl_local[k].minute = minute;
		rl_local[k].pending = 0;
		rl_local[k].global = 0;
	}
	long step = c->rate_limit / 1000;
	if (step < 1) step = 1;
	if (step > 20) step = 20;
	rl_local[k].pending++;
	if (rl_local[k].pending >= step || rl_local[k].global + rl_local[k].pending >= c->rate_limit) {
		char key[96];
		snprintf(key, sizeof key, "rl:apiw:%s:%ld", c->client_id, minute);
		redisReply *rep = cache_cmd("INCRBY %s %ld", key, rl_local[k].pending);
		if (rep && rep->type == REDIS_REPLY_INTEGER) {
			if (rep->integer == rl_local[k].pending) {
				redisReply *e = cache_cmd("EXPIRE %s 120", key);
				if (e) freeReplyObject(e);
			}
			rl_local[k].global = (long)rep->integer;
			rl_local[k].pending = 0;
		}
		if (rep) freeReplyObject(rep);
		else rl_local[k].pending = 0;   /* Redis down: nothing is limited */
	}
	if (rl_local[k].global + rl_local[k].pending <= c->rate_limit) return 0;
	*retry_after = 60 - (long)(now % 60);
	return -1;
}

int oauth_rate_check(const struct oauth_client *c, long *retry_after)
{
	if (c->rate_limit >= RL_BATCH_MIN) return rate_check_batched(c, retry_after);
	char key[80];
	snprintf(key, sizeof key, "rl:api:%s", c->client_id);
	long n = cache_incr_window(key, 60, NULL);
	if (n < 0 || n <= c->rate_limit) return 0;
	long ttl = 60;
	redisReply *rep = cache_cmd("TTL %s", key);
	if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0) ttl = (long)rep->integer;
	if (rep) freeReplyObject(rep);
	*retry_after = ttl;
	return -1;
}

char *oauth_token_issue(const struct oauth_client *c, int scopes, int ttl, long *exp)
{
	struct token t;
	memset(&t, 0, sizeof t);
	snprintf(t.sub, sizeof t.sub, "client:%s", c->client_id);
	snprintf(t.role, sizeof t.role, "client");
	snprintf(t.kind, sizeof t.kind, "client");
	oauth_scopes_format(scopes, 1, t.scope, sizeof t.scope);
	char *jwt = token_issue(cfg.secret, &t, ttl);
	if (exp) *exp = t.exp;
	return jwt;
}

/* API requests look their client up in a per-process copy at most one second old: revoking a client, changing
 * its allowlist or scopes reaches every worker within a second without a database round trip per request. */
#define CLIENT_CACHE 16
static struct { struct oauth_client c; double at; } client_cache[CLIENT_CACHE];

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int client_load_cached(const char *client_id, struct oauth_client *c)
{
	double now = mono_now(), ttl = (double)config_get_int("oauth_client_cache_ms", 1000) / 1000.0;
	int oldest = 0;
	for (int i = 0; i < CLIENT_CACHE; i++) {
		if (client_cache[i].at > 0 && !strcmp(client_cache[i].c.client_id, client_id)) {
			if (now - client_cache[i].at < ttl) { *c = client_cache[i].c; return 1; }
			oldest = i;
			break;
		}
		if (client_cache[i].at < client_cache[oldest].at) oldest = i;
	}
	int rc = oauth_client_load(client_id, c);
	if (rc == 1 && ttl > 0) {
		client_cache[oldest].c = *c;
		client_cache[oldest].at = now;
	}
	return rc;
}

/* The server already verified the bearer once to look for a user session; a client polling with the same token
 * is verified from a per-process memo of the last few tokens (same signature check result; expiry re-checked). */
#define TOKEN_MEMO 8
static struct { char *jwt; struct token t; } token_memo[TOKEN_MEMO];
static int token_memo_next;

static int token_verify_memo(const char *jwt, struct token *t)
{
	for (int i = 0; i < TOKEN_MEMO; i++)
		if (token_memo[i].jwt && !strcmp(token_memo[i].jwt, jwt)) {
			*t = token_memo[i].t;
			return t->exp < (long)time(NULL) ? -2 : 0;
		}
	int v = token_verify(cfg.secret, jwt, t);
	if (v == 0 && strlen(jwt) < 4096) {
		int k = token_memo_next++ % TOKEN_MEMO;
		free(token_memo[k].jwt);
		token_memo[k].jwt = strdup(jwt);
		token_memo[k].t = *t;
	}
	return v;
}

/* a refused bearer token or client (not a database outage or a rate limit) goes to the security log */
static int deny(struct req *r, const char **code_minor, char *msg, size_t msglen, const char *cm, const char *text, int status)
{
	if (status == 401 || status == 403) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "code_minor", json_object_new_string(cm));
		json_object_object_add(f, "reason", json_object_new_string(text));
		log_security(r, "api_client_denied", f);
	}
	*code_minor = cm;
	snprintf(msg, msglen, "%s", text);
	return status;
}

int oauth_authenticate(struct req *r, struct api_caller *c, const char **code_minor, char *msg, size_t msglen,
		       long *retry_after)
{
	memset(c, 0, sizeof *c);
	/* an admin's own API token (already resolved into r->user by the server); never a cookie session, so a
	 * browser can not be tricked into calling these routes cross-site */
	if (r->user) {
		if (!r->user->via_bearer)
			return deny(r, code_minor, msg, msglen, "unauthorisedrequest", "use a bearer token", 401);
		if (strcmp(r->user->role ? r->user->role : "", "admin"))
			return deny(r, code_minor, msg, msglen, "forbidden", "only admins and API clients may use this API", 403);
		c->is_admin = 1;
		c->user_id = r->user->id;
		c->scopes = SC_ALL;
		snprintf(c->actor, sizeof c->actor, "user:%ld", r->user->id);
		return 0;
	}
	const char *auth = req_header(r, "Authorization");
	if (!auth || strncasecmp(auth, "Bearer ", 7))
		return deny(r, code_minor, msg, msglen, "unauthorisedrequest", "missing bearer token", 401);
	struct token t;
	int v = token_verify_memo(auth + 7, &t);
	if (v == -2) return deny(r, code_minor, msg, msglen, "unauthorisedrequest", "token expired", 401);
	if (v != 0 || strcmp(t.kind, "client") || strncmp(t.sub, "client:", 7))
		return deny(r, code_minor, msg, msglen, "unauthorisedrequest", "invalid token", 401);
	int lr = client_load_cached(t.sub + 7, &c->client);
	if (lr < 0) return deny(r, code_minor, msg, msglen, "server_busy", "database unavailable", 503);
	if (lr == 0 || c->client.revoked)
		return deny(r, code_minor, msg, msglen, "unauthorisedrequest", "client unknown or revoked", 401);
	snprintf(c->actor, sizeof c->actor, "client:%s", c->client.client_id);
	r->log_user = arena_strdup(r->a, c->actor);
	if (!oauth_ip_allowed(&c->client, r->client_ip))
		return deny(r, code_minor, msg, msglen, "forbidden", "client IP address not allowed", 403);
	if (oauth_rate_check(&c->client, retry_after))
		return deny(r, code_minor, msg, msglen, "server_busy", "rate limit exceeded", 429);
	char bad[64];
	oauth_scopes_parse(t.scope, &c->scopes, bad, sizeof bad);
	/* scopes removed from the client since the token was issued no longer count */
	c->scopes &= c->client.scopes;
	return 0;
}
