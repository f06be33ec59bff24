/* OpenID Connect sign-in for rostered users (authorization code + PKCE S256, state and nonce kept server-side, single
 * use) and the admin pages that configure one provider per organisation. The identity is matched to an account the
 * roster created; nobody unknown to the roster gets in, and no account is ever created here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "oidc.h"
#include "router.h"
#include "settings.h"
#include "h_signin.h"

#define OIDC_LOGIN_TTL "600"   /* seconds a login may sit at the provider */

static const char *redirect_uri(req *r) { return arena_printf(r->a, "%s/oidc/callback", cfg.public_url ? cfg.public_url : ""); }

json_object *oidc_login_buttons(void)
{
	PGresult *res = DB_EXEC0("SELECT id, name FROM oidc_providers WHERE enabled ORDER BY name, id");
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	return a;
}

/* The provider row as JSON (client_secret_enc left out), or NULL. */
static json_object *provider_get(req *r, long id, int enabled_only)
{
	PGresult *res = DB_EXEC("SELECT id, org_sourced_id, name, issuer, client_id, match_rule, user_id_type, enabled, "
				"client_secret_enc IS NOT NULL AS has_secret FROM oidc_providers "
				"WHERE id = $1::bigint AND (enabled OR NOT $2::boolean)",
				arena_printf(r->a, "%ld", id), enabled_only ? "true" : "false");
	json_object *p = res && PQntuples(res) == 1 ? db_row_json(res, 0) : NULL;
	PQclear(res);
	return p;
}

static const char *jget(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : NULL;
}

/* A sign-in that cannot go on: an HTML page with a clear message (and the reason in the log, never the token). */
static void fail(req *r, int status, const char *code, const char *msg_key, const char *why)
{
	log_info("oidc sign-in refused (%s): %s", code, why ? why : "");
	audit_record(r, "anonymous", "signin.oidc", "/oidc/callback", NULL, status, 0);
	res_error(r, status, code, tr(r, msg_key), NULL);
}

void h_oidc_start(req *r)
{
	if (!settings_signin_enabled("oidc")) { res_error(r, 403, "oidc_off", tr(r, "settings_oidc_signin_off"), NULL); return; }
	long id = req_param_id(r, "id");
	json_object *p = id ? provider_get(r, id, 1) : NULL;
	if (!p) { res_error(r, 404, "not_found", tr(r, "oidc_no_provider"), NULL); return; }
	char err[300], state[65], sh[65], nonce[33], verifier[64], challenge[64];
	json_object *d = oidc_discovery(jget(p, "issuer"), err, sizeof err);
	if (!d) {
		json_object_put(p);
		log_error("oidc discovery: %s", err);
		res_error(r, 502, "provider_unreachable", tr(r, "oidc_provider_down"), NULL);
		return;
	}
	random_hex(state, 32);
	random_hex(nonce, 16);
	sha256_hex(state, strlen(state), sh);
	if (oidc_pkce(verifier, challenge) < 0 ||
	    DB_CMD("INSERT INTO oidc_logins (state_hash, provider_id, nonce, code_verifier, next_path, expires_at) "
		   "VALUES ($1, $2::bigint, $3, $4, $5, now() + make_interval(secs => " OIDC_LOGIN_TTL "))",
		   sh, jget(p, "id"), nonce, verifier, safe_next(r, req_query(r, "next"))) < 0) {
		json_object_put(p);
		res_error(r, 500, "db", tr(r, "signin_failed"), NULL);
		return;
	}
	db_cmd("DELETE FROM oidc_logins WHERE expires_at < now() - interval '1 hour'", 0, NULL);   /* abandoned logins */
	json_object *ae;
	json_object_object_get_ex(d, "authorization_endpoint", &ae);
	const char *auth = json_object_get_string(ae);
	char *loc = arena_printf(r->a, "%s%sresponse_type=code&scope=openid%%20email%%20profile&client_id=%s&redirect_uri=%s"
				 "&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256",
				 auth, strchr(auth, '?') ? "&" : "?", url_encode(r->a, jget(p, "client_id")),
				 url_encode(r->a, redirect_uri(r)), state, nonce, challenge);
	json_object_put(p);
	/* the state is also bound to this browser: a callback link made for someone else's login is refused here */
	res_header(r, "Set-Cookie", arena_printf(r->a, "rs_oidc=%s; Path=/oidc/; Max-Age=" OIDC_LOGIN_TTL "; HttpOnly; SameSite=Lax%s",
						 state, cfg.secure_cookies ? "; Secure" : ""));
	res_redirect(r, loc);
}

/* The rostered, enabled account this identity belongs to, within the provider's org (the org itself or a school
 * under it): 0 when the roster does not know it. */
static long match_user(req *r, json_object *p, const struct oidc_claims *c)
{
	const char *rule = jget(p, "match_rule"), *org = jget(p, "org_sourced_id");
	PGresult *res;
	static const char *scope = " AND NOT u.disabled AND ru.status = 'active' AND (u.org_sourced_id = $2 OR u.org_sourced_id IN "
				   "(SELECT sourced_id FROM roster_orgs WHERE parent_sourced_id = $2))";
	if (!strcmp(rule, "user_id")) {
		const char *entry = arena_printf(r->a, "{%s:%s}", jget(p, "user_id_type"), c->sub);
		res = db_exec(arena_printf(r->a, "SELECT u.id FROM roster_users ru JOIN users u ON u.sourced_id = ru.sourced_id "
					  "WHERE ru.user_ids @> ARRAY[$1::text]%s LIMIT 2", scope), 2, (const char *[]){entry, org});
	} else {
		/* an e-mail the provider has not verified proves nothing */
		if (!c->email[0] || !c->email_verified) return 0;
		res = db_exec(arena_printf(r->a, "SELECT u.id FROM users u JOIN roster_users ru ON ru.sourced_id = u.sourced_id "
					  "WHERE lower(u.email) = lower($1)%s LIMIT 2", scope), 2, (const char *[]){c->email, org});
	}
	long id = res && PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	if (!res) log_error("oidc match: %s", db_error());
	PQclear(res);
	return id;
}

void h_oidc_callback(req *r)
{
	/* a login started before the switch was turned off does not finish after it */
	if (!settings_signin_enabled("oidc")) { res_error(r, 403, "oidc_off", tr(r, "settings_oidc_signin_off"), NULL); return; }
	const char *state = req_query(r, "state"), *code = req_query(r, "code");
	if (req_query(r, "error")) { fail(r, 401, "provider_refused", "oidc_cancelled", req_query(r, "error")); return; }
	if (!state || !code || strlen(state) != 64 || strlen(code) > 2048) { fail(r, 400, "bad_callback", "oidc_bad_state", "missing state or code"); return; }
	const char *bound = req_cookie(r, "rs_oidc");
	if (!bound || !ct_streq(bound, state)) { fail(r, 400, "bad_state", "oidc_bad_state", "state not started in this browser"); return; }
	res_header(r, "Set-Cookie", arena_printf(r->a, "rs_oidc=; Path=/oidc/; Max-Age=0; HttpOnly; SameSite=Lax%s",
						 cfg.secure_cookies ? "; Secure" : ""));
	char sh[65];
	sha256_hex(state, strlen(state), sh);
	/* single use: the row is gone whatever happens next, so a replayed callback finds nothing */
	PGresult *res = DB_EXEC("DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING provider_id, nonce, code_verifier, "
				"next_path, expires_at > now()", sh);
	if (!res || PQntuples(res) != 1 || PQgetvalue(res, 0, 4)[0] != 't') {
		PQclear(res);
		fail(r, 400, "bad_state", "oidc_bad_state", "unknown, used or expired state");
		return;
	}
	long pid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	const char *nonce = arena_strdup(r->a, PQgetvalue(res, 0, 1)), *verifier = arena_strdup(r->a, PQgetvalue(res, 0, 2));
	const char *next = arena_strdup(r->a, PQgetvalue(res, 0, 3));
	PQclear(res);
	json_object *p = provider_get(r, pid, 1);
	if (!p) { fail(r, 404, "not_found", "oidc_no_provider", "provider gone"); return; }
	char err[300] = "";
	const char *issuer = jget(p, "issuer");
	json_object *d = oidc_discovery(issuer, err, sizeof err), *tok = NULL;
	char *secret = NULL;
	long uid = 0;
	if (!d) { log_error("oidc discovery: %s", err); res_error(r, 502, "provider_unreachable", tr(r, "oidc_provider_down"), NULL); goto out; }
	PGresult *sr = DB_EXEC("SELECT client_secret_enc FROM oidc_providers WHERE id = $1::bigint", jget(p, "id"));
	if (sr && PQntuples(sr) == 1 && !PQgetisnull(sr, 0, 0)) secret = oidc_secret_open(cfg.secret, PQgetvalue(sr, 0, 0));
	PQclear(sr);
	buf form = {0};
	buf_printf(&form, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s&client_id=%s",
		   url_encode(r->a, code), url_encode(r->a, redirect_uri(r)), url_encode(r->a, verifier),
		   url_encode(r->a, jget(p, "client_id")));
	if (secret) buf_printf(&form, "&client_secret=%s", url_encode(r->a, secret));
	long st = 0;
	tok = oidc_post_form(jget(d, "token_endpoint"), form.p, &st, err, sizeof err);
	buf_free(&form);
	const char *idt = tok ? jget(tok, "id_token") : NULL;
	if (st != 200 || !idt) {
		log_error("oidc token exchange: HTTP %ld %s", st, err);
		fail(r, 502, "token_exchange", "oidc_provider_down", "token endpoint refused the code");
		goto out;
	}
	struct oidc_expect x = {issuer, jget(p, "client_id"), nonce, (long)time(NULL), 60};
	struct oidc_claims c;
	json_object *jwks = oidc_jwks(issuer, jget(d, "jwks_uri"), 0, err, sizeof err);
	int rc = oidc_verify_id_token(idt, jwks, &x, &c, err, sizeof err);
	if (rc == OIDC_UNKNOWN_KID) {   /* the provider rotated its keys since we cached them */
		jwks = oidc_jwks(issuer, jget(d, "jwks_uri"), 1, err, sizeof err);
		rc = oidc_verify_id_token(idt, jwks, &x, &c, err, sizeof err);
	}
	if (rc != OIDC_OK) { fail(r, 401, "invalid_id_token", rc == OIDC_EXPIRED ? "oidc_expired" : "oidc_invalid_token", err); goto out; }
	uid = match_user(r, p, &c);
	if (!uid) { fail(r, 403, "not_in_roster", "oidc_not_in_roster", "no rostered account matches"); goto out; }
	signin_finish(r, uid, "oidc", next);
out:
	free(secret);
	json_object_put(tok);
	json_object_put(p);
}

/* ---- admin: providers ---- */

static void admin_page(req *r, int status, const char *tmpl, json_object *ctx)
{
	json_object *st = json_object_new_array();
	json_object_array_add(st, json_object_new_string("/static/css/signin.css"));
	json_object_object_add(ctx, "styles", st);
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "oidc_admin_title")));
	json_object_object_add(ctx, "redirect_uri", json_object_new_string(redirect_uri(r)));
	res_html(r, status, tmpl, ctx);
	json_object_put(ctx);
}

void h_oidc_providers(req *r)
{
	PGresult *res = DB_EXEC0("SELECT p.id, p.name, p.issuer, p.client_id, p.match_rule, p.user_id_type, p.enabled, "
				 "p.org_sourced_id, COALESCE(o.name, '') AS org_name FROM oidc_providers p "
				 "LEFT JOIN roster_orgs o ON o.sourced_id = p.org_sourced_id ORDER BY p.name, p.id");
	if (!res) { res_error(r, 500, "db", tr(r, "signin_failed"), NULL); return; }
	json_object *ctx = json_object_new_object(), *a = db_rows_json(res);
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *p = json_object_array_get_idx(a, i);
		json_object_object_add(p, "rule_label", json_object_new_string(tr(r, !strcmp(jget(p, "match_rule"), "email") ? "oidc_rule_email" : "oidc_rule_user_id")));
	}
	json_object_object_add(ctx, "providers", a);
	admin_page(r, 200, "signin/oidc_list", ctx);
}

static json_object *org_choices(const char *selected)
{
	PGresult *res = DB_EXEC0("SELECT sourced_id, name, type FROM roster_orgs WHERE status = 'active' "
				 "ORDER BY CASE WHEN type = 'district' THEN 0 ELSE 1 END, name LIMIT 500");
	json_object *a = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	for (size_t i = 0; selected && i < json_object_array_length(a); i++) {
		json_object *o = json_object_array_get_idx(a, i);
		if (!strcmp(jget(o, "sourced_id"), selected)) json_object_object_add(o, "selected", json_object_new_boolean(1));
	}
	return a;
}

static void form_page(req *r, int status, json_object *p, const char *error)
{
	json_object *ctx = json_object_new_object();
	const char *org = p ? jget(p, "org_sourced_id") : NULL;
	json_object_object_add(ctx, "orgs", org_choices(org));
	if (p) {
		const char *rule = jget(p, "match_rule");
		if (rule && !strcmp(rule, "user_id")) json_object_object_add(p, "rule_user_id", json_object_new_boolean(1));
		json_object_object_add(ctx, "p", p);
	}
	if (p && jget(p, "id")) json_object_object_add(ctx, "editing", json_object_new_boolean(1));
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	admin_page(r, status, "signin/oidc_form", ctx);
}

void h_oidc_provider_new(req *r) { form_page(r, 200, NULL, NULL); }

void h_oidc_provider_edit(req *r)
{
	long id = req_param_id(r, "id");
	json_object *p = id ? provider_get(r, id, 0) : NULL;
	if (!p) { res_error(r, 404, "not_found", tr(r, "oidc_no_provider"), NULL); return; }
	form_page(r, 200, p, NULL);
}

/* Validate the form; NULL when fine, else the message key. */
static const char *form_check(req *r, int creating)
{
	const char *name = req_form(r, "name"), *issuer = req_form(r, "issuer"), *cid = req_form(r, "client_id"),
		   *rule = req_form(r, "match_rule"), *type = req_form(r, "user_id_type"), *org = req_form(r, "org_sourced_id"),
		   *secret = req_form(r, "client_secret");
	if (!name || !*name || strlen(name) > 100) return "oidc_err_name";
	if (!issuer || strlen(issuer) > 500 || !oidc_url_allowed(issuer)) return "oidc_err_issuer";
	if (!cid || !*cid || strlen(cid) > 500) return "oidc_err_client_id";
	if (!rule || (strcmp(rule, "email") && strcmp(rule, "user_id"))) return "oidc_err_rule";
	if (!strcmp(rule, "user_id")) {
		if (!type || !*type || strlen(type) > 40) return "oidc_err_type";
		for (const char *c = type; *c; c++)
			if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", *c)) return "oidc_err_type";
	}
	if (secret && strlen(secret) > 1000) return "oidc_err_secret";
	PGresult *res = org ? DB_EXEC("SELECT 1 FROM roster_orgs WHERE sourced_id = $1 AND status = 'active'", org) : NULL;
	int org_ok = res && PQntuples(res) == 1;
	PQclear(res);
	(void)creating;
	return org_ok ? NULL : "oidc_err_org";
}

/* The submitted form as a provider object, to show it again after an error (never the secret). */
static json_object *form_echo(req *r, long id)
{
	static const char *keys[] = {"name", "issuer", "client_id", "match_rule", "user_id_type", "org_sourced_id"};
	json_object *p = json_object_new_object();
	if (id) json_object_object_add(p, "id", json_object_new_int64(id));
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		json_object_object_add(p, keys[i], json_object_new_string(req_form(r, keys[i]) ? req_form(r, keys[i]) : ""));
	json_object_object_add(p, "enabled", json_object_new_boolean(req_form(r, "enabled") != NULL));
	return p;
}

static void provider_save(req *r, long id)
{
	const char *bad = form_check(r, id == 0);
	if (bad) { form_page(r, 400, form_echo(r, id), tr(r, bad)); return; }
	const char *secret = req_form(r, "client_secret");
	char *sealed = secret && *secret ? oidc_secret_seal(cfg.secret, secret) : NULL;
	if (secret && *secret && !sealed) { res_error(r, 500, "crypto", tr(r, "signin_failed"), NULL); return; }
	const char *rule = req_form(r, "match_rule");
	const char *type = !strcmp(rule, "user_id") ? req_form(r, "user_id_type") : NULL;
	const char *en = req_form(r, "enabled") ? "true" : "false";
	PGresult *res;
	if (id)
		res = DB_EXEC("UPDATE oidc_providers SET name = $2, issuer = $3, client_id = $4, match_rule = $5, user_id_type = $6, "
			      "org_sourced_id = $7, enabled = $8::boolean, client_secret_enc = COALESCE($9, client_secret_enc), "
			      "updated_at = now() WHERE id = $1::bigint RETURNING id", arena_printf(r->a, "%ld", id),
			      req_form(r, "name"), req_form(r, "issuer"), req_form(r, "client_id"), rule, type,
			      req_form(r, "org_sourced_id"), en, sealed);
	else
		res = DB_EXEC("INSERT INTO oidc_providers (name, issuer, client_id, match_rule, user_id_type, org_sourced_id, enabled, "
			      "client_secret_enc) VALUES ($1, $2, $3, $4, $5, $6, $7::boolean, $8) RETURNING id",
			      req_form(r, "name"), req_form(r, "issuer"), req_form(r, "client_id"), rule, type,
			      req_form(r, "org_sourced_id"), en, sealed);
	free(sealed);
	int ok = res && PQntuples(res) == 1;
	long nid = ok ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (!ok) { res_error(r, id ? 404 : 500, id ? "not_found" : "db", tr(r, id ? "oidc_no_provider" : "signin_failed"), NULL); return; }
	/* what changed, never the secret itself */
	json_object *d = json_object_new_object();
	json_object_object_add(d, "issuer", json_object_new_string(req_form(r, "issuer")));
	json_object_object_add(d, "secret_changed", json_object_new_boolean(secret && *secret));
	audit_record(r, NULL, id ? "sso.update" : "sso.create", arena_printf(r->a, "/admin/sso/%ld", nid), d, 200, 1);
	json_object_put(d);
	res_redirect(r, "/admin/sso");
}

void h_oidc_provider_create(req *r) { provider_save(r, 0); }

void h_oidc_provider_update(req *r)
{
	long id = req_param_id(r, "id");
	if (!id) { res_error(r, 404, "not_found", tr(r, "oidc_no_provider"), NULL); return; }
	provider_save(r, id);
}
