/* Sign-in without SSO: printed login cards (one code + QR per pupil, for a class) and one-time password-reset
 * links made by an admin. Codes and tokens are stored only as keyed hashes; guessing is throttled per client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "h_mfa.h"
#include "log.h"
#include "router.h"
#include "session.h"
#include "settings.h"
#include "signin_cards.h"
#include "signin_code.h"
#include "signin_mail.h"
#include "signin_pdf.h"
#include "timefmt.h"
#include "users.h"
#include "h_signin.h"

static const char *id_text(req *r, long id) { return arena_printf(r->a, "%ld", id); }
static int is_admin(req *r) { return r->user && !strcmp(r->user->role, "admin"); }

int signin_session(req *r, long user_id, const char *method)
{
	struct token t;
	char *jwt = session_issue(user_id, "session", &t);
	if (!jwt) { res_error(r, 500, "token", tr(r, "signin_failed"), NULL); return -1; }
	DB_CMD("UPDATE users SET last_login_at = now() WHERE id = $1::bigint", id_text(r, user_id));
	audit_record(r, arena_printf(r->a, "user:%ld", user_id), arena_printf(r->a, "signin.%s", method), "/login", NULL, 200, 1);
	json_object *f = json_object_new_object();
	json_object_object_add(f, "level", json_object_new_string("info"));
	json_object_object_add(f, "method", json_object_new_string(method));   /* code, oidc, reset */
	json_object_object_add(f, "user_id", json_object_new_int64(user_id));
	log_security(r, "login_succeeded", f);
	session_set_cookie(r, "rs_session", jwt, cfg.session_ttl);
	free(jwt);
	return 0;
}

void signin_complete(req *r, long user_id, const char *method, const char *next)
{
	if (signin_session(r, user_id, method) == 0) res_redirect(r, safe_next(r, next));
}

void signin_finish(req *r, long user_id, const char *method, const char *next)
{
	if (mfa_gate(r, user_id, method, next)) return;   /* the second factor first, when the account has or needs one */
	signin_complete(r, user_id, method, next);
}

int signin_throttled(req *r, const char *what, int count_this)
{
	char key[160];
	snprintf(key, sizeof key, "signinfail:%s:%s", what, r->client_ip ? r->client_ip : "-");
	long max = config_get_int("signin_max_guesses", 30);
	int over;
	if (!count_this) {
		redisReply *rr = cache_cmd("GET %s", key);
		long n = rr && rr->type == REDIS_REPLY_STRING ? strtol(rr->str, NULL, 10) : 0;
		if (rr) freeReplyObject(rr);
		over = n >= max;
	} else {
		long ttl;
		over = cache_incr_window(key, (int)config_get_int("signin_guess_window_seconds", 900), &ttl) > max;
	}
	/* every wrong code or reset link, and every refusal for too many, is a security event (never the code) */
	if (count_this || over) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "what", json_object_new_string(what));
		log_security(r, over ? "signin_locked" : "signin_guess_failed", f);
	}
	return over;
}

static void page(req *r, int status, const char *tmpl, const char *title_key, json_object *ctx, int bare)
{
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, title_key)));
	if (bare) json_object_object_add(ctx, "bare", json_object_new_boolean(1));
	json_object *st = json_object_new_array(), *sc = json_object_new_array();
	json_object_array_add(st, json_object_new_string("/static/css/signin.css"));
	json_object_array_add(sc, json_object_new_string("/static/js/signin.js"));
	json_object_object_add(ctx, "styles", st);
	json_object_object_add(ctx, "scripts", sc);
	res_html(r, status, tmpl, ctx);
	json_object_put(ctx);
}

void signin_page(req *r, int status, const char *tmpl, const char *title_key, json_object *ctx, int bare)
{
	page(r, status, tmpl, title_key, ctx, bare);
}

/* ---- signing in with a login card ---- */

static void code_page(req *r, int status, const char *error)
{
	json_object *ctx = json_object_new_object();
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	page(r, status, "signin/code", "signin_code_title", ctx, 1);
}

void h_login_code_form(req *r)
{
	if (r->user) { res_redirect(r, "/"); return; }
	if (!settings_signin_enabled("cards")) { code_page(r, 403, tr(r, "settings_cards_signin_off")); return; }
	code_page(r, 200, NULL);
}

/* Cards printed with "set a password" (older pupils): the first sign-in asks for one, then the card is used up. */
static void code_password_page(req *r, int status, const char *code, const char *error)
{
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "code", json_object_new_string(code));
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	page(r, status, "signin/code_password", "signin_set_password_title", ctx, 1);
}

static void code_with_password(req *r, const char *code, const char *card_id, long uid)
{
	const char *pw = req_form(r, "password"), *pw2 = req_form(r, "password2");
	char err[200] = "";
	if (!pw) { code_password_page(r, 200, code, NULL); return; }
	if (!pw2 || strcmp(pw, pw2)) { code_password_page(r, 400, code, tr(r, "reset_mismatch")); return; }
	if (!settings_password_ok(pw, err, sizeof err)) { code_password_page(r, 400, code, tr_n(r, err, settings_password_min())); return; }
	if (db_begin() < 0) { code_page(r, 500, tr(r, "signin_failed")); return; }
	PGresult *res = DB_EXEC("UPDATE login_codes SET revoked_at = now(), first_used_at = COALESCE(first_used_at, now()) "
				"WHERE id = $1::bigint AND revoked_at IS NULL RETURNING id", card_id);
	int ok = res && PQntuples(res) == 1;
	PQclear(res);
	if (!ok || users_set_password(uid, pw, err, sizeof err) < 0 || db_commit() < 0) {
		db_rollback();
		if (*err) log_error("card password: %s", err);
		code_page(r, ok ? 500 : 401, tr(r, ok ? "signin_failed" : "signin_code_wrong"));
		return;
	}
	signin_finish(r, uid, "code", "/");
}

void h_login_code_post(req *r)
{
	if (!settings_signin_enabled("cards")) { code_page(r, 403, tr(r, "settings_cards_signin_off")); return; }
	if (signin_throttled(r, "code", 0)) { code_page(r, 429, tr(r, "signin_too_many")); return; }
	char code[9], h[65];
	if (signin_code_normalize(req_form(r, "code"), code) < 0) {
		signin_throttled(r, "code", 1);
		code_page(r, 400, tr(r, "signin_code_malformed"));
		return;
	}
	signin_hash(cfg.secret, "logincode", code, h);
	PGresult *res = DB_EXEC("SELECT lc.id, lc.user_id, lc.set_password FROM login_codes lc JOIN users u ON u.id = lc.user_id "
				"WHERE lc.code_hash = $1 AND lc.revoked_at IS NULL AND lc.expires_at > now() AND NOT u.disabled", h);
	if (!res) { code_page(r, 500, tr(r, "signin_failed")); return; }
	int found = PQntuples(res) == 1;
	char card_id[24] = "";
	long uid = found ? strtol(PQgetvalue(res, 0, 1), NULL, 10) : 0;
	int set_password = found && PQgetvalue(res, 0, 2)[0] == 't';
	if (found) snprintf(card_id, sizeof card_id, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!found) {
		int over = signin_throttled(r, "code", 1);
		audit_record(r, "anonymous", "signin.code", "/login/code", NULL, 401, 0);
		code_page(r, over ? 429 : 401, tr(r, over ? "signin_too_many" : "signin_code_wrong"));
		return;
	}
	if (set_password) { code_with_password(r, code, card_id, uid); return; }
	DB_CMD("UPDATE login_codes SET first_used_at = COALESCE(first_used_at, now()) WHERE id = $1::bigint", card_id);
	signin_finish(r, uid, "code", "/");
}

/* ---- login cards for a class ---- */

/* The class (title, school) if this user may print its cards: admins any class, teachers the classes they teach. */
static json_object *card_class(req *r, const char *sid)
{
	if (!sid || strlen(sid) > 255) return NULL;
	PGresult *res = DB_EXEC("SELECT c.sourced_id, c.title, COALESCE(o.name, '') AS school FROM roster_classes c "
				"LEFT JOIN roster_orgs o ON o.sourced_id = c.school_sourced_id "
				"WHERE c.sourced_id = $1 AND c.status = 'active' AND ($2 = 'admin' OR EXISTS ("
				" SELECT 1 FROM roster_enrollments e JOIN users me ON me.sourced_id = e.user_sourced_id "
				" WHERE me.id = $3::bigint AND e.class_sourced_id = c.sourced_id AND e.status = 'active' "
				" AND e.role IN ('teacher', 'aide')))", sid, r->user->role, id_text(r, r->user->id));
	json_object *c = res && PQntuples(res) == 1 ? db_row_json(res, 0) : NULL;
	if (!res) log_error("cards class: %s", db_error());
	PQclear(res);
	return c;
}

/* Pupils of the class with an account: kanji and kana names from the roster, and their live code if any. */
static json_object *card_pupils(const char *sid)
{
	PGresult *res = DB_EXEC(
		"SELECT u.id, u.username, btrim(ru.family_name || ' ' || ru.given_name) AS name, "
		" btrim(COALESCE(ru.metadata->>'jp.kanaFamilyName', '') || ' ' || COALESCE(ru.metadata->>'jp.kanaGivenName', '')) AS kana, "
		" (SELECT to_char(max(lc.expires_at) AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD') FROM login_codes lc "
		"  WHERE lc.user_id = u.id AND lc.revoked_at IS NULL AND lc.expires_at > now()) AS code_expires "
		"FROM roster_enrollments e JOIN roster_users ru ON ru.sourced_id = e.user_sourced_id AND ru.status = 'active' "
		"JOIN users u ON u.sourced_id = ru.sourced_id AND NOT u.disabled "
		"WHERE e.class_sourced_id = $1 AND e.status = 'active' AND e.role = 'student' "
		"ORDER BY COALESCE(ru.metadata->>'jp.kanaFamilyName', ru.family_name), COALESCE(ru.metadata->>'jp.kanaGivenName', ru.given_name), u.id",
		sid);
	if (!res) { log_error("cards pupils: %s", db_error()); return NULL; }
	json_object *a = db_rows_json(res);
	PQclear(res);
	return a;
}

void h_cards_classes(req *r)
{
	const char *q = req_query(r, "q");
	if (q && strlen(q) > 100) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	PGresult *res = DB_EXEC(
		"SELECT c.sourced_id, c.title, COALESCE(o.name, '') AS school, "
		" (SELECT count(*) FROM roster_enrollments p WHERE p.class_sourced_id = c.sourced_id AND p.status = 'active' "
		"  AND p.role = 'student') AS pupils "
		"FROM roster_classes c LEFT JOIN roster_orgs o ON o.sourced_id = c.school_sourced_id "
		"WHERE c.status = 'active' AND ($3::text IS NULL OR strpos(lower(c.title || ' ' || COALESCE(o.name, '')), lower($3)) > 0) "
		"AND ($1 = 'admin' OR EXISTS (SELECT 1 FROM roster_enrollments e JOIN users me ON me.sourced_id = e.user_sourced_id "
		" WHERE me.id = $2::bigint AND e.class_sourced_id = c.sourced_id AND e.status = 'active' AND e.role IN ('teacher', 'aide'))) "
		"ORDER BY o.name, c.title LIMIT 100", r->user->role, id_text(r, r->user->id), q && *q ? q : NULL);
	if (!res) { log_error("cards classes: %s", db_error()); res_error(r, 500, "db", tr(r, "signin_failed"), NULL); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "classes", db_rows_json(res));
	PQclear(res);
	json_object_object_add(ctx, "q", json_object_new_string(q ? q : ""));
	json_object_object_add(ctx, "is_admin", json_object_new_boolean(is_admin(r)));
	page(r, 200, "signin/cards_classes", "cards_title", ctx, 0);
}

void h_cards_class(req *r)
{
	const char *sid = req_param(r, "class");
	json_object *c = card_class(r, sid);
	if (!c) { res_error(r, 404, "not_found", tr(r, "cards_class_not_found"), NULL); return; }
	json_object *pupils = card_pupils(sid);
	if (!pupils) { json_object_put(c); res_error(r, 500, "db", tr(r, "signin_failed"), NULL); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "class", c);
	json_object_object_add(ctx, "pupils", pupils);
	json_object_object_add(ctx, "has_pupils", json_object_new_boolean(json_object_array_length(pupils) > 0));
	page(r, 200, "signin/cards_class", "cards_title", ctx, 0);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : "";
}

/* The font the cards embed (setting pdf_font, IPA Gothic by default), mapped once per worker; NULL when it is not a
 * usable TrueType file: the cards then name the standard font, which viewers substitute */
static const struct ttf_font *cards_font(void)
{
	static struct ttf_font f;
	static int tried;
	if (!tried) {
		tried = 1;
		const char *path = config_get("pdf_font", "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf");
		if (ttf_load(&f, path) < 0)
			log_warn("login cards: %s is not a usable TrueType font; the PDF names the standard font instead", path);
	}
	return f.data ? &f : NULL;
}

/* The issued cards as an A4 PDF (signin_pdf.c) instead of the print page; never cached, the codes are in it */
static void cards_pdf(req *r, json_object *cls, json_object *cards, long days)
{
	int n = (int)json_object_array_length(cards);
	struct signin_pdf_card *pc = arena_alloc(r->a, sizeof *pc * (size_t)(n ? n : 1));
	for (int i = 0; i < n; i++) {
		json_object *k = json_object_array_get_idx(cards, i);
		pc[i] = (struct signin_pdf_card){jstr(k, "name"), jstr(k, "kana"), jstr(k, "code"), jstr(k, "qr_url")};
	}
	const char *school = jstr(cls, "school");
	struct signin_pdf_labels l = {
		arena_printf(r->a, "%s%s%s", school, *school ? " " : "", jstr(cls, "title")), tr(r, "cards_code"),
		arena_printf(r->a, "%s/login/code", cfg.public_url ? cfg.public_url : ""),
		arena_printf(r->a, "%s %s", tr(r, "cards_valid_until"),
			     time_format(r->a, time(NULL) + days * 86400, time_zone_of(r), r->lang, TIME_DATE))};
	buf b = {0};
	if (signin_cards_pdf(&b, &l, pc, n, cards_font()) < 0) {
		buf_free(&b);
		res_error(r, 500, "pdf", tr(r, "signin_failed"), NULL);
		return;
	}
	res_header(r, "Cache-Control", "no-store");
	res_header(r, "Content-Disposition", "attachment; filename=\"login-cards.pdf\"");
	res_body(r, 200, "application/pdf", b.p, b.len);
	buf_free(&b);
}

/* Issue (or reissue: the old codes stop working) one code per selected pupil and show the printable sheet. The codes
 * exist in clear only in this response. */
void h_cards_issue(req *r)
{
	const char *sid = req_param(r, "class");
	json_object *c = card_class(r, sid);
	if (!c) { res_error(r, 404, "not_found", tr(r, "cards_class_not_found"), NULL); return; }
	long days = strtol(req_form(r, "days") ? req_form(r, "days") : "30", NULL, 10);
	if (days < 1 || days > 366) { json_object_put(c); res_error(r, 400, "bad_days", tr(r, "cards_bad_days"), NULL); return; }
	json_object *all = card_pupils(sid);
	if (!all) { json_object_put(c); res_error(r, 500, "db", tr(r, "signin_failed"), NULL); return; }
	int set_password = req_form(r, "set_password") != NULL;
	/* the selection may only name pupils of this class; none selected means the whole class */
	int any = 0;
	for (int i = 0; i < r->nform; i++) if (!strcmp(r->form[i].k, "pupil")) any = 1;
	json_object *cards = json_object_new_array();
	const char *base = cfg.public_url ? cfg.public_url : "";
	int failed = db_begin() < 0;
	for (size_t i = 0; !failed && i < json_object_array_length(all); i++) {
		json_object *p = json_object_array_get_idx(all, i), *idv;
		json_object_object_get_ex(p, "id", &idv);
		const char *uid = json_object_get_string(idv);
		int chosen = !any;
		for (int k = 0; any && k < r->nform; k++)
			if (!strcmp(r->form[k].k, "pupil") && !strcmp(r->form[k].v, uid)) chosen = 1;
		if (!chosen) continue;
		char code[10], canon[9];
		if (signin_card_issue(strtol(uid, NULL, 10), sid, r->user->id, (int)days, set_password, code) < 0 ||
		    signin_code_normalize(code, canon) < 0) { failed = 1; break; }
		json_object *card = json_object_new_object();
		json_object_object_add(card, "name", json_object_get(json_object_object_get(p, "name")));
		json_object_object_add(card, "kana", json_object_get(json_object_object_get(p, "kana")));
		json_object_object_add(card, "code", json_object_new_string(code));
		json_object_object_add(card, "username", json_object_get(json_object_object_get(p, "username")));
		/* the code rides in the fragment: browsers do not send it, so it reaches no server log */
		char *url = arena_printf(r->a, "%s/login/code#%s", base, canon);
		json_object_object_add(card, "qr", json_object_new_string(signin_qr_svg(r->a, url, tr(r, "cards_qr_label"))));
		json_object_object_add(card, "qr_url", json_object_new_string(url));
		json_object_array_add(cards, card);
	}
	if (failed || db_commit() < 0) {
		if (failed) db_rollback();
		log_error("cards issue: %s", db_error());
		json_object_put(c); json_object_put(all); json_object_put(cards);
		res_error(r, 500, "db", tr(r, "signin_failed"), NULL);
		return;
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "class", json_object_new_string(sid));
	json_object_object_add(d, "days", json_object_new_int64(days));
	audit_record(r, NULL, "signin.cards.issue", arena_printf(r->a, "/cards/%s", sid), d, 200, (long)json_object_array_length(cards));
	json_object_put(d);
	json_object_put(all);
	const char *format = req_form(r, "format");
	if (format && !strcmp(format, "pdf")) {
		cards_pdf(r, c, cards, days);
		json_object_put(c);
		json_object_put(cards);
		return;
	}
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "class", c);
	json_object_object_add(ctx, "cards", cards);
	json_object_object_add(ctx, "sign_in_url", json_object_new_string(arena_printf(r->a, "%s/login/code", base)));
	json_object_object_add(ctx, "expires_days", json_object_new_int64(days));
	json_object_object_add(ctx, "set_password", json_object_new_boolean(set_password));
	json_object_object_add(ctx, "print", json_object_new_boolean(1));
	page(r, 200, "signin/cards_print", "cards_print_title", ctx, 1);
}

/* ---- password reset links ---- */

static long reset_ttl_hours(void) { return config_get_int("password_reset_ttl_hours", 24); }

/* POST /admin/users/:id/reset-link: a one-time link the admin hands over (or e-mails: h_signin_mail.c). Earlier
 * links die. */
void h_reset_link_create(req *r)
{
	long id = req_param_id(r, "id");
	PGresult *res = id ? DB_EXEC("SELECT email, name FROM users WHERE id = $1::bigint AND NOT disabled", id_text(r, id)) : NULL;
	if (!res || PQntuples(res) != 1) { PQclear(res); res_error(r, 404, "not_found", tr(r, "reset_no_user"), NULL); return; }
	json_object *who = db_row_json(res, 0);
	PQclear(res);
	char token[65];
	if (signin_reset_create(id, r->user->id, reset_ttl_hours() * 60, token) < 0) {
		json_object_put(who);
		res_error(r, 500, "db", tr(r, "signin_failed"), NULL);
		return;
	}
	audit_record(r, NULL, "user.reset_link", arena_printf(r->a, "/admin/users/%ld", id), NULL, 200, 1);
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "who", who);
	json_object_object_add(ctx, "user_id", json_object_new_int64(id));
	json_object_object_add(ctx, "link", json_object_new_string(arena_printf(r->a, "%s/password/reset#%s",
										  cfg.public_url ? cfg.public_url : "", token)));
	json_object_object_add(ctx, "hours", json_object_new_int64(reset_ttl_hours()));
	page(r, 200, "signin/reset_link", "reset_link_title", ctx, 0);
}

static void reset_page(req *r, int status, const char *error)
{
	json_object *ctx = json_object_new_object();
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	page(r, status, "signin/reset", "reset_title", ctx, 1);
}

void h_reset_form(req *r) { reset_page(r, 200, NULL); }

int signin_reset_apply(req *r, const char *token, const char *pw, int confirm, const char *pw2, const char **code,
		       const char **msg)
{
	*code = "bad_request";
	if (signin_throttled(r, "reset", 0)) { *code = "too_many"; *msg = tr(r, "signin_too_many"); return 429; }
	if (!token || strlen(token) != 64) {
		signin_throttled(r, "reset", 1);
		*code = "bad_link";
		*msg = tr(r, "reset_bad_link");
		return 400;
	}
	if (confirm && (!pw || !pw2 || strcmp(pw, pw2))) { *code = "mismatch"; *msg = tr(r, "reset_mismatch"); return 400; }
	char h[65], err[200];
	if (!settings_password_ok(pw, err, sizeof err)) {
		*code = "weak_password";
		*msg = tr_n(r, err, settings_password_min());
		return 400;
	}
	signin_hash(cfg.secret, "reset", token, h);
	*code = "failed";
	*msg = tr(r, "signin_failed");
	/* used up in the same transaction that sets the password: a failure leaves the link usable */
	if (db_begin() < 0) return 500;
	PGresult *res = DB_EXEC("UPDATE password_resets SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL "
				"AND expires_at > now() RETURNING user_id", h);
	long uid = res && PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (!uid) {
		db_rollback();
		/* say why (used, expired): an unknown token counts as a guess */
		const char *why = signin_link_problem("password_resets", h);
		if (!strcmp(why, "signin_link_unknown")) signin_throttled(r, "reset", 1);
		*code = "bad_link";
		*msg = tr(r, why);
		return 400;
	}
	if (users_set_password(uid, pw, err, sizeof err) < 0 || db_commit() < 0) {
		db_rollback();
		log_error("password reset: %s", err);
		return 500;
	}
	audit_record(r, arena_printf(r->a, "user:%ld", uid), "user.password_reset", r->path, NULL, 200, 1);
	/* users_set_password bumped the token generation: every older session and token of the account is over;
	 * the epoch drops what this host's workers cached in the last second */
	session_invalidate_all();
	return 0;
}

void h_reset_post(req *r)
{
	const char *code, *msg;
	int status = signin_reset_apply(r, req_form(r, "token"), req_form(r, "password"), 1, req_form(r, "password2"),
					&code, &msg);
	if (status) { reset_page(r, status, msg); return; }
	res_redirect(r, "/login?reset=1");
}
