/* E-mailed sign-in links (issue 8): "forgot password" on the login page, an admin's "send the reset link by
 * e-mail", and invitations (invite, resend, revoke, accept). Tokens ride in the link's fragment, so they reach no
 * server log; the database keeps keyed hashes (signin_mail.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "router.h"
#include "session.h"
#include "settings.h"
#include "signin_code.h"
#include "signin_mail.h"
#include "timefmt.h"
#include "users.h"
#include "h_signin.h"

static const char *id_text(req *r, long id) { return arena_printf(r->a, "%ld", id); }
static const char *pub(void) { return cfg.public_url ? cfg.public_url : ""; }
static long forgot_minutes(void) { return config_get_int("password_reset_mail_minutes", 60); }
static long invite_days(void) { return config_get_int("invitation_days", 7); }

/* ---- forgot password (anyone) ---- */

static void forgot_page(req *r, int status, const char *tmpl, const char *error)
{
	json_object *ctx = json_object_new_object();
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	json_object_object_add(ctx, "minutes", json_object_new_int64(forgot_minutes()));
	signin_page(r, status, tmpl, "forgot_title", ctx, 1);
}

void h_forgot_form(req *r)
{
	if (r->user) { res_redirect(r, "/"); return; }
	forgot_page(r, 200, "signin/forgot", NULL);
}

/* One answer whether or not the address is known: the page never tells who has an account. Each address gets
 * at most forgot_per_address_hour links an hour (a stranger cannot flood someone's mailbox), each client a
 * bounded number of tries (signin_throttled). */
static void forgot_send(req *r, const char *email)
{
	PGresult *res = DB_EXEC("SELECT id FROM users WHERE lower(email) = lower($1) AND NOT disabled AND email IS NOT NULL "
				"AND (role = 'admin' OR $2::boolean)", email, settings_signin_enabled("password") ? "true" : "false");
	long uid = res && PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	if (!res) log_error("forgot: %s", db_error());
	PQclear(res);
	if (!uid) return;
	char key[64];
	long ttl;
	snprintf(key, sizeof key, "forgotaddr:%ld", uid);
	int over = cache_incr_window(key, 3600, &ttl) > config_get_int("forgot_per_address_hour", 3);
	char token[65];
	if (!over && signin_reset_create(uid, 0, forgot_minutes(), token) == 0) {
		char *link = arena_printf(r->a, "%s/password/reset#%s", pub(), token);
		if (signin_mail_queue(uid, "reset", link, forgot_minutes(), NULL) == 0)
			audit_record(r, arena_printf(r->a, "user:%ld", uid), "user.reset_mail.self", r->path, NULL, 200, 1);
	}
}

void h_forgot_post(req *r)
{
	if (signin_throttled(r, "forgot", 1)) { forgot_page(r, 429, "signin/forgot", tr(r, "signin_too_many")); return; }
	const char *email = req_form(r, "email");
	if (!email || !users_valid_email(email)) { forgot_page(r, 400, "signin/forgot", tr(r, "forgot_bad_email")); return; }
	forgot_send(r, email);
	forgot_page(r, 200, "signin/forgot_sent", NULL);
}

/* The same for apps: 202 whether or not the address is known. */
void h_api_forgot(req *r)
{
	if (!r->json || !json_object_is_type(r->json, json_type_object)) {
		res_error(r, 400, "bad_request", "send a JSON object {\"email\"}", NULL);
		return;
	}
	if (signin_throttled(r, "forgot", 1)) { res_error(r, 429, "too_many", tr(r, "signin_too_many"), NULL); return; }
	const char *email = req_form(r, "email");
	if (!email || !users_valid_email(email)) { res_error(r, 400, "bad_email", tr(r, "forgot_bad_email"), NULL); return; }
	forgot_send(r, email);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("accepted"));
	json_object_object_add(o, "link_minutes", json_object_new_int64(forgot_minutes()));
	res_json(r, 202, o);
}

/* A reset link's token and a new password, for apps (the link's page posts the form instead). */
void h_api_reset(req *r)
{
	if (!r->json || !json_object_is_type(r->json, json_type_object)) {
		res_error(r, 400, "bad_request", "send a JSON object {\"token\", \"password\"}", NULL);
		return;
	}
	const char *code, *msg;
	int status = signin_reset_apply(r, req_form(r, "token"), req_form(r, "password"), 0, NULL, &code, &msg);
	if (status) { res_error(r, status, code, msg, NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("password_set"));
	res_json(r, 200, o);
}

/* ---- an admin sends the reset link by e-mail ---- */

void h_reset_mail_create(req *r)
{
	long id = req_param_id(r, "id");
	PGresult *res = id ? DB_EXEC("SELECT email, name FROM users WHERE id = $1::bigint AND NOT disabled", id_text(r, id)) : NULL;
	if (!res || PQntuples(res) != 1) { PQclear(res); res_error(r, 404, "not_found", tr(r, "reset_no_user"), NULL); return; }
	json_object *who = db_row_json(res, 0);
	int has_mail = !PQgetisnull(res, 0, 0) && mail_addr_ok(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!has_mail) { json_object_put(who); res_error(r, 400, "no_email", tr(r, "reset_mail_no_address"), NULL); return; }
	if (!mail_configured()) { json_object_put(who); res_error(r, 503, "no_mail", tr(r, "signin_mail_off"), NULL); return; }
	long minutes = config_get_int("password_reset_ttl_hours", 24) * 60;
	char token[65];
	if (db_begin() < 0 || signin_reset_create(id, r->user->id, minutes, token) < 0 ||
	    signin_mail_queue(id, "reset", arena_printf(r->a, "%s/password/reset#%s", pub(), token), minutes, NULL) < 0 ||
	    db_commit() < 0) {
		db_rollback();
		json_object_put(who);
		res_error(r, 500, "db", tr(r, "signin_failed"), NULL);
		return;
	}
	audit_record(r, NULL, "user.reset_mail", arena_printf(r->a, "/admin/users/%ld", id), NULL, 200, 1);
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "who", who);
	json_object_object_add(ctx, "user_id", json_object_new_int64(id));
	json_object_object_add(ctx, "hours", json_object_new_int64(minutes / 60));
	signin_page(r, 200, "signin/reset_mailed", "reset_mailed_title", ctx, 0);
}

/* ---- invitations (admin) ---- */

/* The newest 100 invitations: id, email, name, role, sends, state (pending, accepted, expired, revoked) and the
 * times in UTC (the caller localises them). */
static json_object *invitations_list(void)
{
	PGresult *res = DB_EXEC0(
		"SELECT i.id, u.id AS user_id, u.email, u.name, u.role, i.sends, "
		" CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked' WHEN i.accepted_at IS NOT NULL THEN 'accepted' "
		"  WHEN i.expires_at <= now() THEN 'expired' ELSE 'pending' END AS state, "
		" to_char(i.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS sent_at, "
		" to_char(i.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at, "
		" to_char(i.accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS accepted_at "
		"FROM invitations i JOIN users u ON u.id = i.user_id ORDER BY i.id DESC LIMIT 100");
	if (!res) log_error("invitations: %s", db_error());
	json_object *list = res ? db_rows_json(res) : NULL;
	PQclear(res);
	return list;
}

static const char *const invitation_times[] = {"sent_at", "expires_at", "accepted_at", NULL};

/* After a class was invited (h_invitation_class's redirect): the class by name and each outcome that happened, in
 * words; NULL when the page was not reached that way or the class is gone. */
static json_object *class_result(req *r)
{
	const char *sid = req_query(r, "class");
	if (!sid || !*sid || strlen(sid) > 255) return NULL;
	PGresult *res = DB_EXEC("SELECT title FROM roster_classes WHERE sourced_id = $1", sid);
	json_object *o = NULL;
	if (res && PQntuples(res) == 1) {
		static const char *const outcomes[] = {"invited", "has_password", "open", "disabled", "no_email", "failed", NULL};
		o = json_object_new_object();
		json_object_object_add(o, "title", json_object_new_string(PQgetvalue(res, 0, 0)));
		json_object_object_add(o, "sourced_id", json_object_new_string(sid));
		json_object *lines = json_object_new_array();
		for (int i = 0; outcomes[i]; i++) {
			const char *v = req_query(r, outcomes[i]);
			long k = v ? strtol(v, NULL, 10) : 0;
			if (k <= 0 || k > 1000000) continue;
			json_object *l = json_object_new_object();
			json_object_object_add(l, "label", json_object_new_string(tr(r, arena_printf(r->a, "invite_class_%s", outcomes[i]))));
			json_object_object_add(l, "count", json_object_new_int64(k));
			json_object_object_add(l, "key", json_object_new_string(outcomes[i]));
			if (!strcmp(outcomes[i], "no_email")) json_object_object_add(l, "cards", json_object_new_boolean(1));
			json_object_array_add(lines, l);
		}
		if (!json_object_array_length(lines)) json_object_object_add(o, "nobody", json_object_new_boolean(1));
		json_object_object_add(o, "lines", lines);
	}
	PQclear(res);
	return o;
}

/* error: the message key of what went wrong, or NULL */
static void invitations_page(req *r, int status, const char *error, json_object *form)
{
	json_object *list = invitations_list();
	if (!list) list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i), *v;
		json_object_object_get_ex(o, "state", &v);
		const char *st = json_object_get_string(v);
		json_object_object_add(o, "state_label", json_object_new_string(tr(r, arena_printf(r->a, "invite_state_%s", st))));
		json_object_object_add(o, "open", json_object_new_boolean(!strcmp(st, "pending") || !strcmp(st, "expired")));
		json_object_object_get_ex(o, "role", &v);
		json_object_object_add(o, "role_label", json_object_new_string(tr(r, arena_printf(r->a, "role_%s", json_object_get_string(v)))));
	}
	time_localize(r, list, TIME_LIST, invitation_times);
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "invitations", list);
	json_object_object_add(ctx, "has_invitations", json_object_new_boolean(json_object_array_length(list) > 0));
	json_object_object_add(ctx, "form", form ? form : json_object_new_object());
	json_object_object_add(ctx, "days", json_object_new_int64(invite_days()));
	json_object_object_add(ctx, "mail_off", json_object_new_boolean(!mail_configured()));
	/* without mail the page says so once, above the forms; the same words again as the error would be noise */
	if (error && (mail_configured() || strcmp(error, "signin_mail_off")))
		json_object_object_add(ctx, "error", json_object_new_string(tr(r, error)));
	json_object *done = status == 200 ? class_result(r) : NULL;
	if (done) json_object_object_add(ctx, "class_result", done);
	signin_page(r, status, "signin/invitations", "invite_title", ctx, 0);
}

void h_invitations(req *r) { invitations_page(r, 200, NULL, NULL); }

/* A new token for invitation row `inv` of account uid, e-mailed; the caller holds the transaction. */
static int invite_send(req *r, long inv, long uid)
{
	char token[65], h[65], days[16];
	random_hex(token, 32);
	signin_hash(cfg.secret, "invite", token, h);
	snprintf(days, sizeof days, "%ld", invite_days());
	if (DB_CMD("UPDATE invitations SET token_hash = $2, sent_at = now(), sends = sends + 1, "
		   "expires_at = now() + make_interval(days => $3::int) WHERE id = $1::bigint", id_text(r, inv), h, days) < 0) return -1;
	return signin_mail_queue(uid, "invite", arena_printf(r->a, "%s/invite#%s", pub(), token), invite_days() * 1440, r->user->name);
}

/* Invite by e-mail. A rostered account without a password (same e-mail) is invited as it is, keeping its roster
 * link and role; an unknown address gets a new account with the chosen role; an account that already has a
 * password is refused (a reset link is what that person needs). */
/* What an invitation needs checked before anything is written; the message key, or NULL. */
static const char *invitation_bad_input(const char *email, const char *name, const char *role, const char *lang)
{
	return !email || !users_valid_email(email) ? "users_err_email"
		: !name || !*name || strlen(name) > 200 ? "users_err_name"
		: !users_valid_role(role) ? "users_err_role"
		: !lang || (strcmp(lang, "ja") && strcmp(lang, "en")) ? "invite_err_lang"
		: !mail_configured() ? "signin_mail_off" : NULL;
}

/* Make (or reuse) the account and the invitation, and e-mail the link, in one transaction. NULL on success with
 * *inv, *uid and *fresh set; else the message key (an account with a password, a disabled one, an open invitation,
 * an address users_create refuses, or signin_failed) and nothing is written. */
static const char *invitation_create(req *r, const char *email, const char *name, const char *role, const char *lang,
				     long *inv, long *uid, int *fresh)
{
	*inv = *uid = 0;
	*fresh = 0;
	if (db_begin() < 0) return "signin_failed";
	PGresult *res = DB_EXEC("SELECT id, password_hash IS NOT NULL, disabled FROM users WHERE lower(email) = lower($1) FOR UPDATE", email);
	const char *problem = NULL;
	static char err[120];
	if (!res) problem = "signin_failed";
	else if (PQntuples(res) == 1) {
		*uid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		if (PQgetvalue(res, 0, 1)[0] == 't') problem = "invite_err_has_password";
		else if (PQgetvalue(res, 0, 2)[0] == 't') problem = "invite_err_disabled";
		/* the mail goes out in the language asked for, unless the person chose one already (cards, SSO) */
		else if (DB_CMD("UPDATE users SET lang = COALESCE(lang, $2) WHERE id = $1::bigint", id_text(r, *uid), lang) < 0)
			problem = "signin_failed";
	} else {
		err[0] = 0;
		*uid = users_create(email, name, role, NULL, err, sizeof err);
		*fresh = 1;
		if (*uid < 0) problem = err;
		else if (DB_CMD("UPDATE users SET lang = $2 WHERE id = $1::bigint", id_text(r, *uid), lang) < 0) problem = "signin_failed";
	}
	PQclear(res);
	if (!problem) {
		/* the placeholder hash is replaced by invite_send before the transaction ends */
		char ph[65];
		random_hex(ph, 32);
		PGresult *ir = DB_EXEC("INSERT INTO invitations (user_id, token_hash, new_account, invited_by, expires_at, sends) "
				       "VALUES ($1::bigint, $2, $3::boolean, $4::bigint, now(), 0) ON CONFLICT DO NOTHING RETURNING id",
				       id_text(r, *uid), ph, *fresh ? "true" : "false", id_text(r, r->user->id));
		if (!ir) problem = "signin_failed";
		else if (PQntuples(ir) != 1) problem = "invite_err_open";
		else *inv = strtol(PQgetvalue(ir, 0, 0), NULL, 10);
		PQclear(ir);
	}
	if (!problem && (invite_send(r, *inv, *uid) < 0 || db_commit() < 0)) problem = "signin_failed";
	if (problem) { db_rollback(); return problem; }
	json_object *d = json_object_new_object();
	json_object_object_add(d, "user_id", json_object_new_int64(*uid));
	json_object_object_add(d, "new_account", json_object_new_boolean(*fresh));
	audit_record(r, NULL, "user.invite", arena_printf(r->a, "/admin/invitations/%ld", *inv), d, 200, 1);
	json_object_put(d);
	return NULL;
}

/* Invite by e-mail. A rostered account without a password (same e-mail) is invited as it is, keeping its roster
 * link and role; an unknown address gets a new account with the chosen role; an account that already has a
 * password is refused (a reset link is what that person needs). */
void h_invitation_create(req *r)
{
	const char *email = req_form(r, "email"), *name = req_form(r, "name"), *role = req_form(r, "role"), *lang = req_form(r, "lang");
	json_object *form = json_object_new_object();
	json_object_object_add(form, "email", json_object_new_string(email ? email : ""));
	json_object_object_add(form, "name", json_object_new_string(name ? name : ""));
	json_object_object_add(form, "role", json_object_new_string(role ? role : "viewer"));
	json_object_object_add(form, arena_printf(r->a, "role_is_%s", role && users_valid_role(role) ? role : "viewer"), json_object_new_boolean(1));
	json_object_object_add(form, lang && !strcmp(lang, "en") ? "lang_is_en" : "lang_is_ja", json_object_new_boolean(1));
	const char *problem = invitation_bad_input(email, name, role, lang);
	long inv, uid;
	int fresh;
	if (!problem) problem = invitation_create(r, email, name, role, lang, &inv, &uid, &fresh);
	if (problem) {
		invitations_page(r, !strcmp(problem, "signin_failed") ? 500 : 400, problem, form);
		return;
	}
	json_object_put(form);
	res_redirect(r, "/admin/invitations?sent=1");
}

/* A new link for an open invitation, e-mailed; the old link stops working. 0, or the HTTP status (404 no such open
 * invitation, 503 no mail, 500). */
static int invitation_resend(req *r, long inv)
{
	if (!mail_configured()) return 503;
	if (!inv || db_begin() < 0) return inv ? 500 : 404;
	PGresult *res = DB_EXEC("SELECT user_id FROM invitations WHERE id = $1::bigint AND accepted_at IS NULL AND revoked_at IS NULL "
				"FOR UPDATE", id_text(r, inv));
	long uid = res && PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (!uid) { db_rollback(); return 404; }
	if (invite_send(r, inv, uid) < 0 || db_commit() < 0) { db_rollback(); return 500; }
	audit_record(r, NULL, "user.invite.resend", arena_printf(r->a, "/admin/invitations/%ld", inv), NULL, 200, 1);
	return 0;
}

void h_invitation_resend(req *r)
{
	int status = invitation_resend(r, req_param_id(r, "id"));
	if (status == 503) { invitations_page(r, 503, "signin_mail_off", NULL); return; }
	if (status == 404) { res_error(r, 404, "not_found", tr(r, "invite_not_found"), NULL); return; }
	if (status) { res_error(r, 500, "db", tr(r, "signin_failed"), NULL); return; }
	res_redirect(r, "/admin/invitations?sent=1");
}

/* The link stops working; an account made only for this invitation (still without a password) is disabled.
 * 1 revoked (now or before), 0 no such invitation (or accepted), -1 database error. */
static int invitation_revoke(req *r, long inv)
{
	if (!inv) return 0;
	PGresult *res = DB_EXEC("WITH i AS (UPDATE invitations SET revoked_at = now() WHERE id = $1::bigint "
				" AND accepted_at IS NULL AND revoked_at IS NULL RETURNING user_id, new_account) "
				"UPDATE users u SET disabled = true FROM i WHERE u.id = i.user_id AND i.new_account "
				"AND u.password_hash IS NULL RETURNING u.id", id_text(r, inv));
	if (!res) return -1;
	PQclear(res);
	res = DB_EXEC("SELECT 1 FROM invitations WHERE id = $1::bigint AND revoked_at IS NOT NULL", id_text(r, inv));
	if (!res) return -1;
	int ok = PQntuples(res) == 1;
	PQclear(res);
	if (ok) audit_record(r, NULL, "user.invite.revoke", arena_printf(r->a, "/admin/invitations/%ld", inv), NULL, 200, 1);
	return ok;
}

void h_invitation_revoke(req *r)
{
	if (invitation_revoke(r, req_param_id(r, "id")) != 1) { res_error(r, 404, "not_found", tr(r, "invite_not_found"), NULL); return; }
	res_redirect(r, "/admin/invitations");
}

/* ---- a whole class at once ---- */

/* What inviting a class did: one count per outcome, each member counted once. */
struct class_invites { int invited, has_password, no_email, open, disabled, failed; };

static const char *class_who_sql(const char *who)
{
	return !who || !strcmp(who, "all") ? "e.role IN ('student', 'teacher', 'aide')"
		: !strcmp(who, "students") ? "e.role = 'student'"
		: !strcmp(who, "teachers") ? "e.role IN ('teacher', 'aide')" : NULL;
}

/* Invite every active member of the active class sid who has an account with an e-mail address (who: "students",
 * "teachers" or "all"). Each member is invitation_create's own transaction, so one refusal (a password already set,
 * an open invitation, a disabled account) stops nobody else, and a second run invites only who was added since.
 * The class title in *title. NULL, or the message key: no such class, or signin_failed. */
static const char *invite_class(req *r, const char *sid, const char *who, const char *lang, struct class_invites *n,
				const char **title)
{
	*n = (struct class_invites){0};
	*title = NULL;
	PGresult *cls = DB_EXEC("SELECT title FROM roster_classes WHERE sourced_id = $1 AND status = 'active'", sid);
	if (!cls) return "signin_failed";
	if (PQntuples(cls) != 1) { PQclear(cls); return "invite_class_not_found"; }
	*title = arena_strdup(r->a, PQgetvalue(cls, 0, 0));
	PQclear(cls);
	/* one row a person, whatever roles they hold in the class; the address is the account's own (the roster's copy
	 * may belong to nobody yet, and invitation_create would make a second account for it) */
	char *sql = arena_printf(r->a,
		"SELECT u.email, COALESCE(NULLIF(u.name, ''), u.email) AS name, u.role FROM users u "
		"JOIN roster_users ru ON ru.sourced_id = u.sourced_id AND ru.status = 'active' "
		"WHERE EXISTS (SELECT 1 FROM roster_enrollments e WHERE e.class_sourced_id = $1 AND e.status = 'active' "
		"AND e.user_sourced_id = u.sourced_id AND %s) ORDER BY u.id", class_who_sql(who));
	PGresult *res = db_exec(sql, 1, (const char *[]){sid});
	if (!res) return "signin_failed";
	for (int i = 0; i < PQntuples(res); i++) {
		const char *email = PQgetisnull(res, i, 0) ? NULL : PQgetvalue(res, i, 0);
		if (!email || !users_valid_email(email)) { n->no_email++; continue; }
		long inv, uid;
		int fresh;
		const char *problem = invitation_create(r, email, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), lang, &inv, &uid, &fresh);
		if (!problem) n->invited++;
		else if (!strcmp(problem, "invite_err_has_password")) n->has_password++;
		else if (!strcmp(problem, "invite_err_open")) n->open++;
		else if (!strcmp(problem, "invite_err_disabled")) n->disabled++;
		else n->failed++;
	}
	PQclear(res);
	return NULL;
}

/* What invite_class needs checked first: the message key, or NULL */
static const char *class_invite_bad_input(const char *sid, const char *who, const char *lang)
{
	return !sid || !*sid || strlen(sid) > 255 ? "invite_class_missing"
		: !class_who_sql(who) ? "invite_class_bad_who"
		: !lang || (strcmp(lang, "ja") && strcmp(lang, "en")) ? "invite_err_lang"
		: !mail_configured() ? "signin_mail_off" : NULL;
}

/* POST /admin/invitations/class: the outcome travels in the redirect, so a reload of the page sends nothing twice */
void h_invitation_class(req *r)
{
	const char *sid = req_form(r, "class"), *who = req_form(r, "who"), *lang = req_form(r, "lang");
	if (!who) who = "all";
	const char *problem = class_invite_bad_input(sid, who, lang), *title = NULL;
	struct class_invites n;
	if (!problem) problem = invite_class(r, sid, who, lang, &n, &title);
	if (problem) {
		int status = !strcmp(problem, "signin_failed") ? 500 : !strcmp(problem, "invite_class_not_found") ? 404 : 400;
		invitations_page(r, status, problem, NULL);
		return;
	}
	char *esc = url_encode(r->a, sid);
	res_redirect(r, arena_printf(r->a, "/admin/invitations?class=%s&invited=%d&has_password=%d&no_email=%d&open=%d"
				     "&disabled=%d&failed=%d", esc, n.invited, n.has_password, n.no_email, n.open, n.disabled, n.failed));
}

/* ---- the same for apps (admins): /api/v1/invitations ---- */

/* The API's error code for a message key of invitation_bad_input, invitation_create, class_invite_bad_input and
 * invite_class, and its status. */
static const char *invitation_error_code(const char *key, int *status)
{
	static const struct { const char *key, *code; int status; } map[] = {
		{"users_err_email", "invalid_email", 400}, {"users_err_name", "invalid_name", 400},
		{"users_err_role", "invalid_role", 400}, {"invite_err_lang", "invalid_lang", 400},
		{"signin_mail_off", "mail_off", 503}, {"invite_err_has_password", "has_password", 409},
		{"invite_err_disabled", "account_disabled", 409}, {"invite_err_open", "already_invited", 409},
		{"signin_failed", "db", 500}, {"invite_class_missing", "invalid_class", 400},
		{"invite_class_bad_who", "invalid_who", 400}, {"invite_class_not_found", "not_found", 404},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i].key, key)) { *status = map[i].status; return map[i].code; }
	*status = 400;   /* users_create's own refusals (an address in use by another kind of account, …) */
	return "invalid";
}

void h_api_invitations(req *r)
{
	json_object *list = invitations_list();
	if (!list) { res_unavailable(r); return; }
	time_localize(r, list, TIME_ISO, invitation_times);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "invitations", list);
	res_json(r, 200, o);
}

void h_api_invitation_create(req *r)
{
	if (!r->json || !json_object_is_type(r->json, json_type_object)) {
		res_error(r, 400, "bad_request", "send a JSON object {\"email\", \"name\", \"role\", \"lang\"}", NULL);
		return;
	}
	const char *email = req_form(r, "email"), *name = req_form(r, "name"), *role = req_form(r, "role"), *lang = req_form(r, "lang");
	if (!lang) lang = "ja";
	const char *problem = invitation_bad_input(email, name, role, lang);
	long inv, uid;
	int fresh, status;
	if (!problem) problem = invitation_create(r, email, name, role, lang, &inv, &uid, &fresh);
	if (problem) {
		const char *code = invitation_error_code(problem, &status);
		res_error(r, status, code, tr(r, problem), NULL);
		return;
	}
	json_object *o = json_object_new_object(), *i = json_object_new_object();
	json_object_object_add(i, "id", json_object_new_int64(inv));
	json_object_object_add(i, "user_id", json_object_new_int64(uid));
	json_object_object_add(i, "new_account", json_object_new_boolean(fresh));
	json_object_object_add(i, "state", json_object_new_string("pending"));
	json_object_object_add(i, "days", json_object_new_int64(invite_days()));
	json_object_object_add(o, "invitation", i);
	res_json(r, 201, o);
}

/* POST /api/v1/invitations/class {"class_sourced_id", "who", "lang"}: every member with an address invited, and
 * how many were not (and why) */
void h_api_invitation_class(req *r)
{
	if (!r->json || !json_object_is_type(r->json, json_type_object)) {
		res_error(r, 400, "bad_request", "send a JSON object {\"class_sourced_id\", \"who\", \"lang\"}", NULL);
		return;
	}
	const char *sid = req_form(r, "class_sourced_id"), *who = req_form(r, "who"), *lang = req_form(r, "lang");
	if (!who) who = "all";
	if (!lang) lang = "ja";
	const char *problem = class_invite_bad_input(sid, who, lang), *title = NULL;
	struct class_invites n;
	if (!problem) problem = invite_class(r, sid, who, lang, &n, &title);
	if (problem) {
		int status;
		const char *code = invitation_error_code(problem, &status);
		res_error(r, status, code, tr(r, problem), NULL);
		return;
	}
	json_object *o = json_object_new_object(), *skipped = json_object_new_object();
	json_object_object_add(o, "class_sourced_id", json_object_new_string(sid));
	json_object_object_add(o, "class_title", json_object_new_string(title));
	json_object_object_add(o, "invited", json_object_new_int(n.invited));
	json_object_object_add(skipped, "has_password", json_object_new_int(n.has_password));
	json_object_object_add(skipped, "already_invited", json_object_new_int(n.open));
	json_object_object_add(skipped, "account_disabled", json_object_new_int(n.disabled));
	json_object_object_add(skipped, "no_email", json_object_new_int(n.no_email));
	json_object_object_add(o, "skipped", skipped);
	json_object_object_add(o, "failed", json_object_new_int(n.failed));
	json_object_object_add(o, "days", json_object_new_int64(invite_days()));
	res_json(r, 200, o);
}

void h_api_invitation_resend(req *r)
{
	int status = invitation_resend(r, req_param_id(r, "id"));
	if (status == 503) { res_error(r, 503, "mail_off", tr(r, "signin_mail_off"), NULL); return; }
	if (status == 404) { res_error(r, 404, "not_found", tr(r, "invite_not_found"), NULL); return; }
	if (status) { res_error(r, 500, "db", tr(r, "signin_failed"), NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("sent"));
	res_json(r, 200, o);
}

void h_api_invitation_revoke(req *r)
{
	int rc = invitation_revoke(r, req_param_id(r, "id"));
	if (rc < 0) { res_unavailable(r); return; }
	if (!rc) { res_error(r, 404, "not_found", tr(r, "invite_not_found"), NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("revoked"));
	res_json(r, 200, o);
}

/* ---- accepting an invitation (anyone with the link) ---- */

static void invite_page(req *r, int status, const char *error)
{
	json_object *ctx = json_object_new_object();
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	signin_page(r, status, "signin/invite", "invite_accept_title", ctx, 1);
}

void h_invite_form(req *r) { invite_page(r, 200, NULL); }

void h_invite_post(req *r)
{
	if (signin_throttled(r, "invite", 0)) { invite_page(r, 429, tr(r, "signin_too_many")); return; }
	const char *token = req_form(r, "token"), *pw = req_form(r, "password"), *pw2 = req_form(r, "password2");
	if (!token || strlen(token) != 64) { signin_throttled(r, "invite", 1); invite_page(r, 400, tr(r, "signin_link_unknown")); return; }
	if (!pw || !pw2 || strcmp(pw, pw2)) { invite_page(r, 400, tr(r, "reset_mismatch")); return; }
	char h[65], err[200];
	if (!settings_password_ok(pw, err, sizeof err)) { invite_page(r, 400, tr_n(r, err, settings_password_min())); return; }
	signin_hash(cfg.secret, "invite", token, h);
	/* used up in the transaction that sets the password: a failure leaves the link usable */
	if (db_begin() < 0) { invite_page(r, 500, tr(r, "signin_failed")); return; }
	PGresult *res = DB_EXEC("UPDATE invitations i SET accepted_at = now() FROM users u WHERE i.token_hash = $1 "
				"AND u.id = i.user_id AND NOT u.disabled AND i.accepted_at IS NULL AND i.revoked_at IS NULL "
				"AND i.expires_at > now() RETURNING i.user_id", h);
	long uid = res && PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (!uid) {
		db_rollback();
		const char *why = signin_link_problem("invitations", h);
		if (!strcmp(why, "signin_link_unknown")) signin_throttled(r, "invite", 1);
		invite_page(r, 400, tr(r, why));
		return;
	}
	if (users_set_password(uid, pw, err, sizeof err) < 0 || db_commit() < 0) {
		db_rollback();
		log_error("invitation: %s", err);
		invite_page(r, 500, tr(r, "signin_failed"));
		return;
	}
	audit_record(r, arena_printf(r->a, "user:%ld", uid), "user.invite.accept", "/invite", NULL, 200, 1);
	signin_finish(r, uid, "invite", "/");
}
