/* The page of one rostered person (/admin/roster/users/:id): who they are, their roles per org, their classes
 * (enrollments), the login account linked to them (users.sourced_id) with its last sign-in, and their viewing. */
#include <stdio.h>
#include <string.h>
#include "db.h"
#include "http.h"
#include "timefmt.h"

static json_object *rows(PGresult *res)
{
	json_object *a = res && PQresultStatus(res) == PGRES_TUPLES_OK ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	return a;
}

void h_roster_person(req *r)
{
	const char *id = req_param(r, "id");
	if (!id || !*id || strlen(id) > 255) { res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL); return; }
	PGresult *res = DB_EXEC("SELECT u.sourced_id, u.family_name, u.given_name, u.username, u.email, u.identifier, "
				"u.status, u.enabled_user, array_to_string(u.grades, ', ') AS grades, "
				"array_to_string(u.user_ids, ', ') AS user_ids, u.primary_org_sourced_id, o.name AS org_name, "
				"u.metadata ->> 'jp.kanaFamilyName' AS kana_family, u.metadata ->> 'jp.kanaGivenName' AS kana_given, "
				"to_char(u.date_last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS modified "
				"FROM roster_users u LEFT JOIN roster_orgs o ON o.sourced_id = u.primary_org_sourced_id "
				"WHERE u.sourced_id = $1", id);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
		return;
	}
	json_object *person = db_row_json(res, 0);
	PQclear(res);
	time_localize(r, person, TIME_LIST, (const char *const[]){"modified", NULL});
	tr_codes(r, person, "code_", (const char *const[]){"status", NULL});

	json_object *ctx = json_object_new_object();
	json_object *fam = json_object_object_get(person, "family_name"), *giv = json_object_object_get(person, "given_name");
	json_object_object_add(ctx, "title", json_object_new_string(arena_printf(r->a, "%s %s", json_object_get_string(fam),
										   json_object_get_string(giv))));
	json_object_object_add(ctx, "person", person);

	json_object *roles = rows(DB_EXEC("SELECT ro.role, ro.status, ro.org_sourced_id, o.name AS org_name, o.type AS org_type "
					  "FROM roster_roles ro LEFT JOIN roster_orgs o ON o.sourced_id = ro.org_sourced_id "
					  "WHERE ro.user_sourced_id = $1 ORDER BY ro.status, o.name LIMIT 200", id));
	tr_codes(r, roles, "rosterapi_role_", (const char *const[]){"role", NULL});
	tr_codes(r, roles, "code_", (const char *const[]){"status", "org_type", NULL});
	json_object_object_add(ctx, "roles", roles);

	/* classes with their school, school year (term titles) and teachers, as a teacher would recognise them */
	json_object *classes = rows(DB_EXEC(
		"SELECT c.sourced_id, c.title, e.role, e.status, s.name AS school_name, c.school_sourced_id, "
		"(SELECT string_agg(a.title, ', ') FROM roster_academic_sessions a WHERE a.sourced_id = ANY(c.term_sourced_ids)) AS terms, "
		"(SELECT string_agg(tu.family_name || ' ' || tu.given_name, ', ') FROM roster_enrollments te "
		" JOIN roster_users tu ON tu.sourced_id = te.user_sourced_id WHERE te.class_sourced_id = c.sourced_id "
		" AND te.role = 'teacher' AND te.status = 'active') AS teachers "
		"FROM roster_enrollments e JOIN roster_classes c ON c.sourced_id = e.class_sourced_id "
		"LEFT JOIN roster_orgs s ON s.sourced_id = c.school_sourced_id "
		"WHERE e.user_sourced_id = $1 ORDER BY e.status, c.title LIMIT 500", id));
	tr_codes(r, classes, "rosterapi_role_", (const char *const[]){"role", NULL});
	tr_codes(r, classes, "code_", (const char *const[]){"status", NULL});
	json_object_object_add(ctx, "classes", classes);

	json_object *account = rows(DB_EXEC(
		"SELECT u.id, u.email, u.role, u.disabled, u.password_hash IS NOT NULL AS has_password, "
		"to_char(u.last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_login_at, "
		"(SELECT count(*) FROM watch_positions w WHERE w.user_id = u.id) AS videos_watched, "
		"(SELECT to_char(max(w.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM watch_positions w "
		" WHERE w.user_id = u.id) AS last_watched "
		"FROM users u WHERE u.sourced_id = $1", id));
	time_localize(r, account, TIME_LIST, (const char *const[]){"last_login_at", "last_watched", NULL});
	tr_codes(r, account, "role_", (const char *const[]){"role", NULL});
	if (json_object_array_length(account) == 1)
		json_object_object_add(ctx, "account", json_object_get(json_object_array_get_idx(account, 0)));
	json_object_put(account);
	res_html(r, 200, "roster/person", ctx);
	json_object_put(ctx);
}
