/* Operator metrics for /metrics (see ops_metrics.h). Each value comes from where the state lives — PostgreSQL,
 * Redis, the file system — so every FastCGI worker reports the same numbers; a source that is down reports 0
 * in its *_up gauge and leaves its other series out rather than inventing values. */
#include "ops_metrics.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include "backup.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "learn.h"

static void jobs_age(buf *out)
{
	PGresult *res = DB_EXEC0("SELECT kind, extract(epoch FROM now() - min(run_after)) FROM jobs "
				 "WHERE state = 'queued' AND run_after <= now() GROUP BY 1 ORDER BY 1");
	buf_puts(out, "# HELP rstream_db_up 1 when PostgreSQL answered this scrape\n# TYPE rstream_db_up gauge\n");
	buf_printf(out, "rstream_db_up %d\n", res ? 1 : 0);
	if (!res) return;
	buf_puts(out, "# HELP rstream_job_queue_oldest_seconds age of the oldest runnable queued job per kind\n"
		      "# TYPE rstream_job_queue_oldest_seconds gauge\n");
	for (int i = 0; i < PQntuples(res); i++)
		buf_printf(out, "rstream_job_queue_oldest_seconds{kind=\"%s\"} %.0f\n", PQgetvalue(res, i, 0), atof(PQgetvalue(res, i, 1)));
	PQclear(res);
	/* transcode failures: a counter-like gauge of failed transcode jobs (alert on its increase) */
	res = DB_EXEC0("SELECT count(*) FROM jobs WHERE kind = 'transcode' AND state = 'failed'");
	if (res) {
		buf_puts(out, "# HELP rstream_transcode_failed_jobs transcode jobs in state failed\n# TYPE rstream_transcode_failed_jobs gauge\n");
		buf_printf(out, "rstream_transcode_failed_jobs %s\n", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	/* the newest finished roster import: its state and findings by severity (an import with errors is not applied) */
	res = DB_EXEC0("SELECT i.id, i.state, extract(epoch FROM coalesce(i.finished_at, i.created_at)), "
		       "(SELECT count(*) FROM roster_import_findings f WHERE f.import_id = i.id AND f.severity = 'error'), "
		       "(SELECT count(*) FROM roster_import_findings f WHERE f.import_id = i.id AND f.severity = 'warning') "
		       "FROM roster_imports i WHERE i.state IN ('done', 'failed', 'rejected') ORDER BY i.id DESC LIMIT 1");
	if (res && PQntuples(res) == 1) {
		buf_puts(out, "# HELP rstream_roster_import_last_findings findings of the newest finished roster import\n"
			      "# TYPE rstream_roster_import_last_findings gauge\n");
		buf_printf(out, "rstream_roster_import_last_findings{severity=\"error\"} %s\n", PQgetvalue(res, 0, 3));
		buf_printf(out, "rstream_roster_import_last_findings{severity=\"warning\"} %s\n", PQgetvalue(res, 0, 4));
		buf_puts(out, "# HELP rstream_roster_import_last_failed 1 when the newest finished roster import failed or was rejected\n"
			      "# TYPE rstream_roster_import_last_failed gauge\n");
		buf_printf(out, "rstream_roster_import_last_failed %d\n", strcmp(PQgetvalue(res, 0, 1), "done") ? 1 : 0);
		buf_puts(out, "# TYPE rstream_roster_import_last_finished_timestamp_seconds gauge\n");
		buf_printf(out, "rstream_roster_import_last_finished_timestamp_seconds %.0f\n", atof(PQgetvalue(res, 0, 2)));
	}
	PQclear(res);
}

static void redis_stream(buf *out)
{
	int up = cache_ok();
	buf_puts(out, "# HELP rstream_redis_up 1 when Redis answered PING this scrape\n# TYPE rstream_redis_up gauge\n");
	buf_printf(out, "rstream_redis_up %d\n", up);
	if (!up) return;
	redisReply *r = cache_cmd("XLEN %s", LEARN_STREAM);
	if (r && r->type == REDIS_REPLY_INTEGER) {
		buf_puts(out, "# HELP rstream_heartbeat_stream_length viewing heartbeats in the Redis stream (flushed and trimmed by the worker)\n"
			      "# TYPE rstream_heartbeat_stream_length gauge\n");
		buf_printf(out, "rstream_heartbeat_stream_length %lld\n", r->integer);
	}
	if (r) freeReplyObject(r);
	/* XPENDING summary: beats read by a worker but not yet acknowledged (written to PostgreSQL) */
	r = cache_cmd("XPENDING %s %s", LEARN_STREAM, LEARN_GROUP);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->type == REDIS_REPLY_INTEGER) {
		buf_puts(out, "# TYPE rstream_heartbeat_pending gauge\n");
		buf_printf(out, "rstream_heartbeat_pending %lld\n", r->element[0]->integer);
	}
	if (r) freeReplyObject(r);
}

static void disk(buf *out)
{
	struct statvfs vf;
	if (statvfs(cfg.data_dir, &vf) < 0) return;
	buf_puts(out, "# HELP rstream_media_free_bytes free bytes (for unprivileged users) on the media file system\n"
		      "# TYPE rstream_media_free_bytes gauge\n");
	buf_printf(out, "rstream_media_free_bytes %.0f\n", (double)vf.f_bavail * vf.f_frsize);
	buf_puts(out, "# TYPE rstream_media_size_bytes gauge\n");
	buf_printf(out, "rstream_media_size_bytes %.0f\n", (double)vf.f_blocks * vf.f_frsize);
}

/* the newest complete snapshot's time, from its directory name (no key needed) */
static void backup_age(buf *out)
{
	const char *dir = config_get("backup.dir", NULL);
	if (!dir) return;
	char p[4096];
	snprintf(p, sizeof p, "%s/snapshots", dir);
	DIR *d = opendir(p);
	if (!d) return;
	time_t newest = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		time_t t = backup_stamp_parse(e->d_name);
		if (t > newest) newest = t;
	}
	closedir(d);
	buf_puts(out, "# HELP rstream_backup_last_success_timestamp_seconds time of the newest complete backup snapshot (0: none)\n"
		      "# TYPE rstream_backup_last_success_timestamp_seconds gauge\n");
	buf_printf(out, "rstream_backup_last_success_timestamp_seconds %lld\n", (long long)newest);
}

void ops_metrics_render(buf *out)
{
	jobs_age(out);
	redis_stream(out);
	disk(out);
	backup_age(out);
}
