/* Job leases across hosts: a claimant whose lease was taken over writes and publishes nothing, lease times are the
 * database's (a worker host with a skewed clock changes nothing), and a publish whose rename fails (NFS) keeps the
 * old ladder and succeeds on the retry. Runs late (*_faults): it stops and starts the stack's worker. */
#include <dirent.h>
#include <signal.h>
#include "video_helpers.h"
#include "worker_helpers.h"

static long sql_long(const char *sql, int n, const char *const *p)
{
	char *v = t_db_value(sql, n, p);
	cr_assert_not_null(v, "query returned nothing: %s", sql);
	long x = atol(v);
	free(v);
	return x;
}

static char *job_field(long id, const char *col)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT %s::text FROM jobs WHERE id = %ld", col, id);
	return t_db_value(sql, 0, NULL);
}

/* poll until sql (with the job id as $1) returns a row, at most timeout_s */
static void wait_row(const char *what, const char *sql, long id, int timeout_s)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	const char *p[1] = {ids};
	time_t start = time(NULL);
	char *v;
	while (!(v = t_db_value(sql, 1, p))) {
		cr_assert_lt(time(NULL) - start, timeout_s, "%s (job %ld) did not happen within %ds", what, id, timeout_s);
		usleep(50000);
	}
	free(v);
}

/* poll the stack's error stream (log/error.log, where the worker's own messages go) for a line holding needle */
static void wait_log(const char *needle, int timeout_s)
{
	char path[512], line[4096];
	snprintf(path, sizeof path, "%s/log/error.log", stack_dir());
	time_t start = time(NULL);
	for (;;) {
		FILE *f = fopen(path, "r");
		int found = 0;
		while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
		if (f) fclose(f);
		if (found) return;
		cr_assert_lt(time(NULL) - start, timeout_s, "log/error.log never said: %s", needle);
		usleep(100000);
	}
}

/* what another host's claim looks like after the reaper re-queued the job: the next attempt, its own claimant */
static void take_over(long id)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	const char *p[1] = {ids};
	char *v = t_db_value("UPDATE jobs SET attempts = attempts + 1, locked_by = 'other-host:1', heartbeat_at = now() "
			     "WHERE id = $1::bigint AND state = 'running' RETURNING id", 1, p);
	cr_assert_not_null(v, "job %ld was not running to be taken over", id);
	free(v);
}

/* the other host "dies": its heartbeat is old, so any worker re-queues the job and runs it again */
static void other_host_dies(long id)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	const char *p[1] = {ids};
	free(t_db_value("UPDATE jobs SET heartbeat_at = now() - interval '10 minutes' WHERE id = $1::bigint "
			"AND locked_by = 'other-host:1' RETURNING id", 1, p));
}

Test(scale_lease, a_claimant_whose_lease_was_taken_over_records_nothing_and_the_job_runs_once_more, .timeout = 120)
{
	long id = sql_long("WITH j AS (INSERT INTO jobs (kind, payload) VALUES ('noop', '{\"seconds\":4}') RETURNING id) "
			   "SELECT id FROM j", 0, NULL);
	free(t_db_value("SELECT pg_notify('rstream_jobs', 'noop')", 0, NULL));
	wait_row("first claim", "SELECT 1 FROM jobs WHERE id = $1::bigint AND state = 'running' AND attempts = 1", id, 60);
	take_over(id);
	char needle[96];
	snprintf(needle, sizeof needle, "job %ld attempt 1 stopped: its lease was taken over", id);
	wait_log(needle, 60);
	/* the first claimant neither finished nor re-queued the job: it is still the other host's */
	char *state = job_field(id, "state"), *by = job_field(id, "locked_by"), *att = job_field(id, "attempts");
	cr_assert_str_eq(state, "running");
	cr_assert_str_eq(by, "other-host:1");
	cr_assert_str_eq(att, "2");
	free(state); free(by); free(att);
	other_host_dies(id);
	cr_assert_str_eq(t_wait_job(id, 90), "done");
	att = job_field(id, "attempts");
	cr_assert_str_eq(att, "3", "re-queued once by the lease reaper, run once more");
	free(att);
}

Test(scale_lease, a_transcode_taken_over_mid_run_is_published_once_by_the_new_claimant, .timeout = 300)
{
	char *h = vh_admin();
	/* long enough that a fast machine is still early in the ladder when the poll below sees it */
	char *f = vh_clip("lease.mp4", "640x360", "120", 1, NULL);
	char *pid = vh_upload_ok(h, f, "Lease");
	const char *p[1] = {pid};
	char *jid = NULL;
	time_t start = time(NULL);
	/* seen running and taken over in one statement: a transcode cannot finish between the two */
	while (!(jid = t_db_value("UPDATE jobs SET attempts = attempts + 1, locked_by = 'other-host:1', "
				  "heartbeat_at = now() WHERE id = (SELECT j.id FROM jobs j JOIN videos v ON v.job_id = j.id "
				  "WHERE v.public_id = $1 AND j.state = 'running' AND j.attempts = 1 AND j.progress > 0 "
				  "AND j.progress < 80) RETURNING id", 1, p))) {
		cr_assert_lt(time(NULL) - start, 90, "the transcode of %s was never seen under way", pid);
		usleep(20000);
	}
	long id = atol(jid);
	char needle[96];
	snprintf(needle, sizeof needle, "job %ld attempt 1 stopped: its lease was taken over", id);
	wait_log(needle, 90);
	/* nothing published and the video row not marked failed by the stopped attempt */
	char *dir = vh_data_path("hls/%s", pid);
	struct stat st;
	cr_assert_neq(stat(dir, &st), 0, "the taken-over attempt published %s", dir);
	char *status = t_db_value("SELECT status FROM videos WHERE public_id = $1", 1, p);
	cr_assert_str_eq(status, "transcoding");
	other_host_dies(id);
	json_object *v = vh_wait(h, pid, 240);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "%s", vh_str(v, "video.error_tail"));
	json_object_put(v);
	char *att = job_field(id, "attempts"), *state = job_field(id, "state");
	cr_assert_str_eq(att, "3");
	cr_assert_str_eq(state, "done");
	cr_assert_eq(stat(dir, &st), 0, "published by the attempt that held the lease");
	free(att); free(state); free(status); free(dir); free(jid); free(pid); free(f); free(h);
}

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

Test(scale_lease, a_worker_host_with_a_skewed_clock_keeps_its_lease_by_the_database_clock, .timeout = 120)
{
	cr_assert_eq(access(FAKETIME_LIB, R_OK), 0, "faketime is missing (scripts/deps.sh installs it)");
	kill_all_workers();
	/* this worker's host believes it is three hours earlier; ASan tolerates the preloaded library */
	char cmd[2048];
	const char *asan = getenv("ASAN_OPTIONS");
	snprintf(cmd, sizeof cmd, "cd '%s' && FAKETIME='-3h' LD_PRELOAD='%s' ASAN_OPTIONS='%s%sverify_asan_link_order=0' "
		 "setsid '%s' worker </dev/null >>'%s/log/worker.log' 2>&1 & echo $! > '%s/run/worker-skewed.pid'",
		 t_env("RSTREAM_ROOT"), FAKETIME_LIB, asan ? asan : "", asan && *asan ? ":" : "", t_env("RSTREAM_BIN"),
		 stack_dir(), stack_dir());
	cr_assert_eq(run(cmd), 0);
	long id = sql_long("WITH j AS (INSERT INTO jobs (kind, payload) VALUES ('noop', '{\"seconds\":12}') RETURNING id) "
			   "SELECT id FROM j", 0, NULL);
	free(t_db_value("SELECT pg_notify('rstream_jobs', 'noop')", 0, NULL));
	wait_row("claim by the skewed worker", "SELECT 1 FROM jobs WHERE id = $1::bigint AND state = 'running'", id, 60);
	/* a healthy worker beside it would re-queue the job if the skewed host's time had reached the lease */
	start_worker();
	wait_row("a heartbeat after the claim", "SELECT 1 FROM jobs WHERE id = $1::bigint AND progress > 40", id, 60);
	char *skew = job_field(id, "abs(extract(epoch FROM now() - heartbeat_at))::int");
	cr_assert_lt(atoi(skew), 60, "heartbeat_at is the database's time, not the host's (%s s off)", skew);
	cr_assert_str_eq(t_wait_job(id, 90), "done");
	char *att = job_field(id, "attempts");
	cr_assert_str_eq(att, "1", "never re-queued while its worker was alive");
	free(att); free(skew);
	long skewed = read_pid("worker-skewed");
	cr_assert_gt(skewed, 1);
	kill((pid_t)skewed, SIGTERM);
}

Test(scale_media, a_publish_whose_rename_fails_keeps_the_old_ladder_and_the_retry_publishes, .timeout = 300)
{
	char *h = vh_admin();
	char *f = vh_clip("rename.mp4", "320x240", "2", 1, NULL);
	char *pid = vh_upload_ok(h, f, "Rename");
	json_object *v = vh_wait(h, pid, 180);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready");
	json_object_put(v);
	char *dir = vh_data_path("hls/%s", pid), *master = vh_data_path("hls/%s/master.m3u8", pid);
	char *before = vh_read(master);
	cr_assert_not_null(before);
	/* an immutable ladder directory refuses to be renamed, even to root: the rename error NFS can give */
	char *chattr[] = {"chattr", "+i", dir, NULL};
	if (vh_run(chattr) != 0) cr_skip_test("chattr +i is not supported on this file system");
	const char *p[1] = {pid};
	char *jid = t_db_value("WITH j AS (INSERT INTO jobs (kind, payload, max_attempts) SELECT 'transcode', "
			       "jsonb_build_object('video_id', id), 3 FROM videos WHERE public_id = $1 RETURNING id) "
			       "SELECT id FROM j", 1, p);
	cr_assert_not_null(jid);
	free(t_db_value("SELECT pg_notify('rstream_jobs', 'transcode')", 0, NULL));
	long id = atol(jid);
	wait_row("the failed publish", "SELECT 1 FROM jobs WHERE id = $1::bigint AND error LIKE 'publish %'", id, 120);
	char *unchattr[] = {"chattr", "-i", dir, NULL};
	cr_assert_eq(vh_run(unchattr), 0);
	char *still = vh_read(master);
	cr_assert_not_null(still, "the old ladder is still in place");
	cr_assert_str_eq(still, before);
	cr_assert_str_eq(t_wait_job(id, 180), "done");
	v = vh_wait(h, pid, 60);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready");
	json_object_put(v);
	char *att = job_field(id, "attempts");
	cr_assert_geq(atoi(att), 2, "published by a retry");
	/* no temp directory of any attempt is left */
	char *root = vh_data_path("hls%s", ""), want[64];
	snprintf(want, sizeof want, ".tmp-%s-", pid);
	DIR *d = opendir(root);
	struct dirent *e;
	while (d && (e = readdir(d))) cr_assert_null(strstr(e->d_name, want), "left behind: %s", e->d_name);
	if (d) closedir(d);
	free(root); free(att); free(still); free(jid); free(before); free(master); free(dir); free(pid); free(f); free(h);
}
