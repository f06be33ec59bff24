/* Admin pages for accounts: list (search, role filter, keyset pages), detail, create, edit, disable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "config.h"
#include "login_throttle.h"
#include "mfa.h"
#include "router.h"
#include "session.h"
#include "users.h"
#include "settings.h"
#include "timefmt.h"
#include "ui.h"

static const char *const user_times[] = {"created_at", "last_login_at", NULL};

static json_object *role_options(req *r, const char *selected)
{
	static const char *roles[] = {"admin", "creator", "viewer", "guest"};
	json_object *a = json_object_new_array();
	for (int i = 0; i < 4; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "value", json_object_new_string(roles[i]));
		json_object_object_add(o, "label", json_object_new_string(tr(r, arena_printf(r->a, "role_%s", roles[i]))));
		json_object_object_add(o, "selected", json_object_new_boolean(selected && !strcmp(selected, roles[i])));
		json_object_array_add(a, o);
	}
	return a;
}

void h_users_list(req *r)
{
	static const char *const sorts[] = {"name", "email", "role", "last_login", NULL};
	int bad = 0;
	long page = req_query_long(r, "page", 1, 1, 1000000, &bad);
	const char *q = req_query(r, "q"), *role = req_query(r, "role"), *sort = req_query(r, "sort"), *dir = req_query(r, "dir");
	if (role && *role && !users_valid_role(role)) bad = 1;
	if (q && strlen(q) > 200) bad = 1;
	int sort_ok = !sort || !*sort;
	for (int i = 0; sorts[i]; i++) if (sort && !strcmp(sort, sorts[i])) sort_ok = 1;
	if (!sort_ok || (dir && *dir && strcmp(dir, "asc") && strcmp(dir, "desc"))) bad = 1;
	if (bad) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	if (!sort || !*sort) sort = "name";
	int desc = dir && !strcmp(dir, "desc");
	json_object *ctx = users_page(q, role, sort, desc, page, 50);
	if (!ctx) { res_error(r, 500, "internal", tr(r, "users_err_internal"), NULL); return; }
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "users_title")));
	json_object_object_add(ctx, "q", json_object_new_string(q ? q : ""));
	json_object_object_add(ctx, "roles", role_options(r, role));
	time_localize(r, json_object_object_get(ctx, "users"), TIME_LIST, user_times);
	tr_codes(r, json_object_object_get(ctx, "users"), "role_", (const char *const[]){"role", NULL});
	const char *filters = arena_printf(r->a, "/admin/users?q=%s&role=%s", url_encode(r->a, q ? q : ""), url_encode(r->a, role ? role : ""));
	ui_sort_links(r, ctx, filters, sorts, sort, desc);
	json_object_object_add(ctx, "pager", ui_pager(r, arena_printf(r->a, "%s&sort=%s&dir=%s", filters, sort, desc ? "desc" : "asc"),
						      page, 50, json_object_get_int64(json_object_object_get(ctx, "total"))));
	/* bulk actions (h_bulk.c); ?done=N reports the last one */
	json_object *scripts = json_object_new_array();
	json_object_array_add(scripts, json_object_new_string("/static/js/bulk.js"));
	json_object_object_add(ctx, "scripts", scripts);
	int dbad = 0;
	long done = req_query_long(r, "done", -1, 0, 100000, &dbad);
	if (done >= 0 && !dbad) json_object_object_add(ctx, "bulk_done", json_object_new_string(tr_n(r, "bulk_done", done)));
	res_html(r, 200, "users/list", ctx);
	json_object_put(ctx);
}

void h_api_users(req *r)
{
	int bad = 0;
	long after = req_query_long(r, "after", 0, 0, 1L << 62, &bad);
	long limit = req_query_long(r, "limit", 50, 1, 500, &bad);
	const char *role = req_query(r, "role");
	if (role && *role && !users_valid_role(role)) bad = 1;
	if (bad) { res_error(r, 400, "bad_query", "after must be >= 0, limit 1..500, role one of admin/creator/viewer/guest", NULL); return; }
	res_json(r, 200, users_search(req_query(r, "q"), role, after, (int)limit));
}

static json_object *zone_options(req *r, const char *selected)
{
	json_object *a = json_object_new_array();
	json_object *o = json_object_new_object();
	json_object_object_add(o, "value", json_object_new_string(""));
	json_object_object_add(o, "label", json_object_new_string(arena_printf(r->a, "%s (%s)", tr(r, "ui_zone_default"),
												time_zone_default())));
	json_object_object_add(o, "selected", json_object_new_boolean(!selected || !*selected));
	json_object_array_add(a, o);
	int found = !selected || !*selected;
	for (int i = 0; time_zone_choices[i]; i++) {
		o = json_object_new_object();
		int sel = selected && !strcmp(selected, time_zone_choices[i]);
		found |= sel;
		json_object_object_add(o, "value", json_object_new_string(time_zone_choices[i]));
		json_object_object_add(o, "label", json_object_new_string(time_zone_choices[i]));
		json_object_object_add(o, "selected", json_object_new_boolean(sel));
		json_object_array_add(a, o);
	}
	if (!found && time_zone_valid(selected)) {
		o = json_object_new_object();
		json_object_object_add(o, "value", json_object_new_string(selected));
		json_object_object_add(o, "label", json_object_new_string(selected));
		json_object_object_add(o, "selected", json_object_new_boolean(1));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *lang_options(req *r, const char *selected)
{
	static const char *const langs[] = {"", "ja", "en"};
	static const char *const keys[] = {"ui_lang_browser", "ui_lang_ja", "ui_lang_en"};
	json_object *a = json_object_new_array();
	for (int i = 0; i < 3; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "value", json_object_new_string(langs[i]));
		json_object_object_add(o, "label", json_object_new_string(tr(r, keys[i])));
		json_object_object_add(o, "selected", json_object_new_boolean(selected ? !strcmp(selected, langs[i]) : !i));
		json_object_array_add(a, o);
	}
	return a;
}

static const char *str_field(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* One form for a new and an existing account. A new account says how its owner will sign in: a password set now,
 * or the school's account (SSO) / a login card, which need no password here. error is a catalog key. */
static void form_page(req *r, int status, json_object *user, int is_new, const char *error)
{
	json_object *ctx = json_object_new_object();
	const char *role = str_field(user, "role");
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, is_new ? "users_new" : "users_edit")));
	json_object_object_add(ctx, "is_new", json_object_new_boolean(is_new));
	json_object_object_add(ctx, "roles", role_options(r, role ? role : "viewer"));
	json_object_object_add(ctx, "zones", zone_options(r, str_field(user, "time_zone")));
	json_object_object_add(ctx, "langs", lang_options(r, str_field(user, "lang")));
	const char *how = str_field(user, "sign_in");
	json_object_object_add(ctx, "sign_in_sso", json_object_new_boolean(how && !strcmp(how, "sso")));
	if (user) json_object_object_add(ctx, "u", json_object_get(user));
	if (error) json_object_object_add(ctx, "error", json_object_new_string(tr_n(r, error, settings_password_min())));
	res_html(r, status, "users/form", ctx);
	json_object_put(ctx);
}

void h_user_new(req *r) { form_page(r, 200, NULL, 1, NULL); }

void h_user_create(req *r)
{
	char err[256];
	const char *how = req_form(r, "sign_in"), *pw = req_form(r, "password");
	int sso = how && !strcmp(how, "sso");
	long id = -1;
	if (!sso && !(pw && *pw)) snprintf(err, sizeof err, "%s", "users_err_password_required");
	else id = users_create(req_form(r, "email"), req_form(r, "name"), req_form(r, "role"), sso ? NULL : pw, err, sizeof err);
	if (id < 0) {
		json_object *u = json_object_new_object();
		json_object_object_add(u, "email", json_object_new_string(req_form(r, "email") ? req_form(r, "email") : ""));
		json_object_object_add(u, "name", json_object_new_string(req_form(r, "name") ? req_form(r, "name") : ""));
		json_object_object_add(u, "role", json_object_new_string(req_form(r, "role") ? req_form(r, "role") : "viewer"));
		json_object_object_add(u, "sign_in", json_object_new_string(sso ? "sso" : "password"));
		form_page(r, 422, u, 1, err);
		json_object_put(u);
		return;
	}
	audit_record(r, NULL, "user.create", arena_printf(r->a, "user:%ld", id), NULL, 201, 1);
	res_redirect(r, arena_printf(r->a, "/admin/users/%ld", id));
}

void h_user_show(req *r)
{
	json_object *u = users_get(req_param_id(r, "id"));
	if (!u) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "users_detail")));
	time_localize(r, u, TIME_LIST, user_times);
	json_object_object_add(ctx, "u", u);
	json_object *role;
	if (json_object_object_get_ex(u, "role", &role))
		json_object_object_add(ctx, "role_label", json_object_new_string(tr(r, arena_printf(r->a, "role_%s", json_object_get_string(role)))));
	json_object_object_add(ctx, "mfa_on", json_object_new_boolean(mfa_state(req_param_id(r, "id")) == MFA_ON));
	res_html(r, 200, "users/show", ctx);
	json_object_put(ctx);
}

void h_user_edit(req *r)
{
	json_object *u = users_get(req_param_id(r, "id"));
	if (!u) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	form_page(r, 200, u, 0, NULL);
	json_object_put(u);
}

void h_user_update(req *r)
{
	long id = req_param_id(r, "id");
	json_object *u = users_get(id);
	if (!u) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	char err[256];
	const char *role = req_form(r, "role");
	if (id == r->user->id && role && strcmp(role, "admin")) {
		form_page(r, 422, u, 0, "users_cannot_demote_self");
		json_object_put(u);
		return;
	}
	int rc = users_update(id, req_form(r, "name"), role, req_form(r, "lang"), req_form(r, "time_zone"), -1, err, sizeof err);
	const char *email = req_form(r, "email");   /* empty: unchanged (an account may have none) */
	if (rc == 0 && email && *email) rc = users_set_email(id, email, err, sizeof err);
	const char *pw = req_form(r, "password");
	int new_password = rc == 0 && pw && *pw;
	if (new_password) rc = users_set_password(id, pw, err, sizeof err);
	if (rc < 0) { form_page(r, 422, u, 0, err); json_object_put(u); return; }
	json_object_put(u);
	session_invalidate_all();   /* a new role or password applies to open sessions at once */
	/* a new password ended every session of the account; an admin who changed their own keeps working in a new one */
	if (new_password && id == r->user->id) {
		struct token t;
		char *jwt = session_issue(id, "session", &t);
		if (jwt) session_set_cookie(r, "rs_session", jwt, cfg.session_ttl);
		free(jwt);
	}
	audit_record(r, NULL, "user.update", arena_printf(r->a, "user:%ld", id), NULL, 200, 1);
	res_redirect(r, arena_printf(r->a, "/admin/users/%ld", id));
}

void h_user_disable(req *r)
{
	long id = req_param_id(r, "id");
	char err[256];
	int enable = req_form(r, "enable") && !strcmp(req_form(r, "enable"), "1");
	if (id == r->user->id) { res_error(r, 422, "self", tr(r, "users_cannot_disable_self"), NULL); return; }
	if (users_update(id, NULL, NULL, NULL, NULL, enable ? 0 : 1, err, sizeof err) < 0) {
		res_error(r, 404, "not_found", tr(r, err), NULL);
		return;
	}
	session_invalidate_all();
	audit_record(r, NULL, enable ? "user.enable" : "user.disable", arena_printf(r->a, "user:%ld", id), NULL, 200, 1);
	res_redirect(r, arena_printf(r->a, "/admin/users/%ld", id));
}

/* Forget an account's failed logins and any wait they imposed (UI button on the user page, and the API). */
static int unlock(req *r, long id)
{
	json_object *u = users_get(id), *email;
	if (!u) return -1;
	int rc = json_object_object_get_ex(u, "email", &email) && json_object_is_type(email, json_type_string)
		 ? login_throttle_unlock(json_object_get_string(email)) : 0;
	json_object_put(u);
	audit_record(r, NULL, "user.unlock", arena_printf(r->a, "user:%ld", id), NULL, rc < 0 ? 503 : 200, 1);
	return rc < 0 ? -2 : 0;
}

void h_user_unlock(req *r)
{
	long id = req_param_id(r, "id");
	int rc = unlock(r, id);
	if (rc == -1) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	if (rc < 0) { res_unavailable(r); return; }
	res_redirect(r, arena_printf(r->a, "/admin/users/%ld", id));
}

void h_api_user_unlock(req *r)
{
	long id = req_param_id(r, "id");
	int rc = unlock(r, id);
	if (rc == -1) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	if (rc < 0) { res_unavailable(r); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "unlocked", json_object_new_boolean(1));
	res_json(r, 200, o);
}
