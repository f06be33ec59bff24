/* Datasets: versions made from roster imports, exports and statistics exports, their files stored once by content
 * hash, the roster fingerprints of an import (for diffs), scheduled checks and retention (run by the worker). */
#include "dataset.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "quality.h"
#include "quality_rules.h"
#include "timefmt.h"
#include "video_store.h"

/* ---- file store ---- */

int dataset_file_sha256(const char *path, char hex[65], long long *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	if (fd < 0) return -1;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned char buf[65536], md[32];
	long long total = 0;
	ssize_t n;
	if (!h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) goto out;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (EVP_DigestUpdate(h, buf, (size_t)n) != 1) goto out;
		total += n;
	}
	if (n < 0 || EVP_DigestFinal_ex(h, md, NULL) != 1) goto out;
	for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (size) *size = total;
	rc = 0;
out:
	EVP_MD_CTX_free(h);
	close(fd);
	return rc;
}

int dataset_object_path(const char *sha, char *out, size_t outlen)
{
	if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64) return -1;
	snprintf(out, outlen, "%s/%.2s/%s", config_data_path("datasets/objects"), sha, sha);
	return 0;
}

int dataset_store(const char *path, char sha[65], long long *size, char *err, size_t errlen)
{
	char obj[1024], tmp[1100];
	if (dataset_file_sha256(path, sha, size) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	dataset_object_path(sha, obj, sizeof obj);
	struct stat st;
	if (stat(obj, &st) == 0 && st.st_size == *size) return 0;
	char dir[1024];
	snprintf(dir, sizeof dir, "%s", obj);
	*strrchr(dir, '/') = 0;
	video_mkdirs(dir);
	/* same file system: a hard link costs no space; else a copy, renamed into place so no half object exists */
	snprintf(tmp, sizeof tmp, "%s.%d.part", obj, (int)getpid());
	unlink(tmp);
	if (link(path, tmp) != 0 && video_copy_file(path, tmp) != 0) {
		snprintf(err, errlen, "cannot store %s: %s", obj, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, obj) != 0) {
		snprintf(err, errlen, "cannot store %s: %s", obj, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

long dataset_default(const char *kind)
{
	PGresult *r = DB_EXEC("SELECT id FROM datasets WHERE kind = $1 AND is_default", kind);
	long id = r && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return id;
}

/* Insert a version with the next number (a concurrent insert takes the number: try again). */
static long version_insert(long dataset_id, const char *source, const char *filename, const char *sha, long long size,
			   long import_id, long export_id, long created_by, const char *status, const char *metadata)
{
	char ds[24], sz[24], imp[24], exp[24], by[24];
	snprintf(ds, sizeof ds, "%ld", dataset_id);
	snprintf(sz, sizeof sz, "%lld", size);
	snprintf(imp, sizeof imp, "%ld", import_id);
	snprintf(exp, sizeof exp, "%ld", export_id);
	snprintf(by, sizeof by, "%ld", created_by);
	for (int attempt = 0; attempt < 5; attempt++) {
		PGresult *r = DB_EXEC("INSERT INTO dataset_versions (dataset_id, number, source, import_id, export_id, filename, "
				      "sha256, size, created_by, status, metadata, published_at) SELECT $1::bigint, "
				      "COALESCE(max(number), 0) + 1, $2, NULLIF($3, '0')::bigint, NULLIF($4, '0')::bigint, $5, $6, "
				      "$7::bigint, (SELECT id FROM users WHERE id = NULLIF($8, '0')::bigint), $9, $10::jsonb, "
				      "CASE WHEN $9 = 'published' THEN now() END "
				      "FROM dataset_versions WHERE dataset_id = $1::bigint RETURNING id",
				      ds, source, imp, exp, filename, sha, sz, by, status, metadata);
		if (r && PQntuples(r) == 1) {
			long id = atol(PQgetvalue(r, 0, 0));
			PQclear(r);
			return id;
		}
		PQclear(r);
		if (strcmp(db_sqlstate(), "23505")) break;
	}
	log_error("dataset %ld: cannot record a version: %s", dataset_id, db_error());
	return -1;
}

/* The one published version of a dataset is the current one: publishing archives the previous. */
static void publish(long version_id)
{
	char v[24];
	snprintf(v, sizeof v, "%ld", version_id);
	if (db_begin() < 0) return;
	if (DB_CMD("UPDATE dataset_versions SET status = 'archived' WHERE status = 'published' AND id <> $1::bigint "
		   "AND dataset_id = (SELECT dataset_id FROM dataset_versions WHERE id = $1::bigint)", v) < 0 ||
	    DB_CMD("UPDATE dataset_versions SET status = 'published', published_at = now() WHERE id = $1::bigint", v) < 0) {
		log_error("dataset version %ld: cannot publish: %s", version_id, db_error());
		db_rollback();
		return;
	}
	db_commit();
}

/* ---- roster imports ---- */

int dataset_import_begin(struct dataset_import *d, long import_id, int force)
{
	memset(d, 0, sizeof *d);
	d->import_id = import_id;
	d->force = force;
	snprintf(d->worst, sizeof d->worst, "pass");
	char id[24];
	snprintf(id, sizeof id, "%ld", import_id);
	PGresult *r = DB_EXEC("SELECT i.path, i.filename, i.dry_run, COALESCE(i.created_by, 0), d.id, d.block_on_fail, "
			      "v.id, i.mode FROM roster_imports i JOIN datasets d ON d.id = COALESCE(i.dataset_id, "
			      "(SELECT id FROM datasets WHERE kind = 'roster_import' AND is_default)) "
			      "LEFT JOIN dataset_versions v ON v.import_id = i.id WHERE i.id = $1::bigint", id);
	if (!r || PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		return -1;
	}
	if (PQgetvalue(r, 0, 2)[0] == 't') {
		PQclear(r);
		return 1;
	}
	d->dataset_id = atol(PQgetvalue(r, 0, 4));
	d->block = PQgetvalue(r, 0, 5)[0] == 't';
	if (!PQgetisnull(r, 0, 6)) {
		d->version_id = atol(PQgetvalue(r, 0, 6));
		PQclear(r);
		return 0;
	}
	char sha[65], err[300], meta[200];
	long long size;
	if (dataset_store(PQgetvalue(r, 0, 0), sha, &size, err, sizeof err) < 0) {
		log_error("roster import %ld: dataset file: %s", import_id, err);
		PQclear(r);
		return -1;
	}
	json_object *m = json_object_new_object();
	json_object_object_add(m, "import_id", json_object_new_string(id));
	json_object_object_add(m, "format", json_object_new_string(PQgetvalue(r, 0, 7)));
	snprintf(meta, sizeof meta, "%s", json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
	json_object_put(m);
	d->version_id = version_insert(d->dataset_id, "roster_import", PQgetvalue(r, 0, 1), sha, size, import_id, 0,
				       atol(PQgetvalue(r, 0, 3)), "draft", meta);
	PQclear(r);
	return d->version_id > 0 ? 0 : -1;
}

/* Fingerprints of every active roster row (without date_last_modified, which every import moves). */
static const char *const snapshot_tables[][2] = {
	{"orgs", "roster_orgs"}, {"academicSessions", "roster_academic_sessions"}, {"courses", "roster_courses"},
	{"classes", "roster_classes"}, {"users", "roster_users"}, {"roles", "roster_roles"},
	{"userProfiles", "roster_user_profiles"}, {"enrollments", "roster_enrollments"},
	{"demographics", "roster_demographics"},
};

static int snapshot(PGconn *conn, long version_id)
{
	char v[24], sql[4096];
	snprintf(v, sizeof v, "%ld", version_id);
	if (DB_CMD("DELETE FROM dataset_rows WHERE version_id = $1::bigint", v) < 0) return -1;
	int n = snprintf(sql, sizeof sql, "COPY (");
	for (size_t i = 0; i < sizeof snapshot_tables / sizeof snapshot_tables[0]; i++)
		n += snprintf(sql + n, sizeof sql - (size_t)n, "%sSELECT %ld, '%s', sourced_id, md5((to_jsonb(t) - "
			      "'date_last_modified')::text)::uuid FROM %s t WHERE status = 'active'", i ? " UNION ALL " : "",
			      version_id, snapshot_tables[i][0], snapshot_tables[i][1]);
	snprintf(sql + n, sizeof sql - (size_t)n, ") TO STDOUT");
	return quality_copy_pipe(conn, sql, "COPY dataset_rows (version_id, entity, sourced_id, h) FROM STDIN");
}

int dataset_import_hold(void *ud, PGconn *conn, long rows)
{
	struct dataset_import *d = ud;
	if (!d || d->version_id <= 0) return 0;
	if (snapshot(conn, d->version_id) < 0) {
		log_error("roster import %ld: dataset fingerprints failed", d->import_id);
		return -1;
	}
	if (quality_run(conn, d->version_id, "import", 0, rows, d->worst) < 0) {
		log_error("roster import %ld: quality check failed to run", d->import_id);
		return -1;
	}
	return d->block && !d->force && !strcmp(d->worst, "fail") ? 1 : 0;
}

void dataset_import_end(struct dataset_import *d, int rc, const struct roster_import_result *res)
{
	if (!d || d->version_id <= 0 || rc < 0) return;
	char v[24];
	snprintf(v, sizeof v, "%ld", d->version_id);
	json_object *rows = json_object_new_object(), *f = json_object_new_object();
	json_object_object_foreach(res->counts, key, val) {
		json_object *n;
		if (json_object_is_type(val, json_type_object) && json_object_object_get_ex(val, "rows", &n))
			json_object_object_add(rows, key, json_object_new_int64(json_object_get_int64(n)));
	}
	json_object_object_add(f, "errors", json_object_new_int64(res->errors));
	json_object_object_add(f, "warnings", json_object_new_int64(res->warnings));
	json_object_object_add(f, "import_id", json_object_new_int64(d->import_id));
	if (DB_CMD("UPDATE dataset_versions SET row_counts = $2::jsonb, findings = $3::jsonb WHERE id = $1::bigint", v,
		   json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN),
		   json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN)) < 0)
		log_error("dataset version %ld: %s", d->version_id, db_error());
	json_object_put(rows);
	json_object_put(f);
	if (res->applied) publish(d->version_id);
	else if (res->errors) quality_run_errors(d->version_id, d->import_id, res->errors, res->rows, d->worst);
}

/* ---- exports ---- */

static void export_version(const char *kind, const char *filename, const char *path, long export_id, long created_by,
			   json_object *counts)
{
	char sha[65], err[300];
	long long size;
	long ds = dataset_default(kind);
	if (ds < 0 || dataset_store(path, sha, &size, err, sizeof err) < 0) {
		log_error("dataset %s: %s", kind, ds < 0 ? "no default dataset" : err);
		return;
	}
	long v = version_insert(ds, kind, filename, sha, size, 0, export_id, created_by, "draft", "{}");
	if (v < 0) return;
	if (counts) {
		char vs[24];
		snprintf(vs, sizeof vs, "%ld", v);
		DB_CMD("UPDATE dataset_versions SET row_counts = $2::jsonb WHERE id = $1::bigint", vs,
		       json_object_to_json_string_ext(counts, JSON_C_TO_STRING_PLAIN));
	}
	publish(v);
}

void dataset_export_done(long export_id, const char *path, json_object *counts, long created_by)
{
	char name[64];
	snprintf(name, sizeof name, "oneroster-export-%ld.zip", export_id);
	json_object *rows = json_object_new_object();
	json_object_object_foreach(counts, key, val) {
		if (json_object_is_type(val, json_type_int)) json_object_object_add(rows, key, json_object_get(val));
		else if (json_object_is_type(val, json_type_object)) {
			json_object *n;
			if (json_object_object_get_ex(val, "rows", &n)) json_object_object_add(rows, key, json_object_get(n));
		}
	}
	export_version("roster_export", name, path, export_id, created_by, rows);
	json_object_put(rows);
}

void dataset_stats_export(const char *filename, const char *tmp_path, long rows, long created_by)
{
	json_object *c = json_object_new_object();
	json_object_object_add(c, "rows", json_object_new_int64(rows));
	export_version("stats_export", filename, tmp_path, 0, created_by, c);
	json_object_put(c);
	unlink(tmp_path);
}

/* ---- worker: schedule and retention ---- */

long dataset_retention(long dataset_id)
{
	char ds[24];
	snprintf(ds, sizeof ds, "%ld", dataset_id);
	PGresult *r = DB_EXEC("WITH ranked AS (SELECT v.id, v.sha256, v.status, v.created_at, d.keep_versions, d.keep_days, "
			      " row_number() OVER (PARTITION BY v.dataset_id ORDER BY v.number DESC) AS rank "
			      " FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id "
			      " WHERE $1::bigint = 0 OR v.dataset_id = $1::bigint), "
			      "gone AS (DELETE FROM dataset_versions v USING ranked k WHERE v.id = k.id AND k.status <> 'published' "
			      " AND k.rank > k.keep_versions AND k.created_at < now() - make_interval(days => k.keep_days) "
			      " RETURNING v.sha256) "
			      "SELECT DISTINCT sha256, (SELECT count(*) FROM gone) FROM gone", ds);
	if (!r) {
		log_error("dataset retention: %s", db_error());
		return -1;
	}
	long n = PQntuples(r) ? atol(PQgetvalue(r, 0, 1)) : 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *sha = PQgetvalue(r, i, 0);
		PGresult *u = DB_EXEC("SELECT 1 FROM dataset_versions WHERE sha256 = $1 LIMIT 1", sha);
		char obj[1024];
		if (u && PQntuples(u) == 0 && dataset_object_path(sha, obj, sizeof obj) == 0 && unlink(obj) != 0 &&
		    errno != ENOENT)
			log_warn("dataset retention: cannot remove %s: %s", obj, strerror(errno));
		PQclear(u);
	}
	PQclear(r);
	if (n > 0) log_info("dataset retention: %ld version(s) deleted", n);
	return n;
}

void dataset_schedule_tick(void)
{
	static time_t next_check, next_retention;
	time_t now = time(NULL);
	if (now >= next_retention) {
		next_retention = now + 3600;
		dataset_retention(0);
	}
	if (now < next_check) return;
	next_check = now + 20;
	/* the minute now in the deployment's zone, from PostgreSQL so the worker's own TZ does not matter */
	PGresult *r = DB_EXEC("SELECT d.id, d.check_schedule, to_char(now() AT TIME ZONE $1, 'MI HH24 DD MM D'), "
			      "date_trunc('minute', now())::text FROM datasets d WHERE d.check_schedule <> '' "
			      "AND (d.last_scheduled_at IS NULL OR d.last_scheduled_at < date_trunc('minute', now()))",
			      time_zone_default());
	for (int i = 0; r && i < PQntuples(r); i++) {
		struct quality_cron c;
		int mi, hh, dd, mm, dw;
		if (quality_cron_parse(PQgetvalue(r, i, 1), &c) < 0 ||
		    sscanf(PQgetvalue(r, i, 2), "%d %d %d %d %d", &mi, &hh, &dd, &mm, &dw) != 5 ||
		    !quality_cron_match(&c, mi, hh, dd, mm, dw - 1))
			continue;
		/* one worker host wins the minute */
		PGresult *u = DB_EXEC("UPDATE datasets SET last_scheduled_at = $2::timestamptz WHERE id = $1::bigint AND "
				      "(last_scheduled_at IS NULL OR last_scheduled_at < $2::timestamptz) RETURNING id",
				      PQgetvalue(r, i, 0), PQgetvalue(r, i, 3));
		if (u && PQntuples(u) == 1) {
			json_object *p = json_object_new_object();
			json_object_object_add(p, "dataset_id", json_object_new_int64(atol(PQgetvalue(r, i, 0))));
			json_object_object_add(p, "trigger", json_object_new_string("schedule"));
			if (job_enqueue("dataset_check", p, 0) < 0) log_warn("could not enqueue dataset_check");
			json_object_put(p);
		}
		PQclear(u);
	}
	PQclear(r);
}

/* Job "dataset_check": payload {"dataset_id", "trigger": "schedule" | "manual"}. */
int job_dataset_check(struct job *j)
{
	json_object *v;
	long ds = json_object_object_get_ex(j->payload, "dataset_id", &v) ? (long)json_object_get_int64(v) : 0;
	const char *trigger = json_object_object_get_ex(j->payload, "trigger", &v) ? json_object_get_string(v) : "manual";
	if (strcmp(trigger, "schedule")) trigger = "manual";
	char worst[8];
	long id = quality_check_dataset(ds, trigger, worst);
	if (id < 0) {
		snprintf(j->error, sizeof j->error, "dataset %ld: no current roster version to check", ds);
		return -2;
	}
	char msg[80];
	snprintf(msg, sizeof msg, "check %ld: %s", id, worst);
	job_progress(j, 100, msg);
	return 0;
}
