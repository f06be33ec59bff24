/* /metrics carries what the alert rules (conf/prometheus/alerts.yml) need: PostgreSQL and Redis reachability,
 * job queue age per kind, media disk space, the heartbeat stream — read live from the stack. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include "harness.h"

static char *metrics(void)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", "/metrics", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	char *b = strdup(r.body);
	http_free(&r);
	return b;
}

static double value(const char *body, const char *series)
{
	char key[256];
	snprintf(key, sizeof key, "\n%s ", series);
	const char *p = strstr(body, key);
	cr_assert_not_null(p, "no series %s in /metrics", series);
	return atof(p + strlen(key));
}

Test(ops_metrics, reports_dependencies_disk_and_heartbeats)
{
	char *b = metrics();
	cr_assert_eq(value(b, "rstream_db_up"), 1);
	cr_assert_eq(value(b, "rstream_redis_up"), 1);
	double free_b = value(b, "rstream_media_free_bytes"), size_b = value(b, "rstream_media_size_bytes");
	struct statvfs vf;
	cr_assert_eq(statvfs(t_env("RSTREAM_DATA_DIR"), &vf), 0);
	cr_assert_eq(size_b, (double)vf.f_blocks * vf.f_frsize, "the media file system's size");
	cr_assert(free_b > 0 && free_b <= size_b);
	cr_assert_geq(value(b, "rstream_heartbeat_stream_length"), 0);
	cr_assert_geq(value(b, "rstream_transcode_failed_jobs"), 0);
	free(b);
}

Test(ops_metrics, reports_the_age_of_a_waiting_job)
{
	/* a queued job of a kind no worker knows, due ten minutes ago: its age shows, then it is cancelled. The job
	 * worker may claim it first (it polls): then try again with a new one */
	double age = -1;
	for (int attempt = 0; attempt < 10 && age < 0; attempt++) {
		char *id = t_db_value("INSERT INTO jobs (kind, state, run_after, max_attempts) VALUES ('ops_metrics_probe', 'queued', "
				      "now() - interval '10 minutes', 1) RETURNING id", 0, NULL);
		cr_assert_not_null(id);
		char *b = metrics();
		const char *p[] = {id};
		free(t_db_value("UPDATE jobs SET state = 'cancelled' WHERE id = $1 AND state = 'queued' RETURNING id", 1, p));
		const char *k = strstr(b, "\nrstream_job_queue_oldest_seconds{kind=\"ops_metrics_probe\"} ");
		if (k) age = atof(strchr(k, '}') + 2);
		free(b);
		free(id);
	}
	cr_assert(age >= 590 && age < 3600, "age %g", age);
}
