/* JSON search behind static/js/picker.js: find an org or a class by name instead of typing its sourcedId.
 * GET /api/v1/pickers/orgs?q=&ids=a,b  and  /api/v1/pickers/classes?q=&ids=a,b  →
 * {"items":[{"id":sourcedId,"label":name,"detail":"school · school year · teachers"}]}. q searches (up to 20
 * active items, name order); ids resolves the labels of values already chosen (up to 50). classes?mine=1 limits
 * the search to the classes a creator teaches (the assignment form: they may only assign those); an admin, who
 * may assign any class, still sees all. */
#include <stdio.h>
#include <string.h>
#include "db.h"
#include "http.h"

#define PICKER_MAX 20

/* q and ids with limits; ids arrive as one comma-separated string and are split in SQL */
static int picker_args(req *r, const char **q, const char **ids)
{
	*q = req_query(r, "q");
	*ids = req_query(r, "ids");
	if (*q && strlen(*q) > 100) return -1;
	if (*ids && strlen(*ids) > 50 * 256) return -1;
	if (*q && !**q) *q = NULL;
	if (*ids && !**ids) *ids = NULL;
	return 0;
}

static void picker_answer(req *r, PGresult *res)
{
	if (!res) { res_error(r, 500, "db", tr(r, "users_err_internal"), NULL); return; }
	json_object *items = db_rows_json(res);
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *it = json_object_array_get_idx(items, i), *t;
		/* the type of an org is a code value: shown in the page language */
		if (json_object_object_get_ex(it, "type", &t) && t) {
			const char *type = tr_code(r, "code_", json_object_get_string(t));
			json_object *d;
			const char *detail = json_object_object_get_ex(it, "detail", &d) && d ? json_object_get_string(d) : "";
			json_object_object_add(it, "detail", json_object_new_string(*detail ? arena_printf(r->a, "%s · %s", type, detail) : type));
			json_object_object_del(it, "type");
		}
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "items", items);
	res_json(r, 200, o);
}

void h_api_picker_orgs(req *r)
{
	const char *q, *ids;
	if (picker_args(r, &q, &ids) < 0) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	picker_answer(r, DB_EXEC("SELECT o.sourced_id AS id, o.name AS label, o.type, coalesce(p.name, '') AS detail "
				 "FROM roster_orgs o LEFT JOIN roster_orgs p ON p.sourced_id = o.parent_sourced_id "
				 "WHERE CASE WHEN $2::text IS NOT NULL THEN o.sourced_id = ANY(string_to_array($2, ',')) "
				 "ELSE o.status = 'active' AND ($1::text IS NULL OR strpos(lower(o.name), lower($1)) > 0 "
				 "  OR o.identifier = $1) END "
				 "ORDER BY o.type <> 'school', o.name LIMIT 50", q, ids));
}

void h_api_picker_classes(req *r)
{
	const char *q, *ids;
	if (picker_args(r, &q, &ids) < 0) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	const char *mine = req_query(r, "mine");
	/* uid of the teacher whose classes to keep, NULL for every class */
	const char *uid = mine && !strcmp(mine, "1") && r->user && strcmp(r->user->role, "admin")
		? arena_printf(r->a, "%ld", r->user->id) : NULL;
	picker_answer(r, DB_EXEC(
		"SELECT c.sourced_id AS id, c.title AS label, concat_ws(' · ', s.name, "
		" (SELECT string_agg(a.title, ', ') FROM roster_academic_sessions a WHERE a.sourced_id = ANY(c.term_sourced_ids)), "
		" (SELECT string_agg(u.family_name || ' ' || u.given_name, ', ') FROM roster_enrollments e "
		"  JOIN roster_users u ON u.sourced_id = e.user_sourced_id WHERE e.class_sourced_id = c.sourced_id "
		"  AND e.role = 'teacher' AND e.status = 'active')) AS detail "
		"FROM roster_classes c LEFT JOIN roster_orgs s ON s.sourced_id = c.school_sourced_id "
		"WHERE CASE WHEN $2::text IS NOT NULL THEN c.sourced_id = ANY(string_to_array($2, ',')) "
		"ELSE c.status = 'active' AND ($1::text IS NULL OR strpos(lower(c.title), lower($1)) > 0 "
		"  OR strpos(lower(s.name), lower($1)) > 0 OR c.class_code = $1) "
		"  AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM roster_enrollments e JOIN users me ON me.sourced_id = e.user_sourced_id "
		"   WHERE me.id = $3::bigint AND e.class_sourced_id = c.sourced_id AND e.role = 'teacher' AND e.status = 'active')) END "
		"ORDER BY s.name, c.title LIMIT 50", q, ids, uid));
}
