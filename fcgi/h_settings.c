/* The admin settings page and its API: site name and logo, default language and zone, password policy, sign-in
 * methods, upload limits. Values and checks live in settings.c; every change is audited here, one row a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "router.h"
#include "settings.h"
#include "timefmt.h"

/* "site.name" -> "site_name": template and form names (a dot means a path to mustache) */
static const char *field_name(req *r, const char *key)
{
	char *s = arena_strdup(r->a, key);
	for (char *p = s; *p; p++) if (*p == '.') *p = '_';
	return s;
}

static void add_str(json_object *o, const char *k, const char *v) { json_object_object_add(o, k, json_object_new_string(v ? v : "")); }

static json_object *options(req *r, const char *const *values, const char *const *labels, const char *selected)
{
	json_object *a = json_object_new_array();
	for (int i = 0; values[i]; i++) {
		json_object *o = json_object_new_object();
		add_str(o, "value", values[i]);
		add_str(o, "label", labels ? tr(r, labels[i]) : values[i]);
		json_object_object_add(o, "selected", json_object_new_boolean(!strcmp(values[i], selected)));
		json_object_array_add(a, o);
	}
	return a;
}

/* error: a catalog key, or NULL; after an error the inputs keep the values just sent */
static void settings_page(req *r, int status, const char *error, int saved)
{
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", tr(r, "settings_title"));
	json_object *styles = json_object_new_array();
	json_object_array_add(styles, json_object_new_string("/static/css/settings.css"));
	json_object_object_add(ctx, "styles", styles);
	json_object *scripts = json_object_new_array();
	json_object_array_add(scripts, json_object_new_string("/static/js/settings.js"));
	json_object_object_add(ctx, "scripts", scripts);
	for (int i = 0; i < settings_ndefs; i++) {
		const struct setting_def *d = &settings_defs[i];
		const char *name = field_name(r, d->key);
		const char *v = error && req_form(r, name) ? req_form(r, name) : settings_value(d);
		/* f_ keeps form values apart from the layout's own keys (site_name) */
		add_str(ctx, arena_printf(r->a, "f_%s", name), v);
		add_str(ctx, arena_printf(r->a, "f_%s_file", name), config_file_get(d->key, d->def));
		if (d->kind == SET_BOOL) json_object_object_add(ctx, arena_printf(r->a, "f_%s_on", name), json_object_new_boolean(!strcmp(v, "1")));
	}
	static const char *const langs[] = {"", "ja", "en", NULL};
	static const char *const lang_labels[] = {"ui_lang_browser", "ui_lang_ja", "ui_lang_en"};
	json_object_object_add(ctx, "langs", options(r, langs, lang_labels, settings_value(settings_def("default_lang"))));
	json_object_object_add(ctx, "zones", options(r, time_zone_choices, NULL, settings_value(settings_def("timezone"))));
	const char *logo = config_get("site.logo", "");
	if (*logo) add_str(ctx, "logo_preview", arena_printf(r->a, "/site/logo?v=%s", logo));
	json_object_object_add(ctx, "logo_max_kb", json_object_new_int(SETTINGS_LOGO_MAX / 1024));
	if (error) add_str(ctx, "error", tr(r, error));
	if (saved) add_str(ctx, "notice", tr(r, "settings_saved"));
	res_html(r, status, "settings/edit", ctx);
	json_object_put(ctx);
}

void h_settings_page(req *r) { settings_page(r, 200, NULL, req_query(r, "saved") != NULL); }

static void audit_changes(req *r, json_object *changes)
{
	for (size_t i = 0; i < json_object_array_length(changes); i++) {
		json_object *c = json_object_array_get_idx(changes, i);
		const char *key = json_object_get_string(json_object_object_get(c, "key"));
		audit_record(r, NULL, "settings.update", arena_printf(r->a, "settings:%s", key), c, 200, 1);
	}
}

/* POST /admin/settings: every field of the page at once; a checkbox left out is "off" */
void h_settings_post(req *r)
{
	if (!req_form_posted(r)) { settings_page(r, 400, "settings_err_no_form", 0); return; }
	const char *keys[32], *vals[32];
	int n = 0;
	for (int i = 0; i < settings_ndefs && n < 32; i++) {
		const struct setting_def *d = &settings_defs[i];
		const char *v = req_form(r, field_name(r, d->key));
		if (d->kind == SET_BOOL) v = v && !strcmp(v, "1") ? "1" : "0";
		if (!v) continue;   /* a field the form did not send stays as it is */
		keys[n] = d->key;
		vals[n++] = v;
	}
	char err[64];
	json_object *changes = json_object_new_array();
	if (settings_save(keys, vals, n, changes, err, sizeof err) < 0) {
		json_object_put(changes);
		settings_page(r, strcmp(err, "settings_err_db") ? 422 : 500, err, 0);
		return;
	}
	audit_changes(r, changes);
	json_object_put(changes);
	res_redirect(r, "/admin/settings?saved=1");
}

static json_object *settings_json(void)
{
	json_object *o = json_object_new_object();
	for (int i = 0; i < settings_ndefs; i++) {
		const struct setting_def *d = &settings_defs[i];
		const char *v = settings_value(d);
		if (d->kind == SET_INT) json_object_object_add(o, d->key, json_object_new_int64(strtol(v, NULL, 10)));
		else if (d->kind == SET_BOOL) json_object_object_add(o, d->key, json_object_new_boolean(!strcmp(v, "1")));
		else json_object_object_add(o, d->key, json_object_new_string(v));
	}
	const char *logo = config_get("site.logo", "");
	json_object_object_add(o, "site.logo", *logo ? json_object_new_string(config_get("site.logo", "")) : NULL);
	return o;
}

void h_api_settings(req *r) { res_json(r, 200, settings_json()); }

/* PUT /api/v1/settings {"key": value, …}: only the keys sent change; "" (or null) returns a key to the file's value */
void h_api_settings_update(req *r)
{
	if (!r->json || !json_object_is_type(r->json, json_type_object)) {
		res_error(r, 400, "bad_request", tr(r, "settings_err_body"), NULL);
		return;
	}
	const char *keys[32], *vals[32];
	int n = 0;
	json_object_object_foreach(r->json, k, jv) {
		const struct setting_def *d = settings_def(k);
		if (!d || n == 32) {
			json_object *det = json_object_new_object();
			add_str(det, "key", k);
			res_error(r, 400, "unknown_setting", tr(r, "settings_err_unknown"), det);
			return;
		}
		const char *v;
		if (!jv) v = "";
		else if (json_object_is_type(jv, json_type_boolean)) v = json_object_get_boolean(jv) ? "1" : "0";
		else if (json_object_is_type(jv, json_type_int) || json_object_is_type(jv, json_type_string))
			v = arena_strdup(r->a, json_object_get_string(jv));
		else v = NULL;   /* arrays, objects, fractions: refused by settings_valid */
		keys[n] = d->key;
		vals[n++] = v;
	}
	char err[64];
	for (int i = 0; i < n; i++)
		if (!settings_valid(settings_def(keys[i]), vals[i], err, sizeof err)) {
			json_object *det = json_object_new_object();
			add_str(det, "key", keys[i]);
			res_error(r, 422, "invalid_setting", tr(r, err), det);
			return;
		}
	json_object *changes = json_object_new_array();
	if (settings_save(keys, vals, n, changes, err, sizeof err) < 0) {
		json_object_put(changes);
		res_error(r, 500, "db_error", tr(r, err), NULL);
		return;
	}
	audit_changes(r, changes);
	json_object_put(changes);
	res_json(r, 200, settings_json());
}

/* PUT /api/v1/settings/logo, the image as the body (Content-Type is not trusted: the bytes decide) */
void h_api_settings_logo_put(req *r)
{
	char err[64];
	if (settings_logo_put((const unsigned char *)r->body, r->body ? r->body_len : 0, err, sizeof err) < 0) {
		int status = !strcmp(err, "settings_err_db") ? 500 : !strcmp(err, "settings_err_logo_size") ? 413 : 422;
		audit_record(r, NULL, "settings.logo", "settings:site.logo", NULL, status, 0);
		res_error(r, status, "bad_logo", tr(r, err), NULL);
		return;
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "bytes", json_object_new_int64((int64_t)r->body_len));
	audit_record(r, NULL, "settings.logo", "settings:site.logo", d, 200, 1);
	json_object_put(d);
	res_json(r, 200, settings_json());
}

static int logo_delete(req *r)
{
	if (settings_logo_delete() < 0) { res_error(r, 500, "db_error", tr(r, "settings_err_db"), NULL); return -1; }
	audit_record(r, NULL, "settings.logo_delete", "settings:site.logo", NULL, 200, 1);
	return 0;
}

void h_api_settings_logo_delete(req *r)
{
	if (logo_delete(r) == 0) res_json(r, 200, settings_json());
}

void h_settings_logo_delete(req *r)
{
	if (logo_delete(r) == 0) res_redirect(r, "/admin/settings?saved=1");
}

/* GET /site/logo: the bytes from the database, cached for a year under the ?v= the layout links (a new logo has a
 * new URL); nosniff comes with every answer, and only PNG or JPEG was ever stored */
void h_site_logo(req *r)
{
	PGconn *c = db_conn();
	PGresult *res = c ? PQexecParams(c, "SELECT mime, bytes FROM site_logo WHERE id = 1", 0, NULL, NULL, NULL, NULL, 1) : NULL;
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		if (res) PQclear(res);
		res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
		return;
	}
	char mime[16];
	snprintf(mime, sizeof mime, "%.*s", PQgetlength(res, 0, 0), PQgetvalue(res, 0, 0));
	const char *v = req_query(r, "v"), *cur = config_get("site.logo", "");
	res_header(r, "Cache-Control", v && !strcmp(v, cur) ? "public, max-age=31536000, immutable" : "no-cache");
	res_body(r, 200, mime, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
	PQclear(res);
}
