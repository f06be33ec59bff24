/* Job "roster_export": payload {"export_id": N}. Streams the bundle into data_dir/roster/exports/<id>.zip.part
 * and renames it into place when complete, so a download never sees half a file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit.h"
#include "config.h"
#include "dataset.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "roster_export.h"

int job_roster_export(struct job *j)
{
	json_object *v;
	long id = json_object_object_get_ex(j->payload, "export_id", &v) ? json_object_get_int64(v) : 0;
	char ids[32], since[64] = "", actor[40] = "system", path[1024], part[1100], err[256] = "";
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *r = DB_EXEC("SELECT mode, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), created_by "
			      "FROM roster_exports WHERE id = $1::bigint", ids);
	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		snprintf(j->error, sizeof j->error, "roster export %ld not found", id);
		return -2;
	}
	if (!strcmp(PQgetvalue(r, 0, 0), "delta"))
		snprintf(since, sizeof since, "%s", PQgetvalue(r, 0, 1));
	if (!PQgetisnull(r, 0, 2))
		snprintf(actor, sizeof actor, "user:%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	DB_CMD("UPDATE roster_exports SET state = 'running', job_id = $2::bigint WHERE id = $1::bigint", ids,
	       (snprintf(err, sizeof err, "%ld", j->id), err));
	mkdir(config_data_path("roster"), 0750);
	mkdir(config_data_path("roster/exports"), 0750);
	snprintf(path, sizeof path, "%s/%ld.zip", config_data_path("roster/exports"), id);
	snprintf(part, sizeof part, "%s.part", path);
	job_progress(j, 1, "exporting");
	FILE *f = fopen(part, "wb");
	struct roster_export_result res = {0};
	int rc = -1;
	err[0] = 0;
	if (!f)
		snprintf(err, sizeof err, "cannot create %s: %s", part, strerror(errno));
	else {
		rc = roster_export_write(since[0] ? since : NULL, zipw_sink_file, f, &res, err, sizeof err);
		if (fclose(f) != 0 && rc == 0) {
			rc = -1;
			snprintf(err, sizeof err, "write failed: %s", strerror(errno));
		}
		if (rc == 0 && rename(part, path) != 0) {
			rc = -1;
			snprintf(err, sizeof err, "rename failed: %s", strerror(errno));
		}
		if (rc < 0)
			unlink(part);
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "export_id", json_object_new_int64(id));
	json_object_object_add(d, "since", since[0] ? json_object_new_string(since) : NULL);
	if (rc < 0) {
		snprintf(j->error, sizeof j->error, "%s", err);
		int last = j->attempt >= j->max_attempts;
		DB_CMD("UPDATE roster_exports SET state = $2, error = $3, finished_at = CASE WHEN $2 = 'failed' THEN now() END "
		       "WHERE id = $1::bigint", ids, last ? "failed" : "queued", err);
		audit_record(NULL, actor, "roster.export", ids, d, 500, 0);
		json_object_put(d);
		json_object_put(res.counts);
		return last ? -2 : -1;
	}
	struct stat st;
	char size[32], rows[32];
	snprintf(size, sizeof size, "%lld", stat(path, &st) == 0 ? (long long)st.st_size : 0LL);
	snprintf(rows, sizeof rows, "%ld", res.rows);
	const char *counts = json_object_to_json_string_ext(res.counts, JSON_C_TO_STRING_PLAIN);
	DB_CMD("UPDATE roster_exports SET state = 'done', path = $2, size = $3::bigint, counts = $4::jsonb, error = NULL, "
	       "finished_at = now() WHERE id = $1::bigint", ids, path, size, counts);
	/* every export is a version of the exports dataset (file stored once by content) */
	dataset_export_done(id, path, res.counts, strncmp(actor, "user:", 5) ? 0 : atol(actor + 5));
	audit_record(NULL, actor, "roster.export", ids, d, 200, res.rows);
	json_object_put(d);
	job_set_stats(j, res.counts);
	char msg[80];
	snprintf(msg, sizeof msg, "%s rows exported", rows);
	job_progress(j, 100, msg);
	json_object_put(res.counts);
	return 0;
}
