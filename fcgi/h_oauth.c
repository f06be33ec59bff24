/* POST /oauth/token: OAuth2 client credentials grant (RFC 6749 §4.4) for OneRoster API clients.
 * Client authentication by HTTP Basic or form fields (not both); errors as RFC 6749 §5.2 JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "log.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "oauth.h"

static void oauth_error(req *r, int status, const char *error, const char *desc, const char *client_id)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "error_description", json_object_new_string(desc));
	json_object *d = json_object_new_object();
	json_object_object_add(d, "error", json_object_new_string(error));
	audit_record(r, client_id ? arena_printf(r->a, "client:%s", client_id) : "anonymous", "oauth.token", "/oauth/token",
		     d, status, -1);
	json_object_put(d);
	/* a client refused (wrong secret, revoked, wrong address, throttled) is a security event; a malformed
	 * request is only an error */
	if (status == 401 || status == 403 || status == 429) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "error", json_object_new_string(error));
		json_object_object_add(f, "reason", json_object_new_string(desc));
		/* an unknown client is named as asked for (a public identifier, never the secret) */
		const char *asked = client_id ? client_id : req_form(r, "client_id");
		if (asked) json_object_object_add(f, "client_id", json_object_new_string_len(asked, (int)strnlen(asked, 128)));
		log_security(r, "oauth_client_denied", f);
	}
	res_json(r, status, o);
	res_header(r, "Cache-Control", "no-store");
	res_header(r, "Pragma", "no-cache");
}

/* Failed client authentications per address and minute: slows down secret guessing. */
static int too_many_failures(req *r, int count_one)
{
	char key[96];
	snprintf(key, sizeof key, "rl:oauthfail:%s", r->client_ip ? r->client_ip : "-");
	long n;
	if (count_one) n = cache_incr_window(key, 60, NULL);
	else {
		redisReply *rep = cache_cmd("GET %s", key);
		n = rep && rep->type == REDIS_REPLY_STRING ? strtol(rep->str, NULL, 10) : 0;
		if (rep) freeReplyObject(rep);
	}
	return n > config_get_int("oauth_max_failures_per_min", 30);
}

void h_oauth_token(req *r)
{
	const char *ct = r->content_type ? r->content_type : "";
	if (strncmp(ct, "application/x-www-form-urlencoded", 33)) {
		oauth_error(r, 400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded", NULL);
		return;
	}
	const char *grant = req_form(r, "grant_type");
	if (!grant || !*grant) { oauth_error(r, 400, "invalid_request", "grant_type is required", NULL); return; }
	if (strcmp(grant, "client_credentials")) {
		oauth_error(r, 400, "unsupported_grant_type", "only client_credentials is supported", NULL);
		return;
	}
	const char *id = NULL, *secret = NULL;
	const char *auth = req_header(r, "Authorization");
	int basic = auth != NULL;
	if (basic) {
		if (req_form(r, "client_secret")) {
			oauth_error(r, 400, "invalid_request", "use one client authentication method, not two", NULL);
			return;
		}
		if (oauth_basic_parse(r->a, auth, &id, &secret)) {
			oauth_error(r, 400, "invalid_request", "malformed Authorization header (expected Basic)", NULL);
			return;
		}
	} else {
		id = req_form(r, "client_id");
		secret = req_form(r, "client_secret");
	}
	if (!id || !*id || !secret || !*secret) {
		oauth_error(r, 401, "invalid_client", "client authentication required", NULL);
		return;
	}
	if (too_many_failures(r, 0)) {
		res_header(r, "Retry-After", "60");
		oauth_error(r, 429, "slow_down", "too many failed attempts, retry later", NULL);
		return;
	}
	struct oauth_client c;
	int found = oauth_client_load(id, &c);
	if (found < 0) { oauth_error(r, 503, "temporarily_unavailable", "database unavailable", NULL); return; }
	if (!found || c.revoked || !oauth_secret_check(secret, c.secret_hash)) {
		too_many_failures(r, 1);
		if (basic) res_header(r, "WWW-Authenticate", "Basic realm=\"oneroster\"");
		oauth_error(r, 401, "invalid_client", "unknown client, wrong secret or revoked client", found ? id : NULL);
		return;
	}
	if (!oauth_ip_allowed(&c, r->client_ip)) {
		oauth_error(r, 403, "unauthorized_client", "this client may not be used from your IP address", c.client_id);
		return;
	}
	int want = c.scopes;
	const char *scope = req_form(r, "scope");
	if (scope && *scope) {
		char bad[256];   /* the whole unknown name, spec scope URLs are ~70 characters */
		if (oauth_scopes_parse(scope, &want, bad, sizeof bad)) {
			oauth_error(r, 400, "invalid_scope", arena_printf(r->a, "unknown scope: %s", bad), c.client_id);
			return;
		}
		if (want & ~c.scopes) {
			oauth_error(r, 400, "invalid_scope", "requested scope exceeds the scopes granted to this client",
				    c.client_id);
			return;
		}
	}
	if (!want) { oauth_error(r, 400, "invalid_scope", "this client has no scopes", c.client_id); return; }
	long retry;
	if (oauth_rate_check(&c, &retry)) {
		res_header(r, "Retry-After", arena_printf(r->a, "%ld", retry));
		oauth_error(r, 429, "slow_down", "rate limit exceeded", c.client_id);
		return;
	}
	int ttl = (int)config_get_int("oauth_token_ttl", 3600);
	if (ttl < 60 || ttl > 86400) ttl = 3600;
	char *jwt = oauth_token_issue(&c, want, ttl, NULL);
	if (!jwt) { oauth_error(r, 500, "server_error", "could not issue a token", c.client_id); return; }
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", c.id);
	DB_CMD("UPDATE api_clients SET last_used_at = now() WHERE id = $1::bigint", ids);
	char scopes[512];
	oauth_scopes_format(want, 1, scopes, sizeof scopes);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "access_token", json_object_new_string(jwt));
	json_object_object_add(o, "token_type", json_object_new_string("bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int(ttl));
	json_object_object_add(o, "scope", json_object_new_string(scopes));
	free(jwt);
	json_object *d = json_object_new_object();
	json_object_object_add(d, "scope", json_object_new_string(scopes));
	r->log_user = arena_printf(r->a, "client:%s", c.client_id);
	audit_record(r, r->log_user, "oauth.token", "/oauth/token", d, 200, 1);
	json_object_put(d);
	res_json(r, 200, o);
	res_header(r, "Cache-Control", "no-store");
	res_header(r, "Pragma", "no-cache");
}
