/* Second factor pages: the code step after a first factor, TOTP enrolment (by choice, or forced for admins while
 * mfa.required_admins is on), the account's security page and the admin reset. Between the two factors the browser
 * holds only rs_mfa: a short-lived token of kind "mfa" that session_load never accepts, so it grants nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "h_mfa.h"
#include "h_signin.h"
#include "log.h"
#include "login_throttle.h"
#include "mfa.h"
#include "router.h"
#include "session.h"
#include "settings.h"
#include "signin_code.h"
#include "totp.h"

/* The security stream gets every second-factor outcome too (log.c), beside the audit row. */
static void mfa_logged(req *r, long uid, const char *event)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "user_id", json_object_new_int64(uid));
	if (!strcmp(event, "mfa_succeeded")) json_object_object_add(f, "level", json_object_new_string("info"));
	log_security(r, event, f);
}

#define PENDING_TTL 600   /* ten minutes to open the app (or enrol) after the password */

static void add_str(json_object *o, const char *k, const char *v) { json_object_object_add(o, k, json_object_new_string(v ? v : "")); }

static void page(req *r, int status, const char *tmpl, const char *title_key, json_object *ctx, int bare)
{
	add_str(ctx, "title", tr(r, title_key));
	if (bare) json_object_object_add(ctx, "bare", json_object_new_boolean(1));
	json_object *st = json_object_new_array();
	json_object_array_add(st, json_object_new_string("/static/css/signin.css"));
	json_object_array_add(st, json_object_new_string("/static/css/mfa.css"));
	json_object_object_add(ctx, "styles", st);
	res_header(r, "Cache-Control", "no-store");
	res_html(r, status, tmpl, ctx);
	json_object_put(ctx);
}

/* ---- the half-signed-in state ---- */

struct pending {
	long uid;
	char purpose[8], method[16];   /* purpose: verify | enrol; method: the first factor (password, code, oidc) */
	const char *next, *ident;      /* ident: what login throttling counts the account under */
	char jti[40];
	long exp;
};

int mfa_gate(req *r, long uid, const char *method, const char *next)
{
	int st = mfa_state(uid);
	if (st < 0) { res_unavailable(r); return 1; }
	const char *purpose = "verify";
	if (st != MFA_ON) {
		int must = mfa_required(uid);
		if (must < 0) { res_unavailable(r); return 1; }
		if (!must) return 0;
		purpose = "enrol";
	}
	const char *to = safe_next(r, next);
	if (strlen(to) > 400) to = "/";
	struct token t;
	memset(&t, 0, sizeof t);
	snprintf(t.sub, sizeof t.sub, "%ld", uid);
	snprintf(t.role, sizeof t.role, "mfa");
	snprintf(t.kind, sizeof t.kind, "mfa");
	snprintf(t.scope, sizeof t.scope, "%s|%s|%s", purpose, method, to);
	char *jwt = token_issue(cfg.secret, &t, PENDING_TTL);
	if (!jwt) { res_error(r, 500, "token", tr(r, "signin_failed"), NULL); return 1; }
	session_set_cookie(r, "rs_mfa", jwt, PENDING_TTL);
	free(jwt);
	res_header(r, "Cache-Control", "no-store");
	res_redirect(r, !strcmp(purpose, "verify") ? "/login/mfa" : "/login/mfa/enrol");
	return 1;
}

/* 0 ok; -1 no valid pending state (none, expired, used, other purpose, account disabled); -2 database down */
static int pending_read(req *r, struct pending *p, const char *want)
{
	const char *c = req_cookie(r, "rs_mfa");
	struct token t;
	if (!c || token_verify(cfg.secret, c, &t) != 0 || strcmp(t.kind, "mfa")) return -1;
	char *scope = arena_strdup(r->a, t.scope), *bar1 = strchr(scope, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
	if (!bar2) return -1;
	*bar1 = *bar2 = 0;
	if (strcmp(scope, want)) return -1;
	snprintf(p->purpose, sizeof p->purpose, "%s", scope);
	snprintf(p->method, sizeof p->method, "%s", bar1 + 1);
	p->next = bar2 + 1;
	p->uid = strtol(t.sub, NULL, 10);
	snprintf(p->jti, sizeof p->jti, "%s", t.jti);
	p->exp = t.exp;
	char id[24];
	snprintf(id, sizeof id, "%ld", p->uid);
	PGresult *res = DB_EXEC("SELECT COALESCE(email, username, 'user:' || id) FROM users WHERE id = $1::bigint AND NOT disabled "
				"AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2)", id, p->jti);
	if (!res) return -2;
	int ok = PQntuples(res) == 1;
	if (ok) p->ident = arena_strdup(r->a, PQgetvalue(res, 0, 0));
	PQclear(res);
	return ok ? 0 : -1;
}

static void pending_end(req *r, const struct pending *p)
{
	session_revoke(p->jti, p->exp);   /* single use: the same cookie cannot be finished twice */
	session_set_cookie(r, "rs_mfa", "", 0);
}

/* a missing or expired step starts again at the password: a page is sent there, a form post is refused (401) */
static int pending_or_restart(req *r, struct pending *p, const char *want)
{
	int rc = pending_read(r, p, want);
	if (rc == -2) { res_unavailable(r); return -1; }
	if (rc < 0) {
		session_set_cookie(r, "rs_mfa", "", 0);
		if (!strcmp(r->method, "POST")) res_error(r, 401, "mfa_expired", tr(r, "mfa_expired"), NULL);
		else res_redirect(r, "/login?mfa=expired");
		return -1;
	}
	return 0;
}

static const char *actor(req *r, long uid) { return arena_printf(r->a, "user:%ld", uid); }

/* throttled like a password: 0 may try, 1 answered 429, -1 answered 503 */
static int throttled(req *r, const struct pending *p, void (*again)(req *, int, const char *))
{
	long wait = 0;
	int t = login_throttle_check(p->ident, r->client_ip, &wait);
	if (t < 0) { res_unavailable(r); return -1; }
	if (t == 0) return 0;
	again(r, 429, tr(r, "login_locked"));
	res_header(r, "Retry-After", arena_printf(r->a, "%ld", wait));
	return 1;
}

/* ---- the code step ---- */

static void verify_page(req *r, int status, const char *error)
{
	json_object *ctx = json_object_new_object();
	if (error) add_str(ctx, "error", error);
	page(r, status, "mfa/verify", "mfa_verify_title", ctx, 1);
}

void h_login_mfa_form(req *r)
{
	struct pending p;
	if (pending_or_restart(r, &p, "verify") < 0) return;
	verify_page(r, 200, NULL);
}

void h_login_mfa_post(req *r)
{
	struct pending p;
	if (pending_or_restart(r, &p, "verify") < 0) return;
	if (throttled(r, &p, verify_page)) return;
	int recovery = 0, rc = mfa_check(p.uid, req_form(r, "code"), &recovery);
	if (rc < 0) { res_unavailable(r); return; }
	if (rc > 0) {
		/* wrong, replayed or malformed: one answer for all, counted like a wrong password */
		login_throttle_failed(p.ident, r->client_ip);
		mfa_logged(r, p.uid, "mfa_failed");
		audit_record(r, actor(r, p.uid), "mfa.failure", "/login/mfa", NULL, 401, 0);
		verify_page(r, 401, tr(r, "mfa_code_wrong"));
		return;
	}
	login_throttle_succeeded(p.ident, r->client_ip);
	pending_end(r, &p);
	json_object *d = json_object_new_object();
	add_str(d, "factor", recovery ? "recovery_code" : "totp");
	add_str(d, "first_factor", p.method);
	mfa_logged(r, p.uid, "mfa_succeeded");
	audit_record(r, actor(r, p.uid), "mfa.success", "/login/mfa", d, 200, 1);
	json_object_put(d);
	signin_complete(r, p.uid, p.method, p.next);
}

/* ---- enrolment ---- */

/* Who enrols: the signed-in user, or the half-signed-in admin who must. 0 ok (*p filled when pending), -1 answered. */
static int enrol_who(req *r, long *uid, struct pending *p, int *pending)
{
	*pending = !r->user;
	if (r->user) { *uid = r->user->id; return 0; }
	if (pending_or_restart(r, p, "enrol") < 0) return -1;
	*uid = p->uid;
	return 0;
}

static void enrol_page(req *r, int status, long uid, int pending, const char *error)
{
	char b32[64];
	if (mfa_enrol_secret(uid, b32) < 0) {
		if (mfa_state(uid) == MFA_ON) { res_redirect(r, pending ? "/login/mfa" : "/account/mfa"); return; }
		res_unavailable(r);
		return;
	}
	char id[24];
	snprintf(id, sizeof id, "%ld", uid);
	PGresult *res = DB_EXEC("SELECT COALESCE(email, username, 'user-' || id) FROM users WHERE id = $1::bigint", id);
	const char *label = res && PQntuples(res) == 1 ? arena_strdup(r->a, PQgetvalue(res, 0, 0)) : id;
	PQclear(res);
	const char *issuer = settings_value(settings_def("site.name"));
	/* otpauth URI (Key Uri Format): what authenticator apps read from the QR code */
	const char *uri = arena_printf(r->a, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
				       url_encode(r->a, issuer), url_encode(r->a, label), b32, url_encode(r->a, issuer),
				       TOTP_DIGITS, TOTP_STEP);
	/* the secret in groups of four, for typing it into an app by hand */
	char grouped[80];
	size_t k = 0;
	for (size_t i = 0; b32[i] && k < sizeof grouped - 2; i++) {
		if (i && i % 4 == 0) grouped[k++] = ' ';
		grouped[k++] = b32[i];
	}
	grouped[k] = 0;
	json_object *ctx = json_object_new_object();
	char *svg = signin_qr_svg(r->a, uri, tr(r, "mfa_qr_label"));
	if (svg) add_str(ctx, "qr", svg);
	add_str(ctx, "secret", grouped);
	add_str(ctx, "account", label);
	add_str(ctx, "action", pending ? "/login/mfa/enrol" : "/account/mfa/enrol");
	json_object_object_add(ctx, "pending", json_object_new_boolean(pending));
	if (error) add_str(ctx, "error", error);
	page(r, status, "mfa/enrol", "mfa_enrol_title", ctx, pending);
}

void h_mfa_enrol_form(req *r)
{
	long uid;
	struct pending p;
	int pending;
	if (enrol_who(r, &uid, &p, &pending) < 0) return;
	enrol_page(r, 200, uid, pending, NULL);
}

static void enrol_again(req *r, int status, const char *error)
{
	long uid;
	struct pending p;
	int pending;
	if (enrol_who(r, &uid, &p, &pending) < 0) return;
	enrol_page(r, status, uid, pending, error);
}

void h_mfa_enrol_post(req *r)
{
	long uid;
	struct pending p;
	int pending;
	if (enrol_who(r, &uid, &p, &pending) < 0) return;
	if (pending && throttled(r, &p, enrol_again)) return;
	char codes[MFA_RECOVERY_CODES][10];
	int rc = mfa_enrol_confirm(uid, req_form(r, "code"), codes);
	if (rc == 2) {   /* no enrolment started (or it was finished in another tab): the form starts one */
		res_redirect(r, mfa_state(uid) == MFA_ON ? (pending ? "/login/mfa" : "/account/mfa") : pending ? "/login/mfa/enrol" : "/account/mfa/enrol");
		return;
	}
	if (rc < 0) {
		if (mfa_state(uid) == MFA_ON) { res_redirect(r, pending ? "/login/mfa" : "/account/mfa"); return; }
		res_unavailable(r);
		return;
	}
	if (rc > 0) {
		if (pending) login_throttle_failed(p.ident, r->client_ip);
		audit_record(r, actor(r, uid), "mfa.enrol", pending ? "/login/mfa/enrol" : "/account/mfa/enrol", NULL, 401, 0);
		enrol_page(r, 401, uid, pending, tr(r, "mfa_code_wrong"));
		return;
	}
	audit_record(r, actor(r, uid), "mfa.enrol", pending ? "/login/mfa/enrol" : "/account/mfa/enrol", NULL, 200, 1);
	const char *next = "/account/mfa";
	if (pending) {
		/* the admin who had to enrol is now signed in: both factors were just shown */
		login_throttle_succeeded(p.ident, r->client_ip);
		pending_end(r, &p);
		if (signin_session(r, uid, p.method) < 0) return;
		next = safe_next(r, p.next);
	}
	json_object *ctx = json_object_new_object();
	json_object *a = json_object_new_array();
	for (int i = 0; i < MFA_RECOVERY_CODES; i++) json_object_array_add(a, json_object_new_string(codes[i]));
	json_object_object_add(ctx, "codes", a);
	add_str(ctx, "next", next);
	page(r, 200, "mfa/recovery", "mfa_recovery_title", ctx, pending);
}

/* ---- the account's page ---- */

static void account_page(req *r, int status, const char *error)
{
	int st = mfa_state(r->user->id);
	if (st < 0) { res_unavailable(r); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "mfa_on", json_object_new_boolean(st == MFA_ON));
	if (st == MFA_ON) json_object_object_add(ctx, "recovery_left", json_object_new_int(mfa_recovery_left(r->user->id)));
	json_object_object_add(ctx, "required", json_object_new_boolean(mfa_required(r->user->id) == 1));
	json_object_object_add(ctx, "turned_off", json_object_new_boolean(!error && req_query(r, "off") != NULL));
	if (error) add_str(ctx, "error", error);
	page(r, status, "mfa/account", "mfa_account_title", ctx, 0);
}

void h_mfa_account(req *r) { account_page(r, 200, NULL); }

/* Turning the factor off oneself takes a code from the app (or a recovery code), as a sign-in would: a session
 * left open on a shared computer is not enough. An account that must keep it (an admin while the setting
 * requires it) cannot. Wrong codes count against the client like other guesses. */
void h_mfa_disable(req *r)
{
	long uid = r->user->id;
	int must = mfa_required(uid), st = mfa_state(uid);
	if (must < 0 || st < 0) { res_unavailable(r); return; }
	if (must) { account_page(r, 403, tr(r, "mfa_off_required")); return; }
	const char *code = req_form(r, "code");
	if (!code || !*code) { account_page(r, 400, tr(r, "mfa_off_wrong_code")); return; }
	if (st != MFA_ON) { res_redirect(r, "/account/mfa"); return; }   /* already off (a second click) */
	if (signin_throttled(r, "mfa_off", 0)) { account_page(r, 429, tr(r, "signin_too_many")); return; }
	int recovery = 0, rc = mfa_check(uid, code, &recovery);
	if (rc < 0) { res_unavailable(r); return; }
	if (rc > 0) {
		signin_throttled(r, "mfa_off", 1);
		mfa_logged(r, uid, "mfa_failed");
		audit_record(r, NULL, "mfa.failure", r->path, NULL, 401, 0);
		account_page(r, 400, tr(r, "mfa_off_wrong_code"));
		return;
	}
	if (mfa_reset(uid) < 0) { res_unavailable(r); return; }
	mfa_logged(r, uid, "mfa_disabled");
	audit_record(r, NULL, "mfa.disable", actor(r, uid), NULL, 200, 1);
	res_redirect(r, "/account/mfa?off=1");
}

/* ---- the admin reset: the user enrols again at the next sign-in (or may, when not required) ---- */

static int reset_user(req *r, long id)
{
	int rc = mfa_reset(id);
	if (rc < 0) return -1;
	audit_record(r, NULL, "mfa.reset", arena_printf(r->a, "user:%ld", id), NULL, rc ? 200 : 404, rc);
	return rc;
}

/* 1 the account exists, 0 answered 404, -1 answered 503 */
static int user_exists(req *r, long id)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *res = DB_EXEC("SELECT 1 FROM users WHERE id = $1::bigint", ids);
	if (!res) { res_unavailable(r); return -1; }
	int found = PQntuples(res) == 1;
	PQclear(res);
	if (!found) res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
	return found;
}

void h_mfa_admin_reset(req *r)
{
	long id = req_param_id(r, "id");
	if (user_exists(r, id) != 1) return;
	if (reset_user(r, id) < 0) { res_unavailable(r); return; }
	res_redirect(r, arena_printf(r->a, "/admin/users/%ld", id));
}

void h_api_mfa_reset(req *r)
{
	long id = req_param_id(r, "id");
	if (user_exists(r, id) != 1) return;
	int rc = reset_user(r, id);
	if (rc < 0) { res_unavailable(r); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "reset", json_object_new_boolean(rc == 1));
	res_json(r, 200, o);
}

/* ---- the JSON login ---- */

int mfa_api_gate(req *r, long uid)
{
	int st = mfa_state(uid);
	if (st < 0) { res_unavailable(r); return 1; }
	if (st != MFA_ON) {
		int must = mfa_required(uid);
		if (must < 0) { res_unavailable(r); return 1; }
		if (!must) return 0;
		res_error(r, 403, "mfa_enrol_required", tr(r, "mfa_enrol_required"), NULL);
		return 1;
	}
	const char *code = req_form(r, "code");
	if (!code || !*code) { res_error(r, 401, "mfa_required", tr(r, "mfa_required"), NULL); return 1; }
	char id[24];
	snprintf(id, sizeof id, "%ld", uid);
	PGresult *res = DB_EXEC("SELECT COALESCE(email, username, 'user:' || id) FROM users WHERE id = $1::bigint", id);
	if (!res || PQntuples(res) != 1) { PQclear(res); res_unavailable(r); return 1; }
	const char *ident = arena_strdup(r->a, PQgetvalue(res, 0, 0));
	PQclear(res);
	int recovery = 0, rc = mfa_check(uid, code, &recovery);
	if (rc < 0) { res_unavailable(r); return 1; }
	if (rc > 0) {
		login_throttle_failed(ident, r->client_ip);
		mfa_logged(r, uid, "mfa_failed");
		audit_record(r, actor(r, uid), "mfa.failure", "/api/v1/auth/login", NULL, 401, 0);
		res_error(r, 401, "invalid_credentials", tr(r, "login_failed"), NULL);
		return 1;
	}
	login_throttle_succeeded(ident, r->client_ip);
	json_object *d = json_object_new_object();
	add_str(d, "factor", recovery ? "recovery_code" : "totp");
	mfa_logged(r, uid, "mfa_succeeded");
	audit_record(r, actor(r, uid), "mfa.success", "/api/v1/auth/login", d, 200, 1);
	json_object_put(d);
	return 0;
}
