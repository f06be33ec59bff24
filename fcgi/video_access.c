/* Video visibility. The rule lives in one pure function (unit-tested); the SQL form used by the catalog says the
 * same thing as a WHERE condition. Class membership needs roster_enrollments (sql/010_roster.sql): when that
 * table does not exist the class rule simply matches nobody. */
#include "video_access.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>
#include "db.h"
#include "log.h"

int video_access_decide(const char *role, long uid, long owner_id, const char *visibility, int in_org, int in_class)
{
	if (role && !strcmp(role, "admin")) return 1;
	if (uid > 0 && owner_id > 0 && uid == owner_id) return 1;
	if (!visibility) return 0;
	if (!strcmp(visibility, "public")) return 1;
	if (uid <= 0 || (role && !strcmp(role, "guest"))) return 0;
	if (!strcmp(visibility, "org")) return in_org;
	if (!strcmp(visibility, "class")) return in_class;
	return 0;
}

int video_may_manage(req *r, long owner_id)
{
	if (!r->user) return 0;
	if (!strcmp(r->user->role, "admin")) return 1;
	return !strcmp(r->user->role, "creator") && owner_id > 0 && owner_id == r->user->id;
}

static int roster_present = -1;

static int have_roster(void)
{
	if (roster_present >= 0) return roster_present;
	PGresult *res = DB_EXEC0("SELECT to_regclass('public.roster_enrollments') IS NOT NULL");
	if (!res) return 0;
	roster_present = PQntuples(res) && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return roster_present;
}

void video_access_sql(buf *out, int uid_param, int role_param)
{
	buf_puts(out, "(");
	video_access_sql_rule(out, uid_param, role_param);
	/* an assignment to a class the viewer is enrolled in grants the video whatever its visibility */
	if (have_roster())
		buf_printf(out, " OR ($%d <> 'guest' AND EXISTS (SELECT 1 FROM assignment_videos av "
			   "JOIN assignment_classes ac ON ac.assignment_id = av.assignment_id "
			   "JOIN roster_classes rc ON rc.sourced_id = ac.class_sourced_id AND rc.status = 'active' "
			   "JOIN roster_enrollments e ON e.class_sourced_id = ac.class_sourced_id AND e.status = 'active' "
			   "JOIN users cu ON cu.sourced_id = e.user_sourced_id WHERE cu.id = $%d::bigint AND av.video_id = v.id))",
			   role_param, uid_param);
	buf_puts(out, ")");
}

const char *video_access_scope(req *r)
{
	if (!r->user) return "g";
	if (!strcmp(r->user->role, "admin")) return "a";   /* admins see every video */
	const char *uid = arena_printf(r->a, "%ld", r->user->id);
	/* what video_access_sql reads besides the video: the organisation, the classes the viewer is actively
	 * enrolled in (class visibility) and the videos assigned to active classes they are in (the grant) */
	PGresult *res = have_roster()
		? DB_EXEC("SELECT COALESCE(u.org_sourced_id, ''), "
			  "(SELECT string_agg(e.class_sourced_id, ',' ORDER BY e.class_sourced_id) FROM roster_enrollments e "
			  " WHERE e.user_sourced_id = u.sourced_id AND e.status = 'active'), "
			  "(SELECT string_agg(DISTINCT av.video_id::text, ',') FROM assignment_videos av "
			  " JOIN assignment_classes ac ON ac.assignment_id = av.assignment_id "
			  " JOIN roster_classes rc ON rc.sourced_id = ac.class_sourced_id AND rc.status = 'active' "
			  " JOIN roster_enrollments e ON e.class_sourced_id = ac.class_sourced_id AND e.status = 'active' "
			  " WHERE e.user_sourced_id = u.sourced_id) "
			  "FROM users u WHERE u.id = $1::bigint", uid)
		: DB_EXEC("SELECT COALESCE(u.org_sourced_id, ''), '', '' FROM users u WHERE u.id = $1::bigint", uid);
	if (!res) { log_error("video_access_scope: %s", db_error()); return NULL; }
	buf k = {0};
	buf_printf(&k, "%s|%s|", uid, r->user->role);
	for (int i = 0; PQntuples(res) && i < 3; i++) buf_printf(&k, "%s|", PQgetvalue(res, 0, i));
	PQclear(res);
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)k.p, k.len, md);
	buf_free(&k);
	char hex[2 * 12 + 1];
	for (int i = 0; i < 12; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return arena_printf(r->a, "u%s-%s", uid, hex);
}

void video_access_sql_rule(buf *out, int uid_param, int role_param)
{
	/* guests see public videos only, as video_access_decide says */
	buf_printf(out, "($%d = 'admin' OR v.visibility = 'public' OR (v.owner_id IS NOT NULL AND v.owner_id = $%d::bigint) "
		   "OR ($%d <> 'guest' AND v.visibility = 'org' AND v.org_sourced_id IS NOT NULL AND v.org_sourced_id = "
		   "(SELECT org_sourced_id FROM users WHERE id = $%d::bigint))",
		   role_param, uid_param, role_param, uid_param);
	if (have_roster())
		buf_printf(out, " OR ($%d <> 'guest' AND v.visibility = 'class' AND EXISTS (SELECT 1 FROM roster_enrollments e "
			   "JOIN users cu ON cu.sourced_id = e.user_sourced_id WHERE cu.id = $%d::bigint "
			   "AND e.status = 'active' AND e.class_sourced_id = ANY (v.class_sourced_ids)))",
			   role_param, uid_param);
	buf_puts(out, ")");
}

int video_may_watch(req *r, const char *video_pk)
{
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", r->user ? r->user->id : 0L);
	PGresult *res = DB_EXEC("SELECT COALESCE(v.owner_id, 0), v.visibility, "
				"(v.org_sourced_id IS NOT NULL AND v.org_sourced_id = "
				" (SELECT org_sourced_id FROM users WHERE id = $2::bigint)) "
				"FROM videos v WHERE v.id = $1::bigint", video_pk, uid);
	if (!res) { log_error("video_may_watch: %s", db_error()); return -1; }
	if (PQntuples(res) == 0) { PQclear(res); return 0; }
	long owner = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	char vis[16];
	snprintf(vis, sizeof vis, "%s", PQgetvalue(res, 0, 1));
	int in_org = PQgetvalue(res, 0, 2)[0] == 't', in_class = 0;
	PQclear(res);
	if (!strcmp(vis, "class") && r->user && have_roster()) {
		res = DB_EXEC("SELECT EXISTS (SELECT 1 FROM roster_enrollments e JOIN users u ON u.sourced_id = e.user_sourced_id "
			      "JOIN videos v ON e.class_sourced_id = ANY (v.class_sourced_ids) "
			      "WHERE u.id = $2::bigint AND v.id = $1::bigint AND e.status = 'active')", video_pk, uid);
		if (!res) { log_error("video_may_watch: %s", db_error()); return -1; }
		in_class = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	int ok = video_access_decide(r->user ? r->user->role : NULL, r->user ? r->user->id : 0, owner, vis, in_org, in_class);
	if (ok || !r->user || !strcmp(r->user->role, "guest") || !have_roster()) return ok;
	/* assigned to one of the viewer's classes (sql/050_learn.sql): watchable whatever the visibility */
	res = DB_EXEC("SELECT EXISTS (SELECT 1 FROM assignment_videos av "
		      "JOIN assignment_classes ac ON ac.assignment_id = av.assignment_id "
		      "JOIN roster_classes rc ON rc.sourced_id = ac.class_sourced_id AND rc.status = 'active' "
		      "JOIN roster_enrollments e ON e.class_sourced_id = ac.class_sourced_id AND e.status = 'active' "
		      "JOIN users u ON u.sourced_id = e.user_sourced_id WHERE u.id = $2::bigint AND av.video_id = $1::bigint)",
		      video_pk, uid);
	if (!res) { log_error("video_may_watch: %s", db_error()); return -1; }
	ok = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return ok;
}
