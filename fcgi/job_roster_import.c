/* Job "roster_import": payload {"import_id": N}. Runs roster_import_run on the stored upload and mirrors its
 * progress (rows, rows/s, phase, live error/warning counts) into the job row. A fatal error (database gone) is
 * retried by the job system; the import's single transaction guarantees a retry starts from the old state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "db.h"
#include "jobs.h"
#include "config.h"
#include "dataset.h"
#include "log.h"
#include "roster_import.h"

static int on_progress(void *ud, double pct, const char *phase, json_object *stats)
{
	struct job *j = ud;
	job_set_stats(j, stats);
	job_progress(j, pct, phase);
	return job_cancelled(j) ? -1 : 0;
}

/* the commit is fenced: a cancel or a takeover that came in while the import ran wins over its COMMIT */
static int may_commit(void *ud, PGconn *conn) { return job_commit_fence(ud, conn); }

int job_roster_import(struct job *j)
{
	json_object *v;
	long id = json_object_object_get_ex(j->payload, "import_id", &v) ? json_object_get_int64(v) : 0;
	char ids[32];
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *r = DB_EXEC("SELECT path, filename, dry_run, created_by FROM roster_imports "
			      "WHERE id = $1::bigint", ids);
	if (!r || PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		snprintf(j->error, sizeof j->error, "roster import %ld not found", id);
		return -2;
	}
	char path[1024], filename[300], actor[40] = "system";
	snprintf(path, sizeof path, "%s", PQgetvalue(r, 0, 0));
	snprintf(filename, sizeof filename, "%s", PQgetvalue(r, 0, 1));
	if (!PQgetisnull(r, 0, 3))
		snprintf(actor, sizeof actor, "user:%s", PQgetvalue(r, 0, 3));
	struct roster_import_opts o = {
		.path = path, .filename = filename, .dry_run = PQgetvalue(r, 0, 2)[0] == 't', .import_id = id, .jp = 1,
		.single_delta = json_object_object_get_ex(j->payload, "delta", &v) && json_object_get_boolean(v), .progress = on_progress, .ud = j,
		.may_commit = may_commit,
	};
	PQclear(r);
	o.jp = config_get_int("roster_japan_profile", 1) != 0;
	/* every real import is a dataset version, checked for quality before it commits (dataset.c) */
	struct dataset_import ds;
	int force = json_object_object_get_ex(j->payload, "force", &v) && json_object_get_boolean(v);
	if (dataset_import_begin(&ds, id, force) == 0) {
		o.before_commit = dataset_import_hold;
		o.commit_ud = &ds;
	}
	struct roster_import_result res;
	int rc = roster_import_run(&o, &res);
	if (o.before_commit)
		dataset_import_end(&ds, rc, &res);
	json_object *d = json_object_new_object();
	json_object_object_add(d, "import_id", json_object_new_int64(id));
	json_object_object_add(d, "dry_run", json_object_new_boolean(o.dry_run));
	json_object_object_add(d, "errors", json_object_new_int64(res.errors));
	json_object_object_add(d, "warnings", json_object_new_int64(res.warnings));
	json_object_object_add(d, "applied", json_object_new_boolean(res.applied));
	if (rc < 0) {
		snprintf(j->error, sizeof j->error, "%s", res.error);
		/* stopped because another worker took the job over: the import row is that attempt's now */
		if (job_lease_hold(j) == 0) {
			json_object_put(d);
			json_object_put(res.counts);
			return -3;
		}
		int last = j->attempt >= j->max_attempts || !strcmp(res.error, "cancelled");
		if (last)
			DB_CMD("UPDATE roster_imports SET state = 'failed', error = $2, finished_at = now() WHERE id = $1::bigint",
			       ids, res.error);
		else
			DB_CMD("UPDATE roster_imports SET state = 'queued', error = $2 WHERE id = $1::bigint", ids, res.error);
		json_object_object_add(d, "error", json_object_new_string(res.error));
		audit_record(NULL, actor, "roster.import", filename, d, 500, res.rows);
		json_object_put(d);
		json_object_put(res.counts);
		return last ? -2 : -1;
	}
	audit_record(NULL, actor, "roster.import", filename, d, res.errors ? 422 : 200, res.rows);
	json_object_put(d);
	char msg[160];
	if (res.errors)
		snprintf(msg, sizeof msg, "%ld errors, %ld warnings: nothing changed", res.errors, res.warnings);
	else if (res.held)
		snprintf(msg, sizeof msg, "quality check failed: held for review, nothing changed");
	else
		snprintf(msg, sizeof msg, "%ld rows %s", res.rows, res.applied ? "imported" : "checked (dry run)");
	job_progress(j, 100, msg);
	json_object_put(res.counts);
	return 0;
}
