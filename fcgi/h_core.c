/* Core pages and endpoints: health, readiness, metrics, login/logout, language, /api/v1/me, dashboard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cache.h"
#include "chart.h"
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "ops_metrics.h"
#include "router.h"
#include "session.h"
#include "settings.h"
#include "h_mfa.h"
#include "h_signin.h"
#include "log.h"
#include "timefmt.h"

void job_labels(req *r, json_object *job);   /* h_jobs.c */

void h_healthz(req *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ok"));
	res_json(r, 200, o);
}

void h_readyz(req *r)
{
	PGresult *res = DB_EXEC0("SELECT 1");
	int db_ok = res != NULL;
	PQclear(res);
	static const char *sql_dir;   /* config_path allocates: once per worker, not per probe */
	if (!sql_dir) sql_dir = config_path("sql");
	int pending = db_ok ? db_migrations_pending(sql_dir) : -1;
	int redis_ok = cache_ok();
	int ready = db_ok && redis_ok && pending == 0;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(ready ? "ready" : "not_ready"));
	json_object_object_add(o, "database", json_object_new_boolean(db_ok));
	json_object_object_add(o, "redis", json_object_new_boolean(redis_ok));
	json_object_object_add(o, "migrations_pending", json_object_new_int(pending));
	res_json(r, ready ? 200 : 503, o);
}

void h_metrics(req *r)
{
	buf b = {0};
	metrics_render(&b);
	/* queue depth straight from the database: jobs live there, not in any one process */
	PGresult *res = DB_EXEC0("SELECT kind, state, count(*) FROM jobs GROUP BY 1, 2 ORDER BY 1, 2");
	if (res) {
		buf_puts(&b, "# TYPE rstream_jobs gauge\n");
		for (int i = 0; i < PQntuples(res); i++)
			buf_printf(&b, "rstream_jobs{kind=\"%s\",state=\"%s\"} %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				   PQgetvalue(res, i, 2));
		PQclear(res);
	}
	ops_metrics_render(&b);
	res_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "", b.len);
	buf_free(&b);
}

const char *safe_next(req *r, const char *next)
{
	/* only local absolute paths: no scheme, no //host, no backslash tricks; no control characters either,
	 * since browsers drop tabs and newlines from a URL ("/\t/evil.example" is "//evil.example") */
	if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\') return "/";
	for (const unsigned char *p = (const unsigned char *)next; *p; p++)
		if (*p < 0x20 || *p == 0x7f) return "/";
	return arena_strdup(r->a, next);
}

static void login_page(req *r, int status, const char *error, const char *email)
{
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "login_title")));
	if (error) json_object_object_add(ctx, "error", json_object_new_string(error));
	json_object_object_add(ctx, "email", json_object_new_string(email ? email : ""));
	json_object_object_add(ctx, "next", json_object_new_string(safe_next(r, req_query(r, "next") ? req_query(r, "next") : req_form(r, "next"))));
	json_object_object_add(ctx, "bare", json_object_new_boolean(1));
	json_object *sso = settings_signin_enabled("oidc") ? oidc_login_buttons() : json_object_new_array();
	json_object_object_add(ctx, "has_sso", json_object_new_boolean(json_object_array_length(sso) > 0));
	json_object_object_add(ctx, "sso", sso);
	json_object_object_add(ctx, "cards_on", json_object_new_boolean(settings_signin_enabled("cards")));
	json_object_object_add(ctx, "password_admins_only", json_object_new_boolean(!settings_signin_enabled("password")));
	if (req_query(r, "reset")) json_object_object_add(ctx, "notice", json_object_new_string(tr(r, "reset_done")));
	else if (req_query(r, "mfa")) json_object_object_add(ctx, "notice", json_object_new_string(tr(r, "mfa_expired")));
	res_html(r, status, "login", ctx);
	json_object_put(ctx);
}

void h_login_form(req *r)
{
	if (r->user) { res_redirect(r, "/"); return; }
	login_page(r, 200, NULL, NULL);
}

/* Password sign-in switched off on the settings page still lets admins in: the board cannot lock itself out of
 * the page that switches it back on. */
static int password_signin_allowed(long id)
{
	if (settings_signin_enabled("password")) return 1;
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *res = DB_EXEC("SELECT 1 FROM users WHERE id = $1::bigint AND role = 'admin'", ids);
	int ok = res && PQntuples(res) == 1;
	if (res) PQclear(res);
	return ok;
}

/* One security line per password sign-in outcome: the account asked for, never the password. An unreachable
 * database (-4) decided nothing and logs nothing here. */
static void login_logged(req *r, int rc, const char *email, long id, int switched_off)
{
	if (rc == -4) return;
	json_object *f = json_object_new_object();
	json_object_object_add(f, "account", json_object_new_string_len(email, (int)strnlen(email, 254)));
	const char *event = rc == -2 ? "login_locked" : rc < 0 ? "login_failed" : switched_off ? "login_refused" : "login_succeeded";
	if (rc == 0) {
		json_object_object_add(f, "user_id", json_object_new_int64(id));
		if (!switched_off) json_object_object_add(f, "level", json_object_new_string("info"));
	}
	log_security(r, event, f);
}

void h_login_post(req *r)
{
	const char *email = req_form(r, "email"), *pw = req_form(r, "password");
	if (!email || !pw || !*email || !*pw) { login_page(r, 400, tr(r, "login_missing"), email); return; }
	long id, wait;
	int rc = session_check_password(email, pw, r->client_ip, &id, &wait);
	int off = rc == 0 && !password_signin_allowed(id);
	login_logged(r, rc, email, id, off);
	if (rc == -4) { res_unavailable(r); return; }
	if (rc == -2) {
		login_page(r, 429, tr(r, "login_locked"), email);
		res_header(r, "Retry-After", arena_printf(r->a, "%ld", wait));
		return;
	}
	if (rc < 0) { login_page(r, 401, tr(r, "login_failed"), email); return; }
	if (off) { login_page(r, 403, tr(r, "settings_password_signin_off"), email); return; }
	if (mfa_gate(r, id, "password", req_form(r, "next"))) return;   /* TOTP step (h_mfa.c) */
	struct token t;
	char *jwt = session_issue(id, "session", &t);
	if (!jwt) { res_unavailable(r); return; }
	session_set_cookie(r, "rs_session", jwt, cfg.session_ttl);
	free(jwt);
	res_header(r, "Cache-Control", "no-store");
	res_redirect(r, safe_next(r, req_form(r, "next")));
}

void h_logout(req *r)
{
	session_revoke(r->user->jti, r->user->exp);
	session_set_cookie(r, "rs_session", "", 0);
	const char *provider = oidc_logout_url(r);   /* signed in through school SSO: log out there too */
	res_redirect(r, provider ? provider : "/login");
}

void h_lang(req *r)
{
	const char *l = req_form(r, "lang");
	if (!l || (strcmp(l, "ja") && strcmp(l, "en"))) { res_error(r, 400, "bad_lang", "lang must be ja or en", NULL); return; }
	session_set_cookie(r, "rs_lang", l, 365L * 86400);
	if (r->user) {
		char ids[24];
		snprintf(ids, sizeof ids, "%ld", r->user->id);
		DB_CMD("UPDATE users SET lang = $2 WHERE id = $1::bigint", ids, l);
	}
	res_redirect(r, safe_next(r, req_form(r, "next")));
}

static json_object *user_json(const struct user *u)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "role", json_object_new_string(u->role));
	json_object_object_add(o, "lang", u->lang ? json_object_new_string(u->lang) : NULL);
	json_object_object_add(o, "sourcedId", u->sourced_id ? json_object_new_string(u->sourced_id) : NULL);
	return o;
}

void h_api_login(req *r)
{
	if (!r->json || !json_object_is_type(r->json, json_type_object)) {
		res_error(r, 400, "bad_request", "send a JSON object {\"email\", \"password\"}", NULL);
		return;
	}
	const char *email = req_form(r, "email"), *pw = req_form(r, "password");
	if (!email || !pw) { res_error(r, 400, "missing_fields", "email and password are required", NULL); return; }
	long id, wait;
	int rc = session_check_password(email, pw, r->client_ip, &id, &wait);
	int off = rc == 0 && !password_signin_allowed(id);
	login_logged(r, rc, email, id, off);
	if (rc == -4) { res_unavailable(r); return; }
	if (rc == -2) {
		res_error(r, 429, "locked", tr(r, "login_locked"), NULL);
		res_header(r, "Retry-After", arena_printf(r->a, "%ld", wait));
		return;
	}
	if (rc < 0) { res_error(r, 401, "invalid_credentials", tr(r, "login_failed"), NULL); return; }
	if (off) { res_error(r, 403, "password_signin_off", tr(r, "settings_password_signin_off"), NULL); return; }
	if (mfa_api_gate(r, id)) return;   /* accounts with TOTP send "code" too (h_mfa.c) */
	struct token t;
	char *jwt = session_issue(id, "api", &t);
	if (!jwt) { res_unavailable(r); return; }
	struct user *u = session_user_by_id(r->a, id);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(jwt));
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int(cfg.session_ttl));
	if (u) json_object_object_add(o, "user", user_json(u));
	free(jwt);
	res_json(r, 200, o);
	/* a bearer token in the body: no cache (browser, proxy) may keep a copy */
	res_header(r, "Cache-Control", "no-store");
	res_header(r, "Pragma", "no-cache");
}

void h_api_logout(req *r)
{
	session_revoke(r->user->jti, r->user->exp);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "revoked", json_object_new_boolean(1));
	res_json(r, 200, o);
}

void h_api_me(req *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "user", user_json(r->user));
	res_json(r, 200, o);
}

/* Counts for the dashboard and the cached summary endpoint; area tables may not exist yet, so each is optional. */
static json_object *summary_counts(void)
{
	static const struct { const char *key, *sql; } q[] = {
		{"users", "SELECT count(*) FROM users"},
		{"admins", "SELECT count(*) FROM users WHERE role = 'admin'"},
		{"creators", "SELECT count(*) FROM users WHERE role = 'creator'"},
		{"viewers", "SELECT count(*) FROM users WHERE role = 'viewer'"},
		{"jobs_queued", "SELECT count(*) FROM jobs WHERE state = 'queued'"},
		{"jobs_running", "SELECT count(*) FROM jobs WHERE state = 'running'"},
		{"jobs_failed", "SELECT count(*) FROM jobs WHERE state = 'failed'"},
		{"videos", "SELECT count(*) FROM videos WHERE to_regclass('videos') IS NOT NULL"},
		{"orgs", "SELECT count(*) FROM roster_orgs WHERE status = 'active'"},
		{"classes", "SELECT count(*) FROM roster_classes WHERE status = 'active'"},
	};
	json_object *o = json_object_new_object();
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		PGresult *res = DB_EXEC0(q[i].sql);
		if (res) json_object_object_add(o, q[i].key, json_object_new_int64(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
		PQclear(res);
	}
	return o;
}

void h_stats_summary(req *r)
{
	/* Dashboards poll this: each worker keeps the answer for a few seconds in its own memory, which costs
	 * no round trip at all (a Redis copy would cost one per request and buy nothing for data this coarse). */
	static char *cached;
	static size_t cached_len;
	static time_t cached_at;
	time_t now = time(NULL);
	if (cached && now - cached_at < 5) {
		res_header(r, "X-Cache", "hit");
		res_body(r, 200, "application/json; charset=utf-8", cached, cached_len);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "summary", summary_counts());
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	free(cached);
	cached = strdup(s);
	cached_len = strlen(s);
	cached_at = now;
	res_header(r, "X-Cache", "miss");
	res_json(r, 200, o);
}

/* Two small charts: accounts by role, and jobs finished per day over the last two weeks. */
static json_object *dashboard_charts(req *r)
{
	json_object *charts = json_object_new_array();
	PGresult *res = DB_EXEC0("SELECT role, count(*) FROM users GROUP BY role ORDER BY CASE role WHEN 'admin' THEN 0 "
				 "WHEN 'creator' THEN 1 WHEN 'viewer' THEN 2 ELSE 3 END");
	if (res) {
		int n = PQntuples(res);
		const char *labels[8];
		long values[8];
		for (int i = 0; i < n && i < 8; i++) {
			labels[i] = tr(r, arena_printf(r->a, "role_%s", PQgetvalue(res, i, 0)));
			values[i] = strtol(PQgetvalue(res, i, 1), NULL, 10);
		}
		json_object *c = chart_bars(labels, values, n < 8 ? n : 8, 360, 160);
		json_object_object_add(c, "title", json_object_new_string(tr(r, "dashboard_chart_roles")));
		json_object_array_add(charts, c);
		PQclear(res);
	}
	res = DB_EXEC0("SELECT to_char(d, 'MM/DD'), count(j.id) FROM generate_series(current_date - 13, current_date, '1 day') d "
		       "LEFT JOIN jobs j ON j.finished_at >= d AND j.finished_at < d + interval '1 day' GROUP BY d ORDER BY d");
	if (res) {
		const char *labels[14];
		long values[14];
		int n = PQntuples(res) < 14 ? PQntuples(res) : 14;
		for (int i = 0; i < n; i++) {
			labels[i] = arena_strdup(r->a, PQgetvalue(res, i, 0));
			values[i] = strtol(PQgetvalue(res, i, 1), NULL, 10);
		}
		json_object *c = chart_bars(labels, values, n, 560, 160);
		json_object_object_add(c, "title", json_object_new_string(tr(r, "dashboard_chart_jobs")));
		json_object_array_add(charts, c);
		PQclear(res);
	}
	return charts;
}

void h_dashboard(req *r)
{
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "dashboard_title")));
	json_object *counts = summary_counts();
	json_object_object_add(ctx, "counts", counts);
	/* as on /admin/jobs: creators see their own jobs, admins see all */
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", strcmp(r->user->role, "admin") ? r->user->id : 0L);
	PGresult *res = DB_EXEC("SELECT id, kind, state, round(progress)::int AS progress, message, "
				"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at FROM jobs "
				"WHERE $1::bigint = 0 OR created_by = $1::bigint ORDER BY id DESC LIMIT 5", uid);
	if (res) {
		json_object *jobs = db_rows_json(res);
		for (size_t i = 0; i < json_object_array_length(jobs); i++) job_labels(r, json_object_array_get_idx(jobs, i));
		time_localize(r, jobs, TIME_LIST, (const char *const[]){"created_at", NULL});
		json_object_object_add(ctx, "recent_jobs", jobs);
		PQclear(res);
	}
	json_object_object_add(ctx, "charts", dashboard_charts(r));
	res_html(r, 200, "dashboard", ctx);
	json_object_put(ctx);
}
