/* Quality checks of a roster dataset version: the metrics are one set-based statement over the roster tables
 * (offending rows into a temporary table, then counted and copied out), graded in C with the dataset's thresholds. */
#include "quality.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "quality_rules.h"

int quality_copy_pipe(PGconn *src, const char *out_sql, const char *in_sql)
{
	PGconn *dst = db_conn();
	if (!dst) return -1;
	PGresult *x = PQexec(src, out_sql);
	if (PQresultStatus(x) != PGRES_COPY_OUT) {
		log_error("quality: copy out: %s", PQresultErrorMessage(x));
		PQclear(x);
		return -1;
	}
	PQclear(x);
	x = PQexec(dst, in_sql);
	int in_copy = PQresultStatus(x) == PGRES_COPY_IN, rc = in_copy ? 0 : -1;
	if (!in_copy) log_error("quality: copy in: %s", PQresultErrorMessage(x));
	PQclear(x);
	char *line;
	int n;
	/* src is drained whatever happens to dst, so its connection stays usable */
	while ((n = PQgetCopyData(src, &line, 0)) > 0) {
		if (rc == 0 && PQputCopyData(dst, line, n) != 1) rc = -1;
		PQfreemem(line);
	}
	if (n == -2) rc = -1;
	while ((x = PQgetResult(src))) {
		if (PQresultStatus(x) != PGRES_COMMAND_OK) { rc = -1; log_error("quality: copy out: %s", PQresultErrorMessage(x)); }
		PQclear(x);
	}
	if (in_copy) {
		PQputCopyEnd(dst, rc < 0 ? "aborted" : NULL);
		while ((x = PQgetResult(dst))) {
			if (PQresultStatus(x) != PGRES_COMMAND_OK) {
				if (rc == 0) log_error("quality: copy in: %s", PQresultErrorMessage(x));
				rc = -1;
			}
			PQclear(x);
		}
	}
	return rc;
}

/* The offending rows of every roster metric, for the roster as conn sees it (active rows only).
 * duplicates: the same person (family + given name, birth date, school) under two or more sourcedIds.
 * orphan_refs: active rows pointing at a user, class, course or org that is not active.
 * users_without_enrollment: pupils and teachers (or users without any role) in no active class.
 * missing_kana: Japan Profile kana names (metadata.jp.kanaFamilyName / kanaGivenName) empty.
 * format: an e-mail address that is not one, a username or identifier with spaces or control characters. */
static const char ROWS_SQL[] =
	"CREATE TEMP TABLE q_rows ON COMMIT DROP AS "
	"SELECT 'duplicates'::text AS metric, 'users'::text AS entity, sourced_id, detail FROM ("
	" SELECT u.sourced_id, u.family_name || ' ' || u.given_name || ' / ' || d.birth_date || ' / ' || "
	"  COALESCE(u.primary_org_sourced_id, '') AS detail, count(*) OVER (PARTITION BY u.family_name, u.given_name, "
	"  d.birth_date, u.primary_org_sourced_id) AS c"
	" FROM roster_users u JOIN roster_demographics d ON d.sourced_id = u.sourced_id AND d.status = 'active' "
	" AND d.birth_date IS NOT NULL WHERE u.status = 'active') x WHERE c > 1 "
	"UNION ALL SELECT 'orphan_refs', 'enrollments', e.sourced_id, 'userSourcedId ' || e.user_sourced_id "
	" FROM roster_enrollments e WHERE e.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_users u "
	" WHERE u.sourced_id = e.user_sourced_id AND u.status = 'active') "
	"UNION ALL SELECT 'orphan_refs', 'enrollments', e.sourced_id, 'classSourcedId ' || e.class_sourced_id "
	" FROM roster_enrollments e WHERE e.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_classes c "
	" WHERE c.sourced_id = e.class_sourced_id AND c.status = 'active') "
	"UNION ALL SELECT 'orphan_refs', 'classes', c.sourced_id, 'courseSourcedId ' || c.course_sourced_id "
	" FROM roster_classes c WHERE c.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_courses k "
	" WHERE k.sourced_id = c.course_sourced_id AND k.status = 'active') "
	"UNION ALL SELECT 'orphan_refs', 'classes', c.sourced_id, 'schoolSourcedId ' || c.school_sourced_id "
	" FROM roster_classes c WHERE c.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_orgs o "
	" WHERE o.sourced_id = c.school_sourced_id AND o.status = 'active') "
	"UNION ALL SELECT 'orphan_refs', 'roles', r.sourced_id, 'userSourcedId ' || r.user_sourced_id "
	" FROM roster_roles r WHERE r.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_users u "
	" WHERE u.sourced_id = r.user_sourced_id AND u.status = 'active') "
	"UNION ALL SELECT 'orphan_refs', 'roles', r.sourced_id, 'orgSourcedId ' || r.org_sourced_id "
	" FROM roster_roles r WHERE r.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_orgs o "
	" WHERE o.sourced_id = r.org_sourced_id AND o.status = 'active') "
	"UNION ALL SELECT 'users_without_enrollment', 'users', u.sourced_id, u.username FROM roster_users u "
	" WHERE u.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_enrollments e WHERE e.user_sourced_id = "
	" u.sourced_id AND e.status = 'active') AND NOT EXISTS (SELECT 1 FROM roster_roles r WHERE r.user_sourced_id = "
	" u.sourced_id AND r.status = 'active' AND r.role NOT IN ('student', 'teacher')) "
	"UNION ALL SELECT 'classes_without_teacher', 'classes', c.sourced_id, c.title FROM roster_classes c "
	" WHERE c.status = 'active' AND NOT EXISTS (SELECT 1 FROM roster_enrollments e WHERE e.class_sourced_id = "
	" c.sourced_id AND e.status = 'active' AND e.role = 'teacher') "
	"UNION ALL SELECT 'missing_kana', 'users', u.sourced_id, u.family_name || ' ' || u.given_name "
	" FROM roster_users u WHERE u.status = 'active' AND (COALESCE(btrim(u.metadata ->> 'jp.kanaFamilyName'), '') = '' "
	" OR COALESCE(btrim(u.metadata ->> 'jp.kanaGivenName'), '') = '') "
	"UNION ALL SELECT 'format', 'users', u.sourced_id, 'email ' || u.email FROM roster_users u "
	" WHERE u.status = 'active' AND COALESCE(u.email, '') <> '' "
	" AND u.email !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\\.[^@[:space:][:cntrl:].]+$' "
	"UNION ALL SELECT 'format', 'users', u.sourced_id, 'username ' || u.username FROM roster_users u "
	" WHERE u.status = 'active' AND (btrim(u.username) = '' OR u.username ~ '[[:space:][:cntrl:]]') "
	"UNION ALL SELECT 'format', 'users', u.sourced_id, 'identifier ' || u.identifier FROM roster_users u "
	" WHERE u.status = 'active' AND u.identifier ~ '[[:space:][:cntrl:]]'";

static const char TOTALS_SQL[] =
	"WITH n AS (SELECT (SELECT count(*) FROM roster_users WHERE status = 'active') AS users, "
	" (SELECT count(*) FROM roster_classes WHERE status = 'active') AS classes, "
	" (SELECT count(*) FROM roster_enrollments WHERE status = 'active') AS enrollments, "
	" (SELECT count(*) FROM roster_roles WHERE status = 'active') AS roles) "
	"SELECT m.metric, COALESCE(q.c, 0), m.total FROM n CROSS JOIN LATERAL (VALUES "
	" ('duplicates', n.users), ('orphan_refs', n.enrollments + n.classes + n.roles), "
	" ('users_without_enrollment', n.users), ('classes_without_teacher', n.classes), ('missing_kana', n.users), "
	" ('format', n.users)) m(metric, total) "
	"LEFT JOIN (SELECT metric, count(DISTINCT (entity, sourced_id)) AS c FROM q_rows GROUP BY metric) q "
	"ON q.metric = m.metric";

static long row_cap(void)
{
	long cap = config_get_int("quality.max_rows", 10000);
	return cap < 1 ? 1 : cap;
}

/* thresholds: the dataset's override, else the default */
static void thresholds(json_object *over, const struct quality_metric *m, double *warn, double *fail)
{
	json_object *o, *v;
	*warn = m->warn;
	*fail = m->fail;
	if (over && json_object_object_get_ex(over, m->key, &o)) {
		if (json_object_object_get_ex(o, "warn", &v)) *warn = json_object_get_double(v);
		if (json_object_object_get_ex(o, "fail", &v)) *fail = json_object_get_double(v);
	}
}

static int worse(const char *a, const char *b)
{
	static const char *order[] = {"pass", "warn", "fail"};
	int ia = 0, ib = 0;
	for (int i = 0; i < 3; i++) {
		if (!strcmp(a, order[i])) ia = i;
		if (!strcmp(b, order[i])) ib = i;
	}
	return ib > ia;
}

struct check { long id, version, dataset; json_object *over; char ids[24], vids[24], dids[24], num[16], name[300]; };

static int check_open(struct check *c, long version_id, const char *trigger)
{
	memset(c, 0, sizeof *c);
	c->version = version_id;
	snprintf(c->vids, sizeof c->vids, "%ld", version_id);
	PGresult *r = DB_EXEC("SELECT d.id, d.thresholds::text, v.number, d.name FROM dataset_versions v "
			      "JOIN datasets d ON d.id = v.dataset_id WHERE v.id = $1::bigint", c->vids);
	if (!r || PQntuples(r) != 1) { PQclear(r); return -1; }
	c->dataset = atol(PQgetvalue(r, 0, 0));
	snprintf(c->dids, sizeof c->dids, "%ld", c->dataset);
	c->over = json_tokener_parse(PQgetvalue(r, 0, 1));
	snprintf(c->num, sizeof c->num, "%s", PQgetvalue(r, 0, 2));
	snprintf(c->name, sizeof c->name, "%s", PQgetvalue(r, 0, 3));
	PQclear(r);
	r = DB_EXEC("INSERT INTO dataset_checks (version_id, trigger) VALUES ($1::bigint, $2) RETURNING id", c->vids, trigger);
	if (!r || PQntuples(r) != 1) { PQclear(r); json_object_put(c->over); return -1; }
	c->id = atol(PQgetvalue(r, 0, 0));
	snprintf(c->ids, sizeof c->ids, "%ld", c->id);
	PQclear(r);
	return 0;
}

static void metric_put(struct check *c, const char *key, long offending, long total, char worst[8])
{
	const struct quality_metric *m = quality_metric_find(key);
	double warn, fail, value = quality_percent(offending, total);
	thresholds(c->over, m, &warn, &fail);
	const char *g = quality_grade(value, warn, fail);
	char o[24], t[24], v[32], w[32], f[32];
	snprintf(o, sizeof o, "%ld", offending);
	snprintf(t, sizeof t, "%ld", total);
	snprintf(v, sizeof v, "%.6f", value);
	snprintf(w, sizeof w, "%.6f", warn);
	snprintf(f, sizeof f, "%.6f", fail);
	if (DB_CMD("INSERT INTO dataset_metrics (check_id, metric, offending, total, value, warn, fail, result) "
		   "VALUES ($1::bigint, $2, $3::bigint, $4::bigint, $5::float8, $6::float8, $7::float8, $8)",
		   c->ids, key, o, t, v, w, f, g) < 0)
		log_error("quality check %ld: cannot store %s: %s", c->id, key, db_error());
	if (worse(worst, g)) snprintf(worst, 8, "%s", g);
}

/* users_removed: the previous applied version's users that this version no longer has (from the fingerprints) */
static void users_removed(struct check *c, char worst[8])
{
	char cap[24];
	snprintf(cap, sizeof cap, "%ld", row_cap());
	PGresult *r = DB_EXEC("WITH prev AS (SELECT p.id FROM dataset_versions p JOIN dataset_versions v ON v.id = $1::bigint "
			      " WHERE p.dataset_id = v.dataset_id AND p.number < v.number AND p.published_at IS NOT NULL "
			      " AND EXISTS (SELECT 1 FROM dataset_rows x WHERE x.version_id = p.id) ORDER BY p.number DESC LIMIT 1), "
			      "gone AS (SELECT a.sourced_id FROM dataset_rows a WHERE a.version_id = (SELECT id FROM prev) "
			      " AND a.entity = 'users' AND NOT EXISTS (SELECT 1 FROM dataset_rows b WHERE b.version_id = $1::bigint "
			      " AND b.entity = 'users' AND b.sourced_id = a.sourced_id)), "
			      "ins AS (INSERT INTO dataset_metric_rows (check_id, metric, n, entity, sourced_id) "
			      " SELECT $2::bigint, 'users_removed', row_number() OVER (ORDER BY sourced_id), 'users', sourced_id "
			      " FROM (SELECT sourced_id FROM gone ORDER BY sourced_id LIMIT $3::bigint) g) "
			      "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM dataset_rows WHERE version_id = "
			      " (SELECT id FROM prev) AND entity = 'users')", c->vids, c->ids, cap);
	long gone = r && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : 0, total = r && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 1)) : 0;
	if (!r) log_error("quality check %ld: users_removed: %s", c->id, db_error());
	PQclear(r);
	metric_put(c, "users_removed", gone, total, worst);
}

static void check_close(struct check *c, const char *worst)
{
	DB_CMD("UPDATE dataset_checks SET result = $2 WHERE id = $1::bigint", c->ids, worst);
	if (!strcmp(worst, "fail")) {
		json_object *d = json_object_new_object();
		char title[360], href[96], ev[64];
		snprintf(title, sizeof title, "%s v%s", c->name, c->num);
		snprintf(href, sizeof href, "/admin/datasets/%ld/versions/%s", c->dataset, c->num);
		snprintf(ev, sizeof ev, "quality:%ld", c->id);
		json_object_object_add(d, "title", json_object_new_string(title));
		json_object_object_add(d, "href", json_object_new_string(href));
		notify_emit("quality_failed", ev, "admins", 0, d);
		json_object_put(d);
		log_warn("quality check %ld of dataset %ld version %s failed", c->id, c->dataset, c->num);
	}
	json_object_put(c->over);
}

long quality_run(PGconn *conn, long version_id, const char *trigger, long errors, long rows, char worst[8])
{
	struct check c;
	snprintf(worst, 8, "pass");
	if (check_open(&c, version_id, trigger) < 0) return -1;
	PGresult *r = PQexec(conn, ROWS_SQL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) log_error("quality check %ld: %s", c.id, PQresultErrorMessage(r));
	PQclear(r);
	if (ok) {
		/* numbers only (ids and the cap formatted here): COPY cannot take bound parameters */
		char out[400];
		snprintf(out, sizeof out, "COPY (SELECT %ld, metric, n, entity, sourced_id, COALESCE(detail, '') FROM ("
			 "SELECT metric, entity, sourced_id, detail, row_number() OVER (PARTITION BY metric ORDER BY entity, "
			 "sourced_id, detail) AS n FROM q_rows) x WHERE n <= %ld) TO STDOUT", c.id, row_cap());
		if (quality_copy_pipe(conn, out, "COPY dataset_metric_rows (check_id, metric, n, entity, sourced_id, detail) "
				      "FROM STDIN") < 0)
			ok = 0;
	}
	r = ok ? PQexec(conn, TOTALS_SQL) : NULL;
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (r) log_error("quality check %ld: %s", c.id, PQresultErrorMessage(r));
		PQclear(r);
		json_object_put(c.over);
		DB_CMD("DELETE FROM dataset_checks WHERE id = $1::bigint", c.ids);
		return -1;
	}
	metric_put(&c, "error_rate", errors, rows, worst);
	for (int i = 0; i < PQntuples(r); i++)
		metric_put(&c, PQgetvalue(r, i, 0), atol(PQgetvalue(r, i, 1)), atol(PQgetvalue(r, i, 2)), worst);
	PQclear(r);
	users_removed(&c, worst);
	check_close(&c, worst);
	return c.id;
}

long quality_run_errors(long version_id, long import_id, long errors, long rows, char worst[8])
{
	struct check c;
	snprintf(worst, 8, "pass");
	if (check_open(&c, version_id, "import") < 0) return -1;
	char iid[24], cap[24];
	snprintf(iid, sizeof iid, "%ld", import_id);
	snprintf(cap, sizeof cap, "%ld", row_cap());
	DB_CMD("INSERT INTO dataset_metric_rows (check_id, metric, n, entity, sourced_id, detail) "
	       "SELECT $1::bigint, 'error_rate', row_number() OVER (ORDER BY id), file, 'line ' || line, "
	       "rule || ' ' || col || ' ' || message_ja FROM (SELECT * FROM roster_import_findings WHERE import_id = $2::bigint "
	       "AND severity = 'error' ORDER BY id LIMIT $3::bigint) f", c.ids, iid, cap);
	metric_put(&c, "error_rate", errors, rows > 0 ? rows : errors, worst);
	check_close(&c, worst);
	return c.id;
}

long quality_check_dataset(long dataset_id, const char *trigger, char worst[8])
{
	char ds[24];
	snprintf(ds, sizeof ds, "%ld", dataset_id);
	PGresult *r = DB_EXEC("SELECT id FROM dataset_versions WHERE dataset_id = $1::bigint AND status = 'published' "
			      "AND source = 'roster_import'", ds);
	long v = r && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : 0;
	PQclear(r);
	if (!v) return -1;
	PGconn *c = PQconnectdb(cfg.database_url ? cfg.database_url : "");
	if (PQstatus(c) != CONNECTION_OK) {
		log_error("quality check: database: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PQclear(PQexec(c, "BEGIN"));
	long id = quality_run(c, v, trigger, 0, 0, worst);
	PQclear(PQexec(c, "ROLLBACK"));
	PQfinish(c);
	return id;
}
