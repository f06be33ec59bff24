/* Admin pages over the roster hub: orgs/schools, classes with enrollments, users by org/role/grade (keyset pages),
 * API clients (create with a secret shown once, scopes, CIDR allowlist, rate limit; revoke), and the audit log
 * (filters, pages, CSV export). Everything is read with parameterised SQL; pages render templates/roster|clients|audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "netaddr.h"
#include "oauth.h"
#include "roster_schema.h"
#include "timefmt.h"
#include "ui.h"

#define PAGE 50

static const char *qv(req *r, const char *name)
{
	const char *v = req_query(r, name);
	return v ? v : "";
}

/* Query values are echoed into pages and SQL parameters: cap their length, reject control characters. */
static int q_ok(const char *v, size_t max)
{
	if (strlen(v) > max) return 0;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20) return 0;
	return 1;
}

static void page_error(req *r, int status, const char *key)
{
	res_error(r, status, "bad_query", tr(r, key), NULL);
}

static json_object *rows_or_empty(PGresult *res)
{
	return res && PQresultStatus(res) == PGRES_TUPLES_OK ? db_rows_json(res) : json_object_new_array();
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

/* Numbered pages sorted by one of a fixed list of columns (ui.h): reads sort/dir/page from the query. 0, or -1 when
 * one is not acceptable. *si is the column's index in sorts (the first by default). */
static int sort_query(req *r, const char *const *sorts, int *si, int *desc, long *page)
{
	const char *sort = qv(r, "sort"), *dir = qv(r, "dir");
	int bad = 0;
	*page = req_query_long(r, "page", 1, 1, 1000000, &bad);
	*si = *sort ? -1 : 0;
	for (int i = 0; sorts[i]; i++) if (!strcmp(sort, sorts[i])) *si = i;
	if (*si < 0 || (*dir && strcmp(dir, "asc") && strcmp(dir, "desc"))) bad = 1;
	*desc = !strcmp(dir, "desc");
	return bad ? -1 : 0;
}

/* The rows (each with a "total" column from count(*) OVER ()), the header links and the page numbers into ctx
 * under name. Past the last page (the roster shrank) it answers a redirect to the first and returns -1. */
static int sorted_page(req *r, PGresult *res, json_object *ctx, const char *name, const char *base,
		       const char *const *sorts, int si, int desc, long page)
{
	json_object *rows = rows_or_empty(res);
	long total = json_object_array_length(rows)
		? json_object_get_int64(json_object_object_get(json_object_array_get_idx(rows, 0), "total")) : 0;
	const char *sorted = arena_printf(r->a, "%s&sort=%s&dir=%s", base, sorts[si], desc ? "desc" : "asc");
	if (!total && page > 1) {
		json_object_put(rows);
		res_redirect(r, sorted);
		return -1;
	}
	json_object_object_add(ctx, name, rows);
	ui_sort_links(r, ctx, base, sorts, sorts[si], desc);
	json_object_object_add(ctx, "pager", ui_pager(r, sorted, page, PAGE, total));
	return 0;
}

static json_object *options(req *r, const char *const *values, const char *selected, const char *label_prefix)
{
	json_object *a = json_object_new_array();
	for (int i = 0; values[i]; i++) {
		json_object *o = json_object_new_object();
		add_str(o, "value", values[i]);
		add_str(o, "label", label_prefix ? tr(r, arena_printf(r->a, "%s%s", label_prefix, values[i])) : values[i]);
		json_object_object_add(o, "selected", json_object_new_boolean(selected && !strcmp(selected, values[i])));
		json_object_array_add(a, o);
	}
	return a;
}

/* ---- orgs ---- */

static const char *const modified_time[] = {"modified", NULL};
/* code values people see as words: OneRoster types, statuses, roles, booleans */
static const char *const org_codes[] = {"type", "status", NULL};
static const char *const class_codes[] = {"class_type", "status", "special_needs", NULL};
static const char *const person_roles[] = {"role", "roles", NULL};
static const char *const status_code[] = {"status", NULL};

void h_roster_orgs(req *r)
{
	const char *q = qv(r, "q"), *type = qv(r, "type");
	static const char *const types[] = {"district", "school", "department", "local", "state", "national", NULL};
	/* the column list is fixed here: ORDER BY never comes from the request */
	static const char *const sorts[] = {"name", "type", "identifier", "classes", "modified", NULL};
	static const char *const order[] = {"o.name", "o.type", "o.identifier", "classes", "o.date_last_modified"};
	int si, desc;
	long page;
	int type_ok = !*type;
	for (int i = 0; types[i]; i++) if (!strcmp(type, types[i])) type_ok = 1;
	if (!type_ok || !q_ok(q, 200) || sort_query(r, sorts, &si, &desc, &page) < 0) { page_error(r, 400, "error_bad_query"); return; }
	char off[24];
	snprintf(off, sizeof off, "%ld", (page - 1) * PAGE);
	char *sql = arena_printf(r->a, "SELECT count(*) OVER () AS total, o.sourced_id, o.name, o.type, o.identifier, o.status, "
				"o.parent_sourced_id, p.name AS parent_name, "
				"(SELECT count(*) FROM roster_classes c WHERE c.school_sourced_id = o.sourced_id "
				" AND c.status = 'active') AS classes, "
				"to_char(o.date_last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS modified "
				"FROM roster_orgs o LEFT JOIN roster_orgs p ON p.sourced_id = o.parent_sourced_id "
				"WHERE ($2 = '' OR o.type = $2) "
				"AND ($3 = '' OR strpos(lower(o.name), lower($3)) > 0 OR o.identifier = $3 OR o.sourced_id = $3) "
				"ORDER BY %s %s NULLS LAST, o.sourced_id LIMIT %d OFFSET $1::bigint", order[si], desc ? "DESC" : "ASC", PAGE);
	PGresult *res = DB_EXEC(sql, off, type, q);
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", tr(r, "rosterapi_orgs_title"));
	add_str(ctx, "q", q);
	json_object_object_add(ctx, "types", options(r, types, type, "code_"));
	const char *base = arena_printf(r->a, "/admin/roster/orgs?q=%s&type=%s", url_encode(r->a, q), url_encode(r->a, type));
	int rc = sorted_page(r, res, ctx, "orgs", base, sorts, si, desc, page);
	if (res) PQclear(res);
	if (rc == 0) {
		time_localize(r, json_object_object_get(ctx, "orgs"), TIME_LIST, modified_time);
		tr_codes(r, json_object_object_get(ctx, "orgs"), "code_", org_codes);
		res_html(r, 200, "roster/orgs", ctx);
	}
	json_object_put(ctx);
}

void h_roster_org(req *r)
{
	const char *id = req_param(r, "id");
	PGresult *res = DB_EXEC("SELECT o.sourced_id, o.name, o.type, o.identifier, o.status, o.parent_sourced_id, "
				"p.name AS parent_name, o.metadata::text AS metadata_text, "
				"to_char(o.date_last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS modified, "
				"(SELECT count(*) FROM roster_roles ro WHERE ro.org_sourced_id = o.sourced_id "
				" AND ro.role = 'student' AND ro.status = 'active') AS students, "
				"(SELECT count(*) FROM roster_roles ro WHERE ro.org_sourced_id = o.sourced_id "
				" AND ro.role = 'teacher' AND ro.status = 'active') AS teachers "
				"FROM roster_orgs o LEFT JOIN roster_orgs p ON p.sourced_id = o.parent_sourced_id "
				"WHERE o.sourced_id = $1", id);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		if (res) PQclear(res);
		res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
		return;
	}
	json_object *ctx = json_object_new_object();
	json_object *org = db_row_json(res, 0);
	PQclear(res);
	add_str(ctx, "title", json_object_get_string(json_object_object_get(org, "name")));
	time_localize(r, org, TIME_LIST, modified_time);
	tr_codes(r, org, "code_", org_codes);
	json_object_object_add(ctx, "org", org);
	res = DB_EXEC("SELECT sourced_id, name, type, status FROM roster_orgs WHERE parent_sourced_id = $1 "
		      "ORDER BY name LIMIT 500", id);
	json_object_object_add(ctx, "children", rows_or_empty(res));
	tr_codes(r, json_object_object_get(ctx, "children"), "code_", org_codes);
	if (res) PQclear(res);
	res = DB_EXEC("SELECT c.sourced_id, c.title, c.class_type, array_to_string(c.grades, ', ') AS grades, c.status, "
		      "(SELECT count(*) FROM roster_enrollments e WHERE e.class_sourced_id = c.sourced_id "
		      " AND e.status = 'active') AS enrollments "
		      "FROM roster_classes c WHERE c.school_sourced_id = $1 ORDER BY c.title, c.sourced_id LIMIT 500", id);
	json_object_object_add(ctx, "classes", rows_or_empty(res));
	tr_codes(r, json_object_object_get(ctx, "classes"), "code_", class_codes);
	if (res) PQclear(res);
	res_html(r, 200, "roster/org", ctx);
	json_object_put(ctx);
}

/* ---- classes ---- */

void h_roster_classes(req *r)
{
	const char *q = qv(r, "q"), *school = qv(r, "school");
	static const char *const sorts[] = {"title", "type", "school", "course", "enrollments", NULL};
	static const char *const order[] = {"c.title", "c.class_type", "s.name", "co.title", "enrollments"};
	int si, desc;
	long page;
	if (!q_ok(q, 200) || !q_ok(school, 255) || sort_query(r, sorts, &si, &desc, &page) < 0) { page_error(r, 400, "error_bad_query"); return; }
	char off[24];
	snprintf(off, sizeof off, "%ld", (page - 1) * PAGE);
	char *sql = arena_printf(r->a, "SELECT count(*) OVER () AS total, c.sourced_id, c.title, c.class_type, c.status, "
				"array_to_string(c.grades, ', ') AS grades, c.school_sourced_id, s.name AS school_name, "
				"co.title AS course_title, "
				"(SELECT count(*) FROM roster_enrollments e WHERE e.class_sourced_id = c.sourced_id "
				" AND e.status = 'active') AS enrollments "
				"FROM roster_classes c LEFT JOIN roster_orgs s ON s.sourced_id = c.school_sourced_id "
				"LEFT JOIN roster_courses co ON co.sourced_id = c.course_sourced_id "
				"WHERE ($2 = '' OR c.school_sourced_id = $2) "
				"AND ($3 = '' OR strpos(lower(c.title), lower($3)) > 0 OR c.class_code = $3) "
				"ORDER BY %s %s NULLS LAST, c.sourced_id LIMIT %d OFFSET $1::bigint", order[si], desc ? "DESC" : "ASC", PAGE);
	PGresult *res = DB_EXEC(sql, off, school, q);
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", tr(r, "rosterapi_classes_title"));
	add_str(ctx, "q", q);
	add_str(ctx, "school", school);
	const char *base = arena_printf(r->a, "/admin/roster/classes?q=%s&school=%s", url_encode(r->a, q),
					url_encode(r->a, school));
	int rc = sorted_page(r, res, ctx, "classes", base, sorts, si, desc, page);
	if (res) PQclear(res);
	if (rc < 0) { json_object_put(ctx); return; }
	tr_codes(r, json_object_object_get(ctx, "classes"), "code_", class_codes);
	PGresult *sr = DB_EXEC("SELECT sourced_id, name, sourced_id = $1 AS selected FROM roster_orgs "
			       "WHERE type = 'school' AND status = 'active' ORDER BY name LIMIT 1000", school);
	json_object_object_add(ctx, "schools", rows_or_empty(sr));
	if (sr) PQclear(sr);
	res_html(r, 200, "roster/classes", ctx);
	json_object_put(ctx);
}

void h_roster_class(req *r)
{
	const char *id = req_param(r, "id");
	PGresult *res = DB_EXEC("SELECT c.sourced_id, c.title, c.class_type, c.class_code, c.location, c.status, "
				"array_to_string(c.grades, ', ') AS grades, array_to_string(c.subjects, ', ') AS subjects, "
				"array_to_string(c.term_sourced_ids, ', ') AS terms, c.school_sourced_id, "
				"s.name AS school_name, c.course_sourced_id, co.title AS course_title, "
				"c.metadata ->> 'jp.specialNeeds' AS special_needs, "
				"to_char(c.date_last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS modified "
				"FROM roster_classes c LEFT JOIN roster_orgs s ON s.sourced_id = c.school_sourced_id "
				"LEFT JOIN roster_courses co ON co.sourced_id = c.course_sourced_id WHERE c.sourced_id = $1", id);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		if (res) PQclear(res);
		res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
		return;
	}
	json_object *ctx = json_object_new_object();
	json_object *cls = db_row_json(res, 0);
	PQclear(res);
	add_str(ctx, "title", json_object_get_string(json_object_object_get(cls, "title")));
	time_localize(r, cls, TIME_LIST, modified_time);
	tr_codes(r, cls, "code_", class_codes);
	json_object_object_add(ctx, "class", cls);
	/* enrollments: teachers first, then by attendance number (出席番号) when the Japan Profile gives one */
	res = DB_EXEC("SELECT e.sourced_id, e.role, e.is_primary, e.status, e.user_sourced_id, u.family_name, "
		      "u.given_name, u.username, coalesce(e.metadata ->> 'jp.ShussekiNo', e.metadata ->> 'jp.shussekiNo') "
		      "AS shusseki_no, to_char(e.begin_date, 'YYYY-MM-DD') AS begin_date, "
		      "to_char(e.end_date, 'YYYY-MM-DD') AS end_date "
		      "FROM roster_enrollments e LEFT JOIN roster_users u ON u.sourced_id = e.user_sourced_id "
		      "WHERE e.class_sourced_id = $1 ORDER BY e.role <> 'teacher', e.status, "
		      "NULLIF(regexp_replace(coalesce(e.metadata ->> 'jp.ShussekiNo', e.metadata ->> 'jp.shussekiNo', ''), "
		      "'[^0-9]', '', 'g'), '')::bigint NULLS LAST, u.family_name, e.sourced_id LIMIT 2000", id);
	json_object_object_add(ctx, "enrollments", rows_or_empty(res));
	tr_codes(r, json_object_object_get(ctx, "enrollments"), "rosterapi_role_", person_roles);
	tr_codes(r, json_object_object_get(ctx, "enrollments"), "code_", status_code);
	if (res) PQclear(res);
	res_html(r, 200, "roster/class", ctx);
	json_object_put(ctx);
}

/* ---- users ---- */

void h_roster_users(req *r)
{
	static const char *const role_codes[] = {"student", "teacher", "administrator", "aide", "guardian", "parent",
						 "principal", "siteAdministrator", "districtAdministrator", "counselor",
						 "proctor", "relative", "systemAdministrator", NULL};
	const char *q = qv(r, "q"), *org = qv(r, "org"), *role = qv(r, "role"), *grade = qv(r, "grade");
	/* people are found by name: numbered pages sorted by a column from this list (never from the request) */
	static const char *const sorts[] = {"name", "kana", "username", "org", NULL};
	static const char *const order[] = {"u.family_name || ' ' || u.given_name",
		"(u.metadata ->> 'jp.kanaFamilyName') || ' ' || (u.metadata ->> 'jp.kanaGivenName')", "u.username", "o.name"};
	int si, desc;
	long page;
	int ok = sort_query(r, sorts, &si, &desc, &page) == 0 && q_ok(q, 200) && q_ok(org, 255) && q_ok(grade, 8);
	int role_ok = !*role;
	for (int i = 0; role_codes[i]; i++) if (!strcmp(role, role_codes[i])) role_ok = 1;
	if (!ok || !role_ok) { page_error(r, 400, "error_bad_query"); return; }
	char off[24];
	snprintf(off, sizeof off, "%ld", (page - 1) * PAGE);
	char *sql = arena_printf(r->a, "SELECT count(*) OVER () AS total, u.sourced_id, u.family_name, u.given_name, u.username, u.status, "
				"u.metadata ->> 'jp.kanaFamilyName' AS kana_family, u.metadata ->> 'jp.kanaGivenName' AS kana_given, "
				"array_to_string(u.grades, ', ') AS grades, u.primary_org_sourced_id, o.name AS org_name, "
				"(SELECT string_agg(DISTINCT ro.role, ', ') FROM roster_roles ro "
				" WHERE ro.user_sourced_id = u.sourced_id AND ro.status = 'active') AS roles "
				"FROM roster_users u LEFT JOIN roster_orgs o ON o.sourced_id = u.primary_org_sourced_id "
				"WHERE true "
				"AND ($2 = '' OR u.primary_org_sourced_id = $2 OR EXISTS (SELECT 1 FROM roster_roles ro "
				" WHERE ro.user_sourced_id = u.sourced_id AND ro.org_sourced_id = $2 AND ro.status = 'active')) "
				"AND ($3 = '' OR EXISTS (SELECT 1 FROM roster_roles ro WHERE ro.user_sourced_id = u.sourced_id "
				" AND ro.role = $3 AND ro.status = 'active')) "
				"AND ($4 = '' OR $4 = ANY(u.grades)) "
				"AND ($5 = '' OR strpos(lower(u.family_name || ' ' || u.given_name || ' ' || u.username || ' ' || "
				" coalesce(u.metadata ->> 'jp.kanaFamilyName', '') || coalesce(u.metadata ->> 'jp.kanaGivenName', '')), "
				" lower($5)) > 0 OR u.sourced_id = $5) "
				"ORDER BY %s %s NULLS LAST, u.sourced_id LIMIT %d OFFSET $1::bigint", order[si], desc ? "DESC" : "ASC", PAGE);
	PGresult *res = DB_EXEC(sql, off, org, role, grade, q);
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", tr(r, "rosterapi_users_title"));
	add_str(ctx, "q", q);
	json_object_object_add(ctx, "roles", options(r, role_codes, role, "rosterapi_role_"));
	json_object_object_add(ctx, "grades", options(r, rs_jp_grades, grade, NULL));
	const char *base = arena_printf(r->a, "/admin/roster/users?q=%s&org=%s&role=%s&grade=%s", url_encode(r->a, q),
					url_encode(r->a, org), url_encode(r->a, role), url_encode(r->a, grade));
	if (sorted_page(r, res, ctx, "users", base, sorts, si, desc, page) < 0) {
		json_object_put(ctx);
		if (res) PQclear(res);
		return;
	}
	tr_codes(r, json_object_object_get(ctx, "users"), "rosterapi_role_", person_roles);
	tr_codes(r, json_object_object_get(ctx, "users"), "code_", status_code);
	if (res) PQclear(res);
	PGresult *sr = DB_EXEC("SELECT sourced_id, name, sourced_id = $1 AS selected FROM roster_orgs "
			       "WHERE status = 'active' ORDER BY type <> 'district', name LIMIT 1000", org);
	json_object_object_add(ctx, "orgs", rows_or_empty(sr));
	if (sr) PQclear(sr);
	res_html(r, 200, "roster/users", ctx);
	json_object_put(ctx);
}

/* ---- API clients ---- */

static json_object *scope_options(req *r, int selected)
{
	json_object *a = json_object_new_array();
	for (int bit = 1; bit <= SC_DEMOGRAPHICS; bit <<= 1) {
		json_object *o = json_object_new_object();
		add_str(o, "value", oauth_scope_short(bit));
		add_str(o, "label", tr(r, arena_printf(r->a, "rosterapi_scope_%d", bit)));
		json_object_object_add(o, "checked", json_object_new_boolean(selected & bit));
		json_object_array_add(a, o);
	}
	return a;
}

static void clients_page(req *r, int status, const char *error, json_object *form, json_object *created)
{
	PGresult *res = DB_EXEC0("SELECT c.id, c.name, c.client_id, array_to_string(c.scopes, ' ') AS scopes, "
				 "array_to_string(c.ip_allowlist, ', ') AS allowlist, c.rate_limit_per_min, "
				 "c.revoked_at IS NOT NULL AS revoked, "
				 "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, "
				 "to_char(c.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_used, "
				 "u.email AS created_by FROM api_clients c LEFT JOIN users u ON u.id = c.created_by "
				 "ORDER BY c.revoked_at IS NOT NULL, c.id DESC LIMIT 500");
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", tr(r, "rosterapi_clients_title"));
	json_object_object_add(ctx, "clients", rows_or_empty(res));
	time_localize(r, json_object_object_get(ctx, "clients"), TIME_LIST, (const char *const[]){"created", "last_used", NULL});
	if (res) PQclear(res);
	if (error) add_str(ctx, "error", error);
	int sel = SC_CORE | SC_ROSTER;
	json_object *v;
	if (form && json_object_object_get_ex(form, "scope_bits", &v)) sel = json_object_get_int(v);
	json_object_object_add(ctx, "scopes", scope_options(r, sel));
	json_object_object_add(ctx, "form", form ? form : json_object_new_object());
	if (created) json_object_object_add(ctx, "created", created);
	add_str(ctx, "token_url", "/oauth/token");
	res_html(r, status, created ? "clients/created" : "clients/list", ctx);
	json_object_put(ctx);
}

void h_clients_list(req *r) { clients_page(r, 200, NULL, NULL, NULL); }

/* One CIDR per line (or comma separated); every entry must parse. Returns the PostgreSQL array literal items
 * as a comma list for string_to_array, or NULL with *bad set. */
static const char *allowlist_parse(req *r, const char *text, const char **bad)
{
	buf out = {0};
	const char *p = text ? text : "";
	int n = 0;
	while (*p) {
		size_t len = strcspn(p, ",\r\n \t");
		if (len) {
			char *item = arena_strndup(r->a, p, len);
			if (!cidr_valid(item) || ++n > 100) { *bad = item; buf_free(&out); return NULL; }
			buf_printf(&out, "%s%s", out.len ? "," : "", item);
		}
		p += len;
		while (*p == ',' || *p == '\r' || *p == '\n' || *p == ' ' || *p == '\t') p++;
	}
	const char *s = arena_strdup(r->a, out.p ? out.p : "");
	buf_free(&out);
	return s;
}

void h_client_create(req *r)
{
	const char *name = req_form(r, "name"), *allow = req_form(r, "ip_allowlist"), *rate = req_form(r, "rate_limit");
	json_object *form = json_object_new_object();
	add_str(form, "name", name);
	add_str(form, "ip_allowlist", allow);
	add_str(form, "rate_limit", rate);
	int bits = 0;
	for (int i = 0; i < r->nform; i++)
		if (!strcmp(r->form[i].k, "scope")) bits |= oauth_scope_bit(r->form[i].v);
	json_object_object_add(form, "scope_bits", json_object_new_int(bits));
	const char *bad = NULL;
	char *end = NULL;
	long rl = rate && *rate ? strtol(rate, &end, 10) : 600;
	const char *list = allowlist_parse(r, allow, &bad);
	const char *err = NULL;
	if (!name || !*name || strlen(name) > 200) err = tr(r, "rosterapi_clients_err_name");
	else if (!bits) err = tr(r, "rosterapi_clients_err_scope");
	else if (!list) err = arena_printf(r->a, "%s: %s", tr(r, "rosterapi_clients_err_cidr"), bad);
	else if ((end && *end) || rl < 1 || rl > 1000000) err = tr(r, "rosterapi_clients_err_rate");
	if (err) { clients_page(r, 400, err, form, NULL); return; }
	json_object_put(form);
	char client_id[32], secret[65], hash[65], rls[24], by[24], scopes[256];
	oauth_client_id_new(client_id);
	oauth_secret_new(secret);
	oauth_secret_hash(secret, hash);
	snprintf(rls, sizeof rls, "%ld", rl);
	snprintf(by, sizeof by, "%ld", r->user ? r->user->id : 0L);
	oauth_scopes_format(bits, 0, scopes, sizeof scopes);
	PGresult *res = DB_EXEC("INSERT INTO api_clients (name, client_id, secret_hash, scopes, ip_allowlist, "
				"rate_limit_per_min, created_by) VALUES ($1, $2, $3, string_to_array($4, ' '), "
				"coalesce(string_to_array(NULLIF($5, ''), ','), '{}'), $6::int, NULLIF($7::bigint, 0)) RETURNING id",
				name, client_id, hash, scopes, list, rls, by);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("api client create: %s", db_error());
		if (res) PQclear(res);
		clients_page(r, 500, tr(r, "rosterapi_clients_err_db"), NULL, NULL);
		return;
	}
	PQclear(res);
	json_object *d = json_object_new_object();
	add_str(d, "name", name);
	add_str(d, "scopes", scopes);
	add_str(d, "ip_allowlist", list);
	json_object_object_add(d, "rate_limit_per_min", json_object_new_int64(rl));
	audit_record(r, NULL, "api_client.create", arena_printf(r->a, "client:%s", client_id), d, 201, 1);
	json_object_put(d);
	/* the secret exists in clear only in this response; it is never stored or logged */
	json_object *created = json_object_new_object();
	add_str(created, "name", name);
	add_str(created, "client_id", client_id);
	add_str(created, "client_secret", secret);
	add_str(created, "scopes", scopes);
	clients_page(r, 201, NULL, NULL, created);   /* HTML pages are sent with Cache-Control: no-store */
}

void h_client_revoke(req *r)
{
	const char *id = req_param(r, "id");
	if (!req_param_id(r, "id")) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	PGresult *res = DB_EXEC("UPDATE api_clients SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1::bigint "
				"RETURNING client_id", id);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		if (res) PQclear(res);
		res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
		return;
	}
	const char *cid = arena_strdup(r->a, PQgetvalue(res, 0, 0));
	PQclear(res);
	audit_record(r, NULL, "api_client.revoke", arena_printf(r->a, "client:%s", cid), NULL, 200, 1);
	res_redirect(r, "/admin/clients");
}

